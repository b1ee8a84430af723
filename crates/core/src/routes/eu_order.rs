//! European Production Orders (`epoc`) and European Preservation Orders (`epoc_pr`) under
//! Regulation (EU) 2023/1543: what the certificate must carry, the clocks that run from its
//! receipt, and when the enforcing state is notified and may object.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::{Country, DataCategory, FieldError, LegalProcess};

use super::ForeignOrder;

/// Denmark does not take part in the Regulation (Recital 95; Protocol No 22).
pub fn takes_part(c: Country) -> bool {
    c.is_eu_member() && c.code() != "DK"
}

/// Production orders for traffic data or content must be issued or validated by a judge, a
/// court or an investigating judge (Art. 4(2)); for subscriber data a prosecutor suffices.
/// Custodian's `transactional` category holds traffic data.
pub fn needs_judge(process: LegalProcess, categories: &[DataCategory]) -> bool {
    process == LegalProcess::Epoc
        && categories
            .iter()
            .any(|c| matches!(c, DataCategory::Transactional | DataCategory::Content))
}

/// Whether the issuing authority must notify the enforcing state (Art. 8(1)): a production
/// order for traffic data or content, unless the issuing authority has reasonable grounds to
/// believe the person resides in the issuing state.
pub fn notification_required(
    process: LegalProcess,
    order: &ForeignOrder,
    categories: &[DataCategory],
) -> bool {
    needs_judge(process, categories) && order.person_resides_in_issuing_state == Some(false)
}

/// Hours the enforcing state has to raise grounds for refusal after an emergency order
/// (Art. 12(1)); days after any other.
pub const OBJECTION_HOURS_EMERGENCY: i64 = 96;
pub const OBJECTION_DAYS: i64 = 10;
/// Answer a production order within 10 days, 8 hours in an emergency (Art. 10(2), (4)).
pub const ANSWER_DAYS: i64 = 10;
pub const ANSWER_HOURS_EMERGENCY: i64 = 8;
/// Preserve for 60 days, extendable once by 30 (Art. 11(1)).
pub const PRESERVE_DAYS: i64 = 60;
pub const EXTENSION_DAYS: i64 = 30;

crate::named_enum! {
    /// What the enforcing state told the provider about a notified order (Art. 12): that it
    /// raises no ground for refusal, or that it raised one, after which the provider stops and
    /// discloses nothing (Art. 12(4), 10(2)).
    pub enum EnforcingStateReply ("enforcing state reply") {
        NoGrounds = "no_grounds",
        GroundsRaised = "grounds_raised",
    }
}

impl EnforcingStateReply {
    pub fn label(self) -> &'static str {
        match self {
            EnforcingStateReply::NoGrounds => "confirmed it raises no ground for refusal",
            EnforcingStateReply::GroundsRaised => {
                "raised a ground for refusal: the order is not executed"
            }
        }
    }
}

/// Why nothing may be disclosed under an EU order now, if anything stops it: the enforcing
/// state raised a ground for refusal.
pub fn disclosure_stopped(reply: Option<EnforcingStateReply>) -> Option<&'static str> {
    (reply == Some(EnforcingStateReply::GroundsRaised)).then_some(
        "the enforcing state raised a ground for refusal (Regulation (EU) 2023/1543, Art. 12): \
         the order is not executed and nothing is disclosed",
    )
}

/// The notice to the enforcing state as the provider records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnforcingStateNotice {
    /// The member state that enforces the order.
    pub enforcing_state: Country,
    /// The Regulation requires the issuing authority to notify it (Art. 8).
    pub required: bool,
    /// The certificate states that the notification was made.
    pub notified: bool,
    /// Until when the enforcing state may raise grounds for refusal (Art. 12): 10 days from
    /// receipt, 96 hours for an emergency order. Only when notification is required.
    pub objection_window_ends: Option<DateTime<Utc>>,
}

/// The clocks of a foreign order, from its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderClocks {
    /// The legal deadline to answer (production orders).
    pub answer_by: Option<DateTime<Utc>>,
    /// The end of the first preservation period (preservation orders).
    pub preserve_until: Option<DateTime<Utc>>,
    /// The end of the period with its one extension (preservation orders).
    pub preserve_extended_until: Option<DateTime<Utc>>,
    /// The enforcing state's notice and objection window (EU orders).
    pub enforcing_state: Option<EnforcingStateNotice>,
    /// For a UK order: disclosure waits for the reviewer's attestation that the target is not
    /// a US person or a person in the United States.
    pub us_person_attestation_required: bool,
    /// The rules behind these clocks, in words.
    pub explanation: Vec<String>,
}

/// The clocks of a foreign order received at `received_at`.
pub fn clocks(
    process: LegalProcess,
    order: &ForeignOrder,
    categories: &[DataCategory],
    received_at: DateTime<Utc>,
) -> OrderClocks {
    let mut c = OrderClocks {
        answer_by: None,
        preserve_until: None,
        preserve_extended_until: None,
        enforcing_state: None,
        us_person_attestation_required: false,
        explanation: Vec::new(),
    };
    match process {
        LegalProcess::Epoc => {
            let (due, words) = if order.emergency {
                (
                    received_at + Duration::hours(ANSWER_HOURS_EMERGENCY),
                    "An emergency production order is answered within 8 hours of receipt \
                     (Regulation (EU) 2023/1543, Art. 10(4)).",
                )
            } else {
                (
                    received_at + Duration::days(ANSWER_DAYS),
                    "A production order is answered within 10 days of receipt (Regulation (EU) \
                     2023/1543, Art. 10(2)).",
                )
            };
            c.answer_by = Some(due);
            c.explanation.push(words.to_string());
        }
        LegalProcess::EpocPr => {
            c.preserve_until = Some(received_at + Duration::days(PRESERVE_DAYS));
            c.preserve_extended_until =
                Some(received_at + Duration::days(PRESERVE_DAYS + EXTENSION_DAYS));
            c.explanation.push(
                "The data is preserved for 60 days, extendable once by 30 days, and longer once \
                 a production order is confirmed (Regulation (EU) 2023/1543, Art. 11(1))."
                    .to_string(),
            );
        }
        LegalProcess::CloudActOrder => {
            c.us_person_attestation_required = true;
            c.explanation.push(
                "Nothing is disclosed until a reviewer attests that the order does not target a \
                 US person or a person in the United States (18 U.S.C. 2523(b)(4); US-UK \
                 agreement, Art. 4)."
                    .to_string(),
            );
        }
        _ => {}
    }
    if let Some(state) = order.enforcing_state {
        let required = notification_required(process, order, categories);
        let window = required.then(|| {
            if order.emergency {
                received_at + Duration::hours(OBJECTION_HOURS_EMERGENCY)
            } else {
                received_at + Duration::days(OBJECTION_DAYS)
            }
        });
        if required {
            c.explanation.push(format!(
                "The order reaches traffic data or content of a person who does not reside in \
                 the issuing state, so the issuing authority notifies {} ({state}), which may \
                 raise grounds for refusal within {} (Regulation (EU) 2023/1543, Art. 8, 12).",
                state.name(),
                if order.emergency {
                    "96 hours"
                } else {
                    "10 days"
                }
            ));
        }
        c.enforcing_state = Some(EnforcingStateNotice {
            enforcing_state: state,
            required,
            notified: order.enforcing_state_notified,
            objection_window_ends: window,
        });
    }
    c
}

/// The checks Regulation (EU) 2023/1543 puts on the certificate's fields.
pub(super) fn check(
    o: &ForeignOrder,
    process: LegalProcess,
    issuing_country: Country,
    categories: &[DataCategory],
) -> Result<(), FieldError> {
    let Some(state) = o.enforcing_state else {
        return Err(FieldError::new(
            "enforcing_state",
            "name the member state where the order is enforced (the state of the provider's \
             designated establishment or legal representative), e.g. IE",
        ));
    };
    if !takes_part(state) {
        return Err(FieldError::new(
            "enforcing_state",
            format!(
                "{} ({state}) is not a member state bound by Regulation (EU) 2023/1543",
                state.name()
            ),
        ));
    }
    if takes_part(issuing_country) && state == issuing_country {
        return Err(FieldError::new(
            "enforcing_state",
            "the Regulation applies across borders: the enforcing state differs from the \
             issuing state",
        ));
    }
    if needs_judge(process, categories) && o.validating_authority.is_none() {
        return Err(FieldError::new(
            "validating_authority",
            "a production order for traffic data or content must be issued or validated by a \
             judge, a court or an investigating judge (Regulation (EU) 2023/1543, Art. 4(2)); \
             name them",
        ));
    }
    if process == LegalProcess::EpocPr && o.emergency {
        return Err(FieldError::new(
            "emergency",
            "a preservation order has no emergency clock; it is executed without undue delay",
        ));
    }
    if process == LegalProcess::Epoc && needs_judge(process, categories) {
        match o.person_resides_in_issuing_state {
            None => {
                return Err(FieldError::new(
                    "person_resides_in_issuing_state",
                    "say whether the person whose traffic data or content is sought resides in \
                     the issuing state (Art. 8(1))",
                ))
            }
            Some(false) if !o.enforcing_state_notified => {
                return Err(FieldError::new(
                    "enforcing_state_notified",
                    "the person does not reside in the issuing state, so the enforcing state \
                     must be notified of this order (Art. 8(1)); notify it and say so",
                ))
            }
            _ => {}
        }
    }
    // Subscriber data and preservation need no notice: the facts are kept, but start no window.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::validate_order;

    fn order() -> ForeignOrder {
        ForeignOrder {
            reference: "EPOC-DE-2026-0042".into(),
            validating_authority: Some("Amtsgericht Berlin-Tiergarten".into()),
            enforcing_state: Some(Country::parse("IE").unwrap()),
            emergency: false,
            person_resides_in_issuing_state: Some(false),
            enforcing_state_notified: true,
        }
    }

    const DE: &str = "DE";
    const CONTENT: &[DataCategory] = &[DataCategory::Subscriber, DataCategory::Content];

    fn check_epoc(o: ForeignOrder, cats: &[DataCategory]) -> Result<Option<ForeignOrder>, String> {
        validate_order(
            Some(o),
            LegalProcess::Epoc,
            Country::parse(DE).unwrap(),
            cats,
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn the_certificate_names_its_judge_and_its_enforcing_state() {
        assert!(check_epoc(order(), CONTENT).is_ok());
        let mut o = order();
        o.validating_authority = Some("  ".into());
        assert!(check_epoc(o.clone(), CONTENT)
            .unwrap_err()
            .starts_with("order.validating_authority:"));
        // A prosecutor may order subscriber data alone.
        assert!(check_epoc(o, &[DataCategory::Subscriber]).is_ok());
        for bad in ["US", "DK", "DE"] {
            let mut o = order();
            o.enforcing_state = Some(Country::parse(bad).unwrap());
            let e = check_epoc(o, CONTENT).unwrap_err();
            assert!(e.starts_with("order.enforcing_state:"), "{bad}: {e}");
        }
        let mut o = order();
        o.enforcing_state_notified = false;
        assert!(check_epoc(o, CONTENT)
            .unwrap_err()
            .starts_with("order.enforcing_state_notified:"));
        let mut o = order();
        o.person_resides_in_issuing_state = None;
        assert!(check_epoc(o, CONTENT)
            .unwrap_err()
            .starts_with("order.person_resides_in_issuing_state:"));
        let e = validate_order(
            None,
            LegalProcess::EpocPr,
            Country::parse(DE).unwrap(),
            CONTENT,
        )
        .unwrap_err();
        assert_eq!(e.field, "order");
        let e = validate_order(Some(order()), LegalProcess::Subpoena, Country::US, CONTENT)
            .unwrap_err();
        assert_eq!(e.field, "order");
    }

    #[test]
    fn a_ground_raised_by_the_enforcing_state_stops_disclosure() {
        assert!(disclosure_stopped(None).is_none());
        assert!(disclosure_stopped(Some(EnforcingStateReply::NoGrounds)).is_none());
        assert!(disclosure_stopped(Some(EnforcingStateReply::GroundsRaised))
            .unwrap()
            .contains("Art. 12"));
    }

    #[test]
    fn clocks_run_from_receipt() {
        let at: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
        let c = clocks(LegalProcess::Epoc, &order(), CONTENT, at);
        assert_eq!(c.answer_by, Some(at + Duration::days(10)));
        let n = c.enforcing_state.unwrap();
        assert!(n.required && n.notified);
        assert_eq!(n.objection_window_ends, Some(at + Duration::days(10)));

        let mut o = order();
        o.emergency = true;
        let c = clocks(LegalProcess::Epoc, &o, CONTENT, at);
        assert_eq!(c.answer_by, Some(at + Duration::hours(8)));
        assert_eq!(
            c.enforcing_state.unwrap().objection_window_ends,
            Some(at + Duration::hours(96))
        );

        // Resident in the issuing state, or subscriber data only: no notice, no window.
        let mut o = order();
        o.person_resides_in_issuing_state = Some(true);
        let n = clocks(LegalProcess::Epoc, &o, CONTENT, at)
            .enforcing_state
            .unwrap();
        assert!(!n.required && n.objection_window_ends.is_none());
        let n = clocks(
            LegalProcess::Epoc,
            &order(),
            &[DataCategory::Subscriber],
            at,
        )
        .enforcing_state
        .unwrap();
        assert!(!n.required);

        let c = clocks(LegalProcess::EpocPr, &order(), CONTENT, at);
        assert_eq!(c.preserve_until, Some(at + Duration::days(60)));
        assert_eq!(c.preserve_extended_until, Some(at + Duration::days(90)));
        assert!(c.answer_by.is_none());
    }
}
