//! What time it is, as the server sees it. Deadlines, hold expiries, delayed notices and job
//! schedules are all decided against a [`Clock`] rather than the system time directly, so that
//! a test can move time forward (a non-disclosure order ending, a hold expiring) and watch the
//! system react as it would on that day.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub type DynClock = Arc<dyn Clock>;

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        custodian_audit::AuditEntry::truncate_time(Utc::now())
    }
}

/// A clock that stands still until told to move: for tests that drive time.
#[derive(Debug)]
pub struct ManualClock {
    at: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            at: Mutex::new(custodian_audit::AuditEntry::truncate_time(at)),
        })
    }

    /// Starts at the current system time.
    pub fn starting_now() -> Arc<ManualClock> {
        ManualClock::new(Utc::now())
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = custodian_audit::AuditEntry::truncate_time(at);
    }

    pub fn advance(&self, by: Duration) {
        let mut at = self.lock();
        *at += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock only means another test thread panicked; the time inside is fine.
        self.at.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
                .unwrap()
                .into(),
        );
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::days(10));
        assert_eq!(clock.now() - t0, Duration::days(10));
    }
}
