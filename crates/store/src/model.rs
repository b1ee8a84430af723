//! What the store keeps, as the layers above see it.

use chrono::{DateTime, Utc};
use custodian_core::{
    AgencyKind, AgencyStatus, Country, LegalProcess, RequestIntake, RequestStatus, Role,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    pub id: Uuid,
    pub name: String,
    pub country: Country,
    pub kind: AgencyKind,
    pub status: AgencyStatus,
    /// The switchboard number from an independent directory, used for call-backs.
    pub phone: Option<String>,
    pub domains: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewAgency {
    pub name: String,
    pub country: Country,
    pub kind: AgencyKind,
    pub status: AgencyStatus,
    pub phone: Option<String>,
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub agency_id: Option<Uuid>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub agency_id: Option<Uuid>,
    pub password_hash: Option<String>,
}

/// Who did something, as the audit log names them. Never an e-mail address or a name: the
/// log is published in digest form and must not carry personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    /// The command line or a background job, by name.
    System(String),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::System(name) => format!("system:{name}"),
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Actor::User(id) => Some(*id),
            Actor::System(_) => None,
        }
    }
}

/// Which requests a caller may see: an agency's own, or (provider staff) all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Agency(Uuid),
    Provider,
}

impl Scope {
    pub fn agency(&self) -> Option<Uuid> {
        match self {
            Scope::Agency(id) => Some(*id),
            Scope::Provider => None,
        }
    }

    /// The scope a user works in: agency staff see their own agency only, provider staff all.
    /// A user with an agency role but no agency sees nothing (an impossible agency id).
    pub fn of(user: &User) -> Scope {
        if user.role.is_agency_side() {
            Scope::Agency(user.agency_id.unwrap_or(Uuid::nil()))
        } else {
            Scope::Provider
        }
    }
}

/// A document whose bytes are already durable in the object store.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct NewDocument {
    pub blob: StoredBlob,
    pub file_name: String,
    pub content_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub sha256: String,
    pub size: u64,
    pub file_name: String,
    pub content_type: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: Uuid,
    pub number: String,
    pub agency_id: Uuid,
    pub submitted_by: Uuid,
    pub status: RequestStatus,
    pub process: LegalProcess,
    pub emergency: bool,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub intake: RequestIntake,
    pub documents: Vec<DocumentRecord>,
    /// The reviewer working it, if anyone has taken it.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
}

/// A request ready to be stored: validated, timed, its documents already in the object store.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub agency_id: Uuid,
    pub submitted_by: Uuid,
    pub intake: custodian_core::NewLegalRequest,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub documents: Vec<NewDocument>,
    pub idempotency: Option<IdempotencyKey>,
    /// The requester's risk assessment (`verification`), stored in the request's own
    /// transaction; `None` where nobody outside the provider asked (imports, the demo's own
    /// set-up, tests of other things).
    pub risk: Option<crate::verification::IntakeRisk>,
}

/// An `Idempotency-Key` header with a digest of the submission it came with, so that the same
/// key reused for a different submission is refused rather than answered with the wrong request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone)]
pub enum Submission {
    Created(RequestRecord),
    /// The same key was seen before: the first answer, unchanged.
    Replayed(RequestRecord),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub author_id: Uuid,
    pub from_agency: bool,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone)]
pub struct RequestPage {
    pub items: Vec<RequestRecord>,
    pub total: u64,
}

/// One row of the audit log as stored.
#[derive(Debug, Clone)]
pub struct StoredAuditEntry {
    pub entry: custodian_audit::AuditEntry,
    pub leaf_hash: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: [u8; 32],
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// What an audit entry says happened; the store adds the index, time and hash.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: &'static str,
    pub object: String,
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        action: &'static str,
        object: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            action,
            object: object.into(),
            details,
        }
    }
}

/// A reviewer's decision as stored, with its approval state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub request_id: Uuid,
    pub decided_by: Uuid,
    pub decided_at: DateTime<Utc>,
    pub decision: custodian_core::review::ReviewDecision,
    pub needs_approval: bool,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
}

impl DecisionRecord {
    /// Whether the decision may be acted on: approved, or needing no approval.
    pub fn is_effective(&self) -> bool {
        !self.needs_approval || self.approved_by.is_some()
    }
}

/// Something the provider wrote to the agency about a request: a rejection, the MLAT
/// guidance, an objection, a clarification question, a record of narrowed scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LetterRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub kind: String,
    pub body: String,
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// The review queue's filters. Results come most urgent first: emergencies, then by deadline.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<RequestStatus>,
    pub assignee: Option<Uuid>,
    /// Only requests still awaiting the provider or the agency.
    pub open_only: bool,
    pub limit: u32,
    /// Only requests of this kind of process.
    pub process: Option<LegalProcess>,
    /// Only requests no one has taken yet (ignored when `assignee` is set).
    pub unassigned: bool,
    /// Only requests due after this time (with `due_by`: a window of deadlines).
    pub due_after: Option<DateTime<Utc>>,
    /// Only requests due at or before this time (overdue: `due_by = now`).
    pub due_by: Option<DateTime<Utc>>,
}
