//! The facts of one demand that the rules look at. The JSON field names are the public contract
//! of `custodian policy check`; `from_json_value` reports a bad input by the field to correct.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Country, DataCategory, FieldError, LegalProcess, NewLegalRequest, NonDisclosureOrder,
    ReceivedVia,
};

/// What an emergency request attests (18 U.S.C. 2702(b)(8), (c)(4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmergencyClaim {
    /// A missing attestation is no attestation, so both default to false.
    #[serde(default)]
    pub danger_of_death_or_serious_injury: bool,
    #[serde(default)]
    pub supervisor_contact: bool,
}

impl EmergencyClaim {
    /// The provider honours an emergency only with both: an attested danger and a supervisor it
    /// can call back to confirm it.
    pub fn is_attested(&self) -> bool {
        self.danger_of_death_or_serious_injury && self.supervisor_contact
    }
}

/// One demand as the policy engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyCase {
    pub process: LegalProcess,
    pub issuing_country: Country,
    #[serde(default)]
    pub received_via: ReceivedVia,
    /// The foreign state behind a treaty request (`received_via: mlat_doj`).
    #[serde(default)]
    pub requesting_country: Option<Country>,
    pub categories: Vec<DataCategory>,
    /// How many specific accounts, devices or identifiers the demand names.
    pub targets: u32,
    #[serde(default)]
    pub emergency: Option<EmergencyClaim>,
    #[serde(default)]
    pub ndo_until: Option<NonDisclosureOrder>,
    #[serde(default)]
    pub illegal_conduct_indicated: bool,
    #[serde(default)]
    pub target_is_us_person: bool,
    /// For an EU production order: issued or validated by a judge.
    #[serde(default)]
    pub judicial_authorisation: bool,
    /// For a preservation: renews an earlier one.
    #[serde(default)]
    pub renewal: bool,
    /// For a preservation: how many times the earlier one was already renewed.
    #[serde(default)]
    pub prior_renewals: u32,
    /// When the demand arrived; the caller's `now` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
}

/// Every field a case may carry, for the unknown-field message.
const FIELDS: &[&str] = &[
    "process",
    "issuing_country",
    "received_via",
    "requesting_country",
    "categories",
    "targets",
    "emergency",
    "ndo_until",
    "illegal_conduct_indicated",
    "target_is_us_person",
    "judicial_authorisation",
    "renewal",
    "prior_renewals",
    "received_at",
];

const REQUIRED: &[&str] = &["process", "issuing_country", "categories", "targets"];

impl PolicyCase {
    /// A minimal case: the other facts default to "not present".
    pub fn new(
        process: LegalProcess,
        issuing_country: Country,
        categories: Vec<DataCategory>,
        targets: u32,
    ) -> PolicyCase {
        PolicyCase {
            process,
            issuing_country,
            received_via: ReceivedVia::default(),
            requesting_country: None,
            categories,
            targets,
            emergency: None,
            ndo_until: None,
            illegal_conduct_indicated: false,
            target_is_us_person: false,
            judicial_authorisation: false,
            renewal: false,
            prior_renewals: 0,
            received_at: None,
        }
    }

    /// The case for a stored request. What the intake cannot know (illegal conduct, a US person
    /// as target, earlier renewals) starts false or zero; the reviewer's findings and the store's
    /// renewal chain set them before the request is evaluated again.
    pub fn from_request(r: &NewLegalRequest, received_at: DateTime<Utc>) -> PolicyCase {
        let i = &r.intake;
        PolicyCase {
            process: i.process,
            issuing_country: i.issuing_country,
            received_via: i.received_via,
            requesting_country: i.requesting_country,
            categories: i.categories.clone(),
            targets: u32::try_from(i.targets.len()).unwrap_or(u32::MAX),
            emergency: i
                .emergency
                .as_ref()
                .map(|a| EmergencyClaim {
                    danger_of_death_or_serious_injury: a.danger_of_death_or_serious_injury,
                    supervisor_contact: a.has_supervisor_contact(),
                })
                // An EU production order's issuer declares the emergency in the certificate.
                .or_else(|| {
                    i.order
                        .as_ref()
                        .filter(|o| o.emergency)
                        .map(|_| EmergencyClaim {
                            danger_of_death_or_serious_injury: true,
                            supervisor_contact: false,
                        })
                }),
            ndo_until: i.ndo_until,
            illegal_conduct_indicated: false,
            target_is_us_person: false,
            judicial_authorisation: i.judicial_authorisation,
            renewal: i.renews.is_some(),
            prior_renewals: 0,
            received_at: Some(received_at),
        }
    }

    /// Reads one case from JSON. Errors name the field: `targets`, `categories[1]`,
    /// `emergency.supervisor_contact`.
    pub fn from_json_value(value: serde_json::Value) -> Result<PolicyCase, FieldError> {
        let Some(obj) = value.as_object() else {
            return Err(FieldError::new(
                "",
                "a case is a JSON object such as {\"process\": \"subpoena\", ...}",
            ));
        };
        // Checked by hand first: serde would report only the first problem, and an unknown
        // field only after the fields before it parsed.
        if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(FieldError::new(
                unknown.as_str(),
                format!("unknown field; expected one of: {}", FIELDS.join(", ")),
            ));
        }
        if let Some(missing) = REQUIRED
            .iter()
            .find(|k| !matches!(obj.get(**k), Some(v) if !v.is_null()))
        {
            return Err(FieldError::new(*missing, "is required"));
        }
        if let Some(t) = obj.get("targets") {
            if t.as_u64().and_then(|n| u32::try_from(n).ok()).is_none() {
                return Err(FieldError::new(
                    "targets",
                    format!("must be a whole number, 0 or more (got {t})"),
                ));
            }
        }
        // A form or a script may send null for a fact it does not have; null means "absent"
        // for every optional field, not only for those whose type is an Option.
        let mut value = value;
        if let Some(obj) = value.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        let case: PolicyCase = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            FieldError::new(field, e.inner().to_string())
        })?;
        case.check()?;
        Ok(case)
    }

    /// Facts that contradict each other, refused as the intake refuses them.
    fn check(&self) -> Result<(), FieldError> {
        match (self.received_via, self.requesting_country) {
            (ReceivedVia::MlatDoj, None) if self.issuing_country.is_us() => Err(FieldError::new(
                "requesting_country",
                "a treaty request from the Department of Justice names the requesting state",
            )),
            (via, Some(_)) if via != ReceivedVia::MlatDoj => Err(FieldError::new(
                "requesting_country",
                "only a treaty request (received_via mlat_doj) has a requesting state",
            )),
            _ => Ok(()),
        }
    }

    pub fn requests(&self, category: DataCategory) -> bool {
        self.categories.contains(&category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: serde_json::Value) -> String {
        PolicyCase::from_json_value(v).unwrap_err().to_string()
    }

    fn base() -> serde_json::Value {
        json!({"process": "subpoena", "issuing_country": "US", "categories": ["subscriber"],
               "targets": 1})
    }

    #[test]
    fn defaults_fill_the_optional_facts() {
        let c = PolicyCase::from_json_value(base()).unwrap();
        assert_eq!(c.received_via, ReceivedVia::Portal);
        assert_eq!(c.prior_renewals, 0);
        assert!(c.emergency.is_none() && c.received_at.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let mut j = base();
        j["colour"] = json!("red");
        assert!(err(j).starts_with("colour: unknown field"));

        let mut j = base();
        j.as_object_mut().unwrap().remove("process");
        assert_eq!(err(j), "process: is required");

        let mut j = base();
        j["process"] = json!("warrant");
        assert!(err(j).starts_with("process: unknown process 'warrant'"));

        let mut j = base();
        j["categories"] = json!(["subscriber", "photos"]);
        assert!(err(j).starts_with("categories[1]: unknown data category"));

        let mut j = base();
        j["targets"] = json!(-1);
        assert!(err(j).starts_with("targets: must be a whole number"));

        let mut j = base();
        j["emergency"] = json!({"danger": true});
        assert!(err(j).starts_with("emergency.danger: unknown field"));

        let mut j = base();
        j["issuing_country"] = json!("UK");
        assert!(err(j).starts_with("issuing_country: 'UK' is not"));

        let mut j = base();
        j["ndo_until"] = json!("soon");
        assert!(err(j).starts_with("ndo_until:"));

        let mut j = base();
        j["received_at"] = json!("yesterday");
        assert!(err(j).starts_with("received_at:"));

        let mut j = base();
        j["received_via"] = json!(null);
        j["renewal"] = json!(null);
        j["emergency"] = json!(null);
        assert!(PolicyCase::from_json_value(j).is_ok());

        let mut j = base();
        j["received_via"] = json!("mlat_doj");
        assert!(err(j).starts_with("requesting_country:"));

        assert!(err(json!([1])).starts_with(": a case is a JSON object"));
    }

    #[test]
    fn from_request_maps_the_intake() {
        let intake: crate::RequestIntake = serde_json::from_value(json!({
            "process": "emergency",
            "issuing_authority": "Springfield PD",
            "issuing_country": "US",
            "targets": [{"type": "phone", "value": "+1 555 010 9999"},
                        {"type": "email", "value": "a@example.com"}],
            "categories": ["content"],
            "emergency": {"danger_of_death_or_serious_injury": true,
                          "supervisor_name": "Sgt. Reyes", "supervisor_phone": "+15550100000"},
            "ndo_until": "indefinite"
        }))
        .unwrap();
        let r = intake.validate().unwrap();
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 1, 12, 0, 0).unwrap();
        let c = PolicyCase::from_request(&r, at);
        assert_eq!(c.targets, 2);
        assert_eq!(
            c.emergency,
            Some(EmergencyClaim {
                danger_of_death_or_serious_injury: true,
                supervisor_contact: true
            })
        );
        assert_eq!(c.ndo_until, Some(NonDisclosureOrder::Indefinite));
        assert_eq!(c.received_at, Some(at));
    }
}
