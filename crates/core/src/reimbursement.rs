//! Reimbursement of the provider's costs (LEGAL.md, "Costs"; 18 U.S.C. 2706): a fee schedule per
//! process type, the time reviewers record on a request, an invoice per request (the scheduled
//! fee, plus the hours recorded when the request was burdensome or unusual), waivers for child
//! safety and threats to life, and paid / unpaid tracking. Money is integer minor units with a
//! currency code.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{named_enum, FieldError, LegalProcess, RequestStatus};

/// An ISO 4217 currency code: three capital letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 4217 currency code"))
            .examples(["USD"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Currency {}

impl Currency {
    pub fn parse(raw: &str) -> Result<Currency, String> {
        let c = raw.trim().to_ascii_uppercase();
        if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
            Ok(Currency(c))
        } else {
            Err(format!(
                "'{raw}' is not a currency code (three letters, e.g. USD)"
            ))
        }
    }

    pub fn usd() -> Currency {
        Currency("USD".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Currency, String> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount as people read it: `45.00 USD` (two decimals; every currency the schedule uses is
/// taken to have cents).
pub fn format_money(minor: i64, currency: &Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", m / 100, m % 100)
}

/// The most a single fee or hourly rate may be (one million in major units): a typing slip
/// should not produce an invoice nobody can pay.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000;

/// What the provider charges: one currency, a fee per process type (absent means 0) and the
/// hourly rate burdensome requests are billed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeeSchedule {
    pub currency: Currency,
    /// Per hour recorded, in minor units (cents), for burdensome or unusual requests.
    pub hourly_rate_minor: i64,
    /// Fee per process type, in minor units; a process not listed costs nothing.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, i64>))]
    pub fees: BTreeMap<LegalProcess, i64>,
}

impl Default for FeeSchedule {
    /// LEGAL.md's scale: 45 USD per subpoena, 150 per court order, 245 per search warrant;
    /// voluntary and non-disclosing routes (emergency, preservation, device return, fraud
    /// referral, removal, redirected foreign demands) and national security process cost
    /// nothing; 75 USD an hour for burdensome requests.
    fn default() -> Self {
        use LegalProcess::*;
        let fees = [
            (Subpoena, 4_500),
            (CivilSubpoena, 4_500),
            (CourtOrder2703d, 15_000),
            (CourtOrderOther, 15_000),
            (PenRegister, 15_000),
            (Wiretap, 15_000),
            (CloudActOrder, 15_000),
            (SearchWarrant, 24_500),
        ];
        FeeSchedule {
            currency: Currency::usd(),
            hourly_rate_minor: 7_500,
            fees: fees.into_iter().collect(),
        }
    }
}

impl FeeSchedule {
    /// The fee for one request of this process.
    pub fn fee(&self, process: LegalProcess) -> i64 {
        self.fees.get(&process).copied().unwrap_or(0)
    }

    /// Every amount between 0 and [`MAX_AMOUNT_MINOR`]; zero fees are dropped (absent means 0).
    pub fn validate(mut self) -> Result<FeeSchedule, FieldError> {
        let check = |field: String, v: i64| {
            if !(0..=MAX_AMOUNT_MINOR).contains(&v) {
                Err(FieldError::new(
                    field,
                    format!("an amount in minor units (cents) from 0 to {MAX_AMOUNT_MINOR}"),
                ))
            } else {
                Ok(())
            }
        };
        check("hourly_rate_minor".into(), self.hourly_rate_minor)?;
        for (p, v) in &self.fees {
            check(format!("fees.{p}"), *v)?;
        }
        self.fees.retain(|_, v| *v != 0);
        Ok(self)
    }
}

named_enum! {
    /// Why the fees of a request are waived (LEGAL.md: child safety and threats to life).
    pub enum WaiverReason ("waiver reason") {
        ChildSafety = "child_safety",
        ThreatToLife = "threat_to_life",
    }
}

impl WaiverReason {
    pub fn label(self) -> &'static str {
        match self {
            WaiverReason::ChildSafety => "child safety",
            WaiverReason::ThreatToLife => "threat to life",
        }
    }
}

/// The waiver a request gets without anyone asking: an emergency is a threat to life.
pub fn automatic_waiver(emergency: bool) -> Option<WaiverReason> {
    emergency.then_some(WaiverReason::ThreatToLife)
}

/// The note recorded with an automatic waiver.
pub const AUTOMATIC_WAIVER_NOTE: &str =
    "Emergency request (danger of death or serious physical injury): fees waived automatically";

named_enum! {
    /// Where an invoice stands.
    pub enum InvoiceStatus ("invoice status") {
        Unpaid = "unpaid",
        Paid = "paid",
        /// Nothing is owed: the fees were waived (child safety, threat to life).
        Waived = "waived",
    }
}

impl InvoiceStatus {
    /// Marking paid: only an unpaid invoice.
    pub fn mark_paid(self) -> Result<InvoiceStatus, String> {
        match self {
            InvoiceStatus::Unpaid => Ok(InvoiceStatus::Paid),
            InvoiceStatus::Paid => Err("the invoice is already marked paid".into()),
            InvoiceStatus::Waived => Err("the invoice was waived: nothing is owed".into()),
        }
    }

    /// Marking unpaid again (a payment recorded in error, a bounced transfer).
    pub fn mark_unpaid(self) -> Result<InvoiceStatus, String> {
        match self {
            InvoiceStatus::Paid => Ok(InvoiceStatus::Unpaid),
            InvoiceStatus::Unpaid => Err("the invoice is already unpaid".into()),
            InvoiceStatus::Waived => Err("the invoice was waived: nothing is owed".into()),
        }
    }

    /// A waiver recorded after the invoice was issued: an unpaid one is waived; a paid one
    /// stays paid (refunds are outside Custodian).
    pub fn waive(self) -> Result<InvoiceStatus, String> {
        match self {
            InvoiceStatus::Unpaid | InvoiceStatus::Waived => Ok(InvoiceStatus::Waived),
            InvoiceStatus::Paid => Err(
                "the invoice is already paid; record the refund outside Custodian and mark it \
                 unpaid first"
                    .into(),
            ),
        }
    }
}

/// Whether a request is far enough along to be invoiced: decided (or beyond).
pub fn invoiceable(status: RequestStatus) -> bool {
    matches!(
        status,
        RequestStatus::Decided
            | RequestStatus::Producing
            | RequestStatus::Delivered
            | RequestStatus::Closed
    )
}

/// The most minutes one time entry may record (a working day and a half).
pub const MAX_ENTRY_MINUTES: u32 = 12 * 60;
const MAX_NOTE: usize = 1_000;

/// Checks a time entry: 1 to [`MAX_ENTRY_MINUTES`] minutes and a note saying what was done.
pub fn check_time_entry(minutes: u32, note: &str) -> Result<String, FieldError> {
    if !(1..=MAX_ENTRY_MINUTES).contains(&minutes) {
        return Err(FieldError::new(
            "minutes",
            format!("from 1 to {MAX_ENTRY_MINUTES} minutes per entry"),
        ));
    }
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE {
        return Err(FieldError::new(
            "note",
            format!("say what the time was spent on (1 to {MAX_NOTE} characters)"),
        ));
    }
    Ok(note.to_string())
}

/// What an invoice is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingFacts {
    pub process: LegalProcess,
    pub emergency: bool,
    /// A reviewer marked the request burdensome or unusual: its hours are billed.
    pub burdensome: bool,
    /// Minutes recorded on the request.
    pub minutes: u64,
    /// A waiver a reviewer recorded (child safety, threat to life).
    pub waiver: Option<WaiverReason>,
}

/// An invoice's amounts, fixed when it is issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceAmounts {
    pub currency: Currency,
    /// The scheduled fee for the process.
    pub fee_minor: i64,
    /// Minutes billed (0 unless the request was burdensome or unusual).
    pub billed_minutes: u64,
    pub hourly_rate_minor: i64,
    /// The billed minutes at the hourly rate, rounded to the nearest minor unit.
    pub hours_minor: i64,
    /// Fee plus hours, before any waiver.
    pub total_minor: i64,
    /// Why nothing is owed, when waived.
    pub waiver: Option<WaiverReason>,
    /// What the agency owes: the total, or 0 when waived.
    pub amount_due_minor: i64,
}

/// The invoice of one request under a schedule.
pub fn compute(schedule: &FeeSchedule, facts: &BillingFacts) -> InvoiceAmounts {
    let fee_minor = schedule.fee(facts.process);
    let billed_minutes = if facts.burdensome { facts.minutes } else { 0 };
    let rate = schedule.hourly_rate_minor;
    // Minutes times the hourly rate, in minor units, rounded half up (both are non-negative).
    let hours_minor =
        i64::try_from((u128::from(billed_minutes) * u128::try_from(rate).unwrap_or(0) + 30) / 60)
            .unwrap_or(i64::MAX);
    let total_minor = fee_minor.saturating_add(hours_minor);
    let waiver = facts.waiver.or(automatic_waiver(facts.emergency));
    InvoiceAmounts {
        currency: schedule.currency.clone(),
        fee_minor,
        billed_minutes,
        hourly_rate_minor: rate,
        hours_minor,
        total_minor,
        waiver,
        amount_due_minor: if waiver.is_some() { 0 } else { total_minor },
    }
}

/// The status an invoice is issued in.
pub fn initial_status(amounts: &InvoiceAmounts) -> InvoiceStatus {
    if amounts.waiver.is_some() {
        InvoiceStatus::Waived
    } else {
        InvoiceStatus::Unpaid
    }
}

/// Invoice numbers: `INV-2026-000042`, counted per year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceNumber {
    pub year: i32,
    pub sequence: u32,
}

impl InvoiceNumber {
    pub fn new(year: i32, sequence: u32) -> Self {
        Self { year, sequence }
    }

    pub fn parse(s: &str) -> Option<InvoiceNumber> {
        let rest = s.strip_prefix("INV-")?;
        let (year, seq) = rest.split_once('-')?;
        if year.len() != 4 || seq.len() < 6 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(InvoiceNumber {
            year: year.parse().ok()?,
            sequence: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INV-{:04}-{:06}", self.year, self.sequence)
    }
}

/// What the invoice document says, beside its amounts.
pub struct InvoiceDocument<'a> {
    pub provider: &'a str,
    pub number: &'a str,
    pub issued_at: DateTime<Utc>,
    pub request_number: &'a str,
    pub agency: &'a str,
    pub process: LegalProcess,
    pub case_reference: Option<&'a str>,
    pub amounts: &'a InvoiceAmounts,
    pub waiver_note: Option<&'a str>,
    pub status: InvoiceStatus,
    pub paid_on: Option<NaiveDate>,
}

/// The invoice as lines of text, for the PDF writer and the pages.
pub fn invoice_lines(d: &InvoiceDocument<'_>) -> Vec<String> {
    let a = d.amounts;
    let money = |m: i64| format_money(m, &a.currency);
    let mut lines = vec![
        format!("{} - INVOICE {}", d.provider, d.number),
        String::new(),
        format!("Issued:            {}", d.issued_at.format("%Y-%m-%d")),
        format!("To:                {}", d.agency),
        format!("Request:           {}", d.request_number),
        format!("Legal process:     {}", d.process.label()),
    ];
    if let Some(c) = d.case_reference {
        lines.push(format!("Case reference:    {c}"));
    }
    lines.push(String::new());
    lines.push(
        "Reimbursement of the reasonable costs of searching for, assembling and reproducing".into(),
    );
    lines.push("the information (18 U.S.C. 2706).".into());
    lines.push(String::new());
    lines.push(format!(
        "{:<56}{:>20}",
        format!("Fee: {}", d.process.label()),
        money(a.fee_minor)
    ));
    if a.billed_minutes > 0 {
        lines.push(format!(
            "{:<56}{:>20}",
            format!(
                "Time: {}h{:02} at {} per hour",
                a.billed_minutes / 60,
                a.billed_minutes % 60,
                money(a.hourly_rate_minor)
            ),
            money(a.hours_minor)
        ));
    }
    lines.push(format!("{:<56}{:>20}", "Total", money(a.total_minor)));
    if let Some(w) = a.waiver {
        lines.push(format!(
            "{:<56}{:>20}",
            format!("Waived ({})", w.label()),
            money(-a.total_minor)
        ));
        if let Some(n) = d.waiver_note {
            lines.push(format!("Waiver: {n}"));
        }
    }
    lines.push(format!(
        "{:<56}{:>20}",
        "Amount due",
        money(a.amount_due_minor)
    ));
    lines.push(String::new());
    lines.push(match (d.status, d.paid_on) {
        (InvoiceStatus::Paid, Some(day)) => format!("Status: paid on {day}"),
        (s, _) => format!("Status: {s}"),
    });
    lines.push(format!("Please quote {} with your payment.", d.number));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(process: LegalProcess) -> BillingFacts {
        BillingFacts {
            process,
            emergency: false,
            burdensome: false,
            minutes: 0,
            waiver: None,
        }
    }

    #[test]
    fn the_default_schedule_is_legal_mds_scale() {
        let s = FeeSchedule::default();
        assert_eq!(s.fee(LegalProcess::Subpoena), 4_500);
        assert_eq!(s.fee(LegalProcess::CourtOrder2703d), 15_000);
        assert_eq!(s.fee(LegalProcess::CourtOrderOther), 15_000);
        assert_eq!(s.fee(LegalProcess::SearchWarrant), 24_500);
        assert_eq!(s.fee(LegalProcess::Emergency), 0);
        assert_eq!(s.fee(LegalProcess::FraudReferral), 0);
        assert_eq!(s.currency.as_str(), "USD");
    }

    #[test]
    fn a_subpoena_costs_its_fee_and_time_only_when_burdensome() {
        let s = FeeSchedule::default();
        let mut f = facts(LegalProcess::Subpoena);
        f.minutes = 90;
        let a = compute(&s, &f);
        assert_eq!(
            (a.fee_minor, a.hours_minor, a.amount_due_minor),
            (4_500, 0, 4_500)
        );
        assert_eq!(initial_status(&a), InvoiceStatus::Unpaid);
        f.burdensome = true;
        let a = compute(&s, &f);
        assert_eq!(a.billed_minutes, 90);
        assert_eq!(a.hours_minor, 11_250);
        assert_eq!(a.total_minor, 15_750);
        assert_eq!(a.amount_due_minor, 15_750);
        f.minutes = 1; // 75.00/60 = 1.25 -> 125 cents
        assert_eq!(compute(&s, &f).hours_minor, 125);
    }

    #[test]
    fn emergencies_and_child_safety_are_waived() {
        let s = FeeSchedule::default();
        let mut f = facts(LegalProcess::SearchWarrant);
        f.emergency = true;
        let a = compute(&s, &f);
        assert_eq!(a.waiver, Some(WaiverReason::ThreatToLife));
        assert_eq!((a.total_minor, a.amount_due_minor), (24_500, 0));
        assert_eq!(initial_status(&a), InvoiceStatus::Waived);
        let mut f = facts(LegalProcess::Subpoena);
        f.waiver = Some(WaiverReason::ChildSafety);
        assert_eq!(compute(&s, &f).waiver, Some(WaiverReason::ChildSafety));
    }

    #[test]
    fn paid_and_unpaid_move_as_they_should() {
        use InvoiceStatus::*;
        assert_eq!(Unpaid.mark_paid(), Ok(Paid));
        assert!(Paid.mark_paid().is_err());
        assert_eq!(Paid.mark_unpaid(), Ok(Unpaid));
        assert!(Unpaid.mark_unpaid().is_err());
        assert!(Waived.mark_paid().is_err());
        assert_eq!(Unpaid.waive(), Ok(Waived));
        assert!(Paid.waive().is_err());
    }

    #[test]
    fn numbers_money_and_schedules_are_checked() {
        let n = InvoiceNumber::new(2026, 42);
        assert_eq!(n.to_string(), "INV-2026-000042");
        assert_eq!(InvoiceNumber::parse("INV-2026-000042"), Some(n));
        assert_eq!(InvoiceNumber::parse("LE-2026-000042"), None);
        assert_eq!(format_money(4_500, &Currency::usd()), "45.00 USD");
        assert_eq!(format_money(-5, &Currency::usd()), "-0.05 USD");
        assert!(Currency::parse("usd").is_ok());
        assert!(Currency::parse("US").is_err());
        let mut s = FeeSchedule::default();
        s.fees.insert(LegalProcess::Removal, -1);
        assert_eq!(s.validate().unwrap_err().field, "fees.removal");
        let mut s = FeeSchedule::default();
        s.fees.insert(LegalProcess::Removal, 0);
        assert!(!s
            .validate()
            .unwrap()
            .fees
            .contains_key(&LegalProcess::Removal));
        assert!(check_time_entry(0, "x").is_err());
        assert!(check_time_entry(30, "  ").is_err());
        assert_eq!(check_time_entry(30, " search ").unwrap(), "search");
    }

    #[test]
    fn the_invoice_document_shows_fee_hours_waiver_and_due() {
        let s = FeeSchedule::default();
        let mut f = facts(LegalProcess::Subpoena);
        f.burdensome = true;
        f.minutes = 120;
        let a = compute(&s, &f);
        let lines = invoice_lines(&InvoiceDocument {
            provider: "Example Provider",
            number: "INV-2026-000001",
            issued_at: Utc::now(),
            request_number: "LE-2026-000007",
            agency: "Springfield Police Department",
            process: LegalProcess::Subpoena,
            case_reference: Some("2026-CR-7"),
            amounts: &a,
            waiver_note: None,
            status: InvoiceStatus::Unpaid,
            paid_on: None,
        })
        .join("\n");
        assert!(lines.contains("INV-2026-000001"));
        assert!(lines.contains("45.00 USD"));
        assert!(lines.contains("Time: 2h00 at 75.00 USD per hour"));
        assert!(lines.contains("195.00 USD"));
    }
}
