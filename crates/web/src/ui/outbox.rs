//! The admin's view of background work: `/admin/outbox` (the mail outbox: each mail's state
//! and attempts, its detail, a failed mail sent again) and `/admin/jobs` (the job table:
//! state, kind, attempts, last error, when it runs). Admins only, as in the API
//! (`/api/v1/admin/outbox`, `/api/v1/admin/jobs`): the outbox holds recipients' addresses and
//! the text of customer notices, so auditors do not get these two tabs.
//!
//! The pages call the API's own functions (`api::outbox::{mails, mail, resend_mail,
//! job_list}`) and show no more than it returns.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use custodian_store::{JobStatus, MailStatus};
use uuid::Uuid;

use super::admin::{finish, frame, Frame};
use super::review::Choice;
use super::{page_error, see_other, when, Layout, Viewer};
use crate::api::outbox::{job_list, mail, mails, resend_mail, JobsQuery, OutboxQuery};
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(outbox))
        .route("/admin/outbox/{id}", get(show_mail))
        .route("/admin/outbox/{id}/resend", post(resend))
        .route("/admin/jobs", get(jobs))
}

/// How many rows a page lists (the API's own maximum is 1000).
const PAGE_ROWS: u32 = 200;

fn blank_is_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn status_choices(all: &[&'static str], current: Option<&str>) -> Vec<Choice> {
    std::iter::once(("", "Any state"))
        .chain(all.iter().map(|s| (*s, *s)))
        .map(|(value, label)| Choice {
            value: value.to_string(),
            label: label.to_string(),
            selected: current.unwrap_or("") == value,
        })
        .collect()
}

fn mail_class(s: MailStatus) -> &'static str {
    match s {
        MailStatus::Queued => "open",
        MailStatus::Sent => "done",
        MailStatus::Failed => "stopped",
    }
}

// --- the outbox --------------------------------------------------------------------------

pub struct MailRow {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub status_class: &'static str,
    pub attempts: u32,
    pub last_error: String,
    pub created: String,
    pub sent: String,
    pub request_id: String,
    pub failed: bool,
}

fn mail_row(m: custodian_store::MailRecord) -> MailRow {
    MailRow {
        id: m.id.to_string(),
        kind: m.kind,
        recipient: m.recipient,
        subject: m.subject,
        status: m.status.to_string(),
        status_class: mail_class(m.status),
        attempts: m.attempts,
        last_error: m.last_error.unwrap_or_default(),
        created: when(m.created_at),
        sent: m.sent_at.map(when).unwrap_or_default(),
        request_id: m.request_id.map(|r| r.to_string()).unwrap_or_default(),
        failed: m.status == MailStatus::Failed,
    }
}

#[derive(Template)]
#[template(path = "admin_outbox.html")]
struct OutboxPage {
    layout: Layout,
    frame: Frame,
    statuses: Vec<Choice>,
    kind: String,
    rows: Vec<MailRow>,
    limit: u32,
}

pub async fn outbox(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (q, error) = match query {
        Ok(Query(q)) => (q, None),
        Err(e) => (
            OutboxQuery::default(),
            Some(ApiError::bad_request("invalid_query", e.body_text())),
        ),
    };
    let (page, error) = build_outbox(&state, &viewer, q, error).await;
    finish(page, error.as_ref())
}

async fn build_outbox(
    state: &AppState,
    viewer: &Viewer,
    q: OutboxQuery,
    error: Option<ApiError>,
) -> (Result<OutboxPage, ApiError>, Option<ApiError>) {
    let q = OutboxQuery {
        status: blank_is_none(q.status),
        kind: blank_is_none(q.kind),
        limit: Some(q.limit.unwrap_or(PAGE_ROWS)),
        ..q
    };
    let status = q.status.clone();
    let kind = q.kind.clone().unwrap_or_default();
    let limit = q.limit.unwrap_or(PAGE_ROWS);
    // A filter the API refuses shows the whole outbox with the reason.
    let (found, error) = match mails(state, &viewer.caller, q).await {
        Err(e) if e.status == StatusCode::BAD_REQUEST => (
            mails(
                state,
                &viewer.caller,
                OutboxQuery {
                    limit: Some(PAGE_ROWS),
                    ..OutboxQuery::default()
                },
            )
            .await,
            Some(e),
        ),
        other => (other, error),
    };
    let page = async {
        let frame = frame(viewer, "/admin/outbox", error.as_ref())?;
        let rows = found?.into_iter().map(mail_row).collect();
        Ok(OutboxPage {
            layout: viewer.layout("Mail outbox", "/admin"),
            frame,
            statuses: status_choices(&["queued", "sent", "failed"], status.as_deref()),
            kind,
            rows,
            limit,
        })
    }
    .await;
    (page, error)
}

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct MailPage {
    layout: Layout,
    frame: Frame,
    m: MailRow,
    body: String,
    message_id: String,
}

async fn build_mail(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    error: Option<&ApiError>,
) -> Result<MailPage, ApiError> {
    let frame = frame(viewer, "/admin/outbox", error)?;
    let m = mail(state, &viewer.caller, id).await?;
    Ok(MailPage {
        layout: viewer.layout(&m.subject, "/admin"),
        frame,
        body: m.body_text.clone(),
        message_id: m.message_id.clone().unwrap_or_default(),
        m: mail_row(m),
    })
}

pub async fn show_mail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    finish(build_mail(&state, &viewer, id, None).await, None)
}

pub async fn resend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    match resend_mail(&state, &viewer.caller, id).await {
        Ok(()) => {
            viewer
                .flash(&state, "The mail is queued again; it is sent in a moment.")
                .await;
            see_other(&format!("/admin/outbox/{id}"))
        }
        Err(e) if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {
            page_error(e)
        }
        Err(e) => finish(build_mail(&state, &viewer, id, Some(&e)).await, Some(&e)),
    }
}

// --- the jobs ----------------------------------------------------------------------------

pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub status_class: &'static str,
    pub attempts: String,
    pub last_error: String,
    pub run_at: String,
    pub finished: String,
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    layout: Layout,
    frame: Frame,
    statuses: Vec<Choice>,
    kind: String,
    rows: Vec<JobRow>,
    limit: u32,
}

pub async fn jobs(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (q, mut error) = match query {
        Ok(Query(q)) => (q, None),
        Err(e) => (
            JobsQuery::default(),
            Some(ApiError::bad_request("invalid_query", e.body_text())),
        ),
    };
    let q = JobsQuery {
        status: blank_is_none(q.status),
        kind: blank_is_none(q.kind),
        limit: Some(q.limit.unwrap_or(PAGE_ROWS)),
    };
    let status = q.status.clone();
    let kind = q.kind.clone().unwrap_or_default();
    let limit = q.limit.unwrap_or(PAGE_ROWS);
    let found = match job_list(&state, &viewer.caller, q).await {
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            error = Some(e);
            job_list(
                &state,
                &viewer.caller,
                JobsQuery {
                    limit: Some(PAGE_ROWS),
                    ..JobsQuery::default()
                },
            )
            .await
        }
        other => other,
    };
    let page = async {
        let frame = frame(&viewer, "/admin/jobs", error.as_ref())?;
        let rows = found?
            .into_iter()
            .map(|j| JobRow {
                id: j.id.to_string(),
                kind: j.kind,
                payload: j.payload.to_string(),
                status: j.status.to_string(),
                status_class: match j.status {
                    JobStatus::Queued | JobStatus::Running => "open",
                    JobStatus::Done => "done",
                    JobStatus::Failed | JobStatus::Cancelled => "stopped",
                },
                attempts: format!("{} of {}", j.attempts, j.max_attempts),
                last_error: j.last_error.unwrap_or_default(),
                run_at: when(j.run_at),
                finished: j.finished_at.map(when).unwrap_or_default(),
            })
            .collect();
        Ok(JobsPage {
            layout: viewer.layout("Background jobs", "/admin"),
            frame,
            statuses: status_choices(
                &["queued", "running", "done", "failed", "cancelled"],
                status.as_deref(),
            ),
            kind,
            rows,
            limit,
        })
    }
    .await;
    finish(page, error.as_ref())
}
