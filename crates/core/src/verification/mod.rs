//! Verification of the requester: is the person asking really an officer of a real agency?
//!
//! Criminals obtain customer data with forged emergency requests sent from compromised or
//! imitated police mailboxes. Nothing here decides a request on its own; it gives the reviewer
//! facts and stops a disclosure until the facts are good enough:
//!
//! - [`lookalike`]: whether an e-mail domain is a verified agency domain, or imitates one and how;
//! - [`risk`]: a score with reasons a reviewer reads, from signals the caller gathers from the
//!   store; a high score blocks disclosure until an approver clears it, and some reasons (a
//!   lookalike or unverified domain, an agency not verified or suspended, a suspended officer)
//!   block it outright;
//! - [`callback`]: the call to the agency at the number in the provider's own directory, which
//!   every emergency disclosure needs;
//! - [`suspension`]: which open requests to flag when an officer or an agency is suspended.
//!
//! Pure functions: the caller passes `now` and everything read from the store.

pub mod callback;
mod confusable;
pub mod lookalike;
pub mod network;
pub mod place;
mod punycode;
pub mod risk;
mod signature;
mod suffix;
pub mod suspension;

pub use callback::{
    emergency_disclosure_allowed, risk_blockers, Blocker, CallbackOutcome, CallbackRecord,
    CallbackTask,
};
pub use lookalike::{check_domain, check_email, shown_form, DomainVerdict, LookalikeReason};
pub use network::network_known;
pub use place::{phone_country, target_places};
pub use risk::{
    assess_risk, same_target_reason, AgencyFacts, OfficerFacts, OtherAgencyRequest, Place,
    RiskAssessment, RiskCode, RiskLevel, RiskPolicy, RiskReason, RiskSignals, RiskWeights, Weight,
};
pub use suspension::{requests_to_flag, RequestParties, Suspended};

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod scenarios;
