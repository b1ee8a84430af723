//! An agency's age public key in the pages: set or cleared by an admin on the agency's admin
//! page (`/admin/agencies/{id}`), or by the agency's own supervisor on their account page;
//! read by the agency's officers there. Productions for the agency are encrypted to it;
//! without one they are AES-256 ZIPs whose passphrase travels separately.
//!
//! Both forms call `api::custody::set_agency_key`, the function behind
//! `PUT /api/v1/agencies/{id}/age-recipient`: the same roles, the same check that the key is
//! an age X25519 recipient, the same audit entry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use custodian_core::Role;
use uuid::Uuid;

use super::{page_error, render_status, see_other, Viewer};
use crate::api::custody::{agency_key, set_agency_key};
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/agencies/{id}/age-recipient", post(admin_set))
        .route("/account/agency-key", post(supervisor_set))
}

/// What the key's section (`templates/_agency_key.html`) shows.
pub struct KeyFacts {
    /// The key in force, or empty.
    pub current: String,
    /// What was typed, shown again after a refusal (never a secret key).
    pub typed: String,
    pub can_edit: bool,
    /// Where the form posts.
    pub action: String,
    /// A refusal shown in the section itself (the account page has no frame for it).
    pub error: Option<String>,
    pub invalid: bool,
}

impl KeyFacts {
    /// The key of `agency` as `viewer` may see it, with a form if they may change it.
    pub async fn of(
        state: &AppState,
        viewer: &Viewer,
        agency: Uuid,
        action: String,
    ) -> Result<KeyFacts, ApiError> {
        let current = agency_key(state, &viewer.caller, agency).await?;
        Ok(KeyFacts {
            current: current.unwrap_or_default(),
            typed: String::new(),
            can_edit: matches!(
                viewer.caller.user.role,
                Role::Admin | Role::AgencySupervisor
            ),
            action,
            error: None,
            invalid: false,
        })
    }

    fn refused(&mut self, e: &ApiError, typed: &str) {
        self.invalid = true;
        self.error = Some(e.message.clone());
        // A pasted secret key is not sent back into the page.
        if !typed.to_ascii_uppercase().contains("SECRET") {
            self.typed = typed.to_string();
        }
    }
}

/// The form's key: `clear` removes it; otherwise the typed one (blank also removes it).
fn wanted(form: &PostedForm) -> Option<&str> {
    if form.checked("clear") {
        None
    } else {
        form.get("recipient")
    }
}

fn done(set: &Option<String>) -> &'static str {
    match set {
        Some(_) => "The age key is set: the agency's productions are encrypted to it.",
        None => {
            "The age key is removed: the agency's productions are AES-256 ZIPs whose passphrase \
             the custodian sends separately."
        }
    }
}

pub async fn admin_set(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    let typed = wanted(&form).unwrap_or("").to_string();
    match set_agency_key(&state, &viewer.caller, id, wanted(&form)).await {
        Ok(set) => {
            viewer.flash(&state, done(&set)).await;
            see_other(&format!("/admin/agencies/{id}"))
        }
        Err(e) if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {
            page_error(e)
        }
        Err(e) => match super::admin::agency_page(&state, &viewer, id, &e).await {
            Ok(mut page) => {
                page.age_key.refused(&e, &typed);
                // The frame shows the message at the top already.
                page.age_key.error = None;
                render_status(e.status, &page)
            }
            Err(e) => page_error(e),
        },
    }
}

pub async fn supervisor_set(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    let Some(agency) = viewer
        .caller
        .user
        .agency_id
        .filter(|_| viewer.caller.is_agency())
    else {
        return page_error(ApiError::forbidden(
            "forbidden",
            "the agency's key is set by an admin or the agency's supervisor",
        ));
    };
    let typed = wanted(&form).unwrap_or("").to_string();
    match set_agency_key(&state, &viewer.caller, agency, wanted(&form)).await {
        Ok(set) => {
            viewer.flash(&state, done(&set)).await;
            see_other("/account#agency-key")
        }
        Err(e) if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {
            page_error(e)
        }
        Err(e) => match super::account::build(&state, &viewer).await {
            Ok(mut page) => {
                if let Some(k) = page.age_key.as_mut() {
                    k.refused(&e, &typed);
                }
                render_status(e.status, &page)
            }
            Err(e) => page_error(e),
        },
    }
}
