//! What the store keeps about emergencies (migration 0010): the admin's on-call rota, the
//! paging webhook and its timings, one row per emergency request (is someone still being
//! paged, who acknowledged and when, the first answer the agency saw, the legal process that
//! followed) and every attempt to reach someone. Reach it with `store.paging()`; the SQL is in
//! `paging_sql.rs`, stamped out per backend.
//!
//! An emergency starts paging in the transaction that stores it (`insert_request` calls
//! [`job_kinds::PAGE`]'s scheduling), so that a crash cannot lose a page; the web layer then
//! wakes the job runner so that the first page goes out at once.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{Actor, Scope, StoreResult};

/// The jobs of paging. Payloads carry ids only.
pub mod job_kinds {
    /// One round of pages for an emergency: `{"request_id"}`. Each round schedules the next
    /// until someone acknowledges.
    pub const PAGE: &str = "emergency.page";
    /// Another try at a webhook that failed in a round: `{"request_id", "round"}`.
    pub const WEBHOOK: &str = "emergency.webhook";
    /// Remind the agency that legal process must follow the emergency: `{"request_id", "n"}`.
    pub const FOLLOWUP_REMINDER: &str = "emergency.followup_reminder";
}

/// The mail kinds of paging (the outbox's `kind`).
pub const PAGE_MAIL: &str = "emergency_page";
pub const FOLLOWUP_MAIL: &str = "emergency_followup_reminder";

custodian_core::named_enum! {
    /// Which line of the rota someone is on.
    pub enum OnCallTier ("on-call tier") {
        /// Paged at once.
        Primary = "primary",
        /// Paged when the primary has not acknowledged in time.
        Secondary = "secondary",
    }
}

custodian_core::named_enum! {
    /// How a page went out.
    pub enum PageChannel ("paging channel") {
        Email = "email",
        Webhook = "webhook",
    }
}

custodian_core::named_enum! {
    /// What became of one attempt.
    pub enum AttemptResult ("attempt result") {
        /// A mail waiting in the outbox (its own status says whether it went).
        Queued = "queued",
        /// A webhook request under way.
        Sending = "sending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

custodian_core::named_enum! {
    /// Whether an emergency still pages people.
    pub enum EmergencyStatus ("emergency status") {
        Paging = "paging",
        Acknowledged = "acknowledged",
    }
}

/// A time window of the day, in UTC; `from > until` wraps midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayWindow {
    pub from: NaiveTime,
    pub until: NaiveTime,
}

impl DayWindow {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let m = t.time().num_seconds_from_midnight();
        let (a, b) = (
            self.from.num_seconds_from_midnight(),
            self.until.num_seconds_from_midnight(),
        );
        if a <= b {
            a <= m && m < b
        } else {
            m >= a || m < b
        }
    }
}

/// One line of the rota, as the admin gives it.
#[derive(Debug, Clone)]
pub struct NewOnCall {
    pub tier: OnCallTier,
    pub user_id: Uuid,
    pub window: Option<DayWindow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnCallEntry {
    pub id: Uuid,
    pub tier: OnCallTier,
    /// Order within the tier: the first whose window covers the time is paged.
    pub position: u32,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub window: Option<DayWindow>,
}

/// Who is on call at `at`: the first entry of each tier whose window covers it.
pub fn on_call_at(
    rota: &[OnCallEntry],
    tier: OnCallTier,
    at: DateTime<Utc>,
) -> Option<&OnCallEntry> {
    rota.iter()
        .filter(|e| e.tier == tier)
        .find(|e| match e.window {
            None => true,
            Some(w) => w.contains(at),
        })
}

/// The paging settings. The webhook secret is here for the job that signs; the API shows only
/// whether one is set.
#[derive(Debug, Clone, PartialEq)]
pub struct PagingSettings {
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub secret_set_at: Option<DateTime<Utc>>,
    /// Page again every so many minutes until someone acknowledges.
    pub repage_minutes: u32,
    /// Page the secondary too when no one has acknowledged after so many minutes.
    pub escalate_minutes: u32,
    /// Remind the agency to serve legal process these many days after the answer.
    pub followup_reminder_days: Vec<u32>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for PagingSettings {
    fn default() -> Self {
        Self {
            webhook_url: None,
            webhook_secret: None,
            secret_set_at: None,
            repage_minutes: 5,
            escalate_minutes: 15,
            followup_reminder_days: vec![2, 7],
            updated_at: None,
        }
    }
}

/// A change to the settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    /// `Some(None)` removes the webhook.
    pub webhook_url: Option<Option<String>>,
    /// A new secret (write-only).
    pub webhook_secret: Option<String>,
    pub repage_minutes: Option<u32>,
    pub escalate_minutes: Option<u32>,
    pub followup_reminder_days: Option<Vec<u32>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergencyRecord {
    pub request_id: Uuid,
    pub number: String,
    pub agency_id: Uuid,
    pub status: EmergencyStatus,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub rounds: u32,
    pub paged_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_by_name: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub first_answer_at: Option<DateTime<Utc>>,
    /// `message`, `letter`, `decision` or `production`.
    pub first_answer_kind: Option<String>,
    pub followup_request_id: Option<Uuid>,
    pub followup_number: Option<String>,
    pub followup_at: Option<DateTime<Utc>>,
    pub reminders_sent: u32,
}

impl EmergencyRecord {
    /// Receipt to acknowledgement.
    pub fn time_to_ack(&self) -> Option<Duration> {
        self.acknowledged_at.map(|a| a - self.received_at)
    }

    /// Receipt to the first thing the agency saw from the provider.
    pub fn time_to_first_answer(&self) -> Option<Duration> {
        self.first_answer_at.map(|a| a - self.received_at)
    }
}

/// One attempt to reach someone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageAttempt {
    pub id: Uuid,
    pub round: u32,
    pub tier: String,
    pub user_id: Option<Uuid>,
    pub user_name: Option<String>,
    pub channel: PageChannel,
    pub at: DateTime<Utc>,
    /// For a mail: the outbox's verdict once it has one.
    pub result: AttemptResult,
    pub detail: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What a webhook delivery carries: no customer data, only where to look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageFacts {
    pub request_id: Uuid,
    pub number: String,
    pub agency: String,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub round: u32,
    pub escalated: bool,
}

/// A webhook attempt to make now.
#[derive(Debug, Clone)]
pub struct WebhookCall {
    pub attempt_id: Uuid,
    pub url: String,
    pub secret: Option<String>,
    pub facts: PageFacts,
}

/// What a round of pages did.
#[derive(Debug, Clone)]
pub struct Round {
    pub facts: PageFacts,
    /// Mails queued (e-mail pages).
    pub mails: usize,
    pub webhook: Option<WebhookCall>,
}

/// The text of a page mail: where to look, never what the emergency is about.
pub fn page_mail_text(facts: &PageFacts, link: &str) -> (String, String) {
    let subject = format!(
        "EMERGENCY {} from {}{}",
        facts.number,
        facts.agency,
        if facts.escalated { " (escalated)" } else { "" }
    );
    let body = format!(
        "An emergency request needs a reviewer now.\n\n\
         Request:     {}\n\
         Agency:      {}\n\
         Received:    {}\n\
         Respond by:  {}\n\
         Page round:  {}{}\n\n\
         Open it and acknowledge: {link}\n\n\
         You will be paged again until someone acknowledges it.\n",
        facts.number,
        facts.agency,
        facts.received_at.format("%Y-%m-%d %H:%M UTC"),
        facts.respond_by.format("%Y-%m-%d %H:%M UTC"),
        facts.round,
        if facts.escalated {
            " (escalated to the secondary on-call)"
        } else {
            ""
        },
    );
    (subject, body)
}

/// Storage of paging, implemented by both backends.
#[async_trait]
pub trait PagingStore: Send + Sync {
    /// The rota, primary first, each tier in order.
    async fn rota(&self) -> StoreResult<Vec<OnCallEntry>>;
    /// Replaces the rota. Each person must be active provider staff who reviews.
    async fn set_rota(&self, actor: &Actor, entries: &[NewOnCall])
        -> StoreResult<Vec<OnCallEntry>>;
    async fn settings(&self) -> StoreResult<PagingSettings>;
    async fn update_settings(
        &self,
        actor: &Actor,
        update: &SettingsUpdate,
    ) -> StoreResult<PagingSettings>;

    /// The emergency of a request the scope may see (`None`: not an emergency).
    async fn emergency(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Option<EmergencyRecord>>;
    /// Every attempt to page someone about it, oldest first.
    async fn attempts(&self, request_id: Uuid) -> StoreResult<Vec<PageAttempt>>;
    /// The emergency an agency names (by number or id) as the one its new request follows.
    async fn find_followed(&self, agency_id: Uuid, reference: &str) -> StoreResult<Option<Uuid>>;

    /// Runs one round: page the on-call people by e-mail (through the outbox), open a webhook
    /// attempt, schedule the next round. `None` when the emergency is acknowledged already.
    async fn page_round(
        &self,
        request_id: Uuid,
        public_url: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Round>>;
    /// A new webhook attempt for a round whose first one failed (`None`: acknowledged, or no
    /// webhook any more).
    async fn webhook_retry(
        &self,
        request_id: Uuid,
        round: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebhookCall>>;
    /// Records what became of a webhook attempt.
    async fn finish_attempt(
        &self,
        attempt_id: Uuid,
        delivered: bool,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Stops the paging: who acknowledged and when. Acknowledging twice keeps the first.
    async fn acknowledge(
        &self,
        actor: &Actor,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<EmergencyRecord>;
    /// Mails the agency's officer that legal process must follow (unless it has). Whether a
    /// mail was queued.
    async fn followup_reminder(
        &self,
        request_id: Uuid,
        public_url: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
