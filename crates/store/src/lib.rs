//! Custodian's storage layer: one [`Store`] trait with a SQLite implementation (the embedded
//! default) and a PostgreSQL one (several servers sharing the work), plus [`Blobs`], the
//! content-addressed object store for documents.
//!
//! Every state-changing method appends its audit entry in the same transaction as the change.

mod account_sql;
pub mod billing;
mod billing_sql;
mod blob_space;
mod blobs;
pub mod clock;
mod console_sql;
pub mod custody;
mod custody_sql;
mod error;
mod intake_sql;
pub mod jobs;
mod jobs_sql;
mod migrate;
mod model;
pub mod orders;
mod orders_sql;
pub mod paging;
mod paging_sql;
mod policy_in_force;
mod postgres;
mod report_sql;
mod sql;
mod sqlite;
mod sqlite_bulk;
pub mod testing;
pub mod verification;
mod verification_sql;

use std::sync::Arc;

use async_trait::async_trait;
use custodian_core::{AgencyStatus, RequestStatus};
use uuid::Uuid;

pub use account_sql::{
    AccountStore, ClaimedAgency, Failure, FollowerRecord, NewRegistration, NewSession,
    RegistrationRecord, RegistrationStatus, SessionRecord, SessionStage, ThrottlePolicy,
    TotpRecord, MAX_FOLLOWERS,
};
pub use blob_space::{BlobRead, BlobSpace, BlobWriter, StoredObject};
pub use blobs::{sha256_hex, Blobs};
pub use clock::{Clock, DynClock, ManualClock, SystemClock};
pub use console_sql::{
    AdminStore, CalendarRecord, DeadlineStore, ReminderDue, POLICY_PROFILE_SETTING,
};
pub use error::{StoreError, StoreResult};
pub use jobs::{
    Job, JobFilter, JobQueue, JobStatus, MailFilter, MailRecord, MailStatus, NewJob, NewMail,
    Outbox, MAIL_SEND_JOB,
};
pub use model::*;
pub use policy_in_force::policy_in_force;
pub use postgres::PgStore;
pub use report_sql::{import_object, ImportOutcome, ReportStore};
pub use sqlite::SqliteStore;

/// The operations Custodian needs from its database. Both backends pass one conformance suite
/// (`tests/conformance.rs`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies the migrations this build knows and the database has not seen yet.
    async fn migrate(&self) -> StoreResult<()>;
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
    fn backend(&self) -> &'static str;

    async fn create_agency(&self, actor: &Actor, agency: NewAgency) -> StoreResult<Agency>;
    async fn get_agency(&self, id: Uuid) -> StoreResult<Agency>;
    async fn find_agency_by_name(&self, name: &str) -> StoreResult<Agency>;
    async fn list_agencies(&self) -> StoreResult<Vec<Agency>>;
    async fn set_agency_status(
        &self,
        actor: &Actor,
        id: Uuid,
        status: AgencyStatus,
    ) -> StoreResult<Agency>;

    async fn create_user(&self, actor: &Actor, user: NewUser) -> StoreResult<User>;
    async fn get_user(&self, id: Uuid) -> StoreResult<User>;
    async fn find_user_by_email(&self, email: &str) -> StoreResult<User>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;

    /// Keeps the SHA-256 of a newly issued API token; the token itself is never stored.
    async fn create_token(
        &self,
        actor: &Actor,
        user_id: Uuid,
        token_hash: &str,
        label: &str,
    ) -> StoreResult<Uuid>;
    /// The active user a token hash belongs to, with their agency if they have one (in one
    /// statement: every API call asks).
    async fn user_for_token(&self, token_hash: &str) -> StoreResult<(User, Option<Agency>)>;

    /// Stores a request with its documents in one transaction, or returns the first answer for
    /// an idempotency key seen before.
    async fn submit_request(&self, actor: &Actor, request: NewRequest) -> StoreResult<Submission>;
    async fn get_request(&self, scope: Scope, id: Uuid) -> StoreResult<RequestRecord>;
    async fn list_requests(&self, scope: Scope, filter: &RequestFilter)
        -> StoreResult<RequestPage>;
    /// Moves a request to a new state if the lifecycle allows it.
    async fn transition(
        &self,
        actor: &Actor,
        scope: Scope,
        id: Uuid,
        to: RequestStatus,
        reason: Option<&str>,
    ) -> StoreResult<RequestRecord>;

    async fn add_message(
        &self,
        actor: &Actor,
        scope: Scope,
        request_id: Uuid,
        from_agency: bool,
        body: &str,
    ) -> StoreResult<MessageRecord>;
    async fn list_messages(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Vec<MessageRecord>>;

    /// Assigns a request to a reviewer (or to no one). Taking a newly received request into
    /// someone's hands starts its review.
    async fn assign(
        &self,
        actor: &Actor,
        id: Uuid,
        assignee: Option<Uuid>,
    ) -> StoreResult<RequestRecord>;
    /// The review queue, most urgent first.
    async fn review_queue(&self, filter: &QueueFilter) -> StoreResult<Vec<RequestRecord>>;
    /// How many requests are in each state.
    async fn status_counts(&self) -> StoreResult<Vec<(RequestStatus, u64)>>;
    /// Stores a decision and moves the request to `decided`, in one transaction.
    async fn record_decision(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: &custodian_core::review::ReviewDecision,
        needs_approval: bool,
    ) -> StoreResult<DecisionRecord>;
    /// The second person's approval of a decision (two-person rule).
    async fn approve_decision(&self, actor: &Actor, id: Uuid) -> StoreResult<DecisionRecord>;
    async fn get_decision(&self, scope: Scope, id: Uuid) -> StoreResult<Option<DecisionRecord>>;
    /// Sends a letter to the agency and, if `then` is given, moves the request to that state in
    /// the same transaction.
    async fn send_letter(
        &self,
        actor: &Actor,
        id: Uuid,
        kind: &'static str,
        body: &str,
        then: Option<RequestStatus>,
    ) -> StoreResult<LetterRecord>;
    async fn list_letters(&self, scope: Scope, id: Uuid) -> StoreResult<Vec<LetterRecord>>;

    /// Records that `actor` read something (a document, customer data): reads are audited too.
    async fn record_access(&self, actor: &Actor, event: AuditEvent) -> StoreResult<()>;

    /// Audit entries from `from` (inclusive), at most `limit`, in index order.
    async fn audit_entries(&self, from: u64, limit: u32) -> StoreResult<Vec<StoredAuditEntry>>;
    async fn audit_size(&self) -> StoreResult<u64>;
    async fn save_checkpoint(&self, checkpoint: StoredCheckpoint) -> StoreResult<()>;
    async fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>>;

    /// The transparency report's facts and counters (`report_sql.rs`).
    fn reports(&self) -> &dyn ReportStore;

    /// Web accounts: sessions, second factor, throttling, registration, followers
    /// (`account_sql.rs`).
    fn accounts(&self) -> &dyn AccountStore;
    /// Background jobs (`jobs_sql.rs`).
    fn jobs(&self) -> &dyn JobQueue;
    /// E-mail waiting to be sent, and what was sent (`jobs_sql.rs`).
    fn outbox(&self) -> &dyn Outbox;
    /// Legal holds, productions and customer notice (`custody_sql.rs`).
    fn custody(&self) -> &dyn custody::CustodyStore;
    /// Agencies' phones and domains, staff roles, settings (`console_sql.rs`).
    fn admin(&self) -> &dyn AdminStore;
    /// Holiday calendars and deadline reminders (`console_sql.rs`).
    fn deadlines(&self) -> &dyn DeadlineStore;
    /// Emergencies: the on-call rota, pages, acknowledgement, follow-up (`paging_sql.rs`).
    fn paging(&self) -> &dyn paging::PagingStore;
    /// Verification of the requester: agency sources, risk, call-backs, suspensions
    /// (`verification_sql.rs`).
    fn verification(&self) -> &dyn verification::VerificationStore;
    /// The special routes: UK order attestations and foreign order refusals (`orders_sql.rs`).
    fn orders(&self) -> &dyn orders::OrderStore;
    /// Device returns, the fee schedule, time records and invoices (`billing_sql.rs`).
    fn billing(&self) -> &dyn billing::BillingStore;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the database a URL names: `postgres://...` or `sqlite://path`.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else {
        Err(StoreError::Config(format!(
            "database URL must start with postgres:// or sqlite:// (got '{}')",
            url.split("://").next().unwrap_or("")
        )))
    }
}
