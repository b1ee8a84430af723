//! Verification of the requester over the API: a request's risk, call-backs and an approver's
//! clearance for the review team (`/api/v1/review/requests/{id}/...`), and for the admin the
//! agency directory (the independent source and the number call-backs dial) and suspension of
//! officers (`/api/v1/admin/...`). See docs/verification.md.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::verification::{Blocker, CallbackOutcome, RiskCode, RiskLevel};
use custodian_core::{FieldError, Role};
use custodian_store::verification::{AgencySource, OfficerNetwork, RequestFlag, StoredCallback};
use custodian_store::{Scope, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::admin::{parse_phone, ADMINS, ADMIN_READERS};
use crate::api::review::{request_id, APPROVERS, READERS};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::verification::{risk_state, RiskState};
use crate::AppState;

/// Who records call-backs: reviewers and approvers (and admins).
pub(crate) const CALLERS: &[Role] = &[Role::Reviewer, Role::Approver, Role::Admin];
const MAX_TEXT: usize = 2_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review/requests/{id}/risk", get(show_risk))
        .route("/review/requests/{id}/callbacks", post(record_callback))
        .route("/review/requests/{id}/risk/clearance", post(clear_risk))
        .route(
            "/admin/agencies/{id}/directory",
            get(show_directory).put(set_directory),
        )
        .route("/admin/users/{id}/verification", get(show_officer))
        .route("/admin/users/{id}/suspend", post(suspend_officer))
        .route("/admin/users/{id}/unsuspend", post(unsuspend_officer))
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}

fn path_uuid(raw: &str, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| not_found(what))
}

fn required(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_TEXT {
        return Err(FieldError::new(field, format!("1 to {MAX_TEXT} characters")).into());
    }
    Ok(v.to_string())
}

fn optional(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => required(field, v).map(Some),
    }
}

// --- review --------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonView {
    pub code: RiskCode,
    /// What it added to the score.
    pub weight: u32,
    pub text: String,
    /// No approver can clear this reason; an admin must resolve it.
    pub hard_block: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockerView {
    /// `no_callback`, `callback_not_confirmed`, `callback_not_to_directory`,
    /// `high_risk_not_cleared` or `hard_block`.
    pub code: String,
    pub message: String,
}

impl From<&Blocker> for BlockerView {
    fn from(b: &Blocker) -> Self {
        let code = serde_json::to_value(b)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
            .unwrap_or_default();
        BlockerView {
            code,
            message: b.describe(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClearanceView {
    pub cleared_by: Uuid,
    pub cleared_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagView {
    /// `officer_suspended`, `agency_suspended` or `same_target`.
    pub kind: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// When the suspension behind it was lifted.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<&RequestFlag> for FlagView {
    fn from(f: &RequestFlag) -> Self {
        FlagView {
            kind: f.kind.clone(),
            text: f.text.clone(),
            created_at: f.created_at,
            resolved_at: f.resolved_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackTaskView {
    /// The agency's number in the provider's directory: the only number to call.
    pub directory_phone: Option<String>,
    /// The number the request gives, shown only to warn when it differs.
    pub request_phone: Option<String>,
    pub instructions: Option<String>,
    /// Set when the request's number is not the directory's.
    pub warning: Option<String>,
    /// Why no call-back can be made yet (no directory number).
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    pub id: Uuid,
    pub outcome: CallbackOutcome,
    pub directory_phone: String,
    pub called_number: String,
    /// Whether the number called is the directory's.
    pub called_directory_number: bool,
    pub reviewer_id: Uuid,
    pub called_at: DateTime<Utc>,
    pub spoke_with: Option<String>,
    pub note: Option<String>,
}

impl From<&StoredCallback> for CallbackView {
    fn from(c: &StoredCallback) -> Self {
        let r = &c.record;
        CallbackView {
            id: c.id,
            outcome: r.outcome,
            called_directory_number: r.called_directory_number(),
            directory_phone: r.directory_phone.clone(),
            called_number: r.called_number.clone(),
            reviewer_id: r.reviewer,
            called_at: r.called_at,
            spoke_with: r.spoke_with.clone(),
            note: r.note.clone(),
        }
    }
}

/// A request's risk as the review team sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskView {
    pub request_id: Uuid,
    /// Whether an assessment was stored at intake (requests imported or stored before
    /// verification have none).
    pub assessed: bool,
    pub score: u32,
    pub level: RiskLevel,
    /// Heaviest first.
    pub reasons: Vec<ReasonView>,
    pub hard_blocked: bool,
    /// An approver's clearance of a high score.
    pub clearance: Option<ClearanceView>,
    /// Whether an approver could clear it now.
    pub clearable: bool,
    pub flags: Vec<FlagView>,
    /// Whether the request needs a call-back (an emergency, or a high score).
    pub callback_needed: bool,
    pub callback_task: CallbackTaskView,
    /// Oldest first; the last one counts.
    pub callbacks: Vec<CallbackView>,
    /// What still stands between the request and any disclosure; empty when none.
    pub blockers: Vec<BlockerView>,
    pub disclosure_allowed: bool,
    /// The network the request came from, when known.
    pub network: Option<String>,
}

impl RiskView {
    pub fn new(request_id: Uuid, s: &RiskState) -> Self {
        let a = &s.assessment;
        RiskView {
            request_id,
            assessed: s.stored.is_some(),
            score: a.score,
            level: a.level,
            reasons: a
                .reasons
                .iter()
                .map(|r| ReasonView {
                    code: r.code,
                    weight: r.weight,
                    text: r.text.clone(),
                    hard_block: r.code.is_hard_block(),
                })
                .collect(),
            hard_blocked: a.hard_blocked,
            clearance: s
                .stored
                .as_ref()
                .and_then(|r| r.clearance.as_ref())
                .map(|c| ClearanceView {
                    cleared_by: c.by,
                    cleared_at: c.at,
                    reason: c.reason.clone(),
                }),
            clearable: s.clearable(),
            flags: s.flags.iter().map(FlagView::from).collect(),
            callback_needed: s.needs_callback,
            callback_task: CallbackTaskView {
                directory_phone: s.task.as_ref().map(|t| t.directory_phone.clone()),
                request_phone: s.task.as_ref().and_then(|t| t.request_phone.clone()),
                instructions: s.task.as_ref().map(|t| t.instructions()),
                warning: s.task.as_ref().and_then(|t| t.warning()),
                problem: s.task_problem.clone(),
            },
            callbacks: s.callbacks.iter().map(CallbackView::from).collect(),
            disclosure_allowed: s.blockers.is_empty(),
            blockers: s.blockers.iter().map(BlockerView::from).collect(),
            network: s.stored.as_ref().and_then(|r| r.network.clone()),
        }
    }
}

/// The request's risk for a reader of the review pages.
pub(crate) async fn risk_of(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<RiskView> {
    caller.require_role(READERS, "a request's risk")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let s = risk_state(state, &record).await?;
    Ok(RiskView::new(id, &s))
}

/// A request's risk score, its reasons, flags, the call-back to make and what still blocks a
/// disclosure.
#[utoipa::path(
    get,
    path = "/api/v1/review/requests/{id}/risk",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The risk", body = RiskView),
        (status = 403, description = "Provider staff only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn show_risk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RiskView>> {
    Ok(Json(risk_of(&state, &caller, request_id(&id)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackInput {
    pub outcome: CallbackOutcome,
    /// The number actually dialled: it must be the directory's for the call-back to count.
    pub called_number: String,
    /// Who answered, e.g. the watch commander's name and rank.
    #[serde(default)]
    pub spoke_with: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Records a call-back (the API and the review page).
pub(crate) async fn callback_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: CallbackInput,
) -> ApiResult<StoredCallback> {
    caller.require_role(CALLERS, "recording call-backs")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let called = required("called_number", &input.called_number)?;
    let spoke_with = optional("spoke_with", input.spoke_with.as_deref())?;
    let notes = optional("notes", input.notes.as_deref())?;
    let s = risk_state(state, &record).await?;
    let task = s.task.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_directory_phone",
            s.task_problem
                .unwrap_or_else(|| "the agency has no directory number".into()),
        )
    })?;
    let entry = task.record(
        &called,
        input.outcome,
        caller.user.id,
        Utc::now(),
        spoke_with,
        notes,
    );
    Ok(state
        .store
        .verification()
        .record_callback(&caller.actor(), id, &entry)
        .await?)
}

/// Record the outcome of a call-back to the agency at its directory number.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/callbacks",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = CallbackInput,
    responses(
        (status = 201, description = "Recorded", body = CallbackView),
        (status = 403, description = "Reviewers and approvers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "The agency has no directory number", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn record_callback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<(StatusCode, Json<CallbackView>)> {
    let stored = callback_for(&state, &caller, request_id(&id)?, input).await?;
    Ok((StatusCode::CREATED, Json(CallbackView::from(&stored))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearanceInput {
    /// Why the approver is satisfied the request is genuine despite the score.
    pub reason: String,
}

/// An approver clears a high score (the API and the review page).
pub(crate) async fn clearance_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    reason: &str,
) -> ApiResult<RiskView> {
    caller.require_role(APPROVERS, "clearing a high risk score")?;
    let record = state.store.get_request(Scope::Provider, id).await?;
    let reason = required("reason", reason)?;
    let s = risk_state(state, &record).await?;
    if s.assessment.hard_blocked {
        let codes: Vec<&str> = s
            .assessment
            .hard_blocks()
            .map(|r| r.code.as_str())
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "hard_block",
            format!(
                "no approver can clear this request ({}): an admin must resolve it first",
                codes.join(", ")
            ),
        ));
    }
    if s.cleared() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_cleared",
            "the risk is already cleared",
        ));
    }
    if s.assessment.level != RiskLevel::High || s.stored.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "nothing_to_clear",
            "the risk score is not high; there is nothing to clear",
        ));
    }
    state
        .store
        .verification()
        .clear_risk(&caller.actor(), id, &reason)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "already_cleared", m),
            other => other.into(),
        })?;
    risk_of(state, caller, id).await
}

/// Clear a high risk score (approvers only), with the reason.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/risk/clearance",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = ClearanceInput,
    responses(
        (status = 200, description = "Cleared", body = RiskView),
        (status = 403, description = "Approvers only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "A hard block, already cleared, or nothing to clear", body = ErrorBody),
        (status = 422, description = "The reason is missing", body = ErrorBody),
    )
)]
pub async fn clear_risk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ClearanceInput>,
) -> ApiResult<Json<RiskView>> {
    Ok(Json(
        clearance_for(&state, &caller, request_id(&id)?, &input.reason).await?,
    ))
}

// --- admin: the agency directory ------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    /// What or who the agency was checked against.
    pub source: String,
    /// When the check was made.
    pub checked_at: DateTime<Utc>,
    /// Who recorded it (`user:<id>` or `system:<name>`).
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<AgencySource> for SourceView {
    fn from(s: AgencySource) -> Self {
        SourceView {
            source: s.source,
            checked_at: s.checked_at,
            recorded_by: s.recorded_by,
            recorded_at: s.recorded_at,
        }
    }
}

/// An agency's entry in the provider's directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryView {
    pub agency_id: Uuid,
    pub name: String,
    /// pending, verified or suspended.
    pub status: String,
    /// The number call-backs dial.
    pub phone: Option<String>,
    pub domains: Vec<String>,
    /// The independent source it was verified against, if recorded.
    pub source: Option<SourceView>,
}

pub(crate) async fn directory_of(state: &AppState, id: Uuid) -> ApiResult<DirectoryView> {
    let a = state.store.get_agency(id).await.map_err(|e| match e {
        StoreError::NotFound => not_found("agency"),
        other => other.into(),
    })?;
    let source = state.store.verification().agency_source(id).await?;
    Ok(DirectoryView {
        agency_id: a.id,
        name: a.name,
        status: a.status.as_str().to_string(),
        phone: a.phone,
        domains: a.domains,
        source: source.map(SourceView::from),
    })
}

/// An agency's directory entry: its independent source and the number call-backs dial.
#[utoipa::path(
    get,
    path = "/api/v1/admin/agencies/{id}/directory",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    responses(
        (status = 200, description = "The entry", body = DirectoryView),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
    )
)]
pub async fn show_directory(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DirectoryView>> {
    caller.require_role(ADMIN_READERS, "the agency directory")?;
    Ok(Json(directory_of(&state, path_uuid(&id, "agency")?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryInput {
    /// What or who the agency was checked against, e.g. "State police directory 2026,
    /// confirmed with the chief's office".
    pub source: String,
    /// The day the check was made (YYYY-MM-DD); today when omitted.
    #[serde(default)]
    pub checked_on: Option<NaiveDate>,
    /// The agency's number from that source: call-backs dial it.
    pub phone: String,
}

/// Records the independent source and the directory number (the API and the agency page).
pub(crate) async fn set_directory_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: DirectoryInput,
) -> ApiResult<DirectoryView> {
    caller.require_role(ADMINS, "the agency directory")?;
    let source = required("source", &input.source)?;
    let phone = parse_phone(Some(&input.phone))?.ok_or_else(|| {
        ApiError::from(FieldError::new("phone", "the directory number is required"))
    })?;
    if custodian_core::verification::CallbackTask::new(&phone, None).is_err() {
        return Err(FieldError::new("phone", "not a telephone number a call-back can dial").into());
    }
    let checked_at = match input.checked_on {
        Some(day) => day
            .and_hms_opt(12, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| ApiError::from(FieldError::new("checked_on", "not a day")))?,
        None => Utc::now(),
    };
    if checked_at > Utc::now() + chrono::Duration::days(1) {
        return Err(FieldError::new("checked_on", "the check cannot be in the future").into());
    }
    crate::api::admin::set_agency_phone(state, caller, id, Some(&phone)).await?;
    state
        .store
        .verification()
        .set_agency_source(&caller.actor(), id, &source, checked_at)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found("agency"),
            other => other.into(),
        })?;
    directory_of(state, id).await
}

/// Record the independent source an agency was verified against and its directory number.
#[utoipa::path(
    put,
    path = "/api/v1/admin/agencies/{id}/directory",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    request_body = DirectoryInput,
    responses(
        (status = 200, description = "Recorded", body = DirectoryView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn set_directory(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectoryInput>,
) -> ApiResult<Json<DirectoryView>> {
    let id = path_uuid(&id, "agency")?;
    Ok(Json(set_directory_for(&state, &caller, id, input).await?))
}

// --- admin: officers --------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkView {
    /// An IPv4 /24 or IPv6 /48.
    pub network: String,
    /// Known: established by use the provider had no reason to doubt.
    pub trusted: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub seen: u64,
}

impl From<OfficerNetwork> for NetworkView {
    fn from(n: OfficerNetwork) -> Self {
        NetworkView {
            network: n.network,
            trusted: n.trusted,
            first_seen: n.first_seen,
            last_seen: n.last_seen,
            seen: n.seen,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfficerView {
    pub user_id: Uuid,
    pub suspended: bool,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
    /// Requests flagged by the suspension just made (empty otherwise).
    pub flagged: Vec<Uuid>,
    /// The networks the officer signed in or served process from.
    pub networks: Vec<NetworkView>,
}

pub(crate) async fn officer_of(
    state: &AppState,
    id: Uuid,
    flagged: Vec<Uuid>,
) -> ApiResult<OfficerView> {
    state.store.get_user(id).await.map_err(|e| match e {
        StoreError::NotFound => not_found("user"),
        other => other.into(),
    })?;
    let v = state.store.verification();
    let suspension = v.officer_suspension(id).await?;
    let networks = v.officer_networks(id).await?;
    Ok(OfficerView {
        user_id: id,
        suspended: suspension.is_some(),
        suspended_at: suspension.as_ref().map(|s| s.suspended_at),
        suspension_reason: suspension.map(|s| s.reason),
        flagged,
        networks: networks.into_iter().map(NetworkView::from).collect(),
    })
}

/// An officer's suspension and the networks they used.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}/verification",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The officer", body = OfficerView),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub async fn show_officer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<OfficerView>> {
    caller.require_role(ADMIN_READERS, "officers")?;
    Ok(Json(
        officer_of(&state, path_uuid(&id, "user")?, Vec::new()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspensionInput {
    pub reason: String,
}

/// Suspends or reinstates an officer (the API and the admin pages).
pub(crate) async fn suspension_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    reason: &str,
    suspend: bool,
) -> ApiResult<OfficerView> {
    caller.require_role(ADMINS, "suspending officers")?;
    let reason = required("reason", reason)?;
    let user = state.store.get_user(id).await.map_err(|e| match e {
        StoreError::NotFound => not_found("user"),
        other => other.into(),
    })?;
    if !user.role.is_agency_side() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_an_officer",
            "only agency officers are suspended; deactivate staff accounts instead",
        ));
    }
    let v = state.store.verification();
    let flagged = if suspend {
        v.suspend_officer(&caller.actor(), id, &reason)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => {
                    ApiError::new(StatusCode::CONFLICT, "already_suspended", m)
                }
                other => other.into(),
            })?
    } else {
        v.lift_officer_suspension(&caller.actor(), id, &reason)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::new(
                    StatusCode::CONFLICT,
                    "not_suspended",
                    "the officer is not suspended",
                ),
                other => other.into(),
            })?;
        Vec::new()
    };
    officer_of(state, id, flagged).await
}

/// Suspend an officer: their tokens and sessions can no longer serve process, and all their
/// open requests are flagged.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/suspend",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = SuspensionInput,
    responses(
        (status = 200, description = "Suspended; `flagged` lists the flagged requests", body = OfficerView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Already suspended, or not an officer", body = ErrorBody),
        (status = 422, description = "The reason is missing", body = ErrorBody),
    )
)]
pub async fn suspend_officer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SuspensionInput>,
) -> ApiResult<Json<OfficerView>> {
    let id = path_uuid(&id, "user")?;
    Ok(Json(
        suspension_for(&state, &caller, id, &input.reason, true).await?,
    ))
}

/// Lift an officer's suspension.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/unsuspend",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = SuspensionInput,
    responses(
        (status = 200, description = "Reinstated", body = OfficerView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Not suspended", body = ErrorBody),
        (status = 422, description = "The reason is missing", body = ErrorBody),
    )
)]
pub async fn unsuspend_officer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SuspensionInput>,
) -> ApiResult<Json<OfficerView>> {
    let id = path_uuid(&id, "user")?;
    Ok(Json(
        suspension_for(&state, &caller, id, &input.reason, false).await?,
    ))
}
