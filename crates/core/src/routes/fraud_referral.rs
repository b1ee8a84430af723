//! Fraud referrals (LEGAL.md, process table, `fraud_referral`): an authority investigating the
//! fraudulent use of a payment instrument or a stolen card may receive the subscriber and
//! transactional records of the fraud without a subpoena (18 U.S.C. 2702(c)(3)); never content.
//! The intake records the facts of the fraud; the decision is capped by the policy engine and
//! the law's content ceiling; and the record says everywhere that the disclosure was made as a
//! fraud referral without legal process.

use serde::{Deserialize, Serialize};

use crate::{named_enum, FieldError, LegalProcess};

const MAX_REFERENCE: usize = 100;
const MAX_DESCRIPTION: usize = 2_000;

named_enum! {
    /// The kind of fraud the authority investigates.
    pub enum FraudType ("fraud type") {
        /// A card reported stolen was used.
        StolenCard = "stolen_card",
        /// A card's details were used without the card (online, by phone).
        CardNotPresent = "card_not_present",
        /// Someone else's bank account or other payment instrument was used.
        PaymentInstrumentMisuse = "payment_instrument_misuse",
        /// Gift cards or stored value bought with a fraudulent instrument.
        GiftCard = "gift_card",
    }
}

/// The facts of the fraud, as the officer gives them at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FraudFacts {
    pub fraud_type: FraudType,
    /// The payment instrument, masked: card brand and last four digits (`VISA-4242`). Never a
    /// full card number.
    #[serde(default)]
    pub instrument_reference: Option<String>,
    /// The provider's order the instrument paid for, if known.
    #[serde(default)]
    pub order_reference: Option<String>,
    /// What happened, in the officer's words.
    #[serde(default)]
    pub description: Option<String>,
}

impl FraudFacts {
    /// Trims, requires an instrument or an order reference, and refuses a full card number.
    pub fn validate(self) -> Result<FraudFacts, FieldError> {
        let clean = |name: &str, v: Option<String>, max: usize| -> Result<_, FieldError> {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            if v.as_ref().is_some_and(|s| s.chars().count() > max) {
                return Err(FieldError::new(
                    format!("fraud.{name}"),
                    format!("at most {max} characters"),
                ));
            }
            Ok(v)
        };
        let f = FraudFacts {
            fraud_type: self.fraud_type,
            instrument_reference: clean(
                "instrument_reference",
                self.instrument_reference,
                MAX_REFERENCE,
            )?,
            order_reference: clean("order_reference", self.order_reference, MAX_REFERENCE)?,
            description: clean("description", self.description, MAX_DESCRIPTION)?,
        };
        if f.instrument_reference.is_none() && f.order_reference.is_none() {
            return Err(FieldError::new(
                "fraud",
                "name the payment instrument (instrument_reference, masked) or the order it \
                 paid for (order_reference): the disclosure is limited to the fraud",
            ));
        }
        if let Some(i) = &f.instrument_reference {
            let digits = i.chars().filter(char::is_ascii_digit).count();
            if digits > 6 {
                return Err(FieldError::new(
                    "fraud.instrument_reference",
                    "give the card brand and at most the last four digits (e.g. VISA-4242), \
                     never a full card number",
                ));
            }
        }
        Ok(f)
    }
}

/// The name of the route the disclosure takes, on the record everywhere it is shown: the
/// request's JSON, the review page, the audit action of the decision.
pub const DISCLOSURE_ROUTE: &str = "fraud_referral_without_legal_process";

/// The sentence reviewers and officers read about the basis of the disclosure.
pub const DISCLOSURE_BASIS: &str = "Fraud referral: limited non-content disclosure without \
     legal process (18 U.S.C. 2702(c)(3)), limited to the records of the fraud; never content";

/// The audit action of a decision: a fraud referral's names its route.
pub fn decided_action(process: LegalProcess) -> &'static str {
    if process == LegalProcess::FraudReferral {
        "request.decided_fraud_referral_without_legal_process"
    } else {
        "request.decided"
    }
}

/// The route of the disclosure, for process that discloses without legal process.
pub fn disclosure_route(process: LegalProcess) -> Option<&'static str> {
    (process == LegalProcess::FraudReferral).then_some(DISCLOSURE_ROUTE)
}

/// Checks a fraud referral's intake: the facts are required (and only a fraud referral has
/// them).
pub fn check_intake(intake: &mut crate::RequestIntake) -> Result<(), FieldError> {
    if intake.process != LegalProcess::FraudReferral {
        if intake.fraud.is_some() {
            return Err(FieldError::new(
                "fraud",
                "only a fraud referral (process fraud_referral) carries the facts of a fraud",
            ));
        }
        return Ok(());
    }
    let facts = intake.fraud.take().ok_or_else(|| {
        FieldError::new(
            "fraud",
            "a fraud referral records the fraud: fraud_type and instrument_reference (masked) \
             or order_reference",
        )
    })?;
    intake.fraud = Some(facts.validate()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{evaluate, Decision, PolicyCase, PolicyProfile};
    use crate::review::{CategoryRuling, ReviewDecision};
    use crate::{DataCategory, RequestIntake};

    fn intake(fraud: serde_json::Value) -> Result<RequestIntake, String> {
        let mut j = serde_json::json!({
            "process": "fraud_referral",
            "issuing_authority": "Springfield Police Department",
            "issuing_country": "US",
            "targets": [{"type": "order_id", "value": "112-0000001-0000002"}],
            "categories": ["subscriber", "transactional", "content"],
            "fraud": fraud,
        });
        if j["fraud"].is_null() {
            j.as_object_mut().unwrap().remove("fraud");
        }
        let r: RequestIntake = serde_json::from_value(j).map_err(|e| e.to_string())?;
        r.validate().map(|r| r.intake).map_err(|e| e.to_string())
    }

    #[test]
    fn the_intake_records_the_fraud() {
        let r = intake(serde_json::json!({
            "fraud_type": "stolen_card", "instrument_reference": " VISA-4242 "
        }))
        .unwrap();
        let f = r.fraud.unwrap();
        assert_eq!(f.fraud_type, FraudType::StolenCard);
        assert_eq!(f.instrument_reference.as_deref(), Some("VISA-4242"));

        let err = intake(serde_json::Value::Null).unwrap_err();
        assert!(err.starts_with("fraud:"), "{err}");
        let err = intake(serde_json::json!({"fraud_type": "stolen_card"})).unwrap_err();
        assert!(err.starts_with("fraud:"), "{err}");
        let err = intake(serde_json::json!({
            "fraud_type": "stolen_card", "instrument_reference": "4242 4242 4242 4242"
        }))
        .unwrap_err();
        assert!(err.starts_with("fraud.instrument_reference:"), "{err}");
        let err = intake(serde_json::json!({"fraud_type": "phishing", "order_reference": "1"}))
            .unwrap_err();
        assert!(err.contains("unknown fraud type"), "{err}");
    }

    #[test]
    fn the_policy_and_the_law_keep_a_fraud_referral_from_content() {
        let r = intake(serde_json::json!({
            "fraud_type": "card_not_present", "order_reference": "112-0000001-0000002"
        }))
        .unwrap();
        let profile = PolicyProfile::builtin("provider-default").unwrap();
        let now = chrono::Utc::now();
        let validated = r.clone().validate().unwrap();
        let case = PolicyCase::from_request(&validated, now);
        let a = evaluate(&profile, &case, now);
        assert_eq!(
            a.categories[&DataCategory::Content].decision,
            Decision::Withhold
        );
        assert_eq!(
            a.categories[&DataCategory::Subscriber].decision,
            Decision::Disclose
        );
        assert!(a.categories[&DataCategory::Transactional].limit.is_some());

        let disclose_all = ReviewDecision {
            categories: r
                .categories
                .iter()
                .map(|c| {
                    let ruling = CategoryRuling {
                        decision: Decision::Disclose,
                        reason: None,
                    };
                    (*c, ruling)
                })
                .collect(),
            illegal_conduct_reason: None,
        };
        let err = disclose_all
            .validate(LegalProcess::FraudReferral, &r.categories)
            .unwrap_err();
        assert_eq!(err.field, "categories.content");
    }

    #[test]
    fn the_record_names_the_route() {
        assert_eq!(
            decided_action(LegalProcess::FraudReferral),
            "request.decided_fraud_referral_without_legal_process"
        );
        assert_eq!(decided_action(LegalProcess::Subpoena), "request.decided");
        assert_eq!(
            disclosure_route(LegalProcess::FraudReferral),
            Some(DISCLOSURE_ROUTE)
        );
        assert_eq!(disclosure_route(LegalProcess::Subpoena), None);
    }
}
