//! A demand's date range as the half-open span of instants it covers.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use custodian_core::request::DateRange;

use crate::{SourceError, SourceResult};

/// From the first instant of `from` (UTC) up to, not including, the first instant of the day
/// after `to`: both days of the range included. An unbounded period covers the whole history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

impl Period {
    pub const ALL: Period = Period {
        start: None,
        end: None,
    };

    pub fn of(range: Option<DateRange>) -> SourceResult<Period> {
        let Some(r) = range else {
            return Ok(Period::ALL);
        };
        if r.from > r.to {
            return Err(SourceError::Invalid(format!(
                "date_range: from ({}) is after to ({})",
                r.from, r.to
            )));
        }
        Ok(Period {
            start: Some(midnight(r.from)),
            end: r.to.checked_add_days(Days::new(1)).map(midnight),
        })
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        !matches!(self.start, Some(s) if t < s) && !matches!(self.end, Some(e) if t >= e)
    }

    /// Whether anything in `[from, until]` (`until` None: still going) falls in the period.
    pub fn overlaps(&self, from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> bool {
        !matches!(self.end, Some(e) if from >= e)
            && !matches!((self.start, until), (Some(s), Some(u)) if u < s)
    }

    /// The bounds as Unix seconds, for queries: `[start, end)`.
    pub fn seconds(&self) -> (i64, i64) {
        (
            self.start.map_or(i64::MIN, |s| s.timestamp()),
            self.end.map_or(i64::MAX, |e| e.timestamp()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn both_days_are_included() {
        let p = Period::of(Some(DateRange {
            from: day("2025-03-01"),
            to: day("2025-03-31"),
        }))
        .unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(!p.contains(t("2025-02-28T23:59:59Z")));
        assert!(p.contains(t("2025-03-01T00:00:00Z")));
        assert!(p.contains(t("2025-03-31T23:59:59Z")));
        assert!(!p.contains(t("2025-04-01T00:00:00Z")));
        assert!(p.overlaps(t("2024-01-01T00:00:00Z"), None));
        assert!(!p.overlaps(t("2024-01-01T00:00:00Z"), Some(t("2025-02-01T00:00:00Z"))));
        assert!(!p.overlaps(t("2025-04-01T00:00:00Z"), None));
    }

    #[test]
    fn a_reversed_range_is_refused() {
        let e = Period::of(Some(DateRange {
            from: day("2025-03-02"),
            to: day("2025-03-01"),
        }))
        .unwrap_err();
        assert!(e.to_string().contains("date_range"));
    }
}
