//! Legal holds (LEGAL.md, "Clocks"): how long a preservation freezes data, its one renewal,
//! and when the reviewer is reminded before it ends. Pure functions of times and the profile.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::PolicyProfile;
use crate::{named_enum, LegalProcess};

named_enum! {
    /// Where a hold is in its life.
    pub enum HoldStatus ("hold status") {
        /// Created; the snapshot is being copied into the object store.
        Capturing = "capturing",
        /// The snapshot is complete and kept until the hold ends.
        Active = "active",
        /// Ended (expired, or released by the provider); the copy is deleted.
        Released = "released",
        /// The snapshot could not be taken (the source failed for good); nothing is kept.
        Failed = "failed",
    }
}

impl HoldStatus {
    /// Still binding: a hold being captured or kept.
    pub fn is_live(self) -> bool {
        matches!(self, HoldStatus::Capturing | HoldStatus::Active)
    }
}

/// How long a hold lasts and how often it may be renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldTerms {
    pub days: u32,
    pub renewal_days: u32,
    pub max_renewals: u32,
}

/// Days before expiry that the reviewer is reminded.
pub const REMINDER_DAYS: i64 = 7;

impl HoldTerms {
    /// 18 U.S.C. 2703(f)(2): 90 days, renewable once by 90.
    pub const US: HoldTerms = HoldTerms {
        days: 90,
        renewal_days: 90,
        max_renewals: 1,
    };
    /// Regulation (EU) 2023/1543, Art. 11(1): 60 days, extendable by 30.
    pub const EU: HoldTerms = HoldTerms {
        days: 60,
        renewal_days: 30,
        max_renewals: 1,
    };

    /// The terms of a hold taken for a request of `process`. A preservation process has its own
    /// terms in the profile; the preservation step of any other order borrows those of the
    /// preservation process of its legal order (an EU order's those of `epoc_pr`, any other's
    /// those of `preservation`). The law's terms apply when the profile says nothing.
    pub fn for_process(profile: &PolicyProfile, process: LegalProcess) -> HoldTerms {
        let eu = matches!(process, LegalProcess::Epoc | LegalProcess::EpocPr);
        let preservation = if process.is_preservation() {
            process
        } else if eu {
            LegalProcess::EpocPr
        } else {
            LegalProcess::Preservation
        };
        match profile
            .process_policy(preservation)
            .and_then(|p| p.preserve.as_ref())
        {
            Some(p) => HoldTerms {
                days: p.days,
                renewal_days: p.renewal_days,
                max_renewals: p.max_renewals,
            },
            None if eu => HoldTerms::EU,
            None => HoldTerms::US,
        }
    }

    /// When a hold started at `start` ends, before any renewal.
    pub fn expires_at(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + Duration::days(i64::from(self.days))
    }

    /// The new expiry after one more renewal, or why there is none.
    pub fn renew(
        &self,
        expires_at: DateTime<Utc>,
        renewals_so_far: u32,
    ) -> Result<DateTime<Utc>, RenewalRefused> {
        if renewals_so_far >= self.max_renewals {
            return Err(RenewalRefused {
                max_renewals: self.max_renewals,
            });
        }
        Ok(expires_at + Duration::days(i64::from(self.renewal_days)))
    }
}

/// A renewal beyond what the law allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the hold was already renewed {max_renewals} time(s), as often as the law allows; data is \
     kept longer only under legal process"
)]
pub struct RenewalRefused {
    pub max_renewals: u32,
}

/// When a hold's clock starts: a preservation request preserves from its receipt (LEGAL.md:
/// "90 days from receipt"); the preservation step of another order from the moment the
/// provider took it.
pub fn hold_start(
    process: LegalProcess,
    received_at: DateTime<Utc>,
    preserved_at: DateTime<Utc>,
) -> DateTime<Utc> {
    if process.is_preservation() {
        received_at.min(preserved_at)
    } else {
        preserved_at
    }
}

/// When the reviewer is reminded of a hold's end: [`REMINDER_DAYS`] before it, or at once if
/// that moment has already passed (a hold taken late on an old preservation request).
pub fn reminder_at(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    (expires_at - Duration::days(REMINDER_DAYS)).max(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn us_holds_last_90_days_and_renew_once_by_90() {
        let profile = PolicyProfile::builtin(PolicyProfile::DEFAULT).unwrap();
        for p in [
            LegalProcess::Preservation,
            LegalProcess::SearchWarrant,
            LegalProcess::Subpoena,
        ] {
            assert_eq!(HoldTerms::for_process(&profile, p), HoldTerms::US, "{p}");
        }
        let terms = HoldTerms::US;
        let end = terms.expires_at(t(2026, 1, 1));
        assert_eq!(end, t(2026, 4, 1));
        let renewed = terms.renew(end, 0).unwrap();
        assert_eq!(renewed, t(2026, 6, 30));
        let refused = terms.renew(renewed, 1).unwrap_err();
        assert_eq!(refused.max_renewals, 1);
        assert!(refused.to_string().contains("renewed 1 time"));
    }

    #[test]
    fn eu_holds_last_60_days_and_extend_once_by_30() {
        let profile = PolicyProfile::builtin(PolicyProfile::DEFAULT).unwrap();
        for p in [LegalProcess::EpocPr, LegalProcess::Epoc] {
            assert_eq!(HoldTerms::for_process(&profile, p), HoldTerms::EU, "{p}");
        }
        let end = HoldTerms::EU.expires_at(t(2026, 1, 1));
        assert_eq!(end, t(2026, 3, 2));
        assert_eq!(HoldTerms::EU.renew(end, 0).unwrap(), t(2026, 4, 1));
        assert!(HoldTerms::EU.renew(t(2026, 4, 1), 1).is_err());
    }

    #[test]
    fn a_preservation_request_preserves_from_receipt() {
        let received = t(2026, 1, 1);
        let preserved = t(2026, 1, 3);
        assert_eq!(
            hold_start(LegalProcess::Preservation, received, preserved),
            received
        );
        assert_eq!(
            hold_start(LegalProcess::SearchWarrant, received, preserved),
            preserved
        );
    }

    #[test]
    fn the_reminder_comes_a_week_before_the_end_or_at_once() {
        let end = t(2026, 4, 1);
        assert_eq!(reminder_at(end, t(2026, 1, 1)), t(2026, 3, 25));
        assert_eq!(reminder_at(end, t(2026, 3, 30)), t(2026, 3, 30));
        assert!(HoldStatus::Capturing.is_live() && HoldStatus::Active.is_live());
        assert!(!HoldStatus::Released.is_live() && !HoldStatus::Failed.is_live());
    }
}
