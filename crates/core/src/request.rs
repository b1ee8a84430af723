//! A legal request as an agency serves it: the intake record and the rules it must satisfy
//! before anything is stored.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::routes::ForeignOrder;
use crate::{Country, DataCategory, FieldError, LegalProcess, ReceivedVia, Target};

/// The attestation an emergency request must carry (18 U.S.C. 2702(b)(8)): a danger of death or
/// serious physical injury, and a supervisor the provider can call back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmergencyAttestation {
    pub danger_of_death_or_serious_injury: bool,
    #[serde(default)]
    pub supervisor_name: Option<String>,
    #[serde(default)]
    pub supervisor_phone: Option<String>,
    /// What is happening and why the data will help, in the officer's words.
    #[serde(default)]
    pub narrative: Option<String>,
}

impl EmergencyAttestation {
    /// Whether a supervisor has been named with a number to call.
    pub fn has_supervisor_contact(&self) -> bool {
        let filled = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.trim().is_empty());
        filled(&self.supervisor_name) && filled(&self.supervisor_phone)
    }
}

/// A non-disclosure order (18 U.S.C. 2705(b)): until a date, or with no end date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonDisclosureOrder {
    Until(NaiveDate),
    Indefinite,
}

impl NonDisclosureOrder {
    pub fn parse(s: &str) -> Result<NonDisclosureOrder, String> {
        if s == "indefinite" {
            return Ok(NonDisclosureOrder::Indefinite);
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(NonDisclosureOrder::Until)
            .map_err(|_| format!("'{s}' is neither a date (YYYY-MM-DD) nor 'indefinite'"))
    }

    pub fn end(&self) -> Option<NaiveDate> {
        match self {
            NonDisclosureOrder::Until(d) => Some(*d),
            NonDisclosureOrder::Indefinite => None,
        }
    }
}

impl std::fmt::Display for NonDisclosureOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NonDisclosureOrder::Until(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            NonDisclosureOrder::Indefinite => f.write_str("indefinite"),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for NonDisclosureOrder {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "End date of the non-disclosure order (YYYY-MM-DD), or 'indefinite'",
            ))
            .examples(["2027-06-30", "indefinite"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for NonDisclosureOrder {}

impl Serialize for NonDisclosureOrder {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NonDisclosureOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        NonDisclosureOrder::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The period of records a demand asks for, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A demand as submitted, before it is checked. Field names are the API's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestIntake {
    pub process: LegalProcess,
    pub issuing_authority: String,
    pub issuing_country: Country,
    #[serde(default)]
    pub received_via: ReceivedVia,
    #[serde(default)]
    pub requesting_country: Option<Country>,
    #[serde(default)]
    pub emergency: Option<EmergencyAttestation>,
    #[serde(default)]
    pub case_reference: Option<String>,
    pub targets: Vec<Target>,
    #[serde(default)]
    pub date_range: Option<DateRange>,
    #[serde(default)]
    pub categories: Vec<DataCategory>,
    #[serde(default)]
    pub return_date: Option<NaiveDate>,
    #[serde(default)]
    pub ndo_until: Option<NonDisclosureOrder>,
    /// For an EU production order: issued or validated by a judge.
    #[serde(default)]
    pub judicial_authorisation: bool,
    /// For a preservation: the earlier request it renews (`LE-YYYY-NNNNNN`).
    #[serde(default)]
    pub renews: Option<String>,
    /// The emergency request (its number or id) whose legal process this request serves.
    #[serde(default)]
    pub follows_emergency: Option<String>,
    /// For a UK CLOUD Act order, a European Production Order or a European Preservation
    /// Order: the order's own fields (required for those, refused for any other process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<ForeignOrder>,
    /// For a device return: the officer's contact details and message for the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_return: Option<crate::routes::device_return::OfficerContact>,
    /// For a fraud referral: the facts of the fraud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud: Option<crate::routes::fraud_referral::FraudFacts>,
}

/// A demand that passed intake checks; only this may be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLegalRequest {
    #[serde(flatten)]
    pub intake: RequestIntake,
}

const MAX_TARGETS: usize = 500;
const MAX_TEXT: usize = 500;

impl RequestIntake {
    /// The checks that span fields: at least one target, each valid for its type, a sensible
    /// date range, an emergency that is attested, a treaty request that names its state.
    pub fn validate(self) -> Result<NewLegalRequest, FieldError> {
        let mut r = self;
        r.issuing_authority = r.issuing_authority.trim().to_string();
        if r.issuing_authority.is_empty() {
            return Err(FieldError::new("issuing_authority", "must not be empty"));
        }
        if r.issuing_authority.len() > MAX_TEXT {
            return Err(FieldError::new("issuing_authority", "is too long"));
        }
        if let Some(c) = &r.case_reference {
            if c.len() > MAX_TEXT {
                return Err(FieldError::new("case_reference", "is too long"));
            }
        }
        if r.targets.is_empty() {
            return Err(FieldError::new(
                "targets",
                "name at least one account, device or identifier; a demand that names no one \
                 is overbroad",
            ));
        }
        if r.targets.len() > MAX_TARGETS {
            return Err(FieldError::new(
                "targets",
                format!("at most {MAX_TARGETS} targets per request"),
            ));
        }
        let mut targets = Vec::with_capacity(r.targets.len());
        for (i, t) in r.targets.iter().enumerate() {
            let t =
                Target::parse(t.kind, &t.value).map_err(|e| e.under(&format!("targets[{i}]")))?;
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        r.targets = targets;
        if let Some(range) = r.date_range {
            if range.from > range.to {
                return Err(FieldError::new(
                    "date_range",
                    "'from' must not be after 'to'",
                ));
            }
        }
        let mut cats = r.categories.clone();
        cats.sort();
        cats.dedup();
        r.categories = cats;
        if r.process == LegalProcess::Emergency && r.emergency.is_none() {
            return Err(FieldError::new(
                "emergency",
                "an emergency request needs the attestation: danger_of_death_or_serious_injury, \
                 supervisor_name, supervisor_phone",
            ));
        }
        crate::routes::treaty::check(r.process, r.received_via, r.requesting_country)?;
        r.order = crate::routes::validate_order(
            r.order.take(),
            r.process,
            r.issuing_country,
            &r.categories,
        )?;
        if r.process == LegalProcess::Epoc
            && r.order
                .as_ref()
                .is_some_and(|o| o.validating_authority.is_some())
        {
            // The certificate names the judge or court that issued or validated it.
            r.judicial_authorisation = true;
        }
        crate::routes::device_return::check_intake(&mut r)?;
        crate::routes::fraud_referral::check_intake(&mut r)?;
        if let Some(renews) = &r.renews {
            if crate::RequestNumber::parse(renews).is_none() {
                return Err(FieldError::new(
                    "renews",
                    format!("'{renews}' is not a request number such as LE-2026-000123"),
                ));
            }
        }
        if let Some(f) = &r.follows_emergency {
            let f = f.trim();
            if f.is_empty() || f.len() > 64 {
                return Err(FieldError::new(
                    "follows_emergency",
                    "the number (LE-YYYY-NNNNNN) or id of the emergency request this follows",
                ));
            }
            r.follows_emergency = Some(f.to_string());
        }
        Ok(NewLegalRequest { intake: r })
    }
}

impl NewLegalRequest {
    pub fn is_emergency(&self) -> bool {
        self.intake.process == LegalProcess::Emergency
            || self.intake.emergency.is_some()
            || self.intake.order.as_ref().is_some_and(|o| o.emergency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake(json: serde_json::Value) -> Result<NewLegalRequest, String> {
        let r: RequestIntake = serde_json::from_value(json).map_err(|e| e.to_string())?;
        r.validate().map_err(|e| e.to_string())
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "process": "subpoena",
            "issuing_authority": "Springfield Police Department",
            "issuing_country": "US",
            "targets": [{"type": "email", "value": "Someone@Example.com"}],
            "categories": ["subscriber", "subscriber", "transactional"],
            "ndo_until": "2027-01-31"
        })
    }

    #[test]
    fn a_good_request_is_normalised() {
        let r = intake(base()).unwrap();
        assert_eq!(
            r.intake.categories,
            vec![DataCategory::Subscriber, DataCategory::Transactional]
        );
        assert_eq!(r.intake.targets[0].value, "Someone@example.com");
        assert_eq!(
            r.intake.ndo_until,
            Some(NonDisclosureOrder::Until(
                NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()
            ))
        );
    }

    #[test]
    fn errors_name_the_field() {
        let mut j = base();
        j["targets"] = serde_json::json!([]);
        assert!(intake(j).unwrap_err().starts_with("targets:"));

        let mut j = base();
        j["targets"] = serde_json::json!([{"type": "ip_address", "value": "1.2.3"}]);
        assert!(intake(j).unwrap_err().starts_with("targets[0].value:"));

        let mut j = base();
        j["process"] = serde_json::json!("emergency");
        assert!(intake(j).unwrap_err().starts_with("emergency:"));

        let mut j = base();
        j["received_via"] = serde_json::json!("mlat_doj");
        assert!(intake(j).unwrap_err().starts_with("requesting_country:"));

        let mut j = base();
        j["date_range"] = serde_json::json!({"from": "2026-02-01", "to": "2026-01-01"});
        assert!(intake(j).unwrap_err().starts_with("date_range:"));
    }

    #[test]
    fn emergency_needs_both_supervisor_fields_for_contact() {
        let a = EmergencyAttestation {
            danger_of_death_or_serious_injury: true,
            supervisor_name: Some("Sgt. Reyes".into()),
            supervisor_phone: Some(" ".into()),
            narrative: None,
        };
        assert!(!a.has_supervisor_contact());
    }
}
