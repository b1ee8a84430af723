//! Background work as rows: a job table that every `custodian serve` process draws from, and the
//! outbox of e-mail waiting to be sent. Nothing another instance needs lives in process memory,
//! so a crash or a restart loses no reminder, no expiry and no notice.
//!
//! A job is claimed for a lease; a worker that dies mid-job lets its lease run out and another
//! worker takes the job again, so handlers must be safe to run twice (they check state before
//! they act). PostgreSQL claims with `FOR UPDATE SKIP LOCKED`; SQLite has one writer, which
//! serialises claims by itself.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StoreResult;

custodian_core::named_enum! {
    /// Where a job is in its life.
    pub enum JobStatus ("job status") {
        Queued = "queued",
        Running = "running",
        Done = "done",
        /// Gave up: a permanent error, or out of attempts.
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// A job to schedule.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What to do, e.g. `mail.send`; a handler is registered for each kind.
    pub kind: String,
    /// What the handler needs, as JSON: ids, never customer data.
    pub payload: serde_json::Value,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    pub max_attempts: u32,
    /// A job that must exist once while it is pending (`hold-expiry:<id>`): enqueueing the same
    /// key again while the first is queued or running returns the first job's id.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value, run_at: DateTime<Utc>) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at,
            max_attempts: 10,
            dedupe_key: None,
        }
    }

    pub fn once(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn attempts(mut self, max: u32) -> Self {
        self.max_attempts = max.max(1);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    pub status: JobStatus,
    /// Attempts started so far, this one included while it runs.
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    pub limit: u32,
}

/// The job table, implemented by both backends. Reach it with `store.jobs()`.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: NewJob) -> StoreResult<Uuid>;
    /// Takes up to `limit` due jobs (queued with `run_at <= now`, or running with an expired
    /// lease) for `lease`, marking each running and counting the attempt.
    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;
    async fn complete(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Puts a job back to run again at `at`, or fails it when it is out of attempts.
    async fn retry(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> StoreResult<JobStatus>;
    async fn fail(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> StoreResult<()>;
    /// Cancels the pending job with this dedupe key, if any (a hold released early, say).
    async fn cancel(&self, dedupe_key: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn get(&self, id: Uuid) -> StoreResult<Job>;
    async fn list(&self, filter: &JobFilter) -> StoreResult<Vec<Job>>;
    /// When the next queued job is due, to sleep until then.
    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>>;
}

custodian_core::named_enum! {
    /// Where an e-mail is.
    pub enum MailStatus ("mail status") {
        Queued = "queued",
        Sent = "sent",
        /// Refused for good (a permanent SMTP error, or out of attempts); an admin may resend.
        Failed = "failed",
    }
}

/// An e-mail to send. The outbox keeps it until the SMTP server has accepted it.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// Why it is sent, e.g. `email_verification`, `customer_notice`, `deadline_reminder`.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    /// The request it is about, if any.
    pub request_id: Option<Uuid>,
    /// Not before this time (a notice waiting for a gag order to end is a job instead; this is
    /// for small delays).
    pub send_after: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailRecord {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub request_id: Option<Uuid>,
    pub status: MailStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The Message-ID the SMTP server accepted it under.
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MailFilter {
    pub status: Option<MailStatus>,
    pub kind: Option<String>,
    pub request_id: Option<Uuid>,
    pub limit: u32,
}

/// The mail outbox, implemented by both backends. Reach it with `store.outbox()`. Queuing a
/// mail also schedules the `mail.send` job that delivers it, in the same transaction.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn queue(
        &self,
        actor: &crate::Actor,
        mail: NewMail,
        now: DateTime<Utc>,
    ) -> StoreResult<Uuid>;
    async fn get(&self, id: Uuid) -> StoreResult<MailRecord>;
    async fn list(&self, filter: &MailFilter) -> StoreResult<Vec<MailRecord>>;
    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>, message_id: &str) -> StoreResult<()>;
    /// Counts a failed attempt; `permanent` (or the job giving up) marks the mail failed.
    async fn mark_attempt_failed(&self, id: Uuid, error: &str, permanent: bool) -> StoreResult<()>;
    /// An admin sends a failed mail again: back to queued, with a new `mail.send` job.
    async fn resend(&self, actor: &crate::Actor, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
}

/// The job kind that delivers one outbox mail; its payload is `{"mail_id": "<uuid>"}`.
pub const MAIL_SEND_JOB: &str = "mail.send";
