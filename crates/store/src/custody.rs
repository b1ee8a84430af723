//! What the store keeps about preservation, production and customer notice (migration 0006):
//! legal holds and the snapshot each keeps, production packages and their download link, the
//! customer notice of a decided request and who was told, and each agency's age public key.
//! Reach it with `store.custody()`; the SQL is in `custody_sql.rs`, stamped out per backend.
//!
//! The bytes (a hold's snapshot, a package) are in the object store under the thing's own
//! prefix ([`crate::BlobSpace`]), written before the rows that name them commit. Every change
//! appends its audit entry, naming the request (`request:<id>`) so that it shows on the
//! request's timeline, in the same transaction; the work it schedules (a capture, an expiry,
//! a reminder, a build, a notice) is a job enqueued in that transaction too.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use custodian_core::notice::NoticeStatus;
use custodian_core::policy::CustomerNotice;
use custodian_core::preservation::{HoldStatus, HoldTerms};
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, Target};
use serde::Serialize;
use uuid::Uuid;

use crate::{Actor, MailStatus, NewJob, NewMail, Scope, StoreResult, StoredObject};

/// The job kinds of custody, enqueued by the store inside the transactions that call for them
/// and run by `custodian-custody`'s handlers. Payloads carry ids only.
pub mod job_kinds {
    /// Copy a new hold's snapshot into the object store: `{"hold_id"}`.
    pub const HOLD_CAPTURE: &str = "hold.capture";
    /// Release a hold at its expiry (if it was not renewed): `{"hold_id"}`.
    pub const HOLD_EXPIRE: &str = "hold.expire";
    /// Remind the reviewer a week before a hold ends: `{"hold_id"}`.
    pub const HOLD_REMINDER: &str = "hold.reminder";
    /// Collect the records and build a production package: `{"production_id"}`.
    pub const PRODUCTION_BUILD: &str = "production.build";
    /// Hand a built package to the agency once notice allows: `{"production_id"}`.
    pub const PRODUCTION_RELEASE: &str = "production.release";
    /// Decide customer notice for a decision that became effective: `{"request_id"}`.
    pub const NOTICE_PLAN: &str = "notice.plan";
    /// Send a notice that waited (an order ended, an emergency passed): `{"request_id"}`.
    pub const NOTICE_SEND: &str = "notice.send";
    /// Put an order with no end date in front of a reviewer: `{"request_id"}`.
    pub const NOTICE_REVIEW: &str = "notice.review";
}

/// The audit action of a production event, as the package's inclusion proof names it
/// (`custodian_production::PRODUCTION_EVENT_ACTION`).
pub const PRODUCTION_EVENT_ACTION: &str = "production.packaged";

/// A hold about to be taken.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub request_id: Uuid,
    pub categories: Vec<DataCategory>,
    pub date_range: Option<DateRange>,
    pub terms: HoldTerms,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Who is reminded before it ends.
    pub reviewer_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub agency_id: Uuid,
    pub status: HoldStatus,
    pub categories: Vec<DataCategory>,
    pub date_range: Option<DateRange>,
    pub terms: HoldTerms,
    pub renewals: u32,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub reviewer_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub captured_at: Option<DateTime<Utc>>,
    pub accounts: u64,
    pub files: u64,
    pub bytes: u64,
    pub released_at: Option<DateTime<Utc>>,
    pub release_reason: Option<String>,
    pub error: Option<String>,
}

impl HoldRecord {
    /// The object-store prefix of the hold's snapshot.
    pub fn prefix(&self) -> String {
        hold_prefix(self.id)
    }
}

pub fn hold_prefix(id: Uuid) -> String {
    format!("holds/{}", id.simple())
}

pub fn production_prefix(id: Uuid) -> String {
    format!("productions/{}", id.simple())
}

/// An account a hold found, and the identifier of the demand that found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldAccount {
    pub account_id: String,
    pub target: Target,
}

custodian_core::named_enum! {
    /// What one held object is.
    pub enum HeldKind ("held item kind") {
        /// The account's subscriber record (JSON).
        Subscriber = "subscriber",
        /// The account's transactional records within the range (JSON).
        Transactional = "transactional",
        /// One stored file.
        File = "file",
    }
}

/// One object of a hold's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldItem {
    pub seq: u64,
    pub account_id: String,
    pub category: DataCategory,
    pub kind: HeldKind,
    /// For a file: the source's id, the path the customer sees, type and creation time.
    pub file_id: Option<String>,
    pub path: Option<String>,
    pub media_type: Option<String>,
    pub file_created_at: Option<DateTime<Utc>>,
    pub object: StoredObject,
}

#[derive(Debug, Clone, Default)]
pub struct HoldFilter {
    pub request_id: Option<Uuid>,
    pub status: Option<HoldStatus>,
    pub limit: u32,
}

custodian_core::named_enum! {
    /// Where a production is.
    pub enum ProductionStatus ("production status") {
        /// Records are being collected and packaged.
        Building = "building",
        /// The package is complete and stored; it waits for customer notice to allow release.
        Built = "built",
        /// The agency may download it.
        Delivered = "delivered",
        /// Building failed; the custodian may produce again.
        Failed = "failed",
    }
}

/// A production the custodian asked for.
#[derive(Debug, Clone)]
pub struct NewProduction {
    pub request_id: Uuid,
    /// `age-x25519` or `zip-aes256`.
    pub protection: String,
    /// The ZIP passphrase (shown once to the custodian), kept only until the package is built.
    pub passphrase: Option<String>,
    /// The custodian who signs the certificate.
    pub custodian_id: Uuid,
    pub max_downloads: u32,
    pub link_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductionRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub agency_id: Uuid,
    pub status: ProductionStatus,
    pub protection: String,
    pub custodian_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub object_key: Option<String>,
    pub package_sha256: Option<String>,
    pub package_bytes: Option<u64>,
    pub manifest_sha256: Option<String>,
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    pub audit_idx: Option<u64>,
    /// Where each account's records came from (the source, or a hold's snapshot).
    pub collection: Option<serde_json::Value>,
    pub built_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_downloads: u32,
    pub link_days: u32,
    pub downloads: u32,
    pub error: Option<String>,
}

/// A package as built.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    pub object: StoredObject,
    pub manifest_sha256: String,
    pub files: u64,
    pub bytes: u64,
    pub audit_idx: u64,
    pub collection: serde_json::Value,
}

/// The answer to a download.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadGrant {
    /// Counted and audited: stream the package.
    Granted(Box<ProductionRecord>),
    /// The link expired at this time.
    Expired(DateTime<Utc>),
    /// The link was used as many times as it may be.
    Exhausted(u32),
}

/// Someone to tell, with the mail that tells them.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub account_id: String,
    /// SHA-256 of the notice page's token.
    pub token_hash: String,
    pub mail: NewMail,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecipientRecord {
    pub id: Uuid,
    pub account_id: String,
    pub mail_id: Option<Uuid>,
    pub mail_status: Option<MailStatus>,
    pub mail_sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeRecord {
    pub request_id: Uuid,
    /// The policy engine's answer for the decision as made.
    pub notice: CustomerNotice,
    pub rule: String,
    pub status: NoticeStatus,
    /// When the notice is sent (scheduled) or the order reviewed (under review).
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub recipients: Vec<RecipientRecord>,
}

impl NoticeRecord {
    /// The notice as the release of a production sees it.
    pub fn state(&self) -> custodian_core::notice::NoticeState {
        let undeliverable = self
            .recipients
            .iter()
            .any(|r| r.mail_status == Some(MailStatus::Failed));
        let all_sent = self
            .recipients
            .iter()
            .all(|r| r.mail_status == Some(MailStatus::Sent));
        let delivered_at = if all_sent {
            self.recipients
                .iter()
                .filter_map(|r| r.mail_sent_at)
                .max()
                .or(self.sent_at)
        } else {
            None
        };
        custodian_core::notice::NoticeState {
            notice: self.notice,
            status: self.status,
            delivered_at,
            undeliverable,
        }
    }
}

/// A change to a request's notice, guarded by the state it expects.
#[derive(Debug, Clone)]
pub struct NoticeChange {
    pub expect: Vec<NoticeStatus>,
    pub status: NoticeStatus,
    pub due_at: Option<DateTime<Utc>>,
    /// Mails to send now (the notice goes out).
    pub recipients: Vec<NewRecipient>,
    /// Mails to the provider's staff (a reviewer asked to review an order).
    pub staff_mails: Vec<NewMail>,
    /// Pending jobs to cancel first, by their keys (a review moved to another day).
    pub cancel: Vec<String>,
    /// Work to schedule (the next review, a send on a later day).
    pub jobs: Vec<NewJob>,
    /// The audit action, e.g. `notice.sent`, `notice.review_due`.
    pub action: &'static str,
    /// Said in the audit entry (ids and words, never customer data).
    pub details: serde_json::Value,
}

/// The notice decided for a request when its decision became effective.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub request_id: Uuid,
    pub notice: CustomerNotice,
    pub rule: String,
    pub status: NoticeStatus,
    pub due_at: Option<DateTime<Utc>>,
    pub recipients: Vec<NewRecipient>,
    pub jobs: Vec<NewJob>,
}

/// Custody's storage, implemented by both backends.
#[async_trait]
pub trait CustodyStore: Send + Sync {
    // --- holds ------------------------------------------------------------------------
    /// Takes a hold: the row (capturing) and its capture job, audited. One live hold per
    /// request: a second is a conflict.
    async fn create_hold(
        &self,
        actor: &Actor,
        hold: NewHold,
        now: DateTime<Utc>,
    ) -> StoreResult<HoldRecord>;
    /// The snapshot is in the object store: its rows, the hold active, its expiry and reminder
    /// scheduled, in one transaction. A hold no longer capturing is left alone (Conflict).
    async fn complete_capture(
        &self,
        hold_id: Uuid,
        accounts: &[HeldAccount],
        items: &[HeldItem],
        reminder_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<HoldRecord>;
    /// The snapshot could not be taken.
    async fn fail_capture(
        &self,
        hold_id: Uuid,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<HoldRecord>;
    /// One more renewal to `expires_at`, if the hold has had `renewals` so far (guards
    /// against two renewals at once); the expiry and reminder move with it.
    async fn renew_hold(
        &self,
        actor: &Actor,
        hold_id: Uuid,
        renewals: u32,
        expires_at: DateTime<Utc>,
        reminder_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<HoldRecord>;
    /// Ends a live hold (`expired`, or the provider's reason); its jobs are cancelled. The
    /// caller then deletes its snapshot.
    async fn release_hold(
        &self,
        actor: &Actor,
        hold_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<HoldRecord>;
    async fn get_hold(&self, id: Uuid) -> StoreResult<HoldRecord>;
    async fn list_holds(&self, filter: &HoldFilter) -> StoreResult<Vec<HoldRecord>>;
    async fn hold_accounts(&self, hold_id: Uuid) -> StoreResult<Vec<HeldAccount>>;
    async fn hold_items(&self, hold_id: Uuid) -> StoreResult<Vec<HeldItem>>;
    /// Active holds of an agency's requests that found accounts by this identifier.
    async fn active_holds_for_target(
        &self,
        agency_id: Uuid,
        target: &Target,
    ) -> StoreResult<Vec<HoldRecord>>;

    // --- productions ------------------------------------------------------------------
    /// Starts a production: the request moves to producing (from decided, or stays producing
    /// after a failed build), the row and its build job, audited.
    async fn create_production(
        &self,
        actor: &Actor,
        production: NewProduction,
        now: DateTime<Utc>,
    ) -> StoreResult<ProductionRecord>;
    /// The ZIP passphrase, for the build (None once built).
    async fn production_passphrase(&self, id: Uuid) -> StoreResult<Option<String>>;
    /// The package is stored: the row built, the passphrase erased, the release scheduled.
    async fn record_package(
        &self,
        id: Uuid,
        package: BuiltPackage,
        now: DateTime<Utc>,
    ) -> StoreResult<ProductionRecord>;
    async fn fail_production(
        &self,
        id: Uuid,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ProductionRecord>;
    /// Hands a built package to the agency: the link starts (`expires_at`), the request moves
    /// to delivered, audited.
    async fn release_production(
        &self,
        actor: &Actor,
        id: Uuid,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<ProductionRecord>;
    /// A new link for a delivered production (the old one expired or was used up).
    async fn renew_link(
        &self,
        actor: &Actor,
        id: Uuid,
        expires_at: DateTime<Utc>,
        max_downloads: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<ProductionRecord>;
    async fn get_production(&self, id: Uuid) -> StoreResult<ProductionRecord>;
    /// A request's productions, newest first; NotFound when the scope may not see the request.
    async fn productions_for_request(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Vec<ProductionRecord>>;
    /// Counts one download of the request's delivered production if its link still works, and
    /// audits it, atomically. NotFound when there is none the scope may see.
    async fn take_download(
        &self,
        actor: &Actor,
        scope: Scope,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<DownloadGrant>;

    // --- customer notice --------------------------------------------------------------
    /// Records the notice decided for a request, queues its mails and schedules its jobs.
    /// Once only: a second call returns the first record and changes nothing.
    async fn plan_notice(
        &self,
        actor: &Actor,
        notice: NewNotice,
        now: DateTime<Utc>,
    ) -> StoreResult<NoticeRecord>;
    /// Moves a notice on (sent, review due, reviewed), if it is in one of the expected states;
    /// otherwise a Conflict and nothing changes.
    async fn update_notice(
        &self,
        actor: &Actor,
        request_id: Uuid,
        change: NoticeChange,
        now: DateTime<Utc>,
    ) -> StoreResult<NoticeRecord>;
    async fn get_notice(&self, request_id: Uuid) -> StoreResult<Option<NoticeRecord>>;
    /// The request and recipient a notice page's token belongs to.
    async fn notice_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(Uuid, RecipientRecord)>>;

    /// Appends the production event (`production.packaged`, whose details the package builder
    /// gives) and returns it as stored, to be proved in the package.
    async fn append_production_event(
        &self,
        actor: &Actor,
        request_id: Uuid,
        details: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::StoredAuditEntry>;

    // --- agencies ---------------------------------------------------------------------
    /// The agency's age public key (`age1...`), if it gave one.
    async fn age_recipient(&self, agency_id: Uuid) -> StoreResult<Option<String>>;
    async fn set_age_recipient(
        &self,
        actor: &Actor,
        agency_id: Uuid,
        recipient: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}
