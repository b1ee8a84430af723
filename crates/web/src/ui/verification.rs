//! Verification of the requester on the review page: the risk box (score, level, reasons,
//! flags), the call-back task with the directory number and its form, the approver's
//! clearance, and the blockers shown before anyone tries to disclose. The forms call the
//! functions the `/api/v1/review/requests/{id}/...` endpoints call (`api::verification`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::NaiveDate;
use custodian_core::verification::{CallbackOutcome, RiskLevel};
use custodian_store::RequestRecord;
use uuid::Uuid;

use super::review::{after, Failed};
use super::{page_error, render_status, see_other, when, Viewer};
use crate::api::requests::path_id;
use crate::api::review::APPROVERS;
use crate::api::verification::{
    callback_for, clearance_for, set_directory_for, suspension_for, BlockerView, CallbackInput,
    DirectoryInput, RiskView, CALLERS,
};
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::verification::risk_state;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review/requests/{id}/callbacks", post(callback))
        .route("/review/requests/{id}/risk/clearance", post(clearance))
        .route("/admin/agencies/{id}/directory", post(directory))
        .route("/admin/users/{id}/suspend", post(suspend))
        .route("/admin/users/{id}/unsuspend", post(unsuspend))
}

/// The independent source on the admin's agency page.
#[derive(Default)]
pub struct DirectoryFacts {
    pub source: String,
    pub checked: String,
    pub recorded_by: String,
    pub recorded: String,
    pub typed_source: String,
    pub typed_checked: String,
    pub typed_phone: String,
}

impl DirectoryFacts {
    pub(super) async fn of(state: &AppState, agency: Uuid) -> Result<DirectoryFacts, ApiError> {
        let a = state.store.get_agency(agency).await?;
        let source = state.store.verification().agency_source(agency).await?;
        Ok(match source {
            Some(s) => DirectoryFacts {
                typed_source: s.source.clone(),
                typed_checked: s.checked_at.date_naive().to_string(),
                typed_phone: a.phone.unwrap_or_default(),
                source: s.source,
                checked: s.checked_at.date_naive().to_string(),
                recorded_by: s.recorded_by,
                recorded: when(s.recorded_at),
            },
            None => DirectoryFacts {
                typed_phone: a.phone.unwrap_or_default(),
                ..DirectoryFacts::default()
            },
        })
    }
}

pub async fn directory(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    let source = form.get("source").unwrap_or("").to_string();
    let checked = form.get("checked_on").unwrap_or("").trim().to_string();
    let phone = form.get("phone").unwrap_or("").to_string();
    let result = async {
        let checked_on = if checked.is_empty() {
            None
        } else {
            Some(checked.parse::<NaiveDate>().map_err(|_| {
                custodian_core::FieldError::new("checked_on", "a day as YYYY-MM-DD")
            })?)
        };
        let input = DirectoryInput {
            source: source.clone(),
            checked_on,
            phone: phone.clone(),
        };
        set_directory_for(&state, &viewer.caller, id, input).await
    }
    .await;
    match result {
        Ok(d) => {
            viewer
                .flash(
                    &state,
                    &format!(
                        "The source is recorded; call-backs to {} dial {}.",
                        d.name,
                        d.phone.unwrap_or_default()
                    ),
                )
                .await;
            see_other(&format!("/admin/agencies/{id}"))
        }
        Err(e) if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {
            page_error(e)
        }
        Err(e) => match super::admin::agency_page(&state, &viewer, id, &e).await {
            Ok(mut page) => {
                page.directory.typed_source = source;
                page.directory.typed_checked = checked;
                page.directory.typed_phone = phone;
                render_status(e.status, &page)
            }
            Err(e) => page_error(e),
        },
    }
}

async fn suspension(
    state: AppState,
    viewer: Viewer,
    id: String,
    form: PostedForm,
    suspend: bool,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    let back = form
        .get("agency")
        .and_then(|a| Uuid::parse_str(a).ok())
        .map(|a| format!("/admin/agencies/{a}"))
        .unwrap_or_else(|| "/admin/users".to_string());
    let reason = form.get("reason").unwrap_or("");
    match suspension_for(&state, &viewer.caller, id, reason, suspend).await {
        Ok(o) => {
            let done = if suspend {
                format!(
                    "The officer is suspended; {} open request{} flagged.",
                    o.flagged.len(),
                    if o.flagged.len() == 1 { " is" } else { "s are" }
                )
            } else {
                "The officer's suspension is lifted.".to_string()
            };
            viewer.flash(&state, &done).await;
            see_other(&back)
        }
        Err(e) => page_error(e),
    }
}

pub async fn suspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    suspension(state, viewer, id, form, true).await
}

pub async fn unsuspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    suspension(state, viewer, id, form, false).await
}

pub struct ReasonRow {
    pub code: &'static str,
    pub weight: u32,
    pub text: String,
    pub hard: bool,
}

pub struct CallbackRow {
    pub outcome: &'static str,
    pub confirmed: bool,
    pub called: String,
    pub to_directory: bool,
    pub at: String,
    pub spoke_with: String,
    pub note: String,
}

/// The verification box of a request's review page.
pub struct VerificationPanel {
    pub assessed: bool,
    pub score: u32,
    pub level: &'static str,
    pub level_class: &'static str,
    pub reasons: Vec<ReasonRow>,
    pub hard_blocked: bool,
    pub cleared: String,
    pub flags: Vec<(String, bool)>,
    pub callback_needed: bool,
    pub directory_phone: String,
    pub instructions: String,
    pub warning: String,
    pub problem: String,
    pub callbacks: Vec<CallbackRow>,
    pub blockers: Vec<BlockerView>,
    pub can_call: bool,
    pub can_clear: bool,
    pub outcomes: Vec<(&'static str, &'static str)>,
    pub failed: &'static str,
    pub posted_called: String,
    pub posted_spoke: String,
    pub posted_notes: String,
    pub posted_reason: String,
}

fn outcome_words(o: CallbackOutcome) -> &'static str {
    match o {
        CallbackOutcome::Confirmed => "Confirmed: the officer works there and sent it",
        CallbackOutcome::NotConfirmed => "Not confirmed: the agency did not send it",
        CallbackOutcome::OfficerUnknown => "The agency does not know the officer",
        CallbackOutcome::NoAnswer => "No answer",
        CallbackOutcome::NumberMismatch => "The directory number did not reach the agency",
    }
}

/// The verification box for `r`.
pub(super) async fn panel(
    state: &AppState,
    viewer: &Viewer,
    r: &RequestRecord,
    failed: &Failed,
) -> Result<VerificationPanel, ApiError> {
    let s = risk_state(state, r).await?;
    let view = RiskView::new(r.id, &s);
    let posted = |k: &str| {
        failed
            .form
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let caller = &viewer.caller;
    Ok(VerificationPanel {
        assessed: view.assessed,
        score: view.score,
        level: view.level.as_str(),
        level_class: match view.level {
            RiskLevel::Low => "done",
            RiskLevel::Medium => "mark-due-soon",
            RiskLevel::High => "stopped",
        },
        reasons: view
            .reasons
            .iter()
            .map(|x| ReasonRow {
                code: x.code.as_str(),
                weight: x.weight,
                text: x.text.clone(),
                hard: x.hard_block,
            })
            .collect(),
        hard_blocked: view.hard_blocked,
        cleared: view
            .clearance
            .as_ref()
            .map(|c| {
                format!(
                    "Cleared by an approver {}: {}",
                    when(c.cleared_at),
                    c.reason
                )
            })
            .unwrap_or_default(),
        flags: view
            .flags
            .iter()
            .map(|f| (f.text.clone(), f.resolved_at.is_some()))
            .collect(),
        callback_needed: view.callback_needed,
        directory_phone: view
            .callback_task
            .directory_phone
            .clone()
            .unwrap_or_default(),
        instructions: view.callback_task.instructions.clone().unwrap_or_default(),
        warning: view.callback_task.warning.clone().unwrap_or_default(),
        problem: view.callback_task.problem.clone().unwrap_or_default(),
        callbacks: s
            .callbacks
            .iter()
            .map(|c| CallbackRow {
                outcome: outcome_words(c.record.outcome),
                confirmed: c.record.outcome == CallbackOutcome::Confirmed,
                called: c.record.called_number.clone(),
                to_directory: c.record.called_directory_number(),
                at: when(c.record.called_at),
                spoke_with: c.record.spoke_with.clone().unwrap_or_default(),
                note: c.record.note.clone().unwrap_or_default(),
            })
            .collect(),
        blockers: view.blockers,
        can_call: caller.require_role(CALLERS, "").is_ok()
            && s.task.is_some()
            && r.status.is_open(),
        can_clear: caller.require_role(APPROVERS, "").is_ok() && view.clearable && view.assessed,
        outcomes: CallbackOutcome::ALL
            .iter()
            .map(|o| (o.as_str(), outcome_words(*o)))
            .collect(),
        failed: failed.action,
        posted_called: posted("called_number"),
        posted_spoke: posted("spoke_with"),
        posted_notes: posted("notes"),
        posted_reason: posted("reason"),
    })
}

pub async fn callback(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = async {
        let outcome: CallbackOutcome = form
            .get("outcome")
            .unwrap_or("")
            .parse()
            .map_err(|e: String| custodian_core::FieldError::new("outcome", e))?;
        let input = CallbackInput {
            outcome,
            called_number: form.get("called_number").unwrap_or("").to_string(),
            spoke_with: form.get("spoke_with").map(str::to_string),
            notes: form.get("notes").map(str::to_string),
        };
        let stored = callback_for(&state, &viewer.caller, id, input).await?;
        Ok(if stored.record.called_directory_number() {
            "The call-back is recorded.".to_string()
        } else {
            "The call-back is recorded, but it went to a number other than the directory's: \
             it does not count."
                .to_string()
        })
    }
    .await;
    let failed = Failed {
        action: "callback",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}

pub async fn clearance(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let reason = form.get("reason").unwrap_or("");
    let result = clearance_for(&state, &viewer.caller, id, reason)
        .await
        .map(|_| "The high score is cleared; your reason is kept with the request.".to_string());
    let failed = Failed {
        action: "clearance",
        text: String::new(),
        form: form.fields.clone(),
    };
    after(&state, &viewer, id, result, failed, None).await
}
