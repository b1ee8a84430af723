//! Suspending an officer or an agency, and the open requests that must be flagged with it.
//!
//! Once the provider learns that an account was taken over or an agency's verification was
//! wrong, every request still open from that source is suspect, including ones already approved
//! but not yet delivered. The risk assessment blocks new disclosures by itself
//! ([`super::RiskCode::OfficerSuspended`], [`super::RiskCode::AgencySuspended`]); this says which
//! requests the reviewers' queue must mark.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::RequestStatus;

/// Who was suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Suspended {
    Officer(Uuid),
    Agency(Uuid),
}

impl Suspended {
    /// The note put on every flagged request.
    pub fn flag_text(&self) -> &'static str {
        match self {
            Suspended::Officer(_) => {
                "The officer who sent this request has been suspended; nothing may be disclosed \
                 until the request is re-verified."
            }
            Suspended::Agency(_) => {
                "The agency that sent this request has been suspended; nothing may be disclosed \
                 until the request is re-verified."
            }
        }
    }

    fn covers(&self, r: &RequestParties) -> bool {
        match self {
            Suspended::Officer(id) => r.officer == *id,
            Suspended::Agency(id) => r.agency == *id,
        }
    }
}

/// Who sent a request and where it stands: all that is needed to decide whether to flag it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestParties {
    pub request: Uuid,
    pub officer: Uuid,
    pub agency: Uuid,
    pub status: RequestStatus,
}

/// The requests to flag: those the suspension covers that are still open.
pub fn requests_to_flag(suspended: &Suspended, requests: &[RequestParties]) -> Vec<Uuid> {
    requests
        .iter()
        .filter(|r| r.status.is_open() && suspended.covers(r))
        .map(|r| r.request)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_requests_from_the_suspended_source_are_flagged() {
        let (officer, other_officer, agency, other_agency) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(10),
            Uuid::from_u128(20),
        );
        let r = |n: u128, officer: Uuid, agency: Uuid, status| RequestParties {
            request: Uuid::from_u128(100 + n),
            officer,
            agency,
            status,
        };
        let requests = [
            r(1, officer, agency, RequestStatus::Received),
            r(2, officer, agency, RequestStatus::Producing),
            r(3, officer, agency, RequestStatus::Closed),
            r(4, other_officer, agency, RequestStatus::InReview),
            r(5, other_officer, other_agency, RequestStatus::Decided),
        ];
        assert_eq!(
            requests_to_flag(&Suspended::Officer(officer), &requests),
            vec![Uuid::from_u128(101), Uuid::from_u128(102)]
        );
        assert_eq!(
            requests_to_flag(&Suspended::Agency(agency), &requests),
            vec![
                Uuid::from_u128(101),
                Uuid::from_u128(102),
                Uuid::from_u128(104)
            ]
        );
        assert!(Suspended::Agency(agency).flag_text().contains("agency"));
    }
}
