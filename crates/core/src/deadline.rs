//! Deadlines: business-day calendars with holidays, and the clocks of LEGAL.md ("Clocks").

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

use crate::LegalProcess;

/// Working days: Monday to Friday, less the holidays an admin keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessCalendar {
    pub holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// The US federal holidays (5 U.S.C. 6103) of the given years, with the observed day when a
    /// holiday falls on a weekend.
    pub fn us_federal(years: std::ops::RangeInclusive<i32>) -> Self {
        let mut holidays = BTreeSet::new();
        for y in years {
            let fixed = [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)];
            for (m, d) in fixed {
                if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                    holidays.insert(observed(date));
                }
            }
            let nth =
                |m: u32, wd: Weekday, n: u8| NaiveDate::from_weekday_of_month_opt(y, m, wd, n);
            let floating = [
                nth(1, Weekday::Mon, 3),          // Birthday of Martin Luther King, Jr.
                nth(2, Weekday::Mon, 3),          // Washington's Birthday
                last_weekday(y, 5, Weekday::Mon), // Memorial Day
                nth(9, Weekday::Mon, 1),          // Labor Day
                nth(10, Weekday::Mon, 2),         // Columbus Day
                nth(11, Weekday::Thu, 4),         // Thanksgiving Day
            ];
            holidays.extend(floating.into_iter().flatten());
        }
        Self { holidays }
    }

    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The end (23:59:59 UTC) of the `n`th business day after the day of `from`.
    pub fn add_business_days(&self, from: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let mut day = from.date_naive();
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().unwrap_or(day);
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        end_of_day(day)
    }
}

fn observed(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d.pred_opt().unwrap_or(d),
        Weekday::Sun => d.succ_opt().unwrap_or(d),
        _ => d,
    }
}

fn last_weekday(y: i32, m: u32, wd: Weekday) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(y, m, wd, n))
}

pub fn end_of_day(d: NaiveDate) -> DateTime<Utc> {
    let t = d.and_hms_opt(23, 59, 59).unwrap_or_default();
    Utc.from_utc_datetime(&t)
}

/// Business days the provider gives itself for ordinary process (LEGAL.md, "Clocks").
pub const INTERNAL_TARGET_BUSINESS_DAYS: u32 = 10;

/// When the provider must answer a request received at `received_at`:
/// an emergency within an hour; an EU production order within 10 days, or 8 hours in an
/// emergency; anything else within 10 business days, or the return date on the document if that
/// is sooner.
pub fn respond_by(
    process: LegalProcess,
    emergency: bool,
    received_at: DateTime<Utc>,
    return_date: Option<NaiveDate>,
    calendar: &BusinessCalendar,
) -> DateTime<Utc> {
    match process {
        LegalProcess::Epoc if emergency => received_at + Duration::hours(8),
        LegalProcess::Epoc => received_at + Duration::days(10),
        _ if emergency || process == LegalProcess::Emergency => received_at + Duration::hours(1),
        _ => {
            let target = calendar.add_business_days(received_at, INTERNAL_TARGET_BUSINESS_DAYS);
            match return_date.map(end_of_day) {
                Some(r) if r < target => r,
                _ => target,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn federal_holidays_include_observed_days() {
        let cal = BusinessCalendar::us_federal(2026..=2027);
        assert!(cal.holidays.contains(&d(2026, 11, 26))); // Thanksgiving
        assert!(cal.holidays.contains(&d(2026, 7, 3))); // July 4th is a Saturday
        assert!(cal.holidays.contains(&d(2026, 5, 25))); // Memorial Day
        assert!(cal.holidays.contains(&d(2027, 12, 24))); // Christmas on a Saturday
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let cal = BusinessCalendar::us_federal(2026..=2026);
        // Monday 23 November 2026; Thanksgiving on Thursday 26.
        let from = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        assert_eq!(cal.add_business_days(from, 3).date_naive(), d(2026, 11, 27));
        assert_eq!(cal.add_business_days(from, 10).date_naive(), d(2026, 12, 8));
    }

    #[test]
    fn the_sooner_of_return_date_and_target_wins() {
        let cal = BusinessCalendar::default();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let soon = respond_by(
            LegalProcess::Subpoena,
            false,
            at,
            Some(d(2026, 11, 30)),
            &cal,
        );
        assert_eq!(soon.date_naive(), d(2026, 11, 30));
        let late = respond_by(LegalProcess::Subpoena, false, at, Some(d(2027, 3, 1)), &cal);
        assert_eq!(late.date_naive(), d(2026, 12, 7));
        let epoc = respond_by(LegalProcess::Epoc, true, at, None, &cal);
        assert_eq!(epoc, at + Duration::hours(8));
        let em = respond_by(LegalProcess::Emergency, true, at, None, &cal);
        assert_eq!(em, at + Duration::hours(1));
    }
}

crate::named_enum! {
    /// How close a request is to its deadline, for the queue's marks.
    pub enum Urgency ("urgency") {
        Overdue = "overdue",
        DueSoon = "due_soon",
        OnTime = "on_time",
    }
}

/// Within this many hours of the deadline a request is marked due soon.
pub const DUE_SOON_HOURS: i64 = 48;

pub fn urgency(respond_by: DateTime<Utc>, now: DateTime<Utc>) -> Urgency {
    if now > respond_by {
        Urgency::Overdue
    } else if respond_by - now <= Duration::hours(DUE_SOON_HOURS) {
        Urgency::DueSoon
    } else {
        Urgency::OnTime
    }
}

#[cfg(test)]
mod urgency_tests {
    use super::*;

    #[test]
    fn marks_follow_the_clock() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        assert_eq!(urgency(now - Duration::minutes(1), now), Urgency::Overdue);
        assert_eq!(urgency(now + Duration::hours(47), now), Urgency::DueSoon);
        assert_eq!(urgency(now + Duration::days(5), now), Urgency::OnTime);
    }
}
