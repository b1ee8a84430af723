//! `/api/v1/review`: the provider's legal team works the queue. Reviewers decide per category;
//! a content or emergency disclosure waits for an approver who is not the reviewer.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use custodian_core::deadline::{urgency, Urgency, DUE_SOON_HOURS};
use custodian_core::letters::{self, LetterContext};
use custodian_core::review::{check_approval, ApprovalError, ReviewDecision};
use custodian_core::{FieldError, LegalProcess, RequestStatus, Role};
use custodian_store::{
    DecisionRecord, LetterRecord, QueueFilter, RequestRecord, Scope, StoreError,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

/// Who may read the queue and the review pages (auditors read, never act).
pub(crate) const READERS: &[Role] = &[
    Role::Reviewer,
    Role::Approver,
    Role::Custodian,
    Role::Admin,
    Role::Auditor,
];
/// Who works requests: assignment, letters, decisions.
pub(crate) const REVIEWERS: &[Role] = &[Role::Reviewer, Role::Admin];
/// Who gives the second person's approval.
pub(crate) const APPROVERS: &[Role] = &[Role::Approver, Role::Admin];
const MAX_TEXT: usize = 10_000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only requests in this state.
    pub status: Option<String>,
    /// `me`, `none` (no one has taken it), a user id, or omitted for everyone's.
    pub assignee: Option<String>,
    /// `soon` (due within 48 hours, not yet overdue) or `overdue`.
    pub due: Option<String>,
    /// Only this kind of process, e.g. `search_warrant`.
    pub process: Option<String>,
    /// Include finished requests too (default: open ones only).
    pub all: Option<bool>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub id: Uuid,
    pub number: String,
    pub status: RequestStatus,
    pub process: LegalProcess,
    pub emergency: bool,
    pub issuing_authority: String,
    pub agency_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub urgency: Urgency,
    pub assignee_id: Option<Uuid>,
    /// The risk score stored at intake, if any (see `/review/requests/{id}/risk`).
    pub risk_score: Option<u32>,
    pub risk_level: Option<custodian_core::verification::RiskLevel>,
    /// Unresolved flags: `officer_suspended`, `agency_suspended`, `same_target`.
    pub flags: Vec<String>,
}

impl QueueItem {
    pub(crate) fn new(r: RequestRecord, now: DateTime<Utc>) -> Self {
        QueueItem {
            urgency: urgency(r.respond_by, now),
            id: r.id,
            number: r.number,
            status: r.status,
            process: r.process,
            emergency: r.emergency,
            issuing_authority: r.intake.issuing_authority,
            agency_id: r.agency_id,
            received_at: r.received_at,
            respond_by: r.respond_by,
            assignee_id: r.assignee_id,
            risk_score: None,
            risk_level: None,
            flags: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    /// Requests per state, across the whole provider.
    pub counts: BTreeMap<String, u64>,
    /// Most urgent first: emergencies, then by deadline.
    pub items: Vec<QueueItem>,
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

/// Turns the queue's query (from the API or the queue page's filter form) into the store's
/// filter. Blank values mean "any", so a filter form can send every field.
pub(crate) fn queue_filter(
    caller: &Caller,
    q: &QueueQuery,
    now: DateTime<Utc>,
) -> ApiResult<QueueFilter> {
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let status = blank(&q.status)
        .map(|s| s.parse::<RequestStatus>())
        .transpose()
        .map_err(|e| invalid_query(format!("status: {e}")))?;
    let process = blank(&q.process)
        .map(|p| p.parse::<LegalProcess>())
        .transpose()
        .map_err(|e| invalid_query(format!("process: {e}")))?;
    let (assignee, unassigned) = match blank(&q.assignee).as_deref() {
        None => (None, false),
        Some("me") => (Some(caller.user.id), false),
        Some("none") => (None, true),
        Some(id) => (
            Some(
                Uuid::parse_str(id)
                    .map_err(|_| invalid_query("assignee: 'me', 'none' or a user id"))?,
            ),
            false,
        ),
    };
    let soon = now + Duration::hours(DUE_SOON_HOURS);
    let (due_after, due_by) = match blank(&q.due).as_deref() {
        None => (None, None),
        Some("soon") => (Some(now), Some(soon)),
        Some("overdue") => (None, Some(now)),
        Some(_) => return Err(invalid_query("due: 'soon' or 'overdue'")),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(invalid_query("limit: between 1 and 500"));
    }
    Ok(QueueFilter {
        status,
        assignee,
        // Deadlines matter while a request is open; a due filter looks at open ones only.
        open_only: !q.all.unwrap_or(false) || due_by.is_some(),
        limit,
        process,
        unassigned,
        due_after,
        due_by,
    })
}

/// The queue and the counts per state: the API's answer and the queue page's data.
pub(crate) async fn load_queue(
    state: &AppState,
    caller: &Caller,
    filter: &QueueFilter,
) -> ApiResult<(Vec<RequestRecord>, BTreeMap<RequestStatus, u64>)> {
    caller.require_role(READERS, "the review queue")?;
    let items = state.store.review_queue(filter).await?;
    let counts = state.store.status_counts().await?.into_iter().collect();
    Ok((items, counts))
}

/// The review queue.
#[utoipa::path(
    get,
    path = "/api/v1/review/queue",
    tag = "review",
    params(QueueQuery),
    responses(
        (status = 200, description = "The queue", body = Queue),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 403, description = "Provider staff only", body = ErrorBody),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Queue>> {
    caller.require_role(READERS, "the review queue")?;
    let Query(q) = query.map_err(|e| invalid_query(e.body_text()))?;
    let now = state.clock.now();
    let filter = queue_filter(&caller, &q, now)?;
    let (items, counts) = load_queue(&state, &caller, &filter).await?;
    let ids: Vec<Uuid> = items.iter().map(|r| r.id).collect();
    let risks = state.store.verification().risk_summaries(&ids).await?;
    Ok(Json(Queue {
        counts: counts
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect(),
        items: items
            .into_iter()
            .map(|r| {
                let mut item = QueueItem::new(r, now);
                if let Some(x) = risks.iter().find(|x| x.request_id == item.id) {
                    item.risk_score = Some(x.score);
                    item.risk_level = Some(x.level);
                    item.flags = x.flags.clone();
                }
                item
            })
            .collect(),
    }))
}

pub(crate) fn request_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

fn text(field: &str, value: &str) -> ApiResult<String> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(FieldError::new(field, format!("1 to {MAX_TEXT} characters")).into());
    }
    Ok(t.to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// `me`, the e-mail address of a reviewer, or null to release the request.
    pub assignee: Option<String>,
}

/// Assign a request (taking a newly received request starts its review).
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/assign",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = Assignment,
    responses(
        (status = 200, description = "Assigned", body = QueueItem),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 422, description = "Unknown assignee", body = ErrorBody),
    )
)]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Assignment>,
) -> ApiResult<Json<QueueItem>> {
    let r = assign_request(&state, &caller, request_id(&id)?, body.assignee.as_deref()).await?;
    Ok(Json(QueueItem::new(r, state.clock.now())))
}

/// Assigns a request to `me`, to a reviewer or approver named by e-mail address, or (blank)
/// to no one. The API and the review pages both come here.
pub(crate) async fn assign_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    assignee: Option<&str>,
) -> ApiResult<RequestRecord> {
    caller.require_role(REVIEWERS, "assigning requests")?;
    let assignee = match assignee.map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(caller.user.id),
        Some(email) => {
            let user = match state.store.find_user_by_email(email).await {
                Err(StoreError::NotFound) => None,
                other => Some(other?),
            };
            match user {
                Some(u)
                    if u.active && (REVIEWERS.contains(&u.role) || APPROVERS.contains(&u.role)) =>
                {
                    Some(u.id)
                }
                _ => {
                    return Err(
                        FieldError::new("assignee", format!("{email} is not a reviewer")).into(),
                    )
                }
            }
        }
    };
    Ok(state.store.assign(&caller.actor(), id, assignee).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// The text the agency will read.
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LetterView {
    pub id: Uuid,
    /// clarification, objection, narrowing, rejection or redirect.
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<LetterRecord> for LetterView {
    fn from(l: LetterRecord) -> Self {
        LetterView {
            id: l.id,
            kind: l.kind,
            body: l.body,
            created_at: l.created_at,
        }
    }
}

/// The kinds of letter a reviewer sends, and the state each leaves the request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LetterKind {
    Clarification,
    Objection,
    Narrowing,
    Rejection,
    Redirect,
}

impl LetterKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            LetterKind::Clarification => "clarification",
            LetterKind::Objection => "objection",
            LetterKind::Narrowing => "narrowing",
            LetterKind::Rejection => "rejection",
            LetterKind::Redirect => "redirect",
        }
    }

    /// The state the letter leaves the request in (a narrowing changes none).
    pub(crate) fn then(self) -> Option<RequestStatus> {
        match self {
            LetterKind::Clarification | LetterKind::Objection => {
                Some(RequestStatus::ClarificationRequested)
            }
            LetterKind::Narrowing => None,
            LetterKind::Rejection => Some(RequestStatus::Rejected),
            LetterKind::Redirect => Some(RequestStatus::Redirected),
        }
    }
}

/// The agency's letter about a request, in the provider's standard words.
pub(crate) fn letter_context<'a>(record: &'a RequestRecord, agency: &'a str) -> LetterContext<'a> {
    LetterContext {
        number: &record.number,
        agency,
        process: record.process,
        case_reference: record.intake.case_reference.as_deref(),
    }
}

/// Writes a letter to the agency (a question, an objection, the narrowed scope, a rejection
/// from the reason, the MLAT guidance) and moves the request on, in one transaction. The API
/// and the review page both come here.
pub(crate) async fn send_letter(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    kind: LetterKind,
    reason: Option<&str>,
) -> ApiResult<LetterRecord> {
    caller.require_role(REVIEWERS, "reviewing requests")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let agency = state.store.get_agency(record.agency_id).await?;
    let ctx = letter_context(&record, &agency.name);
    if kind == LetterKind::Redirect {
        custodian_core::routes::foreign_direct::may_redirect(
            record.process,
            record.intake.issuing_country,
        )
        .map_err(|m| ApiError::new(StatusCode::CONFLICT, "not_foreign", m))?;
    }
    let reason = match kind {
        LetterKind::Redirect => None,
        _ => Some(text("text", reason.unwrap_or(""))?),
    };
    let body = match (kind, reason.as_deref()) {
        (LetterKind::Redirect, _) => letters::redirect_to_mlat(&ctx),
        (LetterKind::Rejection, Some(r)) => letters::rejection(&ctx, r),
        (LetterKind::Objection, Some(r)) => letters::objection_overbroad(&ctx, r),
        (LetterKind::Clarification, Some(r)) => r.to_string(),
        (LetterKind::Narrowing, Some(r)) => format!("The request has been narrowed to: {r}"),
        (_, None) => return Err(FieldError::new("text", "is required").into()),
    };
    if let Some(to) = kind.then() {
        // Refuse before writing anything, with the lifecycle's own words.
        record.status.transition(to).map_err(|e| {
            ApiError::new(StatusCode::CONFLICT, "illegal_transition", e.to_string())
        })?;
    } else if !matches!(
        record.status,
        RequestStatus::Received | RequestStatus::InReview | RequestStatus::ClarificationRequested
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!(
                "a request that is {} cannot be narrowed; narrowing comes before the decision",
                record.status
            ),
        ));
    }
    Ok(state
        .store
        .send_letter(&caller.actor(), id, kind.name(), &body, kind.then())
        .await?)
}

macro_rules! letter_endpoint {
    ($name:ident, $kind:expr, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            tag = "review",
            params(("id" = Uuid, Path, description = "Request id")),
            request_body = Reason,
            responses(
                (status = 200, description = "Sent", body = LetterView),
                (status = 403, description = "Reviewers only", body = ErrorBody),
                (status = 404, description = "No such request", body = ErrorBody),
                (status = 409, description = "Not allowed in the request's state", body = ErrorBody),
                (status = 422, description = "Missing text", body = ErrorBody),
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            ApiJson(body): ApiJson<Reason>,
        ) -> ApiResult<Json<LetterView>> {
            let letter = send_letter(&state, &caller, request_id(&id)?, $kind, Some(&body.text)).await?;
            Ok(Json(letter.into()))
        }
    };
}

letter_endpoint!(
    clarify,
    LetterKind::Clarification,
    "/api/v1/review/requests/{id}/clarify",
    "Ask the agency a question; the request waits for its answer."
);
letter_endpoint!(
    object,
    LetterKind::Objection,
    "/api/v1/review/requests/{id}/object",
    "Object to the request as overbroad; it waits until the agency narrows it."
);
letter_endpoint!(
    narrow,
    LetterKind::Narrowing,
    "/api/v1/review/requests/{id}/narrow",
    "Record the narrowed scope agreed with the agency."
);
letter_endpoint!(
    reject,
    LetterKind::Rejection,
    "/api/v1/review/requests/{id}/reject",
    "Reject the request; the agency receives a letter generated from the reason."
);

/// Redirect a direct foreign demand to the MLAT route; the agency receives the guidance.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/redirect",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Redirected", body = LetterView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not allowed in the request's state", body = ErrorBody),
    )
)]
pub async fn redirect(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<LetterView>> {
    let letter = send_letter(
        &state,
        &caller,
        request_id(&id)?,
        LetterKind::Redirect,
        None,
    )
    .await?;
    Ok(Json(letter.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub request_id: Uuid,
    pub decision: ReviewDecision,
    pub decided_by: Uuid,
    pub decided_at: DateTime<Utc>,
    /// Content and emergency disclosures need a second person's approval.
    pub needs_approval: bool,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Whether it may be acted on now.
    pub effective: bool,
}

impl DecisionView {
    /// The agency sees the outcome, not the provider's internal reasons about notice.
    pub fn new(d: DecisionRecord, for_agency: bool) -> Self {
        let mut decision = d.decision.clone();
        if for_agency {
            decision.illegal_conduct_reason = None;
        }
        DecisionView {
            effective: d.is_effective(),
            request_id: d.request_id,
            decision,
            decided_by: d.decided_by,
            decided_at: d.decided_at,
            needs_approval: d.needs_approval,
            approved_by: d.approved_by,
            approved_at: d.approved_at,
        }
    }
}

/// Decide, category by category. Content and emergency disclosures then await an approver.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/decide",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = ReviewDecision,
    responses(
        (status = 200, description = "Decided", body = DecisionView),
        (status = 403, description = "Reviewers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not in review", body = ErrorBody),
        (status = 422, description = "The decision is incomplete or beyond the law", body = ErrorBody),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(decision): ApiJson<ReviewDecision>,
) -> ApiResult<Json<DecisionView>> {
    let stored = decide_request(&state, &caller, request_id(&id)?, decision).await?;
    Ok(Json(DecisionView::new(stored, false)))
}

/// Checks a decision against the request and the law and records it; content and emergency
/// disclosures then wait for an approver. The API and the review page both come here.
pub(crate) async fn decide_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    decision: ReviewDecision,
) -> ApiResult<DecisionRecord> {
    caller.require_role(REVIEWERS, "deciding requests")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let decision = decision.validate(record.process, &record.intake.categories)?;
    // The order's own legal blocks first (an enforcing state's objection, a missing UK
    // attestation), then the requester's verification.
    crate::api::orders::check_disclosure(state, &record, &decision).await?;
    if decision.discloses_anything() {
        crate::verification::refuse_blocked_disclosure(state, &record).await?;
    }
    let needs_approval = decision.needs_approval(record.emergency);
    Ok(state
        .store
        .record_decision(&caller.actor(), id, &decision, needs_approval)
        .await?)
}

/// Approve a decision made by someone else (two-person rule).
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/approve",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Approved", body = DecisionView),
        (status = 403, description = "Approvers only", body = ErrorBody),
        (status = 404, description = "No decision to approve", body = ErrorBody),
        (status = 409, description = "Same person (two_person_rule), already approved, or not needed", body = ErrorBody),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DecisionView>> {
    let stored = approve_request(&state, &caller, request_id(&id)?).await?;
    Ok(Json(DecisionView::new(stored, false)))
}

/// The second person's approval. The two-person rule is checked here for a clear answer, and
/// again by the store inside the approval's transaction.
pub(crate) async fn approve_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<DecisionRecord> {
    caller.require_role(APPROVERS, "approving decisions")?;
    let decision = state
        .store
        .get_decision(Scope::Provider, id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_decided", "no decision yet"))?;
    check_approval(
        decision.decided_by,
        caller.user.id,
        decision.needs_approval,
        decision.approved_by.is_some(),
    )
    .map_err(|e| {
        let code = match e {
            ApprovalError::SamePerson => "two_person_rule",
            ApprovalError::NotRequired => "approval_not_needed",
            ApprovalError::AlreadyApproved => "already_approved",
        };
        ApiError::new(StatusCode::CONFLICT, code, e.to_string())
    })?;
    if decision.decision.discloses_anything() {
        let record = state.store.get_request(Scope::Provider, id).await?;
        crate::verification::refuse_blocked_disclosure(state, &record).await?;
    }
    Ok(state.store.approve_decision(&caller.actor(), id).await?)
}

/// The outcome of a request, once decided.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/decision",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The decision", body = DecisionView),
        (status = 404, description = "No such request, or not decided yet", body = ErrorBody),
    )
)]
pub async fn show_decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DecisionView>> {
    let id = request_id(&id)?;
    let d = state
        .store
        .get_decision(caller.scope, id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_decided", "no decision yet"))?;
    Ok(Json(DecisionView::new(d, caller.is_agency())))
}

/// The letters the provider sent about a request.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/letters",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Letters, oldest first", body = Vec<LetterView>),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn list_letters(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<LetterView>>> {
    let letters = state
        .store
        .list_letters(caller.scope, request_id(&id)?)
        .await?;
    Ok(Json(letters.into_iter().map(LetterView::from).collect()))
}
