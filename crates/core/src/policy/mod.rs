//! The policy engine: LEGAL.md's rules as data (a profile) and pure functions that apply them.
//!
//! A [`PolicyProfile`] is TOML (`crates/core/profiles/`), compiled in for the built-in ones.
//! [`evaluate`] takes a [`PolicyCase`] and answers an [`Assessment`]: the route, a decision per
//! data category, customer notice and clocks, each citing a stable rule id and its legal basis.
//! [`explain`] says in plain words what a process can obtain; [`check_json`] serves the CLI.

mod assessment;
mod case;
mod check;
mod evaluate;
mod explain;
mod jurisdiction;
mod law;
mod notice;
mod profile;

pub use assessment::{
    Assessment, CategoryDecision, CustomerNotice, Decision, NoticeAssessment, Route,
};
pub use case::{EmergencyClaim, PolicyCase};
pub use check::check_json;
pub use evaluate::{evaluate, notice_for_disclosure};
pub use explain::explain;
pub use jurisdiction::{channel_label, counted_under, IssuerScope};
pub use law::law_permits_content;
pub use profile::{
    CategoryPolicy, Citation, Condition, DeadlinePolicy, EnforcingStateNotice, Gates,
    NonContentNotice, NoticeMode, NoticePolicy, PolicyProfile, PreservationPolicy, ProcessNotice,
    ProcessPolicy, ProfileError, Requirement,
};

#[cfg(test)]
mod tests;
