//! `/api/v1/admin/outbox` and `/api/v1/admin/jobs`: what Custodian has mailed or still has to
//! mail, and the background work behind it. Admins only: the outbox holds recipients' addresses
//! and the text of customer notices.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use custodian_core::Role;
use custodian_store::{Job, JobFilter, MailFilter, MailRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

pub(crate) const ADMINS: &[Role] = &[Role::Admin];

#[derive(Debug, Serialize, ToSchema)]
pub struct MailView {
    pub id: Uuid,
    /// Why it was sent: `email_verification`, `customer_notice`, `deadline_reminder`, ...
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub request_id: Option<Uuid>,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
}

impl From<MailRecord> for MailView {
    fn from(m: MailRecord) -> Self {
        MailView {
            id: m.id,
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            body_text: m.body_text,
            request_id: m.request_id,
            status: m.status.to_string(),
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
            message_id: m.message_id,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `queued`, `sent` or `failed`.
    pub status: Option<String>,
    pub kind: Option<String>,
    pub request_id: Option<Uuid>,
    /// At most this many, newest first (1 to 1000, default 100).
    pub limit: Option<u32>,
}

fn parse_query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> ApiResult<T> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
}

fn parse_status<T: std::str::FromStr<Err = String>>(raw: Option<String>) -> ApiResult<Option<T>> {
    raw.map(|s| {
        s.parse()
            .map_err(|e: String| ApiError::bad_request("invalid_query", format!("status: {e}")))
    })
    .transpose()
}

/// The mail outbox, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/outbox",
    tag = "admin",
    params(OutboxQuery),
    responses(
        (status = 200, description = "Mails", body = Vec<MailView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<MailView>>> {
    let mails = mails(&state, &caller, parse_query(query)?).await?;
    Ok(Json(mails.into_iter().map(MailView::from).collect()))
}

/// The outbox as the query asks, newest first (the API and the admin's outbox page).
pub(crate) async fn mails(
    state: &AppState,
    caller: &Caller,
    q: OutboxQuery,
) -> ApiResult<Vec<MailRecord>> {
    caller.require_role(ADMINS, "the outbox")?;
    let filter = MailFilter {
        status: parse_status(q.status)?,
        kind: q.kind,
        request_id: q.request_id,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(state.store.outbox().list(&filter).await?)
}

/// One mail of the outbox.
#[utoipa::path(
    get,
    path = "/api/v1/admin/outbox/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Mail id")),
    responses(
        (status = 200, description = "The mail", body = MailView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such mail", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<MailView>> {
    Ok(Json(mail(&state, &caller, id).await?.into()))
}

/// One mail of the outbox.
pub(crate) async fn mail(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<MailRecord> {
    caller.require_role(ADMINS, "the outbox")?;
    match state.store.outbox().get(id).await {
        Ok(m) => Ok(m),
        Err(custodian_store::StoreError::NotFound) => Err(no_such_mail()),
        Err(e) => Err(e.into()),
    }
}

fn no_such_mail() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such mail")
}

/// Sends a failed mail again.
#[utoipa::path(
    post,
    path = "/api/v1/admin/outbox/{id}/resend",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Mail id")),
    responses(
        (status = 202, description = "Queued again"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such mail", body = ErrorBody),
        (status = 409, description = "The mail has not failed", body = ErrorBody),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    resend_mail(&state, &caller, id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Queues a failed mail again (a new `mail.send` job), audited.
pub(crate) async fn resend_mail(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<()> {
    caller.require_role(ADMINS, "the outbox")?;
    match state
        .store
        .outbox()
        .resend(&caller.actor(), id, state.clock.now())
        .await
    {
        Ok(()) => {
            state.jobs_waker.notify_one();
            Ok(())
        }
        Err(custodian_store::StoreError::NotFound) => Err(no_such_mail()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        JobView {
            id: j.id,
            kind: j.kind,
            payload: j.payload,
            run_at: j.run_at,
            status: j.status.to_string(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: Option<String>,
    pub kind: Option<String>,
    /// At most this many, newest first (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Background jobs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/jobs",
    tag = "admin",
    params(JobsQuery),
    responses(
        (status = 200, description = "Jobs", body = Vec<JobView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub async fn jobs(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<JobView>>> {
    let jobs = job_list(&state, &caller, parse_query(query)?).await?;
    Ok(Json(jobs.into_iter().map(JobView::from).collect()))
}

/// Background jobs as the query asks, newest first (the API and the admin's jobs page).
pub(crate) async fn job_list(
    state: &AppState,
    caller: &Caller,
    q: JobsQuery,
) -> ApiResult<Vec<Job>> {
    caller.require_role(ADMINS, "the job list")?;
    let filter = JobFilter {
        status: parse_status(q.status)?,
        kind: q.kind,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(state.store.jobs().list(&filter).await?)
}
