//! Emergency paging: the jobs that page the on-call reviewers until one acknowledges.
//!
//! An emergency request is stored with its first `emergency.page` job in the same transaction
//! (`custodian_store::paging`), and the web layer wakes the runner at once. Each round mails
//! the on-call people through the outbox and POSTs to the paging webhook, signed; it schedules
//! the next round (every `repage_minutes`, and exactly when escalation to the secondary is
//! due). A webhook that fails is tried again by `emergency.webhook` with a short backoff.
//! `emergency.followup_reminder` reminds the agency that legal process must follow.
//!
//! ## The webhook's signature
//! `Custodian-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. A
//! receiver recomputes the HMAC over the timestamp, a full stop and the raw body, compares in
//! constant time, and refuses a timestamp more than a few minutes old.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use custodian_store::paging::{job_kinds, WebhookCall};
use custodian_store::{DynClock, DynStore, Job, NewJob};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{JobError, JobHandler, JobRunner};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Custodian-Signature";
/// The event a page is (`Custodian-Event`).
pub const PAGE_EVENT: &str = "emergency.page";

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes a key of any length; this cannot happen.
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// What the webhook receives: where to look, never what the emergency is about.
#[derive(Debug, Serialize)]
pub struct PagePayload<'a> {
    pub event: &'static str,
    pub request_id: Uuid,
    pub number: &'a str,
    pub agency: &'a str,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub respond_by: chrono::DateTime<chrono::Utc>,
    pub link: String,
    pub round: u32,
    pub escalated: bool,
}

struct Shared {
    store: DynStore,
    clock: DynClock,
    public_url: String,
    client: reqwest::Client,
    /// Wakes the runner after a round queued its mails, so that they go at once.
    waker: Arc<Notify>,
}

impl Shared {
    /// Makes one webhook attempt and records it. Ok when the receiver answered 2xx.
    async fn deliver(&self, call: &WebhookCall) -> Result<(), String> {
        let f = &call.facts;
        let payload = PagePayload {
            event: PAGE_EVENT,
            request_id: f.request_id,
            number: &f.number,
            agency: &f.agency,
            received_at: f.received_at,
            respond_by: f.respond_by,
            link: format!("{}/review/requests/{}", self.public_url, f.request_id),
            round: f.round,
            escalated: f.escalated,
        };
        let body = serde_json::to_vec(&payload).map_err(|e| e.to_string())?;
        let mut req = self
            .client
            .post(&call.url)
            .header("content-type", "application/json")
            .header("custodian-event", PAGE_EVENT)
            .header("custodian-delivery", call.attempt_id.to_string());
        if let Some(secret) = &call.secret {
            let t = chrono::Utc::now().timestamp();
            req = req.header(SIGNATURE_HEADER, sign(secret, t, &body));
        }
        let outcome = match req.body(body).send().await {
            Ok(resp) if resp.status().is_success() => {
                Ok(format!("HTTP {}", resp.status().as_u16()))
            }
            Ok(resp) => Err(format!("HTTP {}", resp.status().as_u16())),
            // The error names the host, never the secret; keep only its kind.
            Err(e) if e.is_timeout() => Err("timed out".to_string()),
            Err(e) if e.is_connect() => Err("could not connect".to_string()),
            Err(_) => Err("request failed".to_string()),
        };
        let now = self.clock.now();
        let (ok, detail) = match &outcome {
            Ok(d) => (true, d.as_str()),
            Err(d) => (false, d.as_str()),
        };
        if let Err(e) = self
            .store
            .paging()
            .finish_attempt(call.attempt_id, ok, detail, now)
            .await
        {
            tracing::warn!(error = %e, "paging: cannot record a webhook attempt");
        }
        outcome.map(|_| ())
    }
}

fn request_id(job: &Job) -> Result<Uuid, JobError> {
    job.payload
        .get("request_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::permanent("payload: request_id missing"))
}

/// The wait before webhook attempt `n + 1`: 10 s, 20 s, 40 s, ... up to 2 minutes.
pub fn webhook_backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(4);
    Duration::seconds(10 * (1i64 << exp)).min(Duration::minutes(2))
}

/// `emergency.page`: one round of pages.
pub struct PageRound(Arc<Shared>);

#[async_trait]
impl JobHandler for PageRound {
    fn kind(&self) -> &'static str {
        job_kinds::PAGE
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let id = request_id(job)?;
        let s = &self.0;
        let now = s.clock.now();
        let Some(round) = s.store.paging().page_round(id, &s.public_url, now).await? else {
            return Ok(());
        };
        if round.mails > 0 {
            s.waker.notify_one();
        }
        if round.mails == 0 && round.webhook.is_none() {
            tracing::warn!(request = %id, "paging: no one is on call and no webhook is set");
        }
        if let Some(call) = round.webhook {
            if let Err(e) = s.deliver(&call).await {
                tracing::warn!(request = %id, error = %e, "paging: webhook failed; retrying");
                let retry = NewJob::new(
                    job_kinds::WEBHOOK,
                    serde_json::json!({ "request_id": id, "round": round.facts.round }),
                    s.clock.now() + webhook_backoff(1),
                )
                .attempts(20)
                .once(format!("emergency-webhook:{id}:{}", round.facts.round));
                s.store.jobs().enqueue(retry).await?;
            }
        }
        Ok(())
    }
}

/// `emergency.webhook`: the webhook again, until it answers or someone acknowledges.
pub struct WebhookRetry(Arc<Shared>);

#[async_trait]
impl JobHandler for WebhookRetry {
    fn kind(&self) -> &'static str {
        job_kinds::WEBHOOK
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let id = request_id(job)?;
        let round = job
            .payload
            .get("round")
            .and_then(|v| v.as_u64())
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(1);
        let s = &self.0;
        let Some(call) = s
            .store
            .paging()
            .webhook_retry(id, round, s.clock.now())
            .await?
        else {
            return Ok(());
        };
        s.deliver(&call).await.map_err(|e| JobError::Retry {
            message: format!("webhook: {e}"),
            after: Some(webhook_backoff(job.attempts + 1)),
        })
    }
}

/// `emergency.followup_reminder`: mails the officer that legal process must follow.
pub struct FollowupReminder(Arc<Shared>);

#[async_trait]
impl JobHandler for FollowupReminder {
    fn kind(&self) -> &'static str {
        job_kinds::FOLLOWUP_REMINDER
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let id = request_id(job)?;
        let s = &self.0;
        if s.store
            .paging()
            .followup_reminder(id, &s.public_url, s.clock.now())
            .await?
        {
            s.waker.notify_one();
        }
        Ok(())
    }
}

/// Registers the paging jobs with `runner`; links in pages point at `public_url`.
pub fn register(
    runner: JobRunner,
    store: DynStore,
    clock: DynClock,
    public_url: &str,
) -> JobRunner {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let shared = Arc::new(Shared {
        store,
        clock,
        public_url: public_url.trim_end_matches('/').to_string(),
        client,
        waker: runner.waker(),
    });
    runner
        .handle(PageRound(shared.clone()))
        .handle(WebhookRetry(shared.clone()))
        .handle(FollowupReminder(shared))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let s = sign("key", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(s, sign("other", 1_700_000_000, b"{}"));
        assert_ne!(s, sign("key", 1_700_000_001, b"{}"));
    }

    #[test]
    fn webhook_backoff_is_short() {
        assert_eq!(webhook_backoff(1), Duration::seconds(10));
        assert_eq!(webhook_backoff(2), Duration::seconds(20));
        assert_eq!(webhook_backoff(9), Duration::minutes(2));
    }
}
