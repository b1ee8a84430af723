//! The policy engine over HTTP: the assessment of a stored request, a preview for a demand not
//! yet served, and the plain-words explanation of each process.

use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use custodian_core::policy::{evaluate, explain, Assessment, PolicyCase};
use custodian_core::{LegalProcess, NewLegalRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::parse_json;
use crate::AppState;

/// The policy engine's recommendation for a request: route, decision per category, customer
/// notice and clocks, each with the rule and legal basis it rests on.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/assessment",
    tag = "policy",
    params(("id" = uuid::Uuid, Path, description = "Request id")),
    responses(
        (status = 200, description = "The assessment", body = Assessment),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    )
)]
pub async fn assessment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Assessment>> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let record = state.store.get_request(caller.scope, id).await?;
    let request = NewLegalRequest {
        intake: record.intake,
    };
    let case = PolicyCase::from_request(&request, record.received_at);
    Ok(Json(evaluate(
        &*state.active_policy().await,
        &case,
        Utc::now(),
    )))
}

/// What the engine would decide for a demand before it is served (the portal's live preview).
#[utoipa::path(
    post,
    path = "/api/v1/policy/check",
    tag = "policy",
    request_body = PolicyCase,
    responses(
        (status = 200, description = "The assessment", body = Assessment),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    _caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<Json<Assessment>> {
    let value: serde_json::Value = parse_json(&body, "body")?;
    let case = PolicyCase::from_json_value(value)?;
    Ok(Json(evaluate(
        &*state.active_policy().await,
        &case,
        Utc::now(),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct Explanation {
    pub process: LegalProcess,
    pub label: String,
    pub text: String,
}

/// In plain words, what a process can and cannot obtain under the provider's policy, and why.
#[utoipa::path(
    get,
    path = "/api/v1/policy/explain/{process}",
    tag = "policy",
    params(("process" = String, Path, description = "A process name, e.g. search_warrant")),
    responses(
        (status = 200, description = "The explanation", body = Explanation),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Unknown process", body = ErrorBody),
    )
)]
pub async fn explain_process(
    State(state): State<AppState>,
    _caller: Caller,
    Path(process): Path<String>,
) -> ApiResult<Json<Explanation>> {
    let process: LegalProcess = process
        .parse()
        .map_err(|e: String| ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", e))?;
    Ok(Json(Explanation {
        process,
        label: process.label().to_string(),
        text: explain(&*state.active_policy().await, process),
    }))
}
