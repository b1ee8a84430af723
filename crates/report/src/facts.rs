//! The reporting facts of one request, the reporting periods, and the counter cells a request
//! contributes to. Everything a report prints is a sum over these cells.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use custodian_core::{named_enum, Country, LegalProcess};
use serde::{Deserialize, Serialize};

named_enum! {
    /// How much of what was asked for was given.
    pub enum Outcome ("outcome") {
        Full = "full",
        Partial = "partial",
        None = "none",
    }
}

named_enum! {
    /// The most sensitive kind of data disclosed.
    pub enum Disclosed ("disclosed") {
        Content = "content",
        NonContent = "non_content",
        None = "none",
    }
}

named_enum! {
    /// Why nothing was disclosed.
    pub enum NoneReason ("none_reason") {
        Rejected = "rejected",
        NoData = "no_data",
        Withdrawn = "withdrawn",
        Redirected = "redirected",
    }
}

/// A half-year (`2025-H1`) or a whole year (`2025`): what a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    /// 1 or 2 for a half-year, None for the whole year.
    pub half: Option<u8>,
}

impl Period {
    pub fn half_of(at: &DateTime<Utc>) -> Period {
        let at = at.naive_utc();
        Period {
            year: at.year(),
            half: Some(if at.month() <= 6 { 1 } else { 2 }),
        }
    }

    pub fn parse(s: &str) -> Result<Period, String> {
        let bad = || format!("'{s}' is not a period: expected YYYY-H1, YYYY-H2 or YYYY");
        let s = s.trim();
        let (year, half) = match s.split_once('-') {
            Some((y, "H1")) | Some((y, "h1")) => (y, Some(1)),
            Some((y, "H2")) | Some((y, "h2")) => (y, Some(2)),
            Some(_) => return Err(bad()),
            None => (s, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        Ok(Period { year, half })
    }

    /// The half-years this period is made of.
    pub fn halves(&self) -> Vec<Period> {
        match self.half {
            Some(_) => vec![*self],
            None => vec![
                Period {
                    year: self.year,
                    half: Some(1),
                },
                Period {
                    year: self.year,
                    half: Some(2),
                },
            ],
        }
    }

    /// First and last day, inclusive.
    pub fn dates(&self) -> (NaiveDate, NaiveDate) {
        let (m0, m1, d1) = match self.half {
            Some(1) => (1, 6, 30),
            Some(_) => (7, 12, 31),
            None => (1, 12, 31),
        };
        let from = NaiveDate::from_ymd_opt(self.year, m0, 1).unwrap_or(NaiveDate::MIN);
        let to = NaiveDate::from_ymd_opt(self.year, m1, d1).unwrap_or(NaiveDate::MAX);
        (from, to)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.half {
            Some(h) => write!(f, "{}-H{h}", self.year),
            None => write!(f, "{}", self.year),
        }
    }
}

impl std::str::FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Period::parse(s)
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What the transparency report needs to know about one request, and nothing more: no
/// customer data, no names, no targets. The audit log carries these facts verbatim in the
/// entry that counts the request (`report.counted`), or commits to them in the batch entry of
/// an import (`requests.imported`, see [`crate::batch`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    pub received_at: DateTime<Utc>,
    /// The country the request is counted under (the requesting state of a treaty request).
    pub country: Country,
    pub process: LegalProcess,
    /// A finer category within the process that the provider publishes as its own row of
    /// the per-country table (e.g. which UK instrument a CLOUD Act order was); see
    /// [`check_category`]. Absent for most requests, and then left out of the audit details,
    /// so that facts recorded before categories existed hash as they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub emergency: bool,
    pub accounts: u64,
    /// None while the request is still open.
    pub outcome: Option<Outcome>,
    pub disclosed: Option<Disclosed>,
    pub none_reason: Option<NoneReason>,
    /// A non-disclosure order came with the request.
    pub ndo: bool,
    /// The customer was told.
    pub notified: bool,
    pub responded_at: Option<DateTime<Utc>>,
}

/// Dimensions of the counter table. Each is a report section; `key` picks the row.
pub mod dim {
    pub const PROCESS: &str = "process";
    pub const COUNTRY: &str = "country";
    pub const COUNTRY_PROCESS: &str = "country_process";
    pub const NATIONAL_SECURITY: &str = "national_security";
    pub const PRESERVATION: &str = "preservation";
    pub const EMERGENCY: &str = "emergency";
    pub const NOTICES: &str = "notices";
    pub const DAYS: &str = "days_to_respond";
    pub const TOTAL: &str = "total";
}

/// What a cell adds per request: one, or the request's number of accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Request,
    Accounts,
}

/// A category is a short lower-case name: letters, digits, `_` and `-`, at most 40.
pub fn check_category(s: &str) -> Result<(), String> {
    if s.is_empty()
        || s.len() > 40
        || !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "'{s}' is not a category: up to 40 of a-z, 0-9, '_' and '-'"
        ));
    }
    Ok(())
}

/// One counter: a period, a section, a row and a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub period: String,
    pub dim: String,
    pub key: String,
    pub metric: String,
}

impl Facts {
    pub fn period(&self) -> Period {
        Period::half_of(&self.received_at)
    }

    fn some_data(&self) -> bool {
        matches!(
            self.disclosed,
            Some(Disclosed::Content) | Some(Disclosed::NonContent)
        )
    }

    /// Whole days from receipt to answer, if answered.
    pub fn days_to_respond(&self) -> Option<i64> {
        self.responded_at
            .map(|r| (r - self.received_at).num_days().max(0))
    }

    /// The cells this request adds to, each with the amount it adds. National security
    /// process lands only in its own section, which is published in bands.
    pub fn cells(&self) -> Vec<(CellKey, i64)> {
        let accounts = i64::try_from(self.accounts).unwrap_or(i64::MAX);
        self.cell_units()
            .into_iter()
            .map(|(key, unit)| {
                let n = match unit {
                    Unit::Request => 1,
                    Unit::Accounts => accounts,
                };
                (key, n)
            })
            .collect()
    }

    /// The cells this request adds to, each with what it adds per request.
    pub fn cell_units(&self) -> Vec<(CellKey, Unit)> {
        let period = self.period().to_string();
        let mut out = Vec::with_capacity(16);
        self.visit_cells(|dim, row, metric, unit| {
            out.push((
                CellKey {
                    period: period.clone(),
                    dim: dim.to_string(),
                    key: row.key(),
                    metric: metric.to_string(),
                },
                unit,
            ))
        });
        out
    }

    /// Calls `f` with each cell of this request's half-year it adds to (section, row,
    /// column, and what it adds per request), allocating nothing: an import calls it for
    /// millions of rows. National security process lands only in its own section, which is
    /// published in bands.
    pub fn visit_cells<'a>(
        &'a self,
        mut f: impl FnMut(&'static str, RowRef<'a>, &'static str, Unit),
    ) {
        self.visit_counts(&mut f);
        self.visit_answer_time(&mut f);
    }

    /// The cells of [`Facts::visit_cells`] but the days-to-respond histogram's: they do not
    /// depend on when the request was received within its half-year, nor when it was
    /// answered, so an import counts the rows that agree on everything else together.
    pub fn visit_counts<'a>(
        &'a self,
        mut f: impl FnMut(&'static str, RowRef<'a>, &'static str, Unit),
    ) {
        use RowRef as R;
        use Unit::{Accounts, Request};
        if self.process.is_national_security() {
            f(dim::NATIONAL_SECURITY, R::None, "requests", Request);
            f(dim::NATIONAL_SECURITY, R::None, "accounts", Accounts);
            return;
        }
        let process = R::Process(self.process);
        let country = R::Country(self.country);
        f(dim::TOTAL, R::None, "received", Request);
        f(dim::TOTAL, R::None, "accounts", Accounts);
        f(dim::PROCESS, process, "received", Request);
        match self.outcome {
            Some(Outcome::Full) => f(dim::PROCESS, process, "full", Request),
            Some(Outcome::Partial) => f(dim::PROCESS, process, "partial", Request),
            Some(Outcome::None) => f(dim::PROCESS, process, "none", Request),
            None => {}
        }
        f(dim::COUNTRY, country, "received", Request);
        match (self.disclosed, self.none_reason) {
            (Some(Disclosed::Content), _) => f(dim::COUNTRY, country, "content", Request),
            (Some(Disclosed::NonContent), _) => f(dim::COUNTRY, country, "non_content", Request),
            (Some(Disclosed::None), Some(NoneReason::Rejected)) => {
                f(dim::COUNTRY, country, "rejected", Request)
            }
            (Some(Disclosed::None), _) => f(dim::COUNTRY, country, "no_data", Request),
            (None, _) => {}
        }
        let cp = R::CountryProcess(self.country, self.process, self.category.as_deref());
        f(dim::COUNTRY_PROCESS, cp, "received", Request);
        f(dim::COUNTRY_PROCESS, cp, "accounts", Accounts);
        if self.some_data() {
            f(dim::COUNTRY_PROCESS, cp, "disclosed", Request);
        }
        if self.process.is_preservation() {
            f(dim::PRESERVATION, R::None, "requests", Request);
            f(dim::PRESERVATION, R::None, "accounts", Accounts);
        }
        if self.emergency || self.process == LegalProcess::Emergency {
            f(dim::EMERGENCY, R::None, "received", Request);
            if self.some_data() {
                f(dim::EMERGENCY, R::None, "disclosed", Request);
            }
        }
        if self.ndo {
            f(dim::NOTICES, R::None, "ndo_received", Request);
            if !self.notified {
                f(dim::NOTICES, R::None, "delayed", Request);
            }
        }
        if self.notified {
            f(dim::NOTICES, R::None, "sent", Request);
        }
    }

    /// The days-to-respond histogram's cell of [`Facts::visit_cells`], if the request was
    /// answered: it depends on the half-year, the process and the days only.
    pub fn visit_answer_time<'a>(
        &'a self,
        mut f: impl FnMut(&'static str, RowRef<'a>, &'static str, Unit),
    ) {
        if self.process.is_national_security() {
            return;
        }
        if let Some(days) = self.days_to_respond() {
            f(dim::DAYS, RowRef::Days(days), "requests", Unit::Request);
        }
    }
}

/// The row of a cell as [`Facts::visit_cells`] gives it; [`RowRef::key`] spells it as
/// [`CellKey::key`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowRef<'a> {
    /// The section has one row.
    None,
    Process(LegalProcess),
    Country(Country),
    CountryProcess(Country, LegalProcess, Option<&'a str>),
    Days(i64),
}

impl RowRef<'_> {
    pub fn key(&self) -> String {
        match self {
            RowRef::None => String::new(),
            RowRef::Process(p) => p.as_str().to_string(),
            RowRef::Country(c) => c.code().to_string(),
            RowRef::CountryProcess(c, p, None) => format!("{}/{}", c.code(), p.as_str()),
            RowRef::CountryProcess(c, p, Some(k)) => format!("{}/{}/{k}", c.code(), p.as_str()),
            RowRef::Days(d) => d.to_string(),
        }
    }
}

/// The country a request is counted under: the requesting state of a treaty request, else
/// the issuing state (as `custodian_core::policy::counted_under` decides for a policy case).
pub fn counted_country(intake: &custodian_core::RequestIntake) -> Country {
    match (intake.received_via, intake.requesting_country) {
        (custodian_core::ReceivedVia::MlatDoj, Some(requesting)) => requesting,
        _ => intake.issuing_country,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_print() {
        assert_eq!(Period::parse("2025-H1").unwrap().to_string(), "2025-H1");
        assert_eq!(Period::parse("2025").unwrap().halves().len(), 2);
        assert!(Period::parse("2025-H3").is_err());
        assert!(Period::parse("25").is_err());
        let at: DateTime<Utc> = "2025-07-01T00:00:00Z".parse().unwrap();
        assert_eq!(Period::half_of(&at).to_string(), "2025-H2");
        assert_eq!(
            Period::parse("2024-H1").unwrap().dates().1.to_string(),
            "2024-06-30"
        );
    }
}
