//! The admin pages: `/admin/agencies` (register, verify, suspend, the directory phone number,
//! verified e-mail domains), `/admin/users` (staff accounts, roles, deactivation),
//! `/admin/calendars` (the holidays deadlines skip) and `/admin/policy` (the profile every
//! server applies). Admins act; auditors read the same pages without the forms.
//!
//! Every form calls the function its `/api/v1/admin/...` endpoint calls (`api::admin`), so the
//! checks, the stored change and its audit entry are the same either way.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use custodian_core::policy::PolicyProfile;
use custodian_core::{AgencyKind, AgencyStatus, Role};
use uuid::Uuid;

use super::{field_of, page_error, render, render_status, see_other, when, Layout, Viewer};
use crate::api::accounts::decide_registration;
use crate::api::admin::{
    available_profiles, calendar_code, calendar_view, calendars_of, change_domain, choose_policy,
    create_staff, edit_user_by, holiday_added, holiday_removed, new_calendar, policy_in_force,
    register_agency, set_agency_phone, set_agency_status, year_of, CalendarView, NewAgencyInput,
    NewCalendarInput, NewStaffInput, UserEdit, YearQuery, ADMINS, ADMIN_READERS,
};
use crate::error::ApiError;
use crate::session::PostedForm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { see_other("/admin/agencies") }))
        .route("/admin/agencies", get(agencies).post(create_agency))
        .route("/admin/agencies/{id}", get(agency))
        .route("/admin/agencies/{id}/verify", post(verify))
        .route("/admin/agencies/{id}/suspend", post(suspend))
        .route("/admin/agencies/{id}/phone", post(phone))
        .route("/admin/agencies/{id}/domains", post(add_domain))
        .route("/admin/agencies/{id}/domains/remove", post(remove_domain))
        .route(
            "/admin/registrations/{id}/approve",
            post(approve_registration),
        )
        .route(
            "/admin/registrations/{id}/refuse",
            post(refuse_registration),
        )
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}/role", post(user_role))
        .route("/admin/users/{id}/active", post(user_active))
        .route("/admin/calendars", get(calendars).post(create_calendar))
        .route("/admin/calendars/{code}", get(calendar))
        .route("/admin/calendars/{code}/holidays", post(add_holiday))
        .route(
            "/admin/calendars/{code}/holidays/remove",
            post(remove_holiday),
        )
        .route("/admin/policy", get(policy).post(switch_policy))
}

/// The tabs of the admin pages.
pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

fn tabs(current: &str, admin: bool) -> Vec<Tab> {
    let mut pages = vec![
        ("/admin/agencies", "Agencies"),
        ("/admin/users", "Users and roles"),
        ("/admin/calendars", "Holiday calendars"),
        ("/admin/policy", "Policy profile"),
        ("/admin/on-call", "On-call and paging"),
        ("/admin/fees", "Fees"),
        ("/admin/invoices", "Invoices"),
    ];
    // The outbox holds addresses and notice texts: admins only, as in the API (`ui::outbox`).
    if admin {
        pages.extend([
            ("/admin/outbox", "Mail outbox"),
            ("/admin/jobs", "Background jobs"),
        ]);
    }
    pages
        .into_iter()
        .map(|(href, label)| Tab {
            href,
            label,
            current: href == current,
        })
        .collect()
}

/// What every admin page shows around its content.
pub struct Frame {
    pub tabs: Vec<Tab>,
    /// Admins see the forms; auditors read.
    pub can_edit: bool,
    pub error: Option<String>,
    pub field: String,
}

pub(super) fn frame(
    viewer: &Viewer,
    current: &str,
    error: Option<&ApiError>,
) -> Result<Frame, ApiError> {
    viewer
        .caller
        .require_role(ADMIN_READERS, "the admin pages")?;
    let can_edit = viewer.caller.require_role(ADMINS, "").is_ok();
    Ok(Frame {
        tabs: tabs(current, can_edit),
        can_edit,
        error: error.map(|e| e.message.clone()),
        field: error.and_then(|e| field_of(&e.message)).unwrap_or_default(),
    })
}

/// Renders a built page, with the error's status if it shows one.
pub(super) fn finish<T: Template>(
    built: Result<T, ApiError>,
    error: Option<&ApiError>,
) -> Response {
    match built {
        Ok(page) => match error {
            Some(e) => render_status(e.status, &page),
            None => render(&page),
        },
        Err(e) => page_error(e),
    }
}

fn status_badge(s: AgencyStatus) -> (&'static str, &'static str) {
    match s {
        AgencyStatus::Verified => ("Verified", "done"),
        AgencyStatus::Pending => ("Not verified yet", "open"),
        AgencyStatus::Suspended => ("Suspended", "stopped"),
    }
}

// --- agencies ----------------------------------------------------------------------------

pub struct AgencyRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub kind: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub domains: String,
    pub phone: String,
    pub people: usize,
}

/// The agency form's values as typed, to show again after an error.
#[derive(Default)]
pub struct AgencyForm {
    pub name: String,
    pub country: String,
    pub kind: String,
    pub domain: String,
    pub phone: String,
    pub verified: bool,
}

/// A registration from an agency the provider does not know yet, or a flagged lookalike.
pub struct RegistrationRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub claimed: String,
    pub when: String,
    pub lookalike_of: String,
}

#[derive(Template)]
#[template(path = "admin_agencies.html")]
struct AgenciesPage {
    layout: Layout,
    frame: Frame,
    rows: Vec<AgencyRow>,
    waiting: Vec<RegistrationRow>,
    flagged: Vec<RegistrationRow>,
    agency_choices: Vec<(String, String)>,
    kinds: Vec<(&'static str, String, bool)>,
    form: AgencyForm,
}

async fn build_agencies(
    state: &AppState,
    viewer: &Viewer,
    error: Option<&ApiError>,
    form: AgencyForm,
) -> Result<AgenciesPage, ApiError> {
    let frame = frame(viewer, "/admin/agencies", error)?;
    let users = state.store.list_users().await?;
    let mut people: HashMap<Uuid, usize> = HashMap::new();
    for u in &users {
        if let Some(a) = u.agency_id {
            *people.entry(a).or_default() += 1;
        }
    }
    let rows = state
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| {
            let (status, status_class) = status_badge(a.status);
            AgencyRow {
                id: a.id.to_string(),
                country: a.country.code().to_string(),
                kind: a.kind.as_str().replace('_', " "),
                status,
                status_class,
                domains: a.domains.join(", "),
                phone: a.phone.unwrap_or_default(),
                people: people.get(&a.id).copied().unwrap_or(0),
                name: a.name,
            }
        })
        .collect();
    let kinds = AgencyKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str(),
                k.as_str().replace('_', " "),
                form.kind == k.as_str(),
            )
        })
        .collect();
    let registrations = state.store.accounts().list_registrations(None).await?;
    let row = |r: &custodian_store::RegistrationRecord| RegistrationRow {
        id: r.id.to_string(),
        name: r.name.clone(),
        email: r.email.clone(),
        claimed: r
            .claimed
            .as_ref()
            .map(|c| {
                format!(
                    "{} ({}, {}{})",
                    c.name,
                    c.country.code(),
                    c.kind.as_str().replace('_', " "),
                    c.phone
                        .as_deref()
                        .map(|p| format!(", phone given {p}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        when: when(r.created_at),
        lookalike_of: r.lookalike_of.clone().unwrap_or_default(),
    };
    let waiting = registrations
        .iter()
        .filter(|r| r.status == custodian_store::RegistrationStatus::AwaitingApproval)
        .map(row)
        .collect();
    let flagged = registrations
        .iter()
        .filter(|r| r.status == custodian_store::RegistrationStatus::Lookalike)
        .map(row)
        .collect();
    let agency_choices = state
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id.to_string(), a.name))
        .collect();
    Ok(AgenciesPage {
        layout: viewer.layout("Agencies", "/admin"),
        frame,
        rows,
        waiting,
        flagged,
        agency_choices,
        kinds,
        form,
    })
}

pub async fn agencies(State(state): State<AppState>, viewer: Viewer) -> Response {
    finish(
        build_agencies(&state, &viewer, None, AgencyForm::default()).await,
        None,
    )
}

pub async fn create_agency(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    let typed = AgencyForm {
        name: form.get("name").unwrap_or("").to_string(),
        country: form.get("country").unwrap_or("").to_string(),
        kind: form.get("kind").unwrap_or("").to_string(),
        domain: form.get("domain").unwrap_or("").to_string(),
        phone: form.get("phone").unwrap_or("").to_string(),
        verified: form.checked("verified"),
    };
    let input = NewAgencyInput {
        name: typed.name.clone(),
        country: typed.country.clone(),
        kind: typed.kind.clone(),
        domains: vec![typed.domain.clone()],
        phone: Some(typed.phone.clone()),
        verified: typed.verified,
    };
    match register_agency(&state, &viewer.caller, input).await {
        Ok(a) => {
            viewer
                .flash(&state, &format!("{} is registered.", a.name))
                .await;
            see_other(&format!("/admin/agencies/{}", a.id))
        }
        Err(e) => finish(
            build_agencies(&state, &viewer, Some(&e), typed).await,
            Some(&e),
        ),
    }
}

async fn registration_decided(
    state: AppState,
    viewer: Viewer,
    id: String,
    approve: Option<Option<Uuid>>,
) -> Response {
    let result: Result<String, ApiError> = async {
        let id = Uuid::parse_str(&id).map_err(|_| {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such registration")
        })?;
        let r = decide_registration(&state, &viewer.caller, id, approve).await?;
        Ok(if approve.is_some() {
            format!("{} ({}) can now sign in as an officer.", r.name, r.email)
        } else {
            format!("The registration of {} is refused.", r.email)
        })
    }
    .await;
    match result {
        Ok(done) => {
            viewer.flash(&state, &done).await;
            see_other("/admin/agencies")
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => page_error(e),
        Err(e) => finish(
            build_agencies(&state, &viewer, Some(&e), AgencyForm::default()).await,
            Some(&e),
        ),
    }
}

pub async fn approve_registration(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    // Join an existing agency, or (none chosen) create the agency the officer claimed.
    let agency = match form.get("agency").map(Uuid::parse_str) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return page_error(ApiError::not_found()),
    };
    registration_decided(state, viewer, id, Some(agency)).await
}

pub async fn refuse_registration(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    registration_decided(state, viewer, id, None).await
}

pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    /// Suspended by an admin (`ui::verification`): cannot serve process.
    pub suspended: bool,
}

#[derive(Template)]
#[template(path = "admin_agency.html")]
pub(super) struct AgencyPage {
    layout: Layout,
    frame: Frame,
    id: String,
    name: String,
    country: String,
    kind: String,
    status: &'static str,
    status_class: &'static str,
    verified: bool,
    suspended: bool,
    phone: String,
    domains: Vec<String>,
    people: Vec<PersonRow>,
    created: String,
    typed_domain: String,
    /// The agency's age key for productions (`ui::agency_key`).
    pub(super) age_key: super::agency_key::KeyFacts,
    /// The independent source and directory number (`ui::verification`).
    pub(super) directory: super::verification::DirectoryFacts,
}

async fn build_agency(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    error: Option<&ApiError>,
    typed: (Option<String>, String),
) -> Result<AgencyPage, ApiError> {
    let frame = frame(viewer, "/admin/agencies", error)?;
    let a = state.store.get_agency(id).await.map_err(|e| match e {
        custodian_store::StoreError::NotFound => ApiError::not_found(),
        other => other.into(),
    })?;
    let mut people = Vec::new();
    for u in state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.agency_id == Some(a.id))
    {
        let suspended = state
            .store
            .verification()
            .officer_suspension(u.id)
            .await?
            .is_some();
        people.push(PersonRow {
            id: u.id.to_string(),
            name: u.name,
            email: u.email,
            role: u.role.as_str().replace('_', " "),
            active: u.active,
            suspended,
        });
    }
    let directory = super::verification::DirectoryFacts::of(state, a.id).await?;
    let (status, status_class) = status_badge(a.status);
    let age_key = super::agency_key::KeyFacts::of(
        state,
        viewer,
        a.id,
        format!("/admin/agencies/{}/age-recipient", a.id),
    )
    .await?;
    Ok(AgencyPage {
        age_key,
        directory,
        layout: viewer.layout(&a.name, "/admin"),
        frame,
        id: a.id.to_string(),
        country: format!("{} ({})", a.country.name(), a.country.code()),
        kind: a.kind.as_str().replace('_', " "),
        status,
        status_class,
        verified: a.status == AgencyStatus::Verified,
        suspended: a.status == AgencyStatus::Suspended,
        phone: typed
            .0
            .unwrap_or_else(|| a.phone.clone().unwrap_or_default()),
        domains: a.domains,
        people,
        created: when(a.created_at),
        typed_domain: typed.1,
        name: a.name,
    })
}

/// The agency's page showing a refused form's error (`ui::agency_key`).
pub(super) async fn agency_page(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    error: &ApiError,
) -> Result<AgencyPage, ApiError> {
    build_agency(state, viewer, id, Some(error), (None, String::new())).await
}

pub async fn agency(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return page_error(ApiError::not_found());
    };
    finish(
        build_agency(&state, &viewer, id, None, (None, String::new())).await,
        None,
    )
}

async fn agency_form(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    result: impl std::future::Future<Output = Result<String, ApiError>>,
    typed: (Option<String>, String),
) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return page_error(ApiError::not_found());
    };
    let to = format!("/admin/agencies/{id}");
    match result.await {
        Ok(done) => {
            viewer.flash(state, &done).await;
            see_other(&to)
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => page_error(e),
        Err(e) => finish(
            build_agency(state, viewer, id, Some(&e), typed).await,
            Some(&e),
        ),
    }
}

fn agency_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    let result = async {
        let a = set_agency_status(
            &state,
            &viewer.caller,
            agency_id(&id)?,
            AgencyStatus::Verified,
        )
        .await?;
        Ok(format!(
            "{} is verified: its officers may serve process.",
            a.name
        ))
    };
    agency_form(&state, &viewer, &id, result, (None, String::new())).await
}

pub async fn suspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    _form: PostedForm,
) -> Response {
    let result = async {
        let a = set_agency_status(
            &state,
            &viewer.caller,
            agency_id(&id)?,
            AgencyStatus::Suspended,
        )
        .await?;
        Ok(format!(
            "{} is suspended: its officers can no longer serve process.",
            a.name
        ))
    };
    agency_form(&state, &viewer, &id, result, (None, String::new())).await
}

pub async fn phone(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let typed = form.get("phone").unwrap_or("").to_string();
    let result = async {
        let a = set_agency_phone(&state, &viewer.caller, agency_id(&id)?, Some(&typed)).await?;
        Ok(match a.phone {
            Some(p) => format!("Call-backs to {} now dial {p}.", a.name),
            None => format!("{} has no directory phone number now.", a.name),
        })
    };
    let shown = typed.clone();
    agency_form(&state, &viewer, &id, result, (Some(shown), String::new())).await
}

pub async fn add_domain(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let domain = form.get("domain").unwrap_or("").to_string();
    let result = async {
        change_domain(&state, &viewer.caller, agency_id(&id)?, &domain, true).await?;
        Ok(format!(
            "{} is now a verified domain of the agency.",
            domain.trim().to_ascii_lowercase()
        ))
    };
    agency_form(&state, &viewer, &id, result, (None, domain.clone())).await
}

pub async fn remove_domain(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let domain = form.get("domain").unwrap_or("").to_string();
    let result = async {
        change_domain(&state, &viewer.caller, agency_id(&id)?, &domain, false).await?;
        Ok(format!(
            "{domain} is no longer one of the agency's domains."
        ))
    };
    agency_form(&state, &viewer, &id, result, (None, String::new())).await
}

// --- users -------------------------------------------------------------------------------

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub agency: String,
    pub active: bool,
    pub yourself: bool,
    /// The roles this account may be given (its own side): value, words, current.
    pub roles: Vec<(&'static str, String, bool)>,
}

#[derive(Default)]
pub struct StaffForm {
    pub email: String,
    pub name: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    frame: Frame,
    staff: Vec<UserRow>,
    agency_people: Vec<UserRow>,
    staff_roles: Vec<(&'static str, bool)>,
    form: StaffForm,
}

async fn build_users(
    state: &AppState,
    viewer: &Viewer,
    error: Option<&ApiError>,
    form: StaffForm,
) -> Result<UsersPage, ApiError> {
    let frame = frame(viewer, "/admin/users", error)?;
    let agencies: HashMap<Uuid, String> = state
        .store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let (mut staff, mut agency_people) = (Vec::new(), Vec::new());
    for u in state.store.list_users().await? {
        let side = u.role.is_agency_side();
        let roles = Role::ALL
            .iter()
            .filter(|r| r.is_agency_side() == side)
            .map(|r| (r.as_str(), r.as_str().replace('_', " "), *r == u.role))
            .collect();
        let row = UserRow {
            id: u.id.to_string(),
            role: u.role.as_str().replace('_', " "),
            agency: u
                .agency_id
                .and_then(|a| agencies.get(&a).cloned())
                .unwrap_or_default(),
            active: u.active,
            yourself: u.id == viewer.caller.user.id,
            roles,
            name: u.name,
            email: u.email,
        };
        if side {
            agency_people.push(row);
        } else {
            staff.push(row);
        }
    }
    let staff_roles = Role::ALL
        .iter()
        .filter(|r| !r.is_agency_side())
        .map(|r| (r.as_str(), form.role == r.as_str()))
        .collect();
    Ok(UsersPage {
        layout: viewer.layout("Users and roles", "/admin"),
        frame,
        staff,
        agency_people,
        staff_roles,
        form,
    })
}

pub async fn users(State(state): State<AppState>, viewer: Viewer) -> Response {
    finish(
        build_users(&state, &viewer, None, StaffForm::default()).await,
        None,
    )
}

pub async fn create_user(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    let typed = StaffForm {
        email: form.get("email").unwrap_or("").to_string(),
        name: form.get("name").unwrap_or("").to_string(),
        role: form.get("role").unwrap_or("").to_string(),
    };
    let input = NewStaffInput {
        email: typed.email.clone(),
        name: typed.name.clone(),
        role: typed.role.clone(),
        password: form.raw("password").unwrap_or("").to_string(),
    };
    match create_staff(&state, &viewer.caller, input).await {
        Ok(u) => {
            viewer
                .flash(
                    &state,
                    &format!(
                        "{} ({}) can sign in now; the second factor is set up at the first sign-in.",
                        u.name,
                        u.role.as_str()
                    ),
                )
                .await;
            see_other("/admin/users")
        }
        Err(e) => finish(
            build_users(&state, &viewer, Some(&e), typed).await,
            Some(&e),
        ),
    }
}

async fn user_change(state: AppState, viewer: Viewer, id: String, edit: UserEdit) -> Response {
    let result: Result<String, ApiError> = async {
        let id = Uuid::parse_str(&id)
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such user"))?;
        let u = edit_user_by(&state, &viewer.caller, id, edit).await?;
        Ok(if u.active {
            format!(
                "{} is now {} (active).",
                u.name,
                u.role.as_str().replace('_', " ")
            )
        } else {
            format!("{} is deactivated and signed out everywhere.", u.name)
        })
    }
    .await;
    match result {
        Ok(done) => {
            viewer.flash(&state, &done).await;
            see_other("/admin/users")
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => page_error(e),
        Err(e) => finish(
            build_users(&state, &viewer, Some(&e), StaffForm::default()).await,
            Some(&e),
        ),
    }
}

pub async fn user_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let edit = UserEdit {
        role: Some(form.get("role").unwrap_or("").to_string()),
        active: None,
    };
    user_change(state, viewer, id, edit).await
}

pub async fn user_active(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: PostedForm,
) -> Response {
    let edit = UserEdit {
        role: None,
        active: Some(form.get("active") == Some("true")),
    };
    user_change(state, viewer, id, edit).await
}

// --- holiday calendars -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_calendars.html")]
struct CalendarsPage {
    layout: Layout,
    frame: Frame,
    year: i32,
    calendars: Vec<CalendarView>,
    typed_code: String,
    typed_name: String,
    typed_base: String,
}

async fn build_calendars(
    state: &AppState,
    viewer: &Viewer,
    year: i32,
    error: Option<&ApiError>,
    typed: (String, String, String),
) -> Result<CalendarsPage, ApiError> {
    let frame = frame(viewer, "/admin/calendars", error)?;
    Ok(CalendarsPage {
        layout: viewer.layout("Holiday calendars", "/admin"),
        frame,
        year,
        calendars: calendars_of(state, &viewer.caller, year).await?,
        typed_code: typed.0,
        typed_name: typed.1,
        typed_base: typed.2,
    })
}

fn year_from(
    state: &AppState,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<i32, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    year_of(state, &q)
}

pub async fn calendars(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let year = match year_from(&state, query) {
        Ok(y) => y,
        Err(e) => return page_error(e),
    };
    finish(
        build_calendars(&state, &viewer, year, None, Default::default()).await,
        None,
    )
}

pub async fn create_calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    let typed = (
        form.get("code").unwrap_or("").to_string(),
        form.get("name").unwrap_or("").to_string(),
        form.get("base").unwrap_or("").to_string(),
    );
    let input = NewCalendarInput {
        code: typed.0.clone(),
        name: Some(typed.1.clone()),
        base: typed.2.clone(),
    };
    match new_calendar(&state, &viewer.caller, input).await {
        Ok(c) => {
            viewer
                .flash(&state, &format!("The calendar for {} is created.", c.name))
                .await;
            see_other(&format!("/admin/calendars/{}", c.code))
        }
        Err(e) => finish(
            build_calendars(&state, &viewer, this_year(&state), Some(&e), typed).await,
            Some(&e),
        ),
    }
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
struct CalendarPage {
    layout: Layout,
    frame: Frame,
    c: CalendarView,
    country: String,
    prev: i32,
    next: i32,
    typed_date: String,
    typed_name: String,
}

async fn build_calendar(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    year: i32,
    error: Option<&ApiError>,
    typed: (String, String),
) -> Result<CalendarPage, ApiError> {
    let frame = frame(viewer, "/admin/calendars", error)?;
    let (code, country) = calendar_code(code)?;
    let stored = state.store.deadlines().calendar(&code).await?;
    let c = calendar_view(&code, stored.as_ref(), year).ok_or_else(ApiError::not_found)?;
    Ok(CalendarPage {
        layout: viewer.layout(&format!("Holidays: {}", c.name), "/admin"),
        frame,
        country: country.name().to_string(),
        prev: year - 1,
        next: year + 1,
        c,
        typed_date: typed.0,
        typed_name: typed.1,
    })
}

pub async fn calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let year = match year_from(&state, query) {
        Ok(y) => y,
        Err(e) => return page_error(e),
    };
    finish(
        build_calendar(&state, &viewer, &code, year, None, Default::default()).await,
        None,
    )
}

fn this_year(state: &AppState) -> i32 {
    chrono::Datelike::year(&state.clock.now())
}

/// The year of a posted date, to come back to the page that shows it.
fn year_of_date(raw: &str) -> Option<i32> {
    raw.get(..4)?.parse().ok()
}

pub async fn add_holiday(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    form: PostedForm,
) -> Response {
    let date = form.get("date").unwrap_or("").to_string();
    let name = form.get("name").unwrap_or("").to_string();
    let year = year_of_date(&date).unwrap_or_else(|| this_year(&state));
    match holiday_added(&state, &viewer.caller, &code, &date, &name).await {
        Ok(c) => {
            let done = format!(
                "{date} is a holiday in the {} calendar: {}.",
                c.name,
                name.trim()
            );
            viewer.flash(&state, &done).await;
            see_other(&format!("/admin/calendars/{}?year={year}", c.code))
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => page_error(e),
        Err(e) => {
            let year = if (2000..=2100).contains(&year) {
                year
            } else {
                this_year(&state)
            };
            finish(
                build_calendar(&state, &viewer, &code, year, Some(&e), (date, name)).await,
                Some(&e),
            )
        }
    }
}

pub async fn remove_holiday(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    form: PostedForm,
) -> Response {
    let date = form.get("date").unwrap_or("").to_string();
    let year = year_of_date(&date).unwrap_or_else(|| this_year(&state));
    match holiday_removed(&state, &viewer.caller, &code, &date).await {
        Ok(c) => {
            let done = format!("{date} is a business day in the {} calendar.", c.name);
            viewer.flash(&state, &done).await;
            see_other(&format!("/admin/calendars/{}?year={year}", c.code))
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => page_error(e),
        Err(e) => finish(
            build_calendar(
                &state,
                &viewer,
                &code,
                this_year(&state),
                Some(&e),
                Default::default(),
            )
            .await,
            Some(&e),
        ),
    }
}

// --- the policy profile ------------------------------------------------------------------

pub struct ProcessRow {
    pub process: &'static str,
    pub label: &'static str,
    pub route: String,
    pub route_rule: String,
    pub route_basis: String,
    /// Per category: (category, decision, rule, basis).
    pub categories: Vec<(&'static str, &'static str, String, String)>,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    layout: Layout,
    frame: Frame,
    active: String,
    description: String,
    configured: String,
    chosen_by_admin: bool,
    /// Name, in force, the one the servers were started with.
    options: Vec<(String, bool, bool)>,
    rows: Vec<ProcessRow>,
    toml: String,
}

fn process_rows(profile: &PolicyProfile) -> Vec<ProcessRow> {
    profile
        .process
        .iter()
        .map(|(p, pp)| ProcessRow {
            process: p.as_str(),
            label: p.label(),
            route: pp.route.as_str().replace('_', " "),
            route_rule: pp.route_rule.rule.clone(),
            route_basis: pp.route_rule.basis.clone(),
            categories: pp
                .categories
                .iter()
                .map(|(c, cp)| {
                    (
                        c.as_str(),
                        cp.decision.as_str(),
                        cp.rule.clone(),
                        cp.basis.clone(),
                    )
                })
                .collect(),
        })
        .collect()
}

async fn build_policy(
    state: &AppState,
    viewer: &Viewer,
    error: Option<&ApiError>,
) -> Result<PolicyPage, ApiError> {
    let frame = frame(viewer, "/admin/policy", error)?;
    let (profile, chosen) = policy_in_force(state, &viewer.caller).await?;
    Ok(PolicyPage {
        layout: viewer.layout("Policy profile", "/admin"),
        frame,
        active: profile.name.clone(),
        description: profile.description.clone(),
        configured: state.policy.name.clone(),
        chosen_by_admin: chosen,
        options: available_profiles(state)
            .into_iter()
            .map(|n| {
                let on = n == profile.name;
                let started = n == state.policy.name;
                (n, on, started)
            })
            .collect(),
        rows: process_rows(&profile),
        toml: profile.to_toml().unwrap_or_default(),
    })
}

pub async fn policy(State(state): State<AppState>, viewer: Viewer) -> Response {
    finish(build_policy(&state, &viewer, None).await, None)
}

pub async fn switch_policy(
    State(state): State<AppState>,
    viewer: Viewer,
    form: PostedForm,
) -> Response {
    match choose_policy(&state, &viewer.caller, form.get("profile")).await {
        Ok(p) => {
            let done = format!("Every server now applies the {} profile.", p.name);
            viewer.flash(&state, &done).await;
            see_other("/admin/policy")
        }
        Err(e) => finish(build_policy(&state, &viewer, Some(&e)).await, Some(&e)),
    }
}
