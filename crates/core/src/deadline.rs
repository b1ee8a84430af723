//! Deadlines: business-day calendars with holidays, and the clocks of LEGAL.md ("Clocks").

use std::collections::{BTreeMap, BTreeSet};

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
        Self {
            holidays: years
                .flat_map(us_federal_holidays)
                .map(|(date, _)| date)
                .collect(),
        }
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

/// The US federal holidays (5 U.S.C. 6103) of one year with their names, on the day they are
/// observed (a Saturday's on the Friday before, a Sunday's on the Monday after).
pub fn us_federal_holidays(y: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = [
        (1, 1, "New Year's Day"),
        (6, 19, "Juneteenth National Independence Day"),
        (7, 4, "Independence Day"),
        (11, 11, "Veterans Day"),
        (12, 25, "Christmas Day"),
    ];
    let nth = |m: u32, wd: Weekday, n: u8| NaiveDate::from_weekday_of_month_opt(y, m, wd, n);
    let floating = [
        (
            nth(1, Weekday::Mon, 3),
            "Birthday of Martin Luther King, Jr.",
        ),
        (nth(2, Weekday::Mon, 3), "Washington's Birthday"),
        (last_weekday(y, 5, Weekday::Mon), "Memorial Day"),
        (nth(9, Weekday::Mon, 1), "Labor Day"),
        (nth(10, Weekday::Mon, 2), "Columbus Day"),
        (nth(11, Weekday::Thu, 4), "Thanksgiving Day"),
    ];
    let mut out: Vec<(NaiveDate, &'static str)> = fixed
        .into_iter()
        .filter_map(|(m, d, name)| NaiveDate::from_ymd_opt(y, m, d).map(|d| (observed(d), name)))
        .chain(
            floating
                .into_iter()
                .filter_map(|(d, name)| d.map(|d| (d, name))),
        )
        .collect();
    out.sort();
    out
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

crate::named_enum! {
    /// What an admin's calendar starts from: the compiled US federal holidays (which it extends,
    /// and may work through), or nothing (its own holidays replace them).
    pub enum CalendarBase ("calendar base") {
        UsFederal = "us_federal",
        Empty = "empty",
    }
}

/// Where a day off in a calendar comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidaySource {
    /// The compiled US federal list.
    Federal,
    /// Added by the admin.
    Added,
}

/// One day off, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
    pub source: HolidaySource,
}

/// A business-day calendar as an admin keeps it: a base, the holidays added to it, and the
/// compiled holidays the provider works through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    pub base: CalendarBase,
    pub added: BTreeMap<NaiveDate, String>,
    pub worked: BTreeSet<NaiveDate>,
}

/// What adding or removing a holiday changes in a stored calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarEdit {
    /// Keep a holiday of the admin's own.
    Add(NaiveDate, String),
    /// Forget a holiday of the admin's own.
    Forget(NaiveDate),
    /// Work through a compiled holiday.
    Work(NaiveDate),
    /// Take a compiled holiday that was worked through off again.
    Unwork(NaiveDate),
}

/// Why a holiday cannot be added or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{0} is a {1}; weekends are never business days")]
    Weekend(NaiveDate, Weekday),
    #[error("{0} is already a holiday ({1})")]
    AlreadyHoliday(NaiveDate, String),
    #[error("{0} is not a holiday in this calendar")]
    NotHoliday(NaiveDate),
    #[error("a holiday needs a name of 1 to 100 characters")]
    BadName,
}

impl CalendarSpec {
    pub fn new(base: CalendarBase) -> Self {
        Self {
            base,
            added: BTreeMap::new(),
            worked: BTreeSet::new(),
        }
    }

    fn federal(&self, year: i32) -> Vec<(NaiveDate, &'static str)> {
        match self.base {
            CalendarBase::UsFederal => us_federal_holidays(year),
            CalendarBase::Empty => Vec::new(),
        }
    }

    /// The days off of one year, in date order.
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let mut out: Vec<Holiday> = self
            .federal(year)
            .into_iter()
            .filter(|(d, _)| !self.worked.contains(d))
            .map(|(date, name)| Holiday {
                date,
                name: name.to_string(),
                source: HolidaySource::Federal,
            })
            .collect();
        out.extend(
            self.added
                .iter()
                .filter(|(d, _)| d.year() == year)
                .map(|(d, name)| Holiday {
                    date: *d,
                    name: name.clone(),
                    source: HolidaySource::Added,
                }),
        );
        out.sort_by_key(|h| h.date);
        out.dedup_by_key(|h| h.date);
        out
    }

    /// The working days of the given years.
    pub fn calendar(&self, years: std::ops::RangeInclusive<i32>) -> BusinessCalendar {
        BusinessCalendar::new(years.flat_map(|y| self.holidays(y)).map(|h| h.date))
    }

    /// What making `date` a holiday named `name` changes, or why it cannot be.
    pub fn add(&self, date: NaiveDate, name: &str) -> Result<CalendarEdit, CalendarError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CalendarError::BadName);
        }
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            return Err(CalendarError::Weekend(date, date.weekday()));
        }
        if self.worked.contains(&date) {
            return Ok(CalendarEdit::Unwork(date));
        }
        match self
            .holidays(date.year())
            .into_iter()
            .find(|h| h.date == date)
        {
            Some(h) => Err(CalendarError::AlreadyHoliday(date, h.name)),
            None => Ok(CalendarEdit::Add(date, name.to_string())),
        }
    }

    /// What making `date` a working day again changes, or why it cannot be.
    pub fn remove(&self, date: NaiveDate) -> Result<CalendarEdit, CalendarError> {
        if self.added.contains_key(&date) {
            return Ok(CalendarEdit::Forget(date));
        }
        let federal = self.federal(date.year()).iter().any(|(d, _)| *d == date);
        if federal && !self.worked.contains(&date) {
            return Ok(CalendarEdit::Work(date));
        }
        Err(CalendarError::NotHoliday(date))
    }
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn an_admins_calendar_extends_or_replaces_the_federal_one() {
        let mut spec = CalendarSpec::new(CalendarBase::UsFederal);
        let thanksgiving = d(2026, 11, 26);
        let friday_after = d(2026, 11, 27);
        let columbus = d(2026, 10, 12);
        assert_eq!(
            spec.add(friday_after, " Day after Thanksgiving "),
            Ok(CalendarEdit::Add(
                friday_after,
                "Day after Thanksgiving".into()
            ))
        );
        spec.added
            .insert(friday_after, "Day after Thanksgiving".into());
        assert_eq!(spec.remove(columbus), Ok(CalendarEdit::Work(columbus)));
        spec.worked.insert(columbus);
        let days: Vec<NaiveDate> = spec.holidays(2026).iter().map(|h| h.date).collect();
        assert!(days.contains(&thanksgiving) && days.contains(&friday_after));
        assert!(!days.contains(&columbus));
        assert_eq!(
            spec.add(columbus, "Columbus Day"),
            Ok(CalendarEdit::Unwork(columbus))
        );
        assert_eq!(
            spec.remove(friday_after),
            Ok(CalendarEdit::Forget(friday_after))
        );
        assert!(matches!(
            spec.add(thanksgiving, "Turkey"),
            Err(CalendarError::AlreadyHoliday(_, n)) if n == "Thanksgiving Day"
        ));
        assert_eq!(
            spec.add(d(2026, 11, 28), "Saturday"),
            Err(CalendarError::Weekend(d(2026, 11, 28), Weekday::Sat))
        );
        assert_eq!(
            spec.remove(d(2026, 11, 30)),
            Err(CalendarError::NotHoliday(d(2026, 11, 30)))
        );
        assert_eq!(spec.add(d(2026, 11, 30), " "), Err(CalendarError::BadName));

        // From Monday 23 November, ten business days end on 9 December with the Friday off
        // (8 December with the federal calendar alone).
        let from = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        assert_eq!(
            spec.calendar(2026..=2027)
                .add_business_days(from, 10)
                .date_naive(),
            d(2026, 12, 9)
        );

        // A calendar of its own replaces the federal holidays.
        let mut own = CalendarSpec::new(CalendarBase::Empty);
        own.added.insert(d(2026, 12, 25), "Christmas Day".into());
        own.added
            .insert(d(2026, 12, 28), "Boxing Day (substitute)".into());
        let days: Vec<NaiveDate> = own.holidays(2026).iter().map(|h| h.date).collect();
        assert_eq!(days, vec![d(2026, 12, 25), d(2026, 12, 28)]);
        assert_eq!(
            own.remove(thanksgiving),
            Err(CalendarError::NotHoliday(thanksgiving))
        );
    }

    #[test]
    fn federal_holidays_have_names() {
        let h = us_federal_holidays(2026);
        assert_eq!(h.len(), 11);
        assert!(h.contains(&(d(2026, 7, 3), "Independence Day")));
        assert_eq!(BusinessCalendar::us_federal(2026..=2026).holidays.len(), 11);
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

crate::named_enum! {
    /// The reminder an assignee receives about a deadline: before it, and once it has passed.
    pub enum ReminderKind ("reminder kind") {
        DueSoon = "due_soon",
        Overdue = "overdue",
    }
}

/// Which reminder a deadline calls for at `now`, if any.
pub fn reminder_due(respond_by: DateTime<Utc>, now: DateTime<Utc>) -> Option<ReminderKind> {
    match urgency(respond_by, now) {
        Urgency::Overdue => Some(ReminderKind::Overdue),
        Urgency::DueSoon => Some(ReminderKind::DueSoon),
        Urgency::OnTime => None,
    }
}

/// Whether the next step of a request is the provider's, so that its deadline is worth a
/// reminder (a question to the agency waits for the agency).
pub fn provider_acts_next(status: crate::RequestStatus) -> bool {
    use crate::RequestStatus::*;
    matches!(status, Received | InReview | Decided | Producing)
}

/// Whether a request's deadline still counts: its answer is not delivered and it has not
/// ended. Only these get due-soon and overdue marks.
pub fn awaiting_answer(status: crate::RequestStatus) -> bool {
    use crate::RequestStatus::*;
    matches!(
        status,
        Received | InReview | ClarificationRequested | Decided | Producing
    )
}
