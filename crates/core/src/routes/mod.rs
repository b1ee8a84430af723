//! The special routes (LEGAL.md, "Provider-default profile"): demands that do not arrive as
//! ordinary US process.
//!
//! - [`foreign_direct`]: a non-US authority's direct demand, redirected to the treaty route
//!   through the US Department of Justice, Office of International Affairs;
//! - [`treaty`]: a treaty request the Department of Justice turned into US process, decided as
//!   that process and counted under the requesting state;
//! - [`eu_order`]: European Production and Preservation Orders (Regulation (EU) 2023/1543): the
//!   certificate's fields, the clocks, the notice to the enforcing state;
//! - [`cloud_act`]: orders of UK authorities under the US-UK agreement and the reviewer's
//!   attestation that the target is not a US person or a person in the United States;
//! - [`refusal`]: the grounds on which a reviewer may decline to execute such an order, and
//!   the answer in the Regulation's form;
//! - [`device_return`]: a found device, whose owner the provider contacts for the officer
//!   without telling the officer who the owner is;
//! - [`fraud_referral`]: the limited non-content disclosure about a fraudulent payment, made
//!   without legal process and recorded as such.

pub mod cloud_act;
pub mod device_return;
pub mod eu_order;
pub mod foreign_direct;
pub mod fraud_referral;
pub mod refusal;
pub mod treaty;

use serde::{Deserialize, Serialize};

use crate::{Country, FieldError, LegalProcess};

pub use cloud_act::UsPersonAttestation;
pub use eu_order::{EnforcingStateNotice, EnforcingStateReply, OrderClocks};
pub use refusal::RefusalGround;

/// The fields of an order served under an agreement or a regulation (a UK order under the
/// US-UK CLOUD Act agreement, a European Production Order certificate, a European
/// Preservation Order certificate), beside the fields every request has (issuing authority,
/// issuing state, categories, targets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForeignOrder {
    /// The certificate's or order's own reference (EPOC / EPOC-PR certificate number, the UK
    /// order's reference).
    pub reference: String,
    /// The judge, court or other independent authority that issued or validated the order.
    /// Required for a production order for traffic data or content (Regulation (EU)
    /// 2023/1543, Art. 4(2)) and for every UK order (US-UK agreement, Art. 5(2)).
    #[serde(default)]
    pub validating_authority: Option<String>,
    /// For EU orders: the member state of the provider's designated establishment or legal
    /// representative, where the order is enforced (ISO code, an EU member state).
    #[serde(default)]
    pub enforcing_state: Option<Country>,
    /// The issuing authority declares an emergency (Art. 2(8)): a production order is then
    /// answered within 8 hours.
    #[serde(default)]
    pub emergency: bool,
    /// For a production order for traffic data or content: whether the issuing authority has
    /// reasonable grounds to believe the person whose data is sought resides in the issuing
    /// state (Art. 8(1)).
    #[serde(default)]
    pub person_resides_in_issuing_state: Option<bool>,
    /// The certificate states that the issuing authority notified the enforcing state.
    #[serde(default)]
    pub enforcing_state_notified: bool,
}

const MAX_TEXT: usize = 500;

/// The processes whose intake carries an [`ForeignOrder`].
pub fn needs_order(process: LegalProcess) -> bool {
    matches!(
        process,
        LegalProcess::CloudActOrder | LegalProcess::Epoc | LegalProcess::EpocPr
    )
}

fn text(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > MAX_TEXT {
        return Err(FieldError::new(
            field,
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    Ok(v.to_string())
}

impl ForeignOrder {
    /// Checks the order's fields against its process; errors are reported under `order.`.
    pub fn validate(
        self,
        process: LegalProcess,
        issuing_country: Country,
        categories: &[crate::DataCategory],
    ) -> Result<ForeignOrder, FieldError> {
        let mut o = self;
        o.reference = text("reference", &o.reference)?;
        o.validating_authority = match o.validating_authority.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(text("validating_authority", v)?),
        };
        match process {
            LegalProcess::Epoc | LegalProcess::EpocPr => {
                eu_order::check(&o, process, issuing_country, categories)?
            }
            LegalProcess::CloudActOrder => cloud_act::check(&o, issuing_country)?,
            _ => {}
        }
        Ok(o)
    }
}

/// Validates the `order` field of an intake: present for the processes that need one, absent
/// for every other.
pub fn validate_order(
    order: Option<ForeignOrder>,
    process: LegalProcess,
    issuing_country: Country,
    categories: &[crate::DataCategory],
) -> Result<Option<ForeignOrder>, FieldError> {
    match (needs_order(process), order) {
        (true, None) => Err(FieldError::new(
            "order",
            format!(
                "{} needs the order's fields: reference, validating_authority, \
                 enforcing_state, emergency",
                process.label()
            ),
        )),
        (false, Some(_)) => Err(FieldError::new(
            "order",
            "only a UK CLOUD Act order, a European Production Order or a European \
             Preservation Order carries order fields",
        )),
        (false, None) => Ok(None),
        (true, Some(o)) => o
            .validate(process, issuing_country, categories)
            .map(Some)
            .map_err(|e| e.under("order")),
    }
}
