//! Emergencies (docs/emergencies.md): `POST /api/v1/emergency`, the paging state of a request
//! (`GET /api/v1/requests/{id}/emergency`), acknowledgement
//! (`POST /api/v1/review/requests/{id}/acknowledge`) and the on-call rota with the paging
//! webhook (`/api/v1/admin/on-call`).
//!
//! Paging itself starts in the store, in the transaction that stores an emergency, whichever
//! way it came in (this endpoint, `POST /api/v1/requests`, the portal); `store_submission`
//! then wakes the job runner so that the first page goes out at once.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveTime, Utc};
use custodian_core::{FieldError, NewLegalRequest, RequestIntake, Role};
use custodian_store::paging::{
    DayWindow, EmergencyRecord, NewOnCall, OnCallEntry, OnCallTier, PageAttempt, PagingSettings,
    SettingsUpdate,
};
use custodian_store::{IdempotencyKey, Scope, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::admin::{ADMINS, ADMIN_READERS};
use crate::api::requests::{
    created_response, fingerprint, idempotency_key, path_id, read_submission, store_submission,
    RequestView, SubmitForm,
};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{parse_json, ApiJson};
use crate::AppState;

/// Who may acknowledge a page.
pub(crate) const ACKNOWLEDGERS: &[Role] = &[Role::Reviewer, Role::Approver, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/emergency", post(submit))
        .route("/requests/{id}/emergency", get(show))
        .route("/review/requests/{id}/acknowledge", post(acknowledge))
        .route("/admin/on-call", get(show_on_call).put(set_on_call))
        .route("/admin/on-call/settings", axum::routing::put(set_settings))
}

// --- intake -------------------------------------------------------------------------------

/// What an emergency must say before it is stored: the attestation of a danger of death or
/// serious physical injury, and a supervisor's name and telephone number to call back.
fn check_emergency_json(v: &mut serde_json::Value) -> ApiResult<()> {
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ApiError::field(FieldError::new("request", "must be a JSON object")))?;
    match obj.get("process").and_then(|p| p.as_str()) {
        None => {
            obj.insert("process".into(), "emergency".into());
        }
        Some("emergency") => {}
        Some(_) => {
            return Err(FieldError::new(
                "process",
                "this endpoint takes emergencies only (leave it out, or 'emergency'); serve other \
                 process through /api/v1/requests",
            )
            .into())
        }
    }
    let Some(att) = obj.get("emergency").and_then(|e| e.as_object()) else {
        return Err(FieldError::new(
            "emergency",
            "the attestation is required: danger_of_death_or_serious_injury, supervisor_name, \
             supervisor_phone",
        )
        .into());
    };
    if att.get("danger_of_death_or_serious_injury") != Some(&serde_json::Value::Bool(true)) {
        return Err(FieldError::new(
            "emergency.danger_of_death_or_serious_injury",
            "must be true: an emergency disclosure needs an attested danger of death or serious \
             physical injury",
        )
        .into());
    }
    for (field, words) in [
        ("supervisor_name", "the supervisor's name"),
        ("supervisor_phone", "the supervisor's telephone number"),
    ] {
        let filled = att
            .get(field)
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.trim().is_empty());
        if !filled {
            return Err(FieldError::new(
                format!("emergency.{field}"),
                format!("{words} is required, so that the provider can call back"),
            )
            .into());
        }
    }
    Ok(())
}

/// Serve an emergency request: the same multipart as `POST /api/v1/requests` (a `request`
/// part and the PDF `document` parts), the process implied. The on-call reviewer is paged at
/// once.
#[utoipa::path(
    post,
    path = "/api/v1/emergency",
    tag = "requests",
    request_body(content = SubmitForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a retried submission return the first answer instead of a duplicate")),
    responses(
        (status = 201, description = "Received; the on-call reviewer is being paged", body = RequestView),
        (status = 400, description = "Malformed submission", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an officer of a verified agency", body = ErrorBody),
        (status = 413, description = "A document is too large", body = ErrorBody),
        (status = 415, description = "A document is not a PDF", body = ErrorBody),
        (status = 422, description = "The attestation, the supervisor's name or phone is missing, or another field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let agency_id = caller.require_serving_officer()?;
    let key = idempotency_key(&headers)?;
    let (request_json, uploads) = read_submission(&state, multipart).await?;
    let mut value: serde_json::Value = parse_json(&request_json, "request")?;
    check_emergency_json(&mut value)?;
    let normalised = serde_json::to_vec(&value)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let intake: RequestIntake = parse_json(&normalised, "request")?;
    let intake = intake.validate()?;
    if uploads.is_empty() {
        return Err(ApiError::field(FieldError::new(
            "document",
            "attach the served document (the signed emergency request) as a PDF 'document' part",
        )));
    }
    let idempotency = key.map(|key| IdempotencyKey {
        fingerprint: fingerprint(&request_json, &uploads),
        key,
    });
    let (record, replayed) =
        store_submission(&state, &caller, agency_id, intake, uploads, idempotency).await?;
    Ok(created_response(record, replayed))
}

/// A request that says it follows an emergency must name one of its own agency's.
pub(crate) async fn check_follows(
    state: &AppState,
    agency_id: Uuid,
    intake: &NewLegalRequest,
) -> ApiResult<()> {
    if let Some(reference) = &intake.intake.follows_emergency {
        if state
            .store
            .paging()
            .find_followed(agency_id, reference)
            .await?
            .is_none()
        {
            return Err(FieldError::new(
                "follows_emergency",
                format!("'{reference}' is not an emergency request of your agency"),
            )
            .into());
        }
    }
    Ok(())
}

// --- the paging state ---------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub round: u32,
    /// `primary`, `secondary`, or for the webhook `team` / `escalated`.
    pub tier: String,
    /// `email` or `webhook`.
    pub channel: String,
    pub user_id: Option<Uuid>,
    pub user_name: Option<String>,
    pub at: DateTime<Utc>,
    /// `queued`, `sending`, `delivered` or `failed`.
    pub result: String,
    pub detail: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<PageAttempt> for AttemptView {
    fn from(a: PageAttempt) -> Self {
        AttemptView {
            round: a.round,
            tier: a.tier,
            channel: a.channel.as_str().to_string(),
            user_id: a.user_id,
            user_name: a.user_name,
            at: a.at,
            result: a.result.as_str().to_string(),
            detail: a.detail,
            finished_at: a.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    /// Whether the legal process that must follow the emergency has been served.
    pub served: bool,
    pub request_id: Option<Uuid>,
    pub number: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// Reminders mailed to the officer so far.
    pub reminders_sent: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyView {
    pub request_id: Uuid,
    pub number: String,
    /// `paging` until someone acknowledges, then `acknowledged`.
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Receipt to acknowledgement.
    pub seconds_to_ack: Option<i64>,
    pub first_answer_at: Option<DateTime<Utc>>,
    /// `message`, `letter`, `decision` or `production`.
    pub first_answer_kind: Option<String>,
    /// Receipt to the first thing the agency saw from the provider.
    pub seconds_to_first_answer: Option<i64>,
    pub follow_up: FollowUpView,
    /// Provider staff only: the rounds of pages, escalation, who acknowledged, every attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PagingView {
    pub rounds: u32,
    pub first_paged_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_by_name: Option<String>,
    pub attempts: Vec<AttemptView>,
}

impl EmergencyView {
    pub(crate) fn new(e: EmergencyRecord, attempts: Option<Vec<PageAttempt>>) -> Self {
        EmergencyView {
            seconds_to_ack: e.time_to_ack().map(|d| d.num_seconds()),
            seconds_to_first_answer: e.time_to_first_answer().map(|d| d.num_seconds()),
            request_id: e.request_id,
            number: e.number,
            status: e.status.as_str().to_string(),
            received_at: e.received_at,
            respond_by: e.respond_by,
            acknowledged_at: e.acknowledged_at,
            first_answer_at: e.first_answer_at,
            first_answer_kind: e.first_answer_kind,
            follow_up: FollowUpView {
                served: e.followup_request_id.is_some(),
                request_id: e.followup_request_id,
                number: e.followup_number,
                at: e.followup_at,
                reminders_sent: e.reminders_sent,
            },
            paging: attempts.map(|a| PagingView {
                rounds: e.rounds,
                first_paged_at: e.paged_at,
                escalated_at: e.escalated_at,
                acknowledged_by: e.acknowledged_by,
                acknowledged_by_name: e.acknowledged_by_name,
                attempts: a.into_iter().map(AttemptView::from).collect(),
            }),
        }
    }
}

/// The emergency of a request as the caller may see it (`None`: not an emergency).
pub(crate) async fn emergency_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<Option<EmergencyView>> {
    if !caller.is_agency() {
        caller.require_role(crate::api::review::READERS, "the paging record")?;
    }
    let Some(e) = state.store.paging().emergency(caller.scope, id).await? else {
        // Another agency's request is as missing as no request at all.
        state.store.get_request(caller.scope, id).await?;
        return Ok(None);
    };
    let attempts = if caller.is_agency() {
        None
    } else {
        Some(state.store.paging().attempts(id).await?)
    };
    Ok(Some(EmergencyView::new(e, attempts)))
}

/// An emergency's paging, acknowledgement, first answer and follow-up process. The agency sees
/// its own (without the provider's paging details); another agency's answers 404.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/emergency",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The emergency", body = EmergencyView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such request, or not an emergency", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EmergencyView>> {
    emergency_for(&state, &caller, path_id(&id)?)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// Acknowledges the page for an emergency: paging stops; the time is recorded.
pub(crate) async fn acknowledge_request(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<EmergencyRecord> {
    if caller.is_agency() {
        return Err(ApiError::not_found());
    }
    caller.require_role(ACKNOWLEDGERS, "acknowledging a page")?;
    match state
        .store
        .paging()
        .acknowledge(&caller.actor(), id, state.clock.now())
        .await
    {
        Ok(e) => Ok(e),
        Err(StoreError::NotFound) => {
            // A request that exists but is not an emergency has nothing to acknowledge.
            state.store.get_request(Scope::Provider, id).await?;
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_an_emergency",
                "this request is not an emergency; nothing pages anyone about it",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Acknowledge an emergency's page: paging stops, the time to acknowledgement is recorded.
/// Acknowledging again changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/review/requests/{id}/acknowledge",
    tag = "review",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Acknowledged", body = EmergencyView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Reviewers, approvers and admins only", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Not an emergency", body = ErrorBody),
    )
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EmergencyView>> {
    let id = path_id(&id)?;
    let e = acknowledge_request(&state, &caller, id).await?;
    let attempts = state.store.paging().attempts(id).await?;
    Ok(Json(EmergencyView::new(e, Some(attempts))))
}

// --- the on-call rota and the webhook ------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallEntryView {
    pub id: Uuid,
    /// `primary` or `secondary`.
    pub tier: String,
    /// Order within the tier.
    pub position: u32,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    /// Start of the daily window (HH:MM, UTC), if the entry has one.
    pub from: Option<String>,
    /// End of the daily window (HH:MM, UTC); before `from` means it wraps midnight.
    pub until: Option<String>,
}

impl From<OnCallEntry> for OnCallEntryView {
    fn from(e: OnCallEntry) -> Self {
        OnCallEntryView {
            id: e.id,
            tier: e.tier.as_str().to_string(),
            position: e.position,
            user_id: e.user_id,
            name: e.name,
            email: e.email,
            from: e.window.map(|w| w.from.format("%H:%M").to_string()),
            until: e.window.map(|w| w.until.format("%H:%M").to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PagingSettingsView {
    pub webhook_url: Option<String>,
    /// Whether a signing secret is set. The secret itself is never shown.
    pub webhook_secret_set: bool,
    pub webhook_secret_set_at: Option<DateTime<Utc>>,
    pub repage_minutes: u32,
    pub escalate_minutes: u32,
    pub followup_reminder_days: Vec<u32>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<PagingSettings> for PagingSettingsView {
    fn from(s: PagingSettings) -> Self {
        PagingSettingsView {
            webhook_url: s.webhook_url,
            webhook_secret_set: s.webhook_secret.is_some(),
            webhook_secret_set_at: s.secret_set_at,
            repage_minutes: s.repage_minutes,
            escalate_minutes: s.escalate_minutes,
            followup_reminder_days: s.followup_reminder_days,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallView {
    /// Primary first, then secondary, each in order.
    pub entries: Vec<OnCallEntryView>,
    pub settings: PagingSettingsView,
}

/// The on-call rota and the paging settings.
#[utoipa::path(
    get,
    path = "/api/v1/admin/on-call",
    tag = "admin",
    responses(
        (status = 200, description = "The rota and settings", body = OnCallView),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
    )
)]
pub async fn show_on_call(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<OnCallView>> {
    caller.require_role(ADMIN_READERS, "the on-call rota")?;
    on_call_view(&state).await.map(Json)
}

pub(crate) async fn on_call_view(state: &AppState) -> ApiResult<OnCallView> {
    let paging = state.store.paging();
    Ok(OnCallView {
        entries: paging
            .rota()
            .await?
            .into_iter()
            .map(OnCallEntryView::from)
            .collect(),
        settings: paging.settings().await?.into(),
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnCallLine {
    /// `primary` or `secondary`.
    pub tier: String,
    /// The reviewer's e-mail address or user id.
    pub user: String,
    /// Only from this time of day (HH:MM, UTC); give `until` too.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnCallRota {
    /// In order: within a tier, the first whose window covers the time is paged.
    pub entries: Vec<OnCallLine>,
}

fn time_of_day(field: &str, raw: &str) -> ApiResult<NaiveTime> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map_err(|_| FieldError::new(field, format!("'{raw}' is not a time such as 08:00")).into())
}

/// Checks the lines of a rota: known, active provider staff who review, and whole windows.
pub(crate) async fn rota_from(state: &AppState, lines: &[OnCallLine]) -> ApiResult<Vec<NewOnCall>> {
    if lines.len() > 50 {
        return Err(FieldError::new("entries", "at most 50 lines").into());
    }
    let users = state.store.list_users().await?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let at = |f: &str| format!("entries[{i}].{f}");
        let tier: OnCallTier = l
            .tier
            .trim()
            .parse()
            .map_err(|_| FieldError::new(at("tier"), "'primary' or 'secondary'"))?;
        let wanted = l.user.trim();
        let user = users
            .iter()
            .find(|u| u.id.to_string() == wanted || u.email.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| FieldError::new(at("user"), format!("no user '{wanted}'")))?;
        if user.agency_id.is_some() || !user.active || !ACKNOWLEDGERS.contains(&user.role) {
            return Err(FieldError::new(
                at("user"),
                format!(
                    "{} cannot be on call: only active reviewers, approvers and admins",
                    user.email
                ),
            )
            .into());
        }
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let window = match (blank(&l.from), blank(&l.until)) {
            (None, None) => None,
            (Some(f), Some(u)) => {
                let from = time_of_day(&at("from"), &f)?;
                let until = time_of_day(&at("until"), &u)?;
                if from == until {
                    return Err(FieldError::new(at("until"), "must differ from 'from'").into());
                }
                Some(DayWindow { from, until })
            }
            (Some(_), None) => {
                return Err(FieldError::new(at("until"), "give the end of the window too").into())
            }
            (None, Some(_)) => {
                return Err(FieldError::new(at("from"), "give the start of the window too").into())
            }
        };
        out.push(NewOnCall {
            tier,
            user_id: user.id,
            window,
        });
    }
    Ok(out)
}

/// Replace the on-call rota.
#[utoipa::path(
    put,
    path = "/api/v1/admin/on-call",
    tag = "admin",
    request_body = OnCallRota,
    responses(
        (status = 200, description = "The new rota and settings", body = OnCallView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "A line is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn set_on_call(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OnCallRota>,
) -> ApiResult<Json<OnCallView>> {
    caller.require_role(ADMINS, "changing the on-call rota")?;
    let rota = rota_from(&state, &body.entries).await?;
    state
        .store
        .paging()
        .set_rota(&caller.actor(), &rota)
        .await?;
    on_call_view(&state).await.map(Json)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagingSettingsChange {
    /// The URL pages are POSTed to (http or https); an empty string removes the webhook.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The signing secret, 16 to 256 characters. Write-only: never shown again.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// Page again every so many minutes until someone acknowledges (1 to 1440).
    #[serde(default)]
    pub repage_minutes: Option<u32>,
    /// Page the secondary too after so many minutes without acknowledgement (1 to 1440).
    #[serde(default)]
    pub escalate_minutes: Option<u32>,
    /// Days after the answer on which the agency is reminded to serve legal process.
    #[serde(default)]
    pub followup_reminder_days: Option<Vec<u32>>,
}

/// Checks a settings change (the API and the admin page).
pub(crate) fn settings_update(c: &PagingSettingsChange) -> ApiResult<SettingsUpdate> {
    let webhook_url = match c.webhook_url.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(u) => {
            let ok = (u.starts_with("http://") || u.starts_with("https://"))
                && u.len() <= 2000
                && !u.chars().any(char::is_whitespace)
                && u.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
            if !ok {
                return Err(FieldError::new(
                    "webhook_url",
                    "an http:// or https:// address, at most 2000 characters",
                )
                .into());
            }
            Some(Some(u.to_string()))
        }
    };
    if let Some(s) = &c.webhook_secret {
        let n = s.chars().count();
        if !(16..=256).contains(&n) {
            return Err(FieldError::new("webhook_secret", "16 to 256 characters").into());
        }
    }
    for (field, v) in [
        ("repage_minutes", c.repage_minutes),
        ("escalate_minutes", c.escalate_minutes),
    ] {
        if v.is_some_and(|m| !(1..=1440).contains(&m)) {
            return Err(FieldError::new(field, "1 to 1440 minutes").into());
        }
    }
    let days = match &c.followup_reminder_days {
        None => None,
        Some(d) => {
            if d.len() > 5 || d.iter().any(|x| !(1..=365).contains(x)) {
                return Err(FieldError::new(
                    "followup_reminder_days",
                    "at most 5 days, each 1 to 365",
                )
                .into());
            }
            let mut d = d.clone();
            d.sort_unstable();
            d.dedup();
            Some(d)
        }
    };
    Ok(SettingsUpdate {
        webhook_url,
        webhook_secret: c.webhook_secret.clone(),
        repage_minutes: c.repage_minutes,
        escalate_minutes: c.escalate_minutes,
        followup_reminder_days: days,
    })
}

/// Change the paging webhook (address, signing secret) and timings. The secret is write-only.
#[utoipa::path(
    put,
    path = "/api/v1/admin/on-call/settings",
    tag = "admin",
    request_body = PagingSettingsChange,
    responses(
        (status = 200, description = "The settings (without the secret)", body = PagingSettingsView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "A value is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn set_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PagingSettingsChange>,
) -> ApiResult<Json<PagingSettingsView>> {
    caller.require_role(ADMINS, "changing the paging settings")?;
    let update = settings_update(&body)?;
    let s = state
        .store
        .paging()
        .update_settings(&caller.actor(), &update)
        .await?;
    Ok(Json(s.into()))
}
