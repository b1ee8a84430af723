//! `/api/v1/review`: the provider's legal team works the queue. Reviewers decide per category;
//! a content or emergency disclosure waits for an approver who is not the reviewer.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use custodian_core::deadline::{urgency, Urgency};
use custodian_core::letters::{self, LetterContext};
use custodian_core::review::ReviewDecision;
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

const READERS: &[Role] = &[
    Role::Reviewer,
    Role::Approver,
    Role::Custodian,
    Role::Admin,
    Role::Auditor,
];
const REVIEWERS: &[Role] = &[Role::Reviewer, Role::Admin];
const APPROVERS: &[Role] = &[Role::Approver, Role::Admin];
const MAX_TEXT: usize = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only requests in this state.
    pub status: Option<String>,
    /// `me`, a user id, or omitted for everyone's.
    pub assignee: Option<String>,
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
}

impl QueueItem {
    fn new(r: RequestRecord, now: DateTime<Utc>) -> Self {
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

/// The review queue.
#[utoipa::path(
    get,
    path = "/api/v1/review/queue",
    tag = "review",
    params(QueueQuery),
    responses(
        (status = 200, description = "The queue", body = Queue),
        (status = 403, description = "Provider staff only", body = ErrorBody),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Queue>> {
    caller.require_role(READERS, "the review queue")?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<RequestStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("status: {e}")))?;
    let assignee =
        match q.assignee.as_deref() {
            None | Some("") => None,
            Some("me") => Some(caller.user.id),
            Some(id) => Some(Uuid::parse_str(id).map_err(|_| {
                ApiError::bad_request("invalid_query", "assignee: 'me' or a user id")
            })?),
        };
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit: between 1 and 500",
        ));
    }
    let filter = QueueFilter {
        status,
        assignee,
        open_only: !q.all.unwrap_or(false),
        limit,
    };
    let now = Utc::now();
    let items = state.store.review_queue(&filter).await?;
    let counts = state
        .store
        .status_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n))
        .collect();
    Ok(Json(Queue {
        counts,
        items: items.into_iter().map(|r| QueueItem::new(r, now)).collect(),
    }))
}

fn request_id(raw: &str) -> ApiResult<Uuid> {
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
    caller.require_role(REVIEWERS, "assigning requests")?;
    let id = request_id(&id)?;
    let assignee = match body.assignee.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(caller.user.id),
        Some(email) => {
            let user = match state.store.find_user_by_email(email).await {
                Err(StoreError::NotFound) => None,
                other => Some(other?),
            };
            match user {
                Some(u) if REVIEWERS.contains(&u.role) || APPROVERS.contains(&u.role) => Some(u.id),
                _ => {
                    return Err(
                        FieldError::new("assignee", format!("{email} is not a reviewer")).into(),
                    )
                }
            }
        }
    };
    let r = state.store.assign(&caller.actor(), id, assignee).await?;
    Ok(Json(QueueItem::new(r, Utc::now())))
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
#[derive(Debug, Clone, Copy)]
enum LetterKind {
    Clarification,
    Objection,
    Narrowing,
    Rejection,
    Redirect,
}

impl LetterKind {
    fn name(self) -> &'static str {
        match self {
            LetterKind::Clarification => "clarification",
            LetterKind::Objection => "objection",
            LetterKind::Narrowing => "narrowing",
            LetterKind::Rejection => "rejection",
            LetterKind::Redirect => "redirect",
        }
    }

    fn then(self) -> Option<RequestStatus> {
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

async fn send(
    state: &AppState,
    caller: &Caller,
    id: &str,
    kind: LetterKind,
    reason: Option<&str>,
) -> ApiResult<Json<LetterView>> {
    caller.require_role(REVIEWERS, "reviewing requests")?;
    let id = request_id(id)?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let agency = state.store.get_agency(record.agency_id).await?;
    let ctx = LetterContext {
        number: &record.number,
        agency: &agency.name,
        process: record.process,
        case_reference: record.intake.case_reference.as_deref(),
    };
    let reason = reason.map(|r| text("text", r)).transpose()?;
    let body = match (kind, reason.as_deref()) {
        (LetterKind::Redirect, _) => letters::redirect_to_mlat(&ctx),
        (LetterKind::Rejection, Some(r)) => letters::rejection(&ctx, r),
        (LetterKind::Objection, Some(r)) => letters::objection_overbroad(&ctx, r),
        (LetterKind::Clarification, Some(r)) => r.to_string(),
        (LetterKind::Narrowing, Some(r)) => format!("The request has been narrowed to: {r}"),
        (_, None) => return Err(FieldError::new("text", "is required").into()),
    };
    let letter = state
        .store
        .send_letter(&caller.actor(), id, kind.name(), &body, kind.then())
        .await?;
    Ok(Json(letter.into()))
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
            send(&state, &caller, &id, $kind, Some(&body.text)).await
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
    send(&state, &caller, &id, LetterKind::Redirect, None).await
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
    caller.require_role(REVIEWERS, "deciding requests")?;
    let id = request_id(&id)?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let decision = decision.validate(record.process, &record.intake.categories)?;
    let needs_approval = decision.needs_approval(record.emergency);
    let stored = state
        .store
        .record_decision(&caller.actor(), id, &decision, needs_approval)
        .await?;
    Ok(Json(DecisionView::new(stored, false)))
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
        (status = 409, description = "Same person, already approved, or not needed", body = ErrorBody),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DecisionView>> {
    caller.require_role(APPROVERS, "approving decisions")?;
    let id = request_id(&id)?;
    let stored = state.store.approve_decision(&caller.actor(), id).await?;
    Ok(Json(DecisionView::new(stored, false)))
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
