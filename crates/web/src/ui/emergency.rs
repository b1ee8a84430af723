//! Emergencies in the pages: the paging panel of the review page with its Acknowledge button,
//! the follow-up panel of the officer's request page, and `/admin/on-call` (the rota and the
//! paging webhook). The rules are in `api::emergency`; these pages only call them.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use custodian_store::paging::{EmergencyRecord, EmergencyStatus, PageAttempt};
use custodian_store::{RequestRecord, Scope};
use uuid::Uuid;

use super::admin::{finish, frame, Frame};
use super::review::{after, Failed};
use super::{page_error, see_other, when, Layout, Viewer};
use crate::api::emergency::{
    acknowledge_request, on_call_view, rota_from, settings_update, OnCallLine,
    PagingSettingsChange, ACKNOWLEDGERS,
};
use crate::api::requests::path_id;
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review/requests/{id}/acknowledge", post(acknowledge))
        .route("/admin/on-call", get(on_call))
        .route("/admin/on-call/add", post(add_line))
        .route("/admin/on-call/remove", post(remove_line))
        .route("/admin/on-call/settings", post(save_settings))
}

/// `4 min 12 s`, `1 h 3 min`, `2 d 4 h`.
pub fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn at_or_dash(t: Option<DateTime<Utc>>) -> String {
    t.map(when).unwrap_or_default()
}

/// One attempt, as the review page lists it.
pub struct AttemptRow {
    pub round: u32,
    pub who: String,
    pub channel: &'static str,
    pub at: String,
    pub result: &'static str,
    pub detail: String,
}

fn attempt_row(a: PageAttempt) -> AttemptRow {
    AttemptRow {
        round: a.round,
        who: match a.user_name {
            Some(n) => format!("{n} ({})", a.tier),
            None => format!("webhook ({})", a.tier),
        },
        channel: a.channel.as_str(),
        at: when(a.at),
        result: a.result.as_str(),
        detail: a.detail.unwrap_or_default(),
    }
}

/// The paging panel of the review page.
pub struct EmergencyPanel {
    pub paging: bool,
    pub can_ack: bool,
    pub rounds: u32,
    pub first_paged: String,
    pub escalated: String,
    pub acknowledged_by: String,
    pub acknowledged_at: String,
    pub time_to_ack: String,
    pub first_answer: String,
    pub time_to_first_answer: String,
    pub followup: String,
    pub followup_id: String,
    pub reminders: u32,
    pub attempts: Vec<AttemptRow>,
}

fn followup_words(e: &EmergencyRecord) -> String {
    match (&e.followup_number, e.followup_at) {
        (Some(n), Some(at)) => format!("Served: {n}, {}", when(at)),
        _ => "Not served yet".to_string(),
    }
}

/// The panel for an emergency request (`None` for any other).
pub(super) async fn panel(
    state: &AppState,
    viewer: &Viewer,
    r: &RequestRecord,
) -> Result<Option<EmergencyPanel>, ApiError> {
    if !r.emergency {
        return Ok(None);
    }
    let paging = state.store.paging();
    let Some(e) = paging.emergency(Scope::Provider, r.id).await? else {
        return Ok(None);
    };
    let attempts = paging.attempts(r.id).await?;
    let is_paging = e.status == EmergencyStatus::Paging;
    Ok(Some(EmergencyPanel {
        paging: is_paging,
        can_ack: is_paging
            && viewer
                .caller
                .require_role(ACKNOWLEDGERS, "acknowledging")
                .is_ok(),
        rounds: e.rounds,
        first_paged: at_or_dash(e.paged_at),
        escalated: at_or_dash(e.escalated_at),
        acknowledged_by: e.acknowledged_by_name.clone().unwrap_or_default(),
        acknowledged_at: at_or_dash(e.acknowledged_at),
        time_to_ack: e.time_to_ack().map(span).unwrap_or_default(),
        first_answer: match (e.first_answer_at, &e.first_answer_kind) {
            (Some(at), Some(k)) => format!("{k}, {}", when(at)),
            _ => String::new(),
        },
        time_to_first_answer: e.time_to_first_answer().map(span).unwrap_or_default(),
        followup: followup_words(&e),
        followup_id: e
            .followup_request_id
            .map(|i| i.to_string())
            .unwrap_or_default(),
        reminders: e.reminders_sent,
        attempts: attempts.into_iter().map(attempt_row).collect(),
    }))
}

/// What the officer's request page shows of an emergency: acknowledgement and the legal
/// process that must follow.
pub struct AgencyEmergency {
    pub acknowledged: String,
    pub followup_served: bool,
    pub followup: String,
    pub followup_id: String,
    pub number: String,
}

pub(super) async fn agency_panel(
    state: &AppState,
    scope: Scope,
    r: &RequestRecord,
) -> Result<Option<AgencyEmergency>, ApiError> {
    if !r.emergency {
        return Ok(None);
    }
    let Some(e) = state.store.paging().emergency(scope, r.id).await? else {
        return Ok(None);
    };
    Ok(Some(AgencyEmergency {
        acknowledged: at_or_dash(e.acknowledged_at),
        followup_served: e.followup_request_id.is_some(),
        followup: followup_words(&e),
        followup_id: e
            .followup_request_id
            .map(|i| i.to_string())
            .unwrap_or_default(),
        number: e.number.clone(),
    }))
}

pub async fn acknowledge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = path_id(&id) else {
        return page_error(ApiError::not_found());
    };
    let result = acknowledge_request(&state, &viewer.caller, id)
        .await
        .map(|e| match e.time_to_ack() {
            Some(d) => format!(
                "Acknowledged {} after {}; paging stopped.",
                e.number,
                span(d)
            ),
            None => format!("Acknowledged {}.", e.number),
        });
    after(&state, &viewer, id, result, Failed::default(), None).await
}

// --- /admin/on-call ---------------------------------------------------------------------

pub struct RotaRow {
    pub id: String,
    pub tier: String,
    pub position: u32,
    pub name: String,
    pub email: String,
    pub window: String,
}

#[derive(Template)]
#[template(path = "admin_on_call.html")]
struct OnCallPage {
    layout: Layout,
    frame: Frame,
    rows: Vec<RotaRow>,
    /// (e-mail, name and role) of the staff who may be on call.
    people: Vec<(String, String)>,
    webhook_url: String,
    secret_set: bool,
    secret_set_at: String,
    repage_minutes: u32,
    escalate_minutes: u32,
    followup_days: String,
}

async fn build(
    state: &AppState,
    viewer: &Viewer,
    error: Option<&ApiError>,
) -> Result<OnCallPage, ApiError> {
    let frame = frame(viewer, "/admin/on-call", error)?;
    let view = on_call_view(state).await?;
    let users = state.store.list_users().await?;
    let s = view.settings;
    Ok(OnCallPage {
        layout: viewer.layout("On-call and paging", "/admin"),
        frame,
        rows: view
            .entries
            .into_iter()
            .map(|e| RotaRow {
                id: e.id.to_string(),
                tier: e.tier,
                position: e.position,
                name: e.name,
                email: e.email,
                window: match (e.from, e.until) {
                    (Some(f), Some(u)) => format!("{f}–{u} UTC"),
                    _ => "all day".into(),
                },
            })
            .collect(),
        people: users
            .iter()
            .filter(|u| u.agency_id.is_none() && u.active && ACKNOWLEDGERS.contains(&u.role))
            .map(|u| (u.email.clone(), format!("{} ({})", u.name, u.role.as_str())))
            .collect(),
        webhook_url: s.webhook_url.unwrap_or_default(),
        secret_set: s.webhook_secret_set,
        secret_set_at: at_or_dash(s.webhook_secret_set_at),
        repage_minutes: s.repage_minutes,
        escalate_minutes: s.escalate_minutes,
        followup_days: s
            .followup_reminder_days
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

pub async fn on_call(State(state): State<AppState>, viewer: Viewer) -> Response {
    finish(build(&state, &viewer, None).await, None)
}

async fn done(state: &AppState, viewer: &Viewer, result: Result<String, ApiError>) -> Response {
    match result {
        Ok(message) => {
            viewer.flash(state, &message).await;
            see_other("/admin/on-call")
        }
        Err(e) => finish(build(state, viewer, Some(&e)).await, Some(&e)),
    }
}

/// The rota as it stands, as lines the API takes.
async fn current_lines(state: &AppState) -> Result<Vec<(Uuid, OnCallLine)>, ApiError> {
    Ok(on_call_view(state)
        .await?
        .entries
        .into_iter()
        .map(|e| {
            (
                e.id,
                OnCallLine {
                    tier: e.tier,
                    user: e.user_id.to_string(),
                    from: e.from,
                    until: e.until,
                },
            )
        })
        .collect())
}

async fn replace_rota(
    state: &AppState,
    viewer: &Viewer,
    lines: Vec<OnCallLine>,
) -> Result<(), ApiError> {
    viewer
        .caller
        .require_role(crate::api::admin::ADMINS, "changing the on-call rota")?;
    let rota = rota_from(state, &lines).await?;
    state
        .store
        .paging()
        .set_rota(&viewer.caller.actor(), &rota)
        .await?;
    Ok(())
}

pub async fn add_line(State(state): State<AppState>, viewer: Viewer, form: PostedForm) -> Response {
    let result = async {
        let mut lines: Vec<OnCallLine> = current_lines(&state)
            .await?
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        let user = form.get("user").unwrap_or("").to_string();
        lines.push(OnCallLine {
            tier: form.get("tier").unwrap_or("").to_string(),
            user: user.clone(),
            from: form.get("from").map(str::to_string),
            until: form.get("until").map(str::to_string),
        });
        let n = lines.len() - 1;
        replace_rota(&state, &viewer, lines)
            .await
            .map_err(|mut e| {
                // The form has one line: name its fields, not the list's.
                e.message = e.message.replace(&format!("entries[{n}]."), "");
                e
            })?;
        Ok(format!("{user} is on the rota."))
    }
    .await;
    done(&state, &viewer, result).await
}

pub async fn remove_line(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    let result = async {
        let id = form
            .get("id")
            .and_then(|i| Uuid::parse_str(i).ok())
            .ok_or_else(ApiError::not_found)?;
        let lines = current_lines(&state).await?;
        if !lines.iter().any(|(i, _)| *i == id) {
            return Err(ApiError::not_found());
        }
        let kept = lines
            .into_iter()
            .filter(|(i, _)| *i != id)
            .map(|(_, l)| l)
            .collect();
        replace_rota(&state, &viewer, kept).await?;
        Ok("Removed from the rota.".to_string())
    }
    .await;
    done(&state, &viewer, result).await
}

pub async fn save_settings(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    let result = async {
        viewer
            .caller
            .require_role(crate::api::admin::ADMINS, "changing the paging settings")?;
        let number = |name: &str| -> Result<Option<u32>, ApiError> {
            form.get(name)
                .map(|v| {
                    v.parse::<u32>().map_err(|_| {
                        custodian_core::FieldError::new(name, "a whole number of minutes").into()
                    })
                })
                .transpose()
        };
        let days = match form.get("followup_reminder_days") {
            None => Some(Vec::new()),
            Some(d) => Some(
                d.split(',')
                    .map(|x| x.trim().parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        custodian_core::FieldError::new(
                            "followup_reminder_days",
                            "days separated by commas, such as 2, 7",
                        )
                    })?,
            ),
        };
        let change = PagingSettingsChange {
            webhook_url: Some(form.get("webhook_url").unwrap_or("").to_string()),
            // A blank secret field keeps the secret that is set.
            webhook_secret: form
                .raw("webhook_secret")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            repage_minutes: number("repage_minutes")?,
            escalate_minutes: number("escalate_minutes")?,
            followup_reminder_days: days,
        };
        let update = settings_update(&change)?;
        state
            .store
            .paging()
            .update_settings(&viewer.caller.actor(), &update)
            .await?;
        Ok("Paging settings saved.".to_string())
    }
    .await;
    done(&state, &viewer, result).await
}
