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
struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    role: String,
    agency: String,
    codes_left: u64,
    sessions: Vec<SessionRow>,
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let accounts = state.store.accounts();
    let user = &viewer.caller.user;
    let sessions = match accounts.list_sessions(user.id, state.clock.now()).await {
        Ok(s) => s,
        Err(e) => return super::page_error(e.into()),
    };
    let codes_left = match accounts.recovery_codes_left(user.id).await {
        Ok(n) => n,
        Err(e) => return super::page_error(e.into()),
    };
    let page = AccountPage {
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
    };
    render(&page)
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
