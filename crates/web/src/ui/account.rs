//! `/account`: who you are, your second factor, and where you are signed in, with "sign out of
//! all sessions" and new recovery codes.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use custodian_store::Actor;

use super::signin::RecoveryCodesPage;
use super::{render, see_other, when, Layout, Viewer};
use crate::account;
use crate::session::{self, PostedForm};
use crate::AppState;

struct SessionRow {
    created: String,
    last_seen: String,
    browser: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub(super) struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    role: String,
    agency: String,
    codes_left: u64,
    sessions: Vec<SessionRow>,
    /// Agency staff: their agency's age key, which its supervisor sets (`ui::agency_key`).
    pub(super) age_key: Option<super::agency_key::KeyFacts>,
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    match build(&state, &viewer).await {
        Ok(page) => render(&page),
        Err(e) => super::page_error(e),
    }
}

pub(super) async fn build(
    state: &AppState,
    viewer: &Viewer,
) -> Result<AccountPage, crate::error::ApiError> {
    let accounts = state.store.accounts();
    let user = &viewer.caller.user;
    let sessions = accounts.list_sessions(user.id, state.clock.now()).await?;
    let codes_left = accounts.recovery_codes_left(user.id).await?;
    let age_key = match user.agency_id.filter(|_| viewer.caller.is_agency()) {
        Some(a) => Some(
            super::agency_key::KeyFacts::of(state, viewer, a, "/account/agency-key".into()).await?,
        ),
        None => None,
    };
    Ok(AccountPage {
        layout: viewer.layout("Your account", "/account"),
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role.as_str().replace('_', " "),
        agency: viewer.agency_name.clone(),
        codes_left,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                created: when(s.created_at),
                last_seen: when(s.last_seen_at),
                browser: s.user_agent.chars().take(80).collect(),
                current: s.id_hash == viewer.session.record.id_hash,
            })
            .collect(),
        age_key,
    })
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    viewer: Viewer,
    _form: PostedForm,
) -> Response {
    let user = &viewer.caller.user;
    if let Err(e) = state
        .store
        .accounts()
        .end_all_sessions(&Actor::User(user.id), user.id)
        .await
    {
        return super::page_error(e.into());
    }
    let mut r = see_other("/signin?done=everywhere");
    r.headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&state));
    r
}

pub async fn new_recovery_codes(
    State(state): State<AppState>,
    viewer: Viewer,
    _form: PostedForm,
) -> Response {
    let user = &viewer.caller.user;
    let (codes, hashes) = account::recovery_codes();
    if let Err(e) = state
        .store
        .accounts()
        .replace_recovery_codes(&Actor::User(user.id), user.id, &hashes)
        .await
    {
        return super::page_error(e.into());
    }
    render(&RecoveryCodesPage {
        layout: viewer.layout("Your recovery codes", "/account"),
        codes,
        next: "/account".into(),
    })
}
