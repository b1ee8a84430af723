//! Signing in: password, then the second factor (TOTP or a recovery code), or the enrolment of
//! an authenticator on the first sign-in. Each step is a session of its own stage; the
//! complete session gets a new id (no fixation). Failures of either step count towards the
//! account's temporary lock.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use custodian_store::{Actor, SessionStage, StoreError, User};
use serde::Deserialize;

use super::{render, render_status, see_other, start_page, Layout, Refusal};
use crate::account::{self, password, recovery_hash, totp};
use crate::error::ApiError;
use crate::session::{self, form_token, CurrentSession, MaybeSession, PostedForm};
use crate::AppState;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    done: Option<String>,
}

/// Fixed notices by name, so a link cannot put words on the page.
fn notice(name: Option<&str>) -> Option<&'static str> {
    match name {
        Some("signed_out") => Some("You are signed out."),
        Some("everywhere") => Some("You are signed out of every session."),
        Some("verified") => {
            Some("Your e-mail address is verified and your account is ready: sign in.")
        }
        _ => None,
    }
}

fn with_cookie(mut r: Response, cookie: Option<axum::http::HeaderValue>) -> Response {
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Query(q): Query<SignInQuery>,
) -> Response {
    if let Some(s) = session.as_ref().filter(|s| s.stage() == SessionStage::Full) {
        return see_other(start_page(s.user.role));
    }
    let (csrf, cookie) = form_token(&headers, &state, &session);
    let page = SignInPage {
        layout: Layout::anonymous("Sign in", &csrf),
        email: String::new(),
        error: None,
        notice: notice(q.done.as_deref()),
    };
    with_cookie(render(&page), cookie)
}

fn locked_message(until: chrono::DateTime<Utc>) -> String {
    format!(
        "Too many failed attempts: this account is locked until {}. Try again then.",
        until.format("%H:%M UTC")
    )
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    form: PostedForm,
) -> Response {
    let email = form.get("email").unwrap_or("").to_ascii_lowercase();
    let pw = form.raw("password").unwrap_or("");
    let (csrf, _) = form_token(&headers, &state, &session);
    let again = |status: StatusCode, error: String| {
        render_status(
            status,
            &SignInPage {
                layout: Layout::anonymous("Sign in", &csrf),
                email: email.clone(),
                error: Some(error),
                notice: None,
            },
        )
    };
    match check_password(&state, &email, pw).await {
        Ok(user) => {
            let stage = match state.store.accounts().totp(user.id).await {
                Ok(Some(t)) if t.confirmed => SessionStage::SecondFactor,
                Ok(_) => SessionStage::Enrol,
                Err(e) => return super::page_error(e.into()),
            };
            // A half-way session from an earlier attempt is replaced.
            if let Some(old) = session.as_ref().filter(|s| s.stage() != SessionStage::Full) {
                let _ = state
                    .store
                    .accounts()
                    .end_session(&Actor::User(old.user.id), &old.record.id_hash)
                    .await;
            }
            match session::issue(&state, &user, stage, &user_agent(&headers)).await {
                Ok(issued) => {
                    let next = match stage {
                        SessionStage::SecondFactor => "/signin/second-factor",
                        _ => "/signin/enrol",
                    };
                    with_cookie(see_other(next), Some(issued.cookie))
                }
                Err(e) => super::page_error(e),
            }
        }
        Err(SignInError::Locked(until)) => {
            again(StatusCode::TOO_MANY_REQUESTS, locked_message(until))
        }
        Err(SignInError::Wrong) => again(
            StatusCode::UNAUTHORIZED,
            "The e-mail address or the password is wrong.".into(),
        ),
        Err(SignInError::Failed(e)) => super::page_error(e),
    }
}

pub enum SignInError {
    Wrong,
    Locked(chrono::DateTime<Utc>),
    Failed(ApiError),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        SignInError::Failed(e.into())
    }
}

/// Counts a failure and says whether it locked the account.
async fn fail(
    state: &AppState,
    key: &str,
    user: Option<uuid::Uuid>,
    stage: &'static str,
) -> SignInError {
    let now = state.clock.now();
    match state
        .store
        .accounts()
        .record_failure(key, user, stage, now, state.config.throttle)
        .await
    {
        Ok(f) => match f.locked_until {
            Some(until) => SignInError::Locked(until),
            None => SignInError::Wrong,
        },
        Err(e) => e.into(),
    }
}

/// The first step: the account's password, unless the account is locked. An unknown address
/// costs as much time and counts as much as a wrong password, so neither tells the other apart.
pub async fn check_password(state: &AppState, email: &str, pw: &str) -> Result<User, SignInError> {
    let key = account::account_key(email);
    if let Some(until) = state
        .store
        .accounts()
        .locked_until(&key, state.clock.now())
        .await?
    {
        return Err(SignInError::Locked(until));
    }
    let user = match state.store.find_user_by_email(email).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user
        .as_ref()
        .filter(|u| u.active)
        .and_then(|u| u.password_hash.clone());
    let ok = match &hash {
        Some(h) => {
            let (pw, h) = (pw.to_string(), h.clone());
            tokio::task::spawn_blocking(move || password::verify(&pw, &h))
                .await
                .unwrap_or(false)
        }
        None => {
            let pw = pw.to_string();
            let _ = tokio::task::spawn_blocking(move || password::waste_time(&pw)).await;
            false
        }
    };
    match (ok, user) {
        (true, Some(u)) => Ok(u),
        (_, u) => Err(fail(state, &key, u.map(|u| u.id), "password").await),
    }
}

/// A half-way session of the given stage, or where to go instead.
fn pending(
    session: Option<CurrentSession>,
    stage: SessionStage,
) -> Result<CurrentSession, Refusal> {
    match session {
        Some(s) if s.stage() == stage => Ok(s),
        Some(s) if s.stage() == SessionStage::Full => {
            Err(Refusal::Continue(start_page(s.user.role)))
        }
        _ => Err(Refusal::SignIn),
    }
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    layout: Layout,
    error: Option<String>,
}

pub async fn second_factor_form(MaybeSession(session): MaybeSession) -> Response {
    match pending(session, SessionStage::SecondFactor) {
        Ok(s) => render(&SecondFactorPage {
            layout: Layout::anonymous("Enter your code", s.csrf()),
            error: None,
        }),
        Err(r) => r.into_response(),
    }
}

/// Replaces the half-way session with a complete one (a new id) and goes to the start page.
async fn complete(
    state: &AppState,
    s: &CurrentSession,
    headers: &HeaderMap,
    next: Option<&str>,
) -> Response {
    let accounts = state.store.accounts();
    let actor = Actor::User(s.user.id);
    if let Err(e) = accounts.end_session(&actor, &s.record.id_hash).await {
        return super::page_error(e.into());
    }
    if let Err(e) = accounts
        .clear_failures(&account::account_key(&s.user.email))
        .await
    {
        return super::page_error(e.into());
    }
    if let Err(e) = crate::verification::record_sign_in(state, &s.user, headers).await {
        return super::page_error(e);
    }
    match session::issue(state, &s.user, SessionStage::Full, &user_agent(headers)).await {
        Ok(issued) => with_cookie(
            see_other(next.unwrap_or(start_page(s.user.role))),
            Some(issued.cookie),
        ),
        Err(e) => super::page_error(e),
    }
}

pub async fn second_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    form: PostedForm,
) -> Response {
    let s = match pending(session, SessionStage::SecondFactor) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let key = account::account_key(&s.user.email);
    let accounts = state.store.accounts();
    let now = state.clock.now();
    let again = |status: StatusCode, error: String| {
        render_status(
            status,
            &SecondFactorPage {
                layout: Layout::anonymous("Enter your code", s.csrf()),
                error: Some(error),
            },
        )
    };
    match accounts.locked_until(&key, now).await {
        Ok(Some(until)) => return again(StatusCode::TOO_MANY_REQUESTS, locked_message(until)),
        Ok(None) => {}
        Err(e) => return super::page_error(e.into()),
    }
    let typed = form.get("code").unwrap_or("");
    let accepted = match accounts.totp(s.user.id).await {
        Ok(Some(t)) if t.confirmed => match totp::matching_step(&t.secret, typed, now) {
            Some(step) => accounts.accept_totp_step(s.user.id, step).await,
            None if typed.len() > 8 => {
                accounts
                    .use_recovery_code(&Actor::User(s.user.id), s.user.id, &recovery_hash(typed))
                    .await
            }
            None => Ok(false),
        },
        Ok(_) => return see_other("/signin/enrol"),
        Err(e) => Err(e),
    };
    match accepted {
        Ok(true) => complete(&state, &s, &headers, None).await,
        Ok(false) => match fail(&state, &key, Some(s.user.id), "second_factor").await {
            SignInError::Locked(until) => {
                // A locked account's half-way session is of no further use.
                let _ = accounts
                    .end_session(&Actor::User(s.user.id), &s.record.id_hash)
                    .await;
                again(StatusCode::TOO_MANY_REQUESTS, locked_message(until))
            }
            SignInError::Wrong => again(
                StatusCode::UNAUTHORIZED,
                "That code is not right (or was used already). Codes change every 30 seconds."
                    .into(),
            ),
            SignInError::Failed(e) => super::page_error(e),
        },
        Err(e) => super::page_error(e.into()),
    }
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    layout: Layout,
    secret: String,
    qr_svg: String,
    error: Option<String>,
}

/// Shows a new secret (each visit starts the enrolment again with a fresh one).
pub async fn enrol_form(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
) -> Response {
    let s = match pending(session, SessionStage::Enrol) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let secret = totp::new_secret();
    if let Err(e) = state
        .store
        .accounts()
        .begin_totp(&Actor::User(s.user.id), s.user.id, &secret)
        .await
    {
        return super::page_error(e.into());
    }
    render(&enrol_page(&s, &secret, None))
}

fn enrol_page(s: &CurrentSession, secret: &[u8], error: Option<String>) -> EnrolPage {
    let uri = totp::otpauth_uri(secret, &s.user.email);
    EnrolPage {
        layout: Layout::anonymous("Set up your authenticator", s.csrf()),
        secret: totp::base32(secret)
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
        error,
    }
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub next: String,
}

pub async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    form: PostedForm,
) -> Response {
    let s = match pending(session, SessionStage::Enrol) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let accounts = state.store.accounts();
    let actor = Actor::User(s.user.id);
    let record = match accounts.totp(s.user.id).await {
        Ok(Some(t)) if !t.confirmed => t,
        Ok(_) => return see_other("/signin/enrol"),
        Err(e) => return super::page_error(e.into()),
    };
    let typed = form.get("code").unwrap_or("");
    let Some(step) = totp::matching_step(&record.secret, typed, state.clock.now()) else {
        let error =
            "That code does not match. Check the app's clock and type the code it shows now.";
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &enrol_page(&s, &record.secret, Some(error.into())),
        );
    };
    let (codes, hashes) = account::recovery_codes();
    if let Err(e) = accounts
        .confirm_totp(&actor, s.user.id, step, &hashes)
        .await
    {
        return super::page_error(e.into());
    }
    // Signed in now; the codes are shown on this response only.
    let done = complete(&state, &s, &headers, None).await;
    let cookie = done.headers().get(header::SET_COOKIE).cloned();
    if done.status() != StatusCode::SEE_OTHER {
        return done;
    }
    let page = RecoveryCodesPage {
        layout: Layout::anonymous("Your recovery codes", ""),
        codes,
        next: start_page(s.user.role).to_string(),
    };
    with_cookie(render(&page), cookie)
}

pub async fn signout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    _form: PostedForm,
) -> Response {
    if let Some(s) = session {
        if let Err(e) = state
            .store
            .accounts()
            .end_session(&Actor::User(s.user.id), &s.record.id_hash)
            .await
        {
            return super::page_error(e.into());
        }
    }
    with_cookie(
        see_other("/signin?done=signed_out"),
        Some(session::clear_cookie(&state)),
    )
}
