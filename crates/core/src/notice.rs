//! Customer notice once a decision may be acted on (LEGAL.md, "Customer notice"): when the
//! notice goes out, and when the production may be released to the agency. The policy engine
//! says *whether* and *why* ([`CustomerNotice`]); this module says *when*.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::named_enum;
use crate::policy::CustomerNotice;

named_enum! {
    /// Where a request's customer notice stands.
    pub enum NoticeStatus ("notice status") {
        /// Goes out on `due_at`: the day after a non-disclosure order's last day, or after an
        /// emergency.
        Scheduled = "scheduled",
        /// A non-disclosure order with no end date: reviewed again on `due_at`.
        UnderReview = "under_review",
        /// The review date has come: a reviewer must say whether the order still runs.
        ReviewDue = "review_due",
        /// The notice is in the outbox (delivery is tracked there).
        Sent = "sent",
        /// Never sent: a statutory gag, or a clear indication of illegal conduct.
        Withheld = "withheld",
        /// Nothing that needs notice was disclosed.
        NotRequired = "not_required",
    }
}

/// The provider's timings, from the server's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeTimings {
    /// Days between the notice and the release of a production it must precede, so that the
    /// customer can go to court (default 10).
    pub wait_days: u32,
    /// Days after an emergency disclosure was decided that the customer is told (default 30),
    /// unless a reviewer sends the notice earlier.
    pub emergency_days: u32,
    /// Days between reviews of a non-disclosure order with no end date (the profile's
    /// `ndo_review_days`, at most 365).
    pub ndo_review_days: u32,
}

impl Default for NoticeTimings {
    fn default() -> Self {
        Self {
            wait_days: 10,
            emergency_days: 30,
            ndo_review_days: 365,
        }
    }
}

/// What to do about notice when a decision becomes effective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticePlan {
    /// Tell the customer now; the production waits.
    SendNow,
    /// Tell the customer at this time (an order ends, an emergency has passed).
    SendAt(DateTime<Utc>),
    /// An order with no end date: put it before a reviewer at this time.
    ReviewAt(DateTime<Utc>),
    /// Never tell (a statutory gag, illegal conduct).
    Withheld,
    NotRequired,
}

impl NoticePlan {
    /// The record's status for this plan.
    pub fn status(self) -> NoticeStatus {
        match self {
            NoticePlan::SendNow => NoticeStatus::Sent,
            NoticePlan::SendAt(_) => NoticeStatus::Scheduled,
            NoticePlan::ReviewAt(_) => NoticeStatus::UnderReview,
            NoticePlan::Withheld => NoticeStatus::Withheld,
            NoticePlan::NotRequired => NoticeStatus::NotRequired,
        }
    }

    /// When the next step is due, if one is.
    pub fn due_at(self) -> Option<DateTime<Utc>> {
        match self {
            NoticePlan::SendAt(t) | NoticePlan::ReviewAt(t) => Some(t),
            _ => None,
        }
    }
}

/// Midnight UTC at the start of `day`.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// When notice goes out after a non-disclosure order whose last day is `last_day`: at the start
/// of the next day, the first on which the order no longer binds.
pub fn after_order(last_day: NaiveDate) -> DateTime<Utc> {
    start_of(last_day.checked_add_days(Days::new(1)).unwrap_or(last_day))
}

/// The plan for the engine's answer on a decision effective at `now`.
pub fn plan(
    notice: CustomerNotice,
    order_last_day: Option<NaiveDate>,
    review_by: Option<NaiveDate>,
    now: DateTime<Utc>,
    timings: &NoticeTimings,
) -> NoticePlan {
    match notice {
        CustomerNotice::BeforeDisclosure => NoticePlan::SendNow,
        CustomerNotice::AfterNdo => match order_last_day {
            Some(day) if after_order(day) > now => NoticePlan::SendAt(after_order(day)),
            _ => NoticePlan::SendNow,
        },
        CustomerNotice::DeferredReview => NoticePlan::ReviewAt(
            review_by
                .map(start_of)
                .filter(|t| *t > now)
                .unwrap_or_else(|| next_review(now, timings)),
        ),
        CustomerNotice::AfterEmergency => {
            NoticePlan::SendAt(now + Duration::days(i64::from(timings.emergency_days)))
        }
        CustomerNotice::WithheldIllegalConduct | CustomerNotice::ProhibitedByStatute => {
            NoticePlan::Withheld
        }
        CustomerNotice::NotRequired => NoticePlan::NotRequired,
    }
}

/// The next review of an order with no end date, counted from a review made at `now`.
pub fn next_review(now: DateTime<Utc>, timings: &NoticeTimings) -> DateTime<Utc> {
    now + Duration::days(i64::from(timings.ndo_review_days.clamp(1, 365)))
}

/// Whether a production must wait for this notice: only a notice that must come before the
/// disclosure holds the production back.
pub fn precedes_release(notice: CustomerNotice) -> bool {
    notice == CustomerNotice::BeforeDisclosure
}

/// A request's notice as the release of its production sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeState {
    pub notice: CustomerNotice,
    pub status: NoticeStatus,
    /// When the last of the notice's mails was accepted by the mail server; None while one is
    /// still in the outbox.
    pub delivered_at: Option<DateTime<Utc>>,
    /// A notice mail was refused for good (an admin can resend it from the outbox).
    pub undeliverable: bool,
}

/// Whether a built production may be handed to the agency now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseGate {
    Open,
    /// The customer was told; the production waits until then so that they can go to court.
    NotBefore(DateTime<Utc>),
    /// The notice has not reached the customer yet; why, in words.
    AwaitingNotice(&'static str),
}

/// The rule for releasing a production: a notice that must precede the disclosure must have
/// been delivered, and `wait_days` must have passed since.
pub fn release_gate(
    notice: Option<&NoticeState>,
    timings: &NoticeTimings,
    now: DateTime<Utc>,
) -> ReleaseGate {
    let Some(n) = notice else {
        return ReleaseGate::AwaitingNotice("customer notice has not been decided yet");
    };
    if !precedes_release(n.notice) || n.status == NoticeStatus::NotRequired {
        return ReleaseGate::Open;
    }
    if n.status != NoticeStatus::Sent {
        return ReleaseGate::AwaitingNotice("the customer notice has not been sent");
    }
    if n.undeliverable {
        return ReleaseGate::AwaitingNotice(
            "a notice mail was refused by the mail server; an admin can resend it from the outbox",
        );
    }
    let Some(delivered) = n.delivered_at else {
        return ReleaseGate::AwaitingNotice("the customer notice is still in the outbox");
    };
    let open = delivered + Duration::days(i64::from(timings.wait_days));
    if now >= open {
        ReleaseGate::Open
    } else {
        ReleaseGate::NotBefore(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn each_outcome_has_its_timing() {
        let now = t(2026, 3, 1, 9);
        let timings = NoticeTimings::default();
        let p = |n, after, review| plan(n, after, review, now, &timings);
        assert_eq!(
            p(CustomerNotice::BeforeDisclosure, None, None),
            NoticePlan::SendNow
        );
        assert_eq!(
            p(CustomerNotice::AfterNdo, Some(day("2026-06-30")), None),
            NoticePlan::SendAt(t(2026, 7, 1, 0))
        );
        // An order that ended already delays nothing.
        assert_eq!(
            p(CustomerNotice::AfterNdo, Some(day("2026-02-27")), None),
            NoticePlan::SendNow
        );
        assert_eq!(
            p(
                CustomerNotice::DeferredReview,
                None,
                Some(day("2027-01-15"))
            ),
            NoticePlan::ReviewAt(t(2027, 1, 15, 0))
        );
        // A review date already past: a year from now.
        assert_eq!(
            p(
                CustomerNotice::DeferredReview,
                None,
                Some(day("2025-01-15"))
            ),
            NoticePlan::ReviewAt(t(2027, 3, 1, 9))
        );
        assert_eq!(
            p(CustomerNotice::AfterEmergency, None, None),
            NoticePlan::SendAt(t(2026, 3, 31, 9))
        );
        for n in [
            CustomerNotice::WithheldIllegalConduct,
            CustomerNotice::ProhibitedByStatute,
        ] {
            assert_eq!(p(n, None, None), NoticePlan::Withheld);
        }
        assert_eq!(
            p(CustomerNotice::NotRequired, None, None).status(),
            NoticeStatus::NotRequired
        );
    }

    #[test]
    fn a_production_waits_the_days_after_a_delivered_notice() {
        let timings = NoticeTimings::default();
        let sent = t(2026, 3, 1, 9);
        let state = |status, delivered_at, undeliverable| NoticeState {
            notice: CustomerNotice::BeforeDisclosure,
            status,
            delivered_at,
            undeliverable,
        };
        assert!(matches!(
            release_gate(None, &timings, sent),
            ReleaseGate::AwaitingNotice(_)
        ));
        let queued = state(NoticeStatus::Sent, None, false);
        assert!(matches!(
            release_gate(Some(&queued), &timings, sent),
            ReleaseGate::AwaitingNotice(m) if m.contains("outbox")
        ));
        let refused = state(NoticeStatus::Sent, None, true);
        assert!(matches!(
            release_gate(Some(&refused), &timings, sent),
            ReleaseGate::AwaitingNotice(m) if m.contains("resend")
        ));
        let delivered = state(NoticeStatus::Sent, Some(sent), false);
        assert_eq!(
            release_gate(Some(&delivered), &timings, sent + Duration::days(9)),
            ReleaseGate::NotBefore(t(2026, 3, 11, 9))
        );
        assert_eq!(
            release_gate(Some(&delivered), &timings, t(2026, 3, 11, 9)),
            ReleaseGate::Open
        );
    }

    #[test]
    fn only_a_notice_that_must_come_first_holds_the_production() {
        let timings = NoticeTimings::default();
        let now = t(2026, 3, 1, 9);
        for (notice, status) in [
            (CustomerNotice::AfterNdo, NoticeStatus::Scheduled),
            (CustomerNotice::DeferredReview, NoticeStatus::UnderReview),
            (CustomerNotice::AfterEmergency, NoticeStatus::Scheduled),
            (
                CustomerNotice::WithheldIllegalConduct,
                NoticeStatus::Withheld,
            ),
            (CustomerNotice::NotRequired, NoticeStatus::NotRequired),
        ] {
            let s = NoticeState {
                notice,
                status,
                delivered_at: None,
                undeliverable: false,
            };
            assert_eq!(
                release_gate(Some(&s), &timings, now),
                ReleaseGate::Open,
                "{notice}"
            );
        }
    }
}
