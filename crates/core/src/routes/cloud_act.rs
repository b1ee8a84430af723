//! Orders of UK authorities under the US-UK agreement (18 U.S.C. 2523; the Agreement on Access
//! to Electronic Data for the Purpose of Countering Serious Crime, 2019): the order's fields, and
//! the restriction that it may not target a US person or a person in the United States, which a
//! reviewer attests to before anything is disclosed.

use serde::{Deserialize, Serialize};

use crate::{Country, FieldError};

use super::ForeignOrder;

/// The reviewer's attestation that a UK order respects the agreement's targeting restriction
/// (18 U.S.C. 2523(b)(4)(A)-(B); Agreement, Art. 4(3)-(4)). Without it, nothing is disclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsPersonAttestation {
    /// The target is not a United States person (a citizen or national, a permanent resident,
    /// an unincorporated association of them, or a US corporation).
    pub not_us_person: bool,
    /// The target is not located in the United States.
    pub not_located_in_us: bool,
    /// What the reviewer relied on (the order's own statement, the account's records), in
    /// words. Kept with the request; never in the audit log.
    pub basis: String,
}

const MAX_BASIS: usize = 2_000;

impl UsPersonAttestation {
    /// An attestation is only ever positive: a target who is a US person or in the United
    /// States needs US process, and the order is refused on that ground instead.
    pub fn validate(self) -> Result<UsPersonAttestation, FieldError> {
        let refuse = "if the target is a US person or is in the United States, do not attest: \
                      refuse the order with the ground us_person";
        if !self.not_us_person {
            return Err(FieldError::new("not_us_person", refuse));
        }
        if !self.not_located_in_us {
            return Err(FieldError::new("not_located_in_us", refuse));
        }
        let basis = self.basis.trim().to_string();
        if basis.is_empty() || basis.chars().count() > MAX_BASIS {
            return Err(FieldError::new(
                "basis",
                format!("say what the attestation relies on, 1 to {MAX_BASIS} characters"),
            ));
        }
        Ok(UsPersonAttestation { basis, ..self })
    }
}

/// The checks on a UK order's fields: issued by a UK authority, reviewed or overseen by a
/// court, judge, magistrate or other independent authority (Agreement, Art. 5(2)).
pub(super) fn check(o: &ForeignOrder, issuing_country: Country) -> Result<(), FieldError> {
    if issuing_country != Country::GB {
        return Err(FieldError::new(
            "reference",
            format!(
                "an order under the US-UK agreement is issued in the United Kingdom (GB); this \
                 one names {} ({issuing_country})",
                issuing_country.name()
            ),
        ));
    }
    if o.validating_authority.is_none() {
        return Err(FieldError::new(
            "validating_authority",
            "name the judge, court or independent authority that issued or reviewed the UK \
             order (US-UK agreement, Art. 5(2))",
        ));
    }
    if o.enforcing_state.is_some() {
        return Err(FieldError::new(
            "enforcing_state",
            "only an EU order has an enforcing state",
        ));
    }
    if o.emergency {
        return Err(FieldError::new(
            "emergency",
            "a UK order has no emergency clock of its own; for a danger of death or serious \
             injury use the emergency request",
        ));
    }
    if o.person_resides_in_issuing_state.is_some() || o.enforcing_state_notified {
        return Err(FieldError::new(
            "enforcing_state_notified",
            "only an EU production order notifies an enforcing state",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::validate_order;
    use crate::{DataCategory, LegalProcess};

    #[test]
    fn a_uk_order_names_its_judge_and_comes_from_the_uk() {
        let o = ForeignOrder {
            reference: "PO/2026/118".into(),
            validating_authority: Some("HH Judge Pryce, Southwark Crown Court".into()),
            enforcing_state: None,
            emergency: false,
            person_resides_in_issuing_state: None,
            enforcing_state_notified: false,
        };
        let cats = [DataCategory::Content];
        assert!(validate_order(
            Some(o.clone()),
            LegalProcess::CloudActOrder,
            Country::GB,
            &cats
        )
        .is_ok());
        let e = validate_order(
            Some(ForeignOrder {
                validating_authority: None,
                ..o.clone()
            }),
            LegalProcess::CloudActOrder,
            Country::GB,
            &cats,
        )
        .unwrap_err();
        assert_eq!(e.field, "order.validating_authority");
        let e =
            validate_order(Some(o), LegalProcess::CloudActOrder, Country::US, &cats).unwrap_err();
        assert!(e.message.contains("United Kingdom"), "{e}");
    }

    #[test]
    fn the_attestation_is_positive_and_explained() {
        let a = UsPersonAttestation {
            not_us_person: true,
            not_located_in_us: true,
            basis: " The order states the target is a UK national resident in Leeds. ".into(),
        };
        assert!(a.clone().validate().unwrap().basis.starts_with("The order"));
        let e = UsPersonAttestation {
            not_located_in_us: false,
            ..a.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "not_located_in_us");
        assert!(e.message.contains("us_person"));
        let e = UsPersonAttestation {
            basis: " ".into(),
            ..a
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "basis");
    }
}
