//! Deadline reminders: a periodic sweep that mails each request's assignee once when its
//! deadline is near (within 48 hours) and once when it has passed.
//!
//! The sweep is one job kind, `deadline.reminders`, that schedules its own next run: one job
//! per time slot (`deadline-reminders:<slot>`), so that however many servers start, and
//! however often, one sweep is pending per slot. Each reminder is a row in
//! `deadline_reminders` written with its outbox mail in one transaction
//! (`DeadlineStore::record_reminder`), keyed by request, kind, deadline and assignee: a sweep
//! that runs twice (a lease that ran out, two servers) mails nothing twice, and a request
//! given to someone else reminds its new assignee.

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use custodian_core::deadline::{ReminderKind, DUE_SOON_HOURS};
use custodian_store::{Actor, DynClock, DynStore, Job, NewJob, NewMail, ReminderDue, StoreResult};

use crate::runner::{JobError, JobHandler};

/// The job kind of the sweep.
pub const DEADLINE_REMINDERS_JOB: &str = "deadline.reminders";

/// The outbox kind of a reminder mail.
pub const DEADLINE_REMINDER_MAIL: &str = "deadline_reminder";

/// The most reminders one sweep sends; the rest wait for the next slot.
const PER_SWEEP: u32 = 500;

pub struct DeadlineReminders {
    store: DynStore,
    clock: DynClock,
    public_url: String,
    every: Duration,
}

impl DeadlineReminders {
    /// Sweeps hourly; `public_url` is where the links in the mails point.
    pub fn new(store: DynStore, clock: DynClock, public_url: &str) -> Self {
        Self {
            store,
            clock,
            public_url: public_url.trim_end_matches('/').to_string(),
            every: Duration::hours(1),
        }
    }

    /// How often to sweep (at least a minute).
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::minutes(1));
        self
    }

    /// The start of the slot `at` falls in.
    fn slot(at: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
        at.duration_trunc(every).unwrap_or(at)
    }

    fn job(run_at: DateTime<Utc>) -> NewJob {
        NewJob::new(DEADLINE_REMINDERS_JOB, serde_json::json!({}), run_at)
            .once(format!("deadline-reminders:{}", run_at.timestamp()))
            .attempts(3)
    }

    /// Makes sure a sweep is pending for the slot `now` falls in (a server calls this when it
    /// starts); a pending one is left alone.
    pub async fn schedule(&self, now: DateTime<Utc>) -> StoreResult<uuid::Uuid> {
        self.store
            .jobs()
            .enqueue(Self::job(Self::slot(now, self.every)))
            .await
    }

    /// Mails every reminder due at `now` that has not been sent; returns how many were queued.
    pub async fn sweep(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let due = self
            .store
            .deadlines()
            .reminders_due(now, Duration::hours(DUE_SOON_HOURS), PER_SWEEP)
            .await?;
        let actor = Actor::System("deadline-reminders".into());
        let mut queued = 0;
        for d in &due {
            let agency = self
                .store
                .get_agency(d.request.agency_id)
                .await
                .map(|a| a.name)
                .unwrap_or_default();
            let mail = reminder_mail(d, &agency, &self.public_url, now);
            if self
                .store
                .deadlines()
                .record_reminder(&actor, d, mail, now)
                .await?
            {
                queued += 1;
            }
        }
        Ok(queued)
    }
}

/// "in 5 hours", "3 hours ago": how far a deadline is, roughly.
fn distance(respond_by: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = respond_by - now;
    let (n, past) = if d < Duration::zero() {
        (-d, true)
    } else {
        (d, false)
    };
    let words = if n >= Duration::hours(48) {
        format!("{} days", n.num_days())
    } else if n >= Duration::hours(1) {
        let h = n.num_hours();
        format!("{h} hour{}", if h == 1 { "" } else { "s" })
    } else {
        let m = n.num_minutes().max(1);
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    };
    if past {
        format!("{words} ago")
    } else {
        format!("in {words}")
    }
}

/// The reminder as the assignee reads it: the request's number, process and agency, the
/// deadline and a link; never the targets or anything about the customer.
pub fn reminder_mail(
    d: &ReminderDue,
    agency: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> NewMail {
    let r = &d.request;
    let due = r.respond_by.format("%Y-%m-%d %H:%M UTC");
    let (subject, line) = match d.kind {
        ReminderKind::DueSoon => (
            format!(
                "Due soon: {} ({}), answer by {due}",
                r.number,
                r.process.label()
            ),
            format!("Its answer is due {} ({due}).", distance(r.respond_by, now)),
        ),
        ReminderKind::Overdue => (
            format!(
                "Overdue: {} ({}), answer was due {due}",
                r.number,
                r.process.label()
            ),
            format!(
                "Its answer was due {} ({due}) and is overdue.",
                distance(r.respond_by, now)
            ),
        ),
    };
    let emergency = if r.emergency { ", an emergency," } else { "" };
    let body_text = format!(
        "Hello {name},\n\n\
         {number} ({process}{emergency}) from {agency} is assigned to you. {line}\n\n\
         Open it: {public_url}/review/requests/{id}\n\n\
         You receive one reminder before a deadline and one once it has passed.\n\
         Custodian\n",
        name = d.assignee.name,
        number = r.number,
        process = r.process.label(),
        id = r.id,
    );
    NewMail {
        kind: DEADLINE_REMINDER_MAIL.into(),
        recipient: d.assignee.email.clone(),
        subject,
        body_text,
        request_id: Some(r.id),
        send_after: None,
    }
}

#[async_trait]
impl JobHandler for DeadlineReminders {
    fn kind(&self) -> &'static str {
        DEADLINE_REMINDERS_JOB
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let now = self.clock.now();
        let queued = self.sweep(now).await?;
        if queued > 0 {
            tracing::info!(queued, "deadline reminders queued");
        }
        // The next slot's sweep; a server that already scheduled it leaves one pending.
        let next = Self::slot(now, self.every) + self.every;
        self.store.jobs().enqueue(Self::job(next)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn distances_read_as_people_say_them() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        assert_eq!(distance(now + Duration::hours(30), now), "in 30 hours");
        assert_eq!(distance(now + Duration::minutes(61), now), "in 1 hour");
        assert_eq!(distance(now - Duration::minutes(5), now), "5 minutes ago");
        assert_eq!(distance(now + Duration::days(3), now), "in 3 days");
        assert_eq!(
            DeadlineReminders::slot(now + Duration::minutes(59), Duration::hours(1)),
            now
        );
    }
}
