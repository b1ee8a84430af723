//! `/api/v1/requests/{id}/followers` and `/timeline`: colleagues of the serving agency who
//! follow a request (at most five), and the request's history as the audit log records it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use custodian_core::FieldError;
use custodian_store::{Scope, StoreError, StoredAuditEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::requests::path_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowerView {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollower {
    /// The e-mail address of a colleague with an account at the same agency.
    pub email: String,
}

/// The colleagues following a request.
pub async fn list_for(state: &AppState, scope: Scope, id: Uuid) -> ApiResult<Vec<FollowerView>> {
    let found = state.store.accounts().followers(scope, id).await?;
    Ok(found
        .into_iter()
        .map(|f| FollowerView {
            user_id: f.user.id,
            name: f.user.name,
            email: f.user.email,
            since: f.created_at,
        })
        .collect())
}

/// Adds a colleague by e-mail address; the portal's form comes here too.
pub async fn add_by_email(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    email: &str,
) -> ApiResult<()> {
    if !caller.is_agency() {
        return Err(ApiError::forbidden(
            "agency_only",
            "only the serving agency chooses who follows its request",
        ));
    }
    // The request first: another agency's request is not found, whatever the address.
    state.store.get_request(caller.scope, id).await?;
    let email = email.trim();
    if email.is_empty() {
        return Err(FieldError::new("email", "name a colleague's e-mail address").into());
    }
    let unknown = || {
        ApiError::field(FieldError::new(
            "email",
            "no colleague of your agency has an account with this address",
        ))
    };
    let user = match state.store.find_user_by_email(email).await {
        Err(StoreError::NotFound) => return Err(unknown()),
        other => other?,
    };
    if user.agency_id != caller.user.agency_id || !user.active {
        return Err(unknown());
    }
    state
        .store
        .accounts()
        .add_follower(&caller.actor(), caller.scope, id, user.id)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => other.into(),
        })
}

/// Who follows a request.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/followers",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Followers", body = Vec<FollowerView>),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<FollowerView>>> {
    Ok(Json(list_for(&state, caller.scope, path_id(&id)?).await?))
}

/// Let a colleague of the same agency follow the request (at most five followers).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/followers",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = NewFollower,
    responses(
        (status = 201, description = "Following", body = Vec<FollowerView>),
        (status = 403, description = "Only the serving agency", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Five follow already, or this one does", body = ErrorBody),
        (status = 422, description = "Not a colleague with an account", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewFollower>,
) -> ApiResult<(StatusCode, Json<Vec<FollowerView>>)> {
    let id = path_id(&id)?;
    add_by_email(&state, &caller, id, &body.email).await?;
    Ok((
        StatusCode::CREATED,
        Json(list_for(&state, caller.scope, id).await?),
    ))
}

/// Stop a colleague following the request.
#[utoipa::path(
    delete,
    path = "/api/v1/requests/{id}/followers/{user_id}",
    tag = "requests",
    params(
        ("id" = Uuid, Path, description = "Request id"),
        ("user_id" = Uuid, Path, description = "The follower's user id"),
    ),
    responses(
        (status = 204, description = "No longer following"),
        (status = 403, description = "Only the serving agency", body = ErrorBody),
        (status = 404, description = "No such request or follower", body = ErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if !caller.is_agency() {
        return Err(ApiError::forbidden(
            "agency_only",
            "only the serving agency chooses who follows its request",
        ));
    }
    state
        .store
        .accounts()
        .remove_follower(
            &caller.actor(),
            caller.scope,
            path_id(&id)?,
            path_id(&user_id)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    /// The audit action, e.g. `request.status_changed`.
    pub action: String,
    /// What happened, in words.
    pub text: String,
    /// The audit log index, to check the entry against a signed tree head.
    pub audit_index: u64,
}

/// What happened to a request, in words an agency reads. The provider's internal steps
/// (assignment, who reviewed) stay out of the agency's view.
pub fn timeline_words(e: &StoredAuditEntry, for_agency: bool) -> Option<String> {
    let d = &e.entry.details;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let words = |status: &str| -> String {
        status
            .parse::<custodian_core::RequestStatus>()
            .map(|s| crate::ui::status_words(s).to_lowercase())
            .unwrap_or_else(|_| status.replace('_', " "))
    };
    Some(match e.entry.action.as_str() {
        "request.received" => {
            let n = d
                .get("documents")
                .and_then(|v| v.as_array())
                .map_or(0, Vec::len);
            format!("Received as {} with {n} document(s)", s("number"))
        }
        "request.status_changed" => format!("Status: {} → {}", words(s("from")), words(s("to"))),
        "request.message_added" => "A message was written".to_string(),
        "request.letter_sent" => format!(
            "The provider sent a letter ({})",
            s("kind").replace('_', " ")
        ),
        "request.decided" => "The provider's legal team decided".to_string(),
        "request.decided_fraud_referral_without_legal_process" => {
            "The provider's legal team decided (fraud referral: disclosure without legal process)"
                .to_string()
        }
        "device_return.owner_contacted" => {
            "The device's owner was contacted and given your contact details".to_string()
        }
        "device_return.device_not_known" => "The device is not known to the provider".to_string(),
        "billing.invoice_issued" => format!("Invoice {} issued", s("invoice")),
        "billing.invoice_paid" => format!("Invoice {} marked paid", s("invoice")),
        "billing.invoice_unpaid" => format!("Invoice {} marked unpaid", s("invoice")),
        "billing.fees_waived" => format!("Fees waived ({})", s("reason").replace('_', " ")),
        "request.decision_approved" => "The decision was approved (second review)".to_string(),
        "request.follower_added" => "A colleague started following".to_string(),
        "request.follower_removed" => "A colleague stopped following".to_string(),
        "request.assigned" if !for_agency => "Assigned to a reviewer".to_string(),
        "production.released" => "The production is ready to download".to_string(),
        "production.downloaded" => "The production was downloaded".to_string(),
        _ if for_agency => return None,
        other => other.replace(['.', '_'], " "),
    })
}

/// The request's history, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/timeline",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "Events", body = Vec<TimelineEvent>),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TimelineEvent>>> {
    let entries = state
        .store
        .accounts()
        .request_timeline(caller.scope, path_id(&id)?)
        .await?;
    Ok(Json(
        entries
            .iter()
            .filter_map(|e| {
                timeline_words(e, caller.is_agency()).map(|text| TimelineEvent {
                    at: e.entry.at,
                    action: e.entry.action.clone(),
                    text,
                    audit_index: e.entry.idx,
                })
            })
            .collect(),
    ))
}
