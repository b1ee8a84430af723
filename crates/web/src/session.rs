//! Browser sessions and CSRF protection.
//!
//! A session is a row (`web_sessions`) named by the SHA-256 of a random id that lives only in
//! the browser's cookie: HttpOnly, `SameSite=Lax`, `Secure` (and the `__Host-` prefix) when the
//! public URL is https. Lax rather than Strict so that a link in an e-mail ("your request was
//! decided") opens the page signed in; cross-site POSTs still arrive without the cookie, and
//! every unsafe request authenticated by the cookie must also carry the session's CSRF token
//! (a form field `csrf`, or the `X-CSRF-Token` header for htmx and `fetch`).
//!
//! Before sign-in, forms (sign-in, registration) are protected by a double-submit token: a
//! random `custodian_csrf` cookie that the form must repeat.
//!
//! Nothing here lives in process memory, so any server behind a load balancer can answer.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use custodian_store::{SessionRecord, SessionStage, User};

use crate::account::{digest, random_hex};
use crate::error::ApiError;
use crate::AppState;

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Signed out after this long without a request.
    pub idle: Duration,
    /// Signed out this long after signing in, however busy.
    pub absolute: Duration,
    /// How long the half-way states (second factor or enrolment due) last.
    pub pending: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            pending: Duration::minutes(10),
        }
    }
}

/// The header htmx and scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field every form carries the CSRF token in.
pub const CSRF_FIELD: &str = "csrf";

/// The cookie names; `__Host-` binds them to this exact origin when served over https.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-custodian_session"
    } else {
        "custodian_session"
    }
}

pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-custodian_csrf"
    } else {
        "custodian_csrf"
    }
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` header value; `max_age` None makes a browser-session cookie, Some(0) deletes.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A live session found from the request's cookie, with its user.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub record: SessionRecord,
    pub user: User,
}

impl CurrentSession {
    pub fn csrf(&self) -> &str {
        &self.record.csrf
    }

    pub fn stage(&self) -> SessionStage {
        self.record.stage
    }
}

/// Looks up the session the request's cookie names, if it is live, and keeps it alive.
pub async fn current(parts: &Parts, state: &AppState) -> Result<Option<CurrentSession>, ApiError> {
    let secure = state.config.cookie_secure;
    let Some(id) = cookie(&parts.headers, session_cookie_name(secure)) else {
        return Ok(None);
    };
    let accounts = state.store.accounts();
    let Some(record) = accounts.session(&digest(id)).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if !record.is_live(now, state.config.sessions.idle) {
        return Ok(None);
    }
    let user = match state.store.get_user(record.user_id).await {
        Ok(u) if u.active => u,
        Ok(_) | Err(custodian_store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // Idle expiry counts from the last use; one write a minute is enough to keep it.
    if now - record.last_seen_at > Duration::seconds(60) {
        accounts.touch_session(&record.id_hash, now).await?;
    }
    Ok(Some(CurrentSession { record, user }))
}

/// The session, if any, as an extractor (never rejects).
pub struct MaybeSession(pub Option<CurrentSession>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(s) = parts.extensions.get::<CurrentSession>() {
            return Ok(MaybeSession(Some(s.clone())));
        }
        let found = current(parts, state).await?;
        if let Some(s) = &found {
            parts.extensions.insert(s.clone());
        }
        Ok(MaybeSession(found))
    }
}

/// A newly issued session: the cookie to set and the row's values.
pub struct Issued {
    pub cookie: HeaderValue,
    pub csrf: String,
}

/// Starts a session at `stage` for `user` and returns its cookie. A complete sign-in is
/// audited by the store.
pub async fn issue(
    state: &AppState,
    user: &User,
    stage: SessionStage,
    user_agent: &str,
) -> Result<Issued, ApiError> {
    let id = random_hex(32);
    let csrf = random_hex(32);
    let now = state.clock.now();
    let policy = state.config.sessions;
    let expires_at: DateTime<Utc> = match stage {
        SessionStage::Full => now + policy.absolute,
        _ => now + policy.pending,
    };
    state
        .store
        .accounts()
        .create_session(
            &custodian_store::Actor::User(user.id),
            custodian_store::NewSession {
                id_hash: digest(&id),
                user_id: user.id,
                stage,
                csrf: csrf.clone(),
                user_agent: user_agent.chars().take(200).collect(),
                expires_at,
            },
        )
        .await?;
    let secure = state.config.cookie_secure;
    Ok(Issued {
        cookie: set_cookie(session_cookie_name(secure), &id, secure, None),
        csrf,
    })
}

/// The cookie that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = state.config.cookie_secure;
    set_cookie(session_cookie_name(secure), "", secure, Some(0))
}

/// The anonymous double-submit token: the request's, or a new one with the cookie to set.
pub fn anonymous_csrf(headers: &HeaderMap, state: &AppState) -> (String, Option<HeaderValue>) {
    let secure = state.config.cookie_secure;
    match cookie(headers, csrf_cookie_name(secure)) {
        Some(t) if t.len() == 64 => (t.to_string(), None),
        _ => {
            let t = random_hex(32);
            let c = set_cookie(csrf_cookie_name(secure), &t, secure, None);
            (t, Some(c))
        }
    }
}

/// The token a page's forms carry: the live session's (whatever its stage), or else the
/// anonymous double-submit cookie's, with the cookie to set when it is new. It is the token
/// [`PostedForm`] expects from the same browser.
pub fn form_token(
    headers: &HeaderMap,
    state: &AppState,
    session: &Option<CurrentSession>,
) -> (String, Option<HeaderValue>) {
    match session {
        Some(s) => (s.record.csrf.clone(), None),
        None => anonymous_csrf(headers, state),
    }
}

/// A form posted by a browser, its CSRF token already checked: against the session's when the
/// request carries a live session, else against the anonymous double-submit cookie. Fields
/// keep their order and repeats (`target_type`, `target_value`, ...).
#[derive(Debug, Default)]
pub struct PostedForm {
    pub fields: Vec<(String, String)>,
}

impl PostedForm {
    /// The first value of a field, trimmed; None when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of a repeated field, in order, blanks included (rows line up).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value exactly as typed (passwords keep their spaces).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The refusal of a form without a valid CSRF token.
pub fn csrf_refused() -> ApiError {
    ApiError::forbidden(
        "csrf",
        "the form is out of date or did not come from this site; reload the page and try again",
    )
}

/// The token a request must carry: the session's, or the anonymous cookie's.
pub async fn expected_token(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<String>, ApiError> {
    let MaybeSession(session) = MaybeSession::from_request_parts(parts, state).await?;
    Ok(match session {
        Some(s) => Some(s.record.csrf),
        None => {
            cookie(&parts.headers, csrf_cookie_name(state.config.cookie_secure)).map(str::to_string)
        }
    })
}

impl FromRequest<AppState> for PostedForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let expected = expected_token(&mut parts, state)
            .await
            .map_err(|e| crate::ui::page_error(e).into_response())?;
        let req = Request::from_parts(parts, body);
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| {
                crate::ui::page_error(ApiError::bad_request("bad_form", e.body_text()))
                    .into_response()
            })?;
        let form = PostedForm { fields };
        match (expected, form.raw(CSRF_FIELD)) {
            (Some(want), Some(got)) if same_token(&want, got) => Ok(form),
            _ => Err(crate::ui::page_error(csrf_refused()).into_response()),
        }
    }
}
