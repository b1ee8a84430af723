//! Customer notice: decided when a decision becomes effective (the `notice.plan` job, which the
//! store schedules in the decision's own transaction), sent through the outbox with a link to
//! the notice page, or held back while an order runs, reviewed yearly when the order has no
//! end, sent after an emergency, or withheld.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use custodian_core::notice::{self, next_review, NoticePlan, NoticeStatus};
use custodian_core::policy::{notice_for_disclosure, CustomerNotice, Decision, PolicyCase};
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, LegalProcess, NewLegalRequest};
use custodian_sources::{SourceError, SubscriberRecord};
use custodian_store::custody::{
    job_kinds, HeldKind, NewNotice, NewRecipient, NoticeChange, NoticeRecord,
};
use custodian_store::{Actor, DecisionRecord, NewJob, RequestRecord, Scope};
use rand::RngCore;
use serde::Serialize;
use uuid::Uuid;

use crate::collect::{find_accounts, read_held};
use crate::hold::system;
use crate::mail::{self, NoticeFacts};
use crate::{Custody, CustodyError, CustodyResult};

/// A reviewer's finding on a non-disclosure order with no end date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderReview {
    /// Still in force: reviewed again after the profile's interval (at most a year).
    Continues,
    /// The court set an end: the customer is told the day after `last_day`.
    Ends { last_day: NaiveDate },
    /// Lifted: the customer is told now.
    Lifted,
}

/// What the customer's notice page shows.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub provider: String,
    pub account: String,
    pub number: String,
    pub agency: String,
    pub process: LegalProcess,
    pub process_label: String,
    pub received_at: DateTime<Utc>,
    pub categories_requested: Vec<DataCategory>,
    pub date_range: Option<DateRange>,
    pub disclosed: Vec<DataCategory>,
    /// Nothing is disclosed before this time (a notice given before disclosure).
    pub not_before: Option<DateTime<Utc>>,
    /// When the records were handed to the agency, if they were.
    pub disclosed_at: Option<DateTime<Utc>>,
    /// Sentences describing each disclosed category.
    pub disclosed_words: Vec<String>,
}

fn new_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The SHA-256 a notice token is kept as.
pub fn token_hash(token: &str) -> String {
    custodian_store::sha256_hex(token.as_bytes())
}

fn disclosed(decision: &DecisionRecord) -> Vec<DataCategory> {
    decision
        .decision
        .categories
        .iter()
        .filter(|(_, r)| r.decision == Decision::Disclose)
        .map(|(c, _)| *c)
        .collect()
}

impl Custody {
    async fn effective_decision(&self, request_id: Uuid) -> CustodyResult<DecisionRecord> {
        match self.store.get_decision(Scope::Provider, request_id).await? {
            Some(d) if d.is_effective() => Ok(d),
            Some(_) => Err(CustodyError::Conflict(
                "the decision waits for a second person's approval".into(),
            )),
            None => Err(CustodyError::Conflict(
                "the request is not decided yet".into(),
            )),
        }
    }

    /// The `notice.plan` job: what the rules say about telling the customer, for the decision
    /// as made, and the first step of it.
    pub(crate) async fn plan_notice(&self, request_id: Uuid) -> CustodyResult<()> {
        if self.store.custody().get_notice(request_id).await?.is_some() {
            return Ok(());
        }
        let request = self.store.get_request(Scope::Provider, request_id).await?;
        let decision = self.effective_decision(request_id).await?;
        let disclosed = disclosed(&decision);
        let mut case = PolicyCase::from_request(
            &NewLegalRequest {
                intake: request.intake.clone(),
            },
            request.received_at,
        );
        case.illegal_conduct_indicated = decision.decision.illegal_conduct_reason.is_some();
        let now = self.now();
        let policy = self.policy().await;
        let assessed = notice_for_disclosure(&policy, &case, &disclosed, now);
        let plan = notice::plan(
            assessed.customer_notice,
            assessed.notice_after,
            assessed.notice_review_by,
            now,
            &self.notice_timings(&policy),
        );
        let recipients = match plan {
            NoticePlan::SendNow => self.recipients(&request, &disclosed, true).await?,
            _ => Vec::new(),
        };
        let jobs = match plan {
            NoticePlan::SendAt(t) => vec![send_job(request_id, t)],
            NoticePlan::ReviewAt(t) => vec![review_job(request_id, t)],
            _ => Vec::new(),
        };
        self.store
            .custody()
            .plan_notice(
                &system(),
                NewNotice {
                    request_id,
                    notice: assessed.customer_notice,
                    rule: assessed.rule,
                    status: plan.status(),
                    due_at: plan.due_at(),
                    recipients,
                    jobs,
                },
                now,
            )
            .await?;
        Ok(())
    }

    /// The `notice.send` job: the day has come for a notice that waited.
    pub(crate) async fn send_scheduled(&self, request_id: Uuid) -> CustodyResult<()> {
        let Some(n) = self.store.custody().get_notice(request_id).await? else {
            return Ok(());
        };
        if n.status != NoticeStatus::Scheduled || n.due_at.is_some_and(|t| t > self.now()) {
            return Ok(());
        }
        if self.withdrawn_undisclosed(&n).await? {
            return Ok(());
        }
        self.send(&system(), &n, "notice.sent", serde_json::json!({}))
            .await
            .map(|_| ())
    }

    /// A request the agency withdrew before anything was produced disclosed nothing: the
    /// notice that waited is no longer needed (recorded so), rather than telling the customer
    /// of a disclosure that never happened.
    async fn withdrawn_undisclosed(&self, n: &NoticeRecord) -> CustodyResult<bool> {
        let request = self
            .store
            .get_request(Scope::Provider, n.request_id)
            .await?;
        if request.status != custodian_core::RequestStatus::Withdrawn {
            return Ok(false);
        }
        self.store
            .custody()
            .update_notice(
                &system(),
                n.request_id,
                NoticeChange {
                    expect: vec![
                        NoticeStatus::Scheduled,
                        NoticeStatus::UnderReview,
                        NoticeStatus::ReviewDue,
                    ],
                    status: NoticeStatus::NotRequired,
                    due_at: None,
                    recipients: Vec::new(),
                    staff_mails: Vec::new(),
                    cancel: vec![
                        format!("notice-send:{}", n.request_id),
                        format!("notice-review:{}", n.request_id),
                    ],
                    jobs: Vec::new(),
                    action: "notice.not_needed",
                    details: serde_json::json!({"why": "withdrawn before production"}),
                },
                self.now(),
            )
            .await?;
        Ok(true)
    }

    /// Sends the notice now, from a state that allows it.
    async fn send(
        &self,
        actor: &Actor,
        n: &NoticeRecord,
        action: &'static str,
        details: serde_json::Value,
    ) -> CustodyResult<NoticeRecord> {
        let request = self
            .store
            .get_request(Scope::Provider, n.request_id)
            .await?;
        let decision = self.effective_decision(n.request_id).await?;
        let before = notice::precedes_release(n.notice);
        let recipients = self
            .recipients(&request, &disclosed(&decision), before)
            .await?;
        Ok(self
            .store
            .custody()
            .update_notice(
                actor,
                n.request_id,
                NoticeChange {
                    expect: vec![
                        NoticeStatus::Scheduled,
                        NoticeStatus::UnderReview,
                        NoticeStatus::ReviewDue,
                    ],
                    status: NoticeStatus::Sent,
                    due_at: None,
                    recipients,
                    staff_mails: Vec::new(),
                    cancel: vec![
                        format!("notice-send:{}", n.request_id),
                        format!("notice-review:{}", n.request_id),
                    ],
                    jobs: Vec::new(),
                    action,
                    details,
                },
                self.now(),
            )
            .await?)
    }

    /// The `notice.review` job: an order with no end date comes before its reviewer again.
    pub(crate) async fn review_due(&self, request_id: Uuid) -> CustodyResult<()> {
        let Some(n) = self.store.custody().get_notice(request_id).await? else {
            return Ok(());
        };
        if n.status != NoticeStatus::UnderReview || n.due_at.is_some_and(|t| t > self.now()) {
            return Ok(());
        }
        if self.withdrawn_undisclosed(&n).await? {
            return Ok(());
        }
        let request = self.store.get_request(Scope::Provider, request_id).await?;
        let decision = self.store.get_decision(Scope::Provider, request_id).await?;
        let reviewer = request.assignee_id.or(decision.map(|d| d.decided_by));
        let mut staff_mails = Vec::new();
        if let Some(r) = reviewer {
            let user = self.store.get_user(r).await?;
            staff_mails.push(mail::order_review(&self.settings, &request, &user.email));
        }
        self.store
            .custody()
            .update_notice(
                &system(),
                request_id,
                NoticeChange {
                    expect: vec![NoticeStatus::UnderReview],
                    status: NoticeStatus::ReviewDue,
                    due_at: n.due_at,
                    recipients: Vec::new(),
                    staff_mails,
                    cancel: Vec::new(),
                    jobs: Vec::new(),
                    action: "notice.review_due",
                    details: serde_json::json!({}),
                },
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// A reviewer records what became of a non-disclosure order with no end date.
    pub async fn review_order(
        &self,
        actor: &Actor,
        request_id: Uuid,
        review: OrderReview,
    ) -> CustodyResult<NoticeRecord> {
        let n = self.notice_of(request_id).await?;
        if !matches!(
            n.status,
            NoticeStatus::UnderReview | NoticeStatus::ReviewDue
        ) {
            return Err(CustodyError::Conflict(format!(
                "only a notice held back by an order with no end date is reviewed (this one is \
                 {})",
                n.status
            )));
        }
        let now = self.now();
        let (status, due_at, jobs, what) = match review {
            OrderReview::Lifted => {
                return self
                    .send(
                        actor,
                        &n,
                        "notice.order_lifted",
                        serde_json::json!({"order": "lifted"}),
                    )
                    .await
            }
            OrderReview::Continues => {
                let t = next_review(now, &self.notice_timings(&*self.policy().await));
                (
                    NoticeStatus::UnderReview,
                    t,
                    review_job(request_id, t),
                    "continues",
                )
            }
            OrderReview::Ends { last_day } => {
                let t = notice::after_order(last_day);
                if t <= now {
                    return self
                        .send(
                            actor,
                            &n,
                            "notice.order_ended",
                            serde_json::json!({"order": "ended", "last_day": last_day.to_string()}),
                        )
                        .await;
                }
                (NoticeStatus::Scheduled, t, send_job(request_id, t), "ends")
            }
        };
        Ok(self
            .store
            .custody()
            .update_notice(
                actor,
                request_id,
                NoticeChange {
                    expect: vec![NoticeStatus::UnderReview, NoticeStatus::ReviewDue],
                    status,
                    due_at: Some(due_at),
                    recipients: Vec::new(),
                    staff_mails: Vec::new(),
                    cancel: vec![
                        format!("notice-review:{request_id}"),
                        format!("notice-send:{request_id}"),
                    ],
                    jobs: vec![jobs],
                    action: "notice.order_reviewed",
                    details: serde_json::json!({ "order": what }),
                },
                now,
            )
            .await?)
    }

    /// A reviewer sends an emergency disclosure's notice now that the emergency has passed,
    /// before the default delay runs out.
    pub async fn send_notice_now(
        &self,
        actor: &Actor,
        request_id: Uuid,
    ) -> CustodyResult<NoticeRecord> {
        let n = self.notice_of(request_id).await?;
        if n.status != NoticeStatus::Scheduled || n.notice != CustomerNotice::AfterEmergency {
            return Err(CustodyError::Conflict(format!(
                "only a notice waiting for an emergency to pass is sent early (this one is {} \
                 under {}); a non-disclosure order is reviewed instead",
                n.status, n.rule
            )));
        }
        self.send(actor, &n, "notice.sent", serde_json::json!({"early": true}))
            .await
    }

    async fn notice_of(&self, request_id: Uuid) -> CustodyResult<NoticeRecord> {
        self.store.get_request(Scope::Provider, request_id).await?;
        self.store
            .custody()
            .get_notice(request_id)
            .await?
            .ok_or_else(|| {
                CustodyError::Conflict(
                    "customer notice is decided once the decision may be acted on; it has not \
                     been yet"
                        .into(),
                )
            })
    }

    /// Everyone to tell about `request`: each account its targets name, at the source, or in
    /// the agency's hold when the account is gone, by the e-mail address of its subscriber
    /// record.
    async fn recipients(
        &self,
        request: &RequestRecord,
        disclosed: &[DataCategory],
        before_disclosure: bool,
    ) -> CustodyResult<Vec<NewRecipient>> {
        let source = self.source_or_unavailable()?.clone();
        let agency = self.store.get_agency(request.agency_id).await?;
        let mut notes = Vec::new();
        let found = find_accounts(source.as_ref(), &request.intake.targets, &mut notes).await?;
        let mut subscribers: Vec<SubscriberRecord> = Vec::new();
        for (account, _) in &found {
            match source.subscriber(account).await {
                Ok(s) => subscribers.push(s),
                Err(SourceError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for s in self.held_subscribers(request).await? {
            if !subscribers.iter().any(|k| k.account_id == s.account_id) {
                subscribers.push(s);
            }
        }
        let not_before = before_disclosure
            .then(|| self.now() + Duration::days(i64::from(self.settings.notice.wait_days)));
        let mut out = Vec::new();
        for s in subscribers {
            let token = new_token();
            let facts = NoticeFacts {
                request,
                agency: &agency.name,
                account: s.account_id.as_str(),
                disclosed,
                not_before,
                link: format!("{}/notice/{token}", self.settings.public_url),
            };
            out.push(NewRecipient {
                account_id: s.account_id.to_string(),
                token_hash: token_hash(&token),
                mail: mail::customer_notice(&self.settings, &facts, &s.email),
            });
        }
        Ok(out)
    }

    /// Subscriber records kept by the agency's active holds on the request's targets.
    async fn held_subscribers(
        &self,
        request: &RequestRecord,
    ) -> CustodyResult<Vec<SubscriberRecord>> {
        let mut out: Vec<SubscriberRecord> = Vec::new();
        for target in &request.intake.targets {
            for hold in self
                .store
                .custody()
                .active_holds_for_target(request.agency_id, target)
                .await?
            {
                let accounts = self.store.custody().hold_accounts(hold.id).await?;
                let items = self.store.custody().hold_items(hold.id).await?;
                for a in accounts.iter().filter(|a| a.target == *target) {
                    let Some(item) = items
                        .iter()
                        .find(|i| i.account_id == a.account_id && i.kind == HeldKind::Subscriber)
                    else {
                        continue;
                    };
                    let bytes =
                        read_held(&self.blobs, &item.object.key, &item.object.sha256).await?;
                    let record: SubscriberRecord = serde_json::from_slice(&bytes).map_err(|e| {
                        CustodyError::Conflict(format!(
                            "a held subscriber record is unreadable: {e}"
                        ))
                    })?;
                    if !out.iter().any(|s| s.account_id == record.account_id) {
                        out.push(record);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The notice page behind a token from the customer's mail.
    pub async fn notice_page(&self, token: &str) -> CustodyResult<NoticeView> {
        if token.len() != 43 {
            return Err(CustodyError::NotFound);
        }
        let (request_id, recipient) = self
            .store
            .custody()
            .notice_by_token(&token_hash(token))
            .await?
            .ok_or(CustodyError::NotFound)?;
        let request = self.store.get_request(Scope::Provider, request_id).await?;
        let agency = self.store.get_agency(request.agency_id).await?;
        let notice = self.store.custody().get_notice(request_id).await?;
        let decision = self.store.get_decision(Scope::Provider, request_id).await?;
        let disclosed = decision.as_ref().map(disclosed).unwrap_or_default();
        let productions = self
            .store
            .custody()
            .productions_for_request(Scope::Provider, request_id)
            .await?;
        let disclosed_at = productions.iter().filter_map(|p| p.released_at).min();
        let not_before = notice.as_ref().and_then(|n| {
            (notice::precedes_release(n.notice) && disclosed_at.is_none()).then(|| {
                n.state().delivered_at.unwrap_or(recipient.created_at)
                    + Duration::days(i64::from(self.settings.notice.wait_days))
            })
        });
        Ok(NoticeView {
            provider: self.settings.provider.clone(),
            account: recipient.account_id,
            number: request.number.clone(),
            agency: agency.name,
            process: request.process,
            process_label: request.process.label().to_string(),
            received_at: request.received_at,
            categories_requested: request.intake.categories.clone(),
            date_range: request.intake.date_range,
            disclosed_words: disclosed
                .iter()
                .map(|c| mail::category_words(*c).to_string())
                .collect(),
            disclosed,
            not_before,
            disclosed_at,
        })
    }
}

fn send_job(request_id: Uuid, at: DateTime<Utc>) -> NewJob {
    NewJob::new(
        job_kinds::NOTICE_SEND,
        serde_json::json!({ "request_id": request_id }),
        at,
    )
    .once(format!("notice-send:{request_id}"))
}

fn review_job(request_id: Uuid, at: DateTime<Utc>) -> NewJob {
    NewJob::new(
        job_kinds::NOTICE_REVIEW,
        serde_json::json!({ "request_id": request_id }),
        at,
    )
    .once(format!("notice-review:{request_id}"))
}
