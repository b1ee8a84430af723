//! The server-rendered pages: askama templates (`crates/web/templates`), plain forms that work
//! without JavaScript, and htmx for the few live parts. docs/web-ui.md says how to add a page.
//!
//! Every page handler takes a [`Viewer`] (signed in, second factor done) or renders for
//! anyone; every form is read with [`crate::session::PostedForm`], which refuses it without
//! the CSRF token. Errors render [`ErrorPage`] with the API's error code, so a missing request
//! and another agency's request give the same page.

mod account;
mod admin;
mod agency_key;
mod billing;
mod custody;
mod emergency;
mod notice_page;
mod orders;
mod outbox;
mod portal;
mod register;
mod request_page;
mod review;
mod signin;
mod verification;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use custodian_core::Role;
use custodian_store::SessionStage;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::session::{CurrentSession, MaybeSession};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin::form).post(signin::submit))
        .route(
            "/signin/second-factor",
            get(signin::second_factor_form).post(signin::second_factor),
        )
        .route("/signin/enrol", get(signin::enrol_form).post(signin::enrol))
        .route("/signout", post(signin::signout))
        .route("/account", get(account::page))
        .route(
            "/account/sign-out-everywhere",
            post(account::sign_out_everywhere),
        )
        .route("/account/recovery-codes", post(account::new_recovery_codes))
        .route("/register", get(register::form).post(register::submit))
        .route(
            "/register/verify",
            get(register::verify_form).post(register::verify),
        )
        .route("/portal", get(portal::home))
        .route("/portal/serve", get(portal::serve_form).post(portal::serve))
        .route("/portal/emergency", get(portal::emergency_form))
        .route("/portal/preview", post(portal::preview))
        .route("/portal/explain", get(portal::explain))
        .route("/portal/requests/{id}", get(request_page::page))
        .route(
            "/portal/requests/{id}/messages",
            post(request_page::message),
        )
        .route(
            "/portal/requests/{id}/withdraw",
            post(request_page::withdraw),
        )
        .route(
            "/portal/requests/{id}/followers",
            post(request_page::add_follower),
        )
        .route(
            "/portal/requests/{id}/followers/{user_id}/remove",
            post(request_page::remove_follower),
        )
        .route("/notice/{token}", get(notice_page::page))
        .merge(review::routes())
        .merge(custody::routes())
        .merge(verification::routes())
        .merge(orders::routes())
        .merge(billing::routes())
        .merge(admin::routes())
        .merge(emergency::routes())
        .merge(outbox::routes())
        .merge(agency_key::routes())
}

/// Where a signed-in user starts: the portal for agency staff, the review queue for the
/// provider's staff.
pub fn start_page(role: Role) -> &'static str {
    if role.is_agency_side() {
        "/portal"
    } else {
        "/review"
    }
}

async fn home(MaybeSession(session): MaybeSession) -> Redirect {
    match session {
        Some(s) if s.stage() == SessionStage::Full => Redirect::to(start_page(s.user.role)),
        _ => Redirect::to("/signin"),
    }
}

/// One link of the navigation bar.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    pub class: &'static str,
}

/// The links a role sees, in order. Add a page's link here, once, for the roles that use it.
pub fn nav_for(role: Role, current: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str, &'static str)> = Vec::new();
    if role.is_agency_side() {
        items.push(("/portal", "My requests", ""));
        items.push(("/portal/serve", "Serve legal process", ""));
        items.push(("/portal/emergency", "Emergency", "emergency"));
    }
    if role.sees_all_requests() {
        items.push(("/review", "Review queue", ""));
        items.push(("/review/holds", "Legal holds", ""));
    }
    if matches!(role, Role::Admin | Role::Auditor) {
        items.push(("/admin", "Administration", ""));
    }
    items.push(("/account", "Account", ""));
    items
        .into_iter()
        .map(|(href, label, class)| NavItem {
            href,
            label,
            current: current == href,
            class,
        })
        .collect()
}

pub struct LayoutUser {
    pub name: String,
    pub role: String,
    pub agency: String,
}

/// What the base template needs on every page.
pub struct Layout {
    pub title: String,
    pub user: Option<LayoutUser>,
    pub nav: Vec<NavItem>,
    /// The token forms repeat: the session's, or the anonymous double-submit cookie's.
    pub csrf: String,
    pub flash: Option<String>,
    pub css: String,
    pub htmx: String,
    pub narrow: bool,
}

impl Layout {
    /// A page for someone not signed in (or half-way through signing in).
    pub fn anonymous(title: &str, csrf: &str) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            nav: Vec::new(),
            csrf: csrf.to_string(),
            flash: None,
            css: crate::static_files::url("custodian.css"),
            htmx: crate::static_files::url("htmx.min.js"),
            narrow: true,
        }
    }

    pub fn wide(mut self) -> Layout {
        self.narrow = false;
        self
    }
}

/// A signed-in user with the second factor done: the page counterpart of [`Caller`]. Taking
/// it also takes the session's flash message, which the page then shows once.
pub struct Viewer {
    pub caller: Caller,
    pub session: CurrentSession,
    pub agency_name: String,
    flash: Option<String>,
}

impl Viewer {
    pub fn csrf(&self) -> &str {
        self.session.csrf()
    }

    /// The layout for a page at `path`.
    pub fn layout(&self, title: &str, path: &str) -> Layout {
        let user = &self.caller.user;
        Layout {
            title: title.to_string(),
            user: Some(LayoutUser {
                name: user.name.clone(),
                role: user.role.as_str().replace('_', " "),
                agency: self.agency_name.clone(),
            }),
            nav: nav_for(user.role, path),
            csrf: self.csrf().to_string(),
            flash: self.flash.clone(),
            css: crate::static_files::url("custodian.css"),
            htmx: crate::static_files::url("htmx.min.js"),
            narrow: false,
        }
    }

    /// Leaves a message for the next page (after a redirect).
    pub async fn flash(&self, state: &AppState, message: &str) {
        if let Err(e) = state
            .store
            .accounts()
            .set_flash(&self.session.record.id_hash, Some(message))
            .await
        {
            tracing::warn!(error = %e, "could not keep a flash message");
        }
    }
}

/// Why a page could not be shown to this visitor.
pub enum Refusal {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    /// Half-way through signing in: finish it.
    Continue(&'static str),
    Error(ApiError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignIn => Redirect::to("/signin").into_response(),
            Refusal::Continue(path) => Redirect::to(path).into_response(),
            Refusal::Error(e) => page_error(e).into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let MaybeSession(session) = MaybeSession::from_request_parts(parts, state)
            .await
            .map_err(Refusal::Error)?;
        let session = session.ok_or(Refusal::SignIn)?;
        match session.stage() {
            SessionStage::Full => {}
            SessionStage::SecondFactor => return Err(Refusal::Continue("/signin/second-factor")),
            SessionStage::Enrol => return Err(Refusal::Continue("/signin/enrol")),
        }
        let mut caller = Caller::of_user(state, session.user.clone())
            .await
            .map_err(Refusal::Error)?;
        caller.address = crate::verification::address_of(parts);
        let agency_name = match caller.user.agency_id {
            Some(a) => state
                .store
                .get_agency(a)
                .await
                .map(|a| a.name)
                .unwrap_or_default(),
            None => "provider".to_string(),
        };
        let flash = session.record.flash.clone();
        if flash.is_some() {
            state
                .store
                .accounts()
                .set_flash(&session.record.id_hash, None)
                .await
                .map_err(|e| Refusal::Error(e.into()))?;
        }
        Ok(Viewer {
            caller,
            session,
            agency_name,
            flash,
        })
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: String,
    pub code: &'static str,
    pub status: u16,
}

/// The page for an API error: the same code and status, in words for a person.
pub fn page_error(e: ApiError) -> Response {
    let heading = match e.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Please sign in",
        StatusCode::CONFLICT => "That cannot be done now",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        s if s.is_client_error() => "Please check what you sent",
        _ => "Something went wrong",
    };
    let message = if e.status == StatusCode::NOT_FOUND {
        // One sentence for every missing thing: a foreign request must look like a missing one.
        "There is nothing here, or you may not see it.".to_string()
    } else {
        e.message.clone()
    };
    let page = ErrorPage {
        layout: Layout::anonymous(heading, ""),
        heading,
        message,
        code: e.code,
        status: e.status.as_u16(),
    };
    let mut response = render(&page);
    *response.status_mut() = e.status;
    response
}

/// Renders a template as an HTML response (a 500 page if the template fails).
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => {
            let mut r = Html(html).into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                     script-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; \
                     frame-ancestors 'none'; form-action 'self'",
                ),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong on our side."),
            )
                .into_response()
        }
    }
}

/// Renders a page with a status other than 200 (a form shown again with its errors).
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    let mut r = render(t);
    *r.status_mut() = status;
    r
}

/// A redirect after a successful form (303: the browser follows with GET).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// The field an API error names ("targets[0].value: ..." -> "targets[0].value"), so a form can
/// mark the input at fault.
pub fn field_of(message: &str) -> Option<String> {
    let (head, _) = message.split_once(": ")?;
    (!head.contains(' ')).then(|| head.to_string())
}

/// Plain words for a request's state.
pub fn status_words(s: custodian_core::RequestStatus) -> &'static str {
    use custodian_core::RequestStatus::*;
    match s {
        Received => "Received",
        InReview => "In review",
        ClarificationRequested => "Question for you",
        Decided => "Decided",
        Producing => "Being produced",
        Delivered => "Delivered",
        Closed => "Closed",
        Withdrawn => "Withdrawn",
        Rejected => "Rejected",
        Redirected => "Redirected (MLAT)",
    }
}

/// The badge class of a state: open, finished, or stopped.
pub fn status_class(s: custodian_core::RequestStatus) -> &'static str {
    use custodian_core::RequestStatus::*;
    match s {
        Received | InReview | ClarificationRequested | Decided | Producing => "open",
        Delivered | Closed => "done",
        Withdrawn | Rejected | Redirected => "stopped",
    }
}

/// A time as people read it, in UTC.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
