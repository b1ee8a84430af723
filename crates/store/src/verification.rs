//! What the store keeps about verification of the requester (migration 0011): the independent
//! source each agency was verified against, the risk assessment stored with every request (in
//! the request's own transaction), the reviewers' call-backs, an approver's clearance, flags on
//! requests, suspended officers and the networks each officer has used. Reach it with
//! `store.verification()`; the SQL is in `verification_sql.rs`, stamped out per backend.
//!
//! Every change appends its audit entry in its transaction; entries carry ids, codes and
//! digests, never a phone number, a name or a free-text reason.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use custodian_core::verification::{CallbackRecord, RiskAssessment};
use custodian_core::{RequestStatus, Target};
use serde::Serialize;
use uuid::Uuid;

use crate::{Actor, StoreResult};

/// What or who an admin checked an agency against, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencySource {
    pub agency_id: Uuid,
    /// E.g. "State police directory 2026, confirmed by phone with the chief's office".
    pub source: String,
    /// When the check was made.
    pub checked_at: DateTime<Utc>,
    /// Who recorded it (`user:<id>` or `system:<name>`).
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// An approver's clearance of a high score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clearance {
    pub by: Uuid,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// A request's risk assessment as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRisk {
    pub request_id: Uuid,
    pub assessment: RiskAssessment,
    /// The network the request came from, if known.
    pub network: Option<String>,
    pub assessed_at: DateTime<Utc>,
    pub clearance: Option<Clearance>,
}

/// A call-back as the reviewer recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredCallback {
    pub id: Uuid,
    pub request_id: Uuid,
    pub record: CallbackRecord,
}

/// Why a request is marked for the reviewers.
pub mod flag_kinds {
    pub const OFFICER_SUSPENDED: &str = "officer_suspended";
    pub const AGENCY_SUSPENDED: &str = "agency_suspended";
    pub const SAME_TARGET: &str = "same_target";
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestFlag {
    pub request_id: Uuid,
    /// One of [`flag_kinds`].
    pub kind: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// Set when the suspension behind the flag was lifted.
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficerSuspension {
    pub user_id: Uuid,
    pub reason: String,
    pub suspended_by: String,
    pub suspended_at: DateTime<Utc>,
}

/// What the store knows of an officer's past, for the risk assessment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OfficerHistory {
    /// Requests the officer sent before, counted up to the limit the caller asked for.
    pub previous_requests: u32,
    pub has_sent_emergency: bool,
    /// Trusted networks (prefixes) the officer used before.
    pub known_networks: Vec<String>,
    pub suspended: bool,
}

/// A network an officer signed in or served process from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficerNetwork {
    pub network: String,
    pub trusted: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub seen: u64,
}

/// What verification at intake reads from the store ([`VerificationStore::intake_facts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeFacts {
    pub history: OfficerHistory,
    /// When the agency was last checked against an independent source, if it was.
    pub source_checked_at: Option<DateTime<Utc>>,
    /// Every verified agency's e-mail domains.
    pub verified_domains: Vec<String>,
    /// Other agencies' recent requests about the same targets.
    pub same_target: Vec<SameTargetHit>,
}

/// Another agency's request about one of the same targets.
#[derive(Debug, Clone, PartialEq)]
pub struct SameTargetHit {
    pub request_id: Uuid,
    pub agency_id: Uuid,
    pub agency_name: String,
    pub received_at: DateTime<Utc>,
    pub status: RequestStatus,
    pub emergency: bool,
}

/// The queue's view of a request's risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSummary {
    pub request_id: Uuid,
    pub score: u32,
    pub level: custodian_core::verification::RiskLevel,
    pub hard_blocked: bool,
    pub cleared: bool,
    /// Kinds of the request's unresolved flags.
    pub flags: Vec<String>,
}

/// An earlier request to re-flag when a later one about the same target arrives.
#[derive(Debug, Clone)]
pub struct Reflag {
    pub request_id: Uuid,
    /// Its assessment with the new reason added.
    pub assessment: RiskAssessment,
    pub text: String,
}

/// What intake stores beside a new request, in its transaction.
#[derive(Debug, Clone)]
pub struct IntakeRisk {
    pub assessment: RiskAssessment,
    /// The network the request came from (a prefix), if known.
    pub network: Option<String>,
    /// Whether that network becomes one of the officer's known networks (it was not doubted).
    pub trust_network: bool,
    /// The new request's own same-target flag text, if other agencies asked too.
    pub same_target_flag: Option<String>,
    pub reflag: Vec<Reflag>,
}

/// Verification of the requester. Reach it with `store.verification()`.
#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// Records (or replaces) the independent source an agency was verified against.
    async fn set_agency_source(
        &self,
        actor: &Actor,
        agency_id: Uuid,
        source: &str,
        checked_at: DateTime<Utc>,
    ) -> StoreResult<AgencySource>;
    async fn agency_source(&self, agency_id: Uuid) -> StoreResult<Option<AgencySource>>;

    async fn officer_networks(&self, user_id: Uuid) -> StoreResult<Vec<OfficerNetwork>>;
    /// Records a network an officer signed in from. The officer's first network is trusted;
    /// later new ones are not, until a request from them is confirmed or cleared.
    async fn record_sign_in_network(
        &self,
        user_id: Uuid,
        network: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Everything verification at intake reads about a request from `user_id` (their earlier
    /// requests counted up to `count_up_to`) of `agency_id` about `targets` (other agencies'
    /// requests since `since`), in one visit to the database.
    async fn intake_facts(
        &self,
        user_id: Uuid,
        count_up_to: u32,
        agency_id: Uuid,
        targets: &[Target],
        since: DateTime<Utc>,
    ) -> StoreResult<IntakeFacts>;

    async fn risk(&self, request_id: Uuid) -> StoreResult<Option<StoredRisk>>;
    async fn risk_summaries(&self, ids: &[Uuid]) -> StoreResult<Vec<RiskSummary>>;
    async fn flags(&self, request_id: Uuid) -> StoreResult<Vec<RequestFlag>>;

    async fn record_callback(
        &self,
        actor: &Actor,
        request_id: Uuid,
        record: &CallbackRecord,
    ) -> StoreResult<StoredCallback>;
    /// Oldest first.
    async fn callbacks(&self, request_id: Uuid) -> StoreResult<Vec<StoredCallback>>;
    /// An approver clears a high score (conflict if already cleared or nothing to clear).
    async fn clear_risk(
        &self,
        actor: &Actor,
        request_id: Uuid,
        reason: &str,
    ) -> StoreResult<StoredRisk>;

    /// Suspends an officer and flags their open requests; returns the flagged requests.
    async fn suspend_officer(
        &self,
        actor: &Actor,
        user_id: Uuid,
        reason: &str,
    ) -> StoreResult<Vec<Uuid>>;
    async fn lift_officer_suspension(
        &self,
        actor: &Actor,
        user_id: Uuid,
        reason: &str,
    ) -> StoreResult<()>;
    async fn officer_suspension(&self, user_id: Uuid) -> StoreResult<Option<OfficerSuspension>>;
    /// Suspends an agency and flags its open requests; returns the flagged requests.
    async fn suspend_agency(
        &self,
        actor: &Actor,
        agency_id: Uuid,
        reason: &str,
    ) -> StoreResult<Vec<Uuid>>;
    /// Makes a suspended agency verified again and resolves its suspension flags.
    async fn lift_agency_suspension(
        &self,
        actor: &Actor,
        agency_id: Uuid,
        reason: &str,
    ) -> StoreResult<()>;
}
