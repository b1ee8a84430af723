//! `/register`: an officer registers with a government e-mail address; `/register/verify`
//! follows the link from the mail. The link's page asks for a press of a button, so that mail
//! scanners that open links do not use up the single-use token.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use custodian_core::AgencyKind;
use custodian_store::RegistrationStatus;
use serde::Deserialize;

use super::{field_of, render, render_status, Layout};
use crate::api::accounts::{register, verify_token, AgencyClaimInput, RegistrationInput};
use crate::session::{form_token, MaybeSession, PostedForm};
use crate::AppState;

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    error: Option<String>,
    field: String,
    email: String,
    name: String,
    agency_name: String,
    agency_country: String,
    agency_kind: String,
    agency_phone: String,
    kinds: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
}

fn kinds() -> Vec<(&'static str, String)> {
    AgencyKind::ALL
        .iter()
        .map(|k| {
            let label = k.as_str().replace('_', " ");
            let mut c = label.chars();
            let label = match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => label,
            };
            (k.as_str(), label)
        })
        .collect()
}

fn blank(csrf: &str) -> RegisterPage {
    RegisterPage {
        layout: Layout::anonymous("Register", csrf),
        error: None,
        field: String::new(),
        email: String::new(),
        name: String::new(),
        agency_name: String::new(),
        agency_country: String::new(),
        agency_kind: "local_police".into(),
        agency_phone: String::new(),
        kinds: kinds(),
    }
}

fn with_cookie(mut r: Response, c: Option<axum::http::HeaderValue>) -> Response {
    if let Some(c) = c {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
) -> Response {
    let (csrf, cookie) = form_token(&headers, &state, &session);
    with_cookie(render(&blank(&csrf)), cookie)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    form: PostedForm,
) -> Response {
    let (csrf, _) = form_token(&headers, &state, &session);
    let get = |k: &str| form.get(k).unwrap_or("").to_string();
    let agency = form.get("agency_name").map(|name| AgencyClaimInput {
        name: name.to_string(),
        country: get("agency_country"),
        kind: get("agency_kind"),
        phone: form.get("agency_phone").map(str::to_string),
    });
    let input = RegistrationInput {
        email: get("email"),
        name: get("name"),
        password: form.raw("password").unwrap_or("").to_string(),
        agency,
    };
    match register(&state, input).await {
        Ok(r) => render_status(
            StatusCode::ACCEPTED,
            &MessagePage {
                layout: Layout::anonymous("Check your e-mail", &csrf),
                heading: "Check your e-mail".into(),
                paragraphs: vec![
                    format!(
                        "We sent a link to {}. Open it within {} hours to verify the address.",
                        r.email,
                        state.config.verification_ttl.num_hours()
                    ),
                    if r.agency_id.is_some() {
                        "Your agency is known to the provider: your account is ready as soon as the address is verified.".into()
                    } else {
                        "Your agency is not yet known to the provider: after you verify the address, the provider's admin checks the agency with an independent source and approves the account.".into()
                    },
                ],
                link: None,
            },
        ),
        Err(e) => {
            let mut page = blank(&csrf);
            page.field = field_of(&e.message).unwrap_or_default();
            page.error = Some(e.message.clone());
            page.email = get("email");
            page.name = get("name");
            page.agency_name = get("agency_name");
            page.agency_country = get("agency_country");
            page.agency_kind = form
                .get("agency_kind")
                .unwrap_or("local_police")
                .to_string();
            page.agency_phone = get("agency_phone");
            render_status(e.status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    token: String,
}

pub async fn verify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let (csrf, cookie) = form_token(&headers, &state, &session);
    let token: String = q
        .token
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(64)
        .collect();
    with_cookie(
        render(&VerifyPage {
            layout: Layout::anonymous("Verify your e-mail address", &csrf),
            token,
        }),
        cookie,
    )
}

pub async fn verify(State(state): State<AppState>, form: PostedForm) -> Response {
    match verify_token(&state, form.get("token").unwrap_or("")).await {
        Ok(r) if r.status == RegistrationStatus::Approved => super::see_other("/signin?done=verified"),
        Ok(_) => render(&MessagePage {
            layout: Layout::anonymous("Address verified", ""),
            heading: "Address verified".into(),
            paragraphs: vec![
                "Thank you: your e-mail address is verified.".into(),
                "The provider's admin now checks your agency with an independent source. You can sign in once the account is approved.".into(),
            ],
            link: None,
        }),
        Err(e) => super::page_error(e),
    }
}
