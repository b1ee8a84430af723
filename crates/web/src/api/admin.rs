//! `/api/v1/admin`: what the admin keeps. Agencies (registration, verification, suspension,
//! the directory phone number call-backs dial, verified e-mail domains), the provider's staff
//! (creation, roles, deactivation), holiday calendars, and the policy profile in force.
//! Admins change; auditors read. The admin pages (`ui::admin`) call the functions below, so a
//! page and an API call are checked, stored and audited the same way.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use custodian_core::agency::parse_domain;
use custodian_core::deadline::{CalendarBase, CalendarSpec, HolidaySource};
use custodian_core::policy::PolicyProfile;
use custodian_core::{AgencyKind, AgencyStatus, Country, FieldError, Role};
use custodian_store::{
    Agency, CalendarRecord, NewAgency, NewUser, StoreError, User, POLICY_PROFILE_SETTING,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

/// Who changes what the admin keeps.
pub(crate) const ADMINS: &[Role] = &[Role::Admin];
/// Who may read it (auditors check the admin's work).
pub(crate) const ADMIN_READERS: &[Role] = &[Role::Admin, Role::Auditor];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/agencies", get(list_agencies).post(create_agency))
        .route("/admin/agencies/{id}", get(show_agency).patch(edit_agency))
        .route("/admin/agencies/{id}/verify", post(verify_agency))
        .route("/admin/agencies/{id}/suspend", post(suspend_agency))
        .route("/admin/agencies/{id}/domains", post(add_domain))
        .route(
            "/admin/agencies/{id}/domains/{domain}",
            delete(remove_domain),
        )
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/users/{id}", axum::routing::patch(edit_user))
        .route(
            "/admin/calendars",
            get(list_calendars).post(create_calendar),
        )
        .route("/admin/calendars/{code}", get(show_calendar))
        .route("/admin/calendars/{code}/holidays", post(add_holiday))
        .route(
            "/admin/calendars/{code}/holidays/{date}",
            delete(remove_holiday),
        )
        .route("/admin/policy", get(show_policy).put(set_policy))
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}

fn path_uuid(raw: &str, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| not_found(what))
}

/// A store error about `what`: not found says what was missing.
fn store_error(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => not_found(what),
        other => other.into(),
    }
}

fn required(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(FieldError::new(field, format!("1 to {max} characters")).into());
    }
    Ok(v.to_string())
}

/// A directory phone number: digits with the usual separators, or nothing.
pub(crate) fn parse_phone(raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(p) = raw.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let allowed = p
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || !(5..=20).contains(&digits) || p.len() > 40 {
        return Err(FieldError::new(
            "phone",
            "a telephone number: 5 to 20 digits, with +, spaces, dashes or brackets",
        )
        .into());
    }
    Ok(Some(p.to_string()))
}

// --- agencies ----------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyView {
    pub id: Uuid,
    pub name: String,
    pub country: Country,
    /// local_police, federal_agency, foreign_law_enforcement, ...
    pub kind: String,
    /// pending, verified or suspended.
    pub status: String,
    /// The switchboard number from an independent directory, dialled for call-backs.
    pub phone: Option<String>,
    /// Verified e-mail domains: an address on one joins the agency when verified.
    pub domains: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Agency> for AgencyView {
    fn from(a: Agency) -> Self {
        AgencyView {
            id: a.id,
            name: a.name,
            country: a.country,
            kind: a.kind.as_str().to_string(),
            status: a.status.as_str().to_string(),
            phone: a.phone,
            domains: a.domains,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgencyInput {
    pub name: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// local_police, state_police, federal_agency, prosecutor, court, foreign_law_enforcement,
    /// foreign_authority, regulator, other.
    pub kind: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Verified at once (after checking it against an independent source).
    #[serde(default)]
    pub verified: bool,
}

/// Registers an agency (the API and the agencies page).
pub(crate) async fn register_agency(
    state: &AppState,
    caller: &Caller,
    input: NewAgencyInput,
) -> ApiResult<Agency> {
    caller.require_role(ADMINS, "registering agencies")?;
    let name = required("name", &input.name, 200)?;
    let country = Country::parse(input.country.trim())
        .map_err(|e| ApiError::from(FieldError::new("country", e)))?;
    let kind: AgencyKind = input
        .kind
        .trim()
        .parse()
        .map_err(|e: String| ApiError::from(FieldError::new("kind", e)))?;
    let mut domains = Vec::new();
    for (i, d) in input.domains.iter().enumerate() {
        if d.trim().is_empty() {
            continue;
        }
        domains.push(
            parse_domain(d)
                .map_err(|e| ApiError::from(FieldError::new(format!("domains[{i}]"), e)))?,
        );
    }
    let phone = parse_phone(input.phone.as_deref())?;
    Ok(state
        .store
        .create_agency(
            &caller.actor(),
            NewAgency {
                name,
                country,
                kind,
                status: if input.verified {
                    AgencyStatus::Verified
                } else {
                    AgencyStatus::Pending
                },
                phone,
                domains,
            },
        )
        .await?)
}

/// Every agency, by name.
#[utoipa::path(
    get,
    path = "/api/v1/admin/agencies",
    tag = "admin",
    responses(
        (status = 200, description = "Agencies", body = Vec<AgencyView>),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
    )
)]
pub async fn list_agencies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<AgencyView>>> {
    caller.require_role(ADMIN_READERS, "the agencies")?;
    let found = state.store.list_agencies().await?;
    Ok(Json(found.into_iter().map(AgencyView::from).collect()))
}

/// Register an agency.
#[utoipa::path(
    post,
    path = "/api/v1/admin/agencies",
    tag = "admin",
    request_body = NewAgencyInput,
    responses(
        (status = 201, description = "Registered", body = AgencyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn create_agency(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewAgencyInput>,
) -> ApiResult<(StatusCode, Json<AgencyView>)> {
    let a = register_agency(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// One agency.
#[utoipa::path(
    get,
    path = "/api/v1/admin/agencies/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    responses(
        (status = 200, description = "The agency", body = AgencyView),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
    )
)]
pub async fn show_agency(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgencyView>> {
    caller.require_role(ADMIN_READERS, "the agencies")?;
    let a = state
        .store
        .get_agency(path_uuid(&id, "agency")?)
        .await
        .map_err(store_error("agency"))?;
    Ok(Json(a.into()))
}

/// Verifies or suspends an agency (the API and the agency's page).
pub(crate) async fn set_agency_status(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    status: AgencyStatus,
) -> ApiResult<Agency> {
    caller.require_role(ADMINS, "verifying and suspending agencies")?;
    // Suspending flags the agency's open requests, and verifying a suspended agency lifts
    // the suspension and its flags (`crate::verification`).
    let current = state
        .store
        .get_agency(id)
        .await
        .map_err(store_error("agency"))?;
    let verification = state.store.verification();
    match (current.status, status) {
        (AgencyStatus::Suspended, AgencyStatus::Suspended) => {}
        (_, AgencyStatus::Suspended) => {
            verification
                .suspend_agency(&caller.actor(), id, "suspended by an admin")
                .await
                .map_err(store_error("agency"))?;
        }
        (AgencyStatus::Suspended, AgencyStatus::Verified) => {
            verification
                .lift_agency_suspension(&caller.actor(), id, "verified again by an admin")
                .await
                .map_err(store_error("agency"))?;
        }
        _ => {
            return state
                .store
                .set_agency_status(&caller.actor(), id, status)
                .await
                .map_err(store_error("agency"))
        }
    }
    state
        .store
        .get_agency(id)
        .await
        .map_err(store_error("agency"))
}

/// Mark an agency verified (after checking it against an independent source).
#[utoipa::path(
    post,
    path = "/api/v1/admin/agencies/{id}/verify",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    responses(
        (status = 200, description = "Verified", body = AgencyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
    )
)]
pub async fn verify_agency(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgencyView>> {
    let id = path_uuid(&id, "agency")?;
    let a = set_agency_status(&state, &caller, id, AgencyStatus::Verified).await?;
    Ok(Json(a.into()))
}

/// Suspend an agency: its officers can no longer serve process.
#[utoipa::path(
    post,
    path = "/api/v1/admin/agencies/{id}/suspend",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    responses(
        (status = 200, description = "Suspended", body = AgencyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
    )
)]
pub async fn suspend_agency(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgencyView>> {
    let id = path_uuid(&id, "agency")?;
    let a = set_agency_status(&state, &caller, id, AgencyStatus::Suspended).await?;
    Ok(Json(a.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyEdit {
    /// The directory phone number; null or empty removes it.
    pub phone: Option<String>,
}

/// Sets the directory phone number call-backs dial (the API and the agency's page).
pub(crate) async fn set_agency_phone(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    phone: Option<&str>,
) -> ApiResult<Agency> {
    caller.require_role(ADMINS, "editing agencies")?;
    let phone = parse_phone(phone)?;
    state
        .store
        .admin()
        .set_agency_phone(&caller.actor(), id, phone.as_deref())
        .await
        .map_err(store_error("agency"))
}

/// Change an agency's directory phone number.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/agencies/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    request_body = AgencyEdit,
    responses(
        (status = 200, description = "Changed", body = AgencyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
        (status = 422, description = "Not a phone number", body = ErrorBody),
    )
)]
pub async fn edit_agency(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<AgencyEdit>,
) -> ApiResult<Json<AgencyView>> {
    let id = path_uuid(&id, "agency")?;
    let a = set_agency_phone(&state, &caller, id, edit.phone.as_deref()).await?;
    Ok(Json(a.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainInput {
    /// An e-mail domain the agency owns, e.g. `springfieldpd.gov`.
    pub domain: String,
}

/// Adds or removes a verified e-mail domain (the API and the agency's page).
pub(crate) async fn change_domain(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    domain: &str,
    add: bool,
) -> ApiResult<Agency> {
    caller.require_role(ADMINS, "editing agencies")?;
    let domain = parse_domain(domain).map_err(|e| ApiError::from(FieldError::new("domain", e)))?;
    let admin = state.store.admin();
    let changed = if add {
        admin.add_agency_domain(&caller.actor(), id, &domain).await
    } else {
        admin
            .remove_agency_domain(&caller.actor(), id, &domain)
            .await
    };
    changed.map_err(store_error(if add { "agency" } else { "agency or domain" }))
}

/// Add a verified e-mail domain to an agency.
#[utoipa::path(
    post,
    path = "/api/v1/admin/agencies/{id}/domains",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agency id")),
    request_body = DomainInput,
    responses(
        (status = 200, description = "Added", body = AgencyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such agency", body = ErrorBody),
        (status = 409, description = "The domain is taken", body = ErrorBody),
        (status = 422, description = "Not a domain name", body = ErrorBody),
    )
)]
pub async fn add_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DomainInput>,
) -> ApiResult<Json<AgencyView>> {
    let id = path_uuid(&id, "agency")?;
    let a = change_domain(&state, &caller, id, &input.domain, true).await?;
    Ok(Json(a.into()))
}

/// Remove a verified e-mail domain from an agency.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/agencies/{id}/domains/{domain}",
    tag = "admin",
    params(
        ("id" = Uuid, Path, description = "Agency id"),
        ("domain" = String, Path, description = "The domain"),
    ),
    responses(
        (status = 200, description = "Removed", body = AgencyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such agency or domain", body = ErrorBody),
    )
)]
pub async fn remove_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, domain)): Path<(String, String)>,
) -> ApiResult<Json<AgencyView>> {
    let id = path_uuid(&id, "agency")?;
    let a = change_domain(&state, &caller, id, &domain, false).await?;
    Ok(Json(a.into()))
}

// --- users -------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub agency_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            agency_id: u.agency_id,
            active: u.active,
            created_at: u.created_at,
        }
    }
}

/// Every user: agency people and the provider's staff.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    responses(
        (status = 200, description = "Users", body = Vec<UserView>),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<UserView>>> {
    caller.require_role(ADMIN_READERS, "the users")?;
    let found = state.store.list_users().await?;
    Ok(Json(found.into_iter().map(UserView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffInput {
    pub email: String,
    pub name: String,
    /// reviewer, approver, custodian, admin or auditor.
    pub role: String,
    /// The first password (at least 12 characters); the second factor is set up at the first
    /// sign-in.
    pub password: String,
}

fn staff_role(field: &str, raw: &str) -> ApiResult<Role> {
    let role: Role = raw
        .trim()
        .parse()
        .map_err(|e: String| ApiError::from(FieldError::new(field, e)))?;
    Ok(role)
}

/// Creates a member of the provider's staff (the API and the users page). Agency officers
/// come through registration (or `custodian admin user create`).
pub(crate) async fn create_staff(
    state: &AppState,
    caller: &Caller,
    input: NewStaffInput,
) -> ApiResult<User> {
    caller.require_role(ADMINS, "creating users")?;
    let email = input.email.trim().to_ascii_lowercase();
    let (local, domain) = email.split_once('@').unwrap_or(("", ""));
    if local.is_empty() || parse_domain(domain).is_err() || email.len() > 254 {
        return Err(FieldError::new("email", "an e-mail address like name@example.com").into());
    }
    let name = required("name", &input.name, 200)?;
    let role = staff_role("role", &input.role)?;
    if role.is_agency_side() {
        return Err(FieldError::new(
            "role",
            "staff roles only (reviewer, approver, custodian, admin, auditor); agency officers \
             register themselves",
        )
        .into());
    }
    let hash = crate::account::password::hash(&input.password).map_err(|e| {
        ApiError::from(FieldError::new(
            "password",
            e.to_string().replace("password: ", ""),
        ))
    })?;
    Ok(state
        .store
        .create_user(
            &caller.actor(),
            NewUser {
                email,
                name,
                role,
                agency_id: None,
                password_hash: Some(hash),
            },
        )
        .await?)
}

/// Create a member of the provider's staff.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "admin",
    request_body = NewStaffInput,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 409, description = "The address is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewStaffInput>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let u = create_staff(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(u.into())))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEdit {
    /// A new role on the same side (staff roles for staff, agency roles for agency people).
    #[serde(default)]
    pub role: Option<String>,
    /// false deactivates (and signs out everywhere); true reactivates.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Changes a user's role or activity (the API and the users page). An admin cannot lock
/// themselves out: no deactivating or demoting one's own account.
pub(crate) async fn edit_user_by(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    edit: UserEdit,
) -> ApiResult<User> {
    caller.require_role(ADMINS, "changing users")?;
    let role = edit
        .role
        .as_deref()
        .map(|r| staff_role("role", r))
        .transpose()?;
    if id == caller.user.id
        && (edit.active == Some(false) || role.is_some_and(|r| r != caller.user.role))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "you cannot deactivate your own account or change your own role; ask another admin",
        ));
    }
    if role.is_none() && edit.active.is_none() {
        return Err(FieldError::new("role", "send a role, active, or both").into());
    }
    let admin = state.store.admin();
    let mut user = state
        .store
        .get_user(id)
        .await
        .map_err(store_error("user"))?;
    if let Some(role) = role.filter(|r| *r != user.role) {
        user = admin
            .set_user_role(&caller.actor(), id, role)
            .await
            .map_err(store_error("user"))?;
    }
    if let Some(active) = edit.active.filter(|a| *a != user.active) {
        user = admin
            .set_user_active(&caller.actor(), id, active)
            .await
            .map_err(store_error("user"))?;
    }
    Ok(user)
}

/// Change a user's role, or deactivate or reactivate the account.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/users/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UserEdit,
    responses(
        (status = 200, description = "Changed", body = UserView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Your own account, or a role across sides", body = ErrorBody),
        (status = 422, description = "Unknown role", body = ErrorBody),
    )
)]
pub async fn edit_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<UserEdit>,
) -> ApiResult<Json<UserView>> {
    let id = path_uuid(&id, "user")?;
    Ok(Json(edit_user_by(&state, &caller, id, edit).await?.into()))
}

// --- holiday calendars -------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayView {
    pub date: NaiveDate,
    pub name: String,
    /// `federal` (the compiled US federal list) or `added` (by the admin).
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    /// The country whose requests it counts, e.g. `US`.
    pub code: String,
    pub name: String,
    /// `us_federal` (extends the compiled US federal holidays) or `empty` (its own only).
    pub base: String,
    /// False for the compiled US federal calendar nobody has edited yet.
    pub stored: bool,
    pub year: i32,
    /// The year's days off.
    pub holidays: Vec<HolidayView>,
}

/// The calendar deadlines use when nothing is stored: the compiled US federal one.
pub(crate) const HOME_CALENDAR: &str = "US";

/// The business days a deadline is counted in: the admin's calendar for the issuing country,
/// else the admin's US calendar, else the compiled US federal one (`WebConfig::calendar`).
/// Request intake and the demo both come here.
pub async fn deadline_calendar(
    store: &custodian_store::DynStore,
    compiled: &custodian_core::deadline::BusinessCalendar,
    country: &Country,
    at: DateTime<Utc>,
) -> Result<custodian_core::deadline::BusinessCalendar, StoreError> {
    // Ten business days never reach past the next year.
    let years = at.year() - 1..=at.year() + 1;
    let calendars = store.deadlines();
    if let Some(c) = calendars.calendar(country.code()).await? {
        return Ok(c.spec.calendar(years));
    }
    if country.code() != HOME_CALENDAR {
        if let Some(c) = calendars.calendar(HOME_CALENDAR).await? {
            return Ok(c.spec.calendar(years));
        }
    }
    Ok(compiled.clone())
}

/// [`deadline_calendar`] as read at most a second ago (`crate::fresh`): intake sets the
/// deadline of every request with it. An edit through this server clears it.
pub(crate) async fn intake_calendar(
    state: &AppState,
    country: &Country,
    at: DateTime<Utc>,
) -> Result<Arc<custodian_core::deadline::BusinessCalendar>, StoreError> {
    let key = (country.code().to_string(), at.year());
    if let Some(c) = state.calendars.get(&key) {
        return Ok(c);
    }
    let read =
        Arc::new(deadline_calendar(&state.store, &state.config.calendar, country, at).await?);
    state.calendars.put(key, read.clone());
    Ok(read)
}

/// A calendar to show: the stored one, or for `US` the compiled default.
pub(crate) fn calendar_view(
    code: &str,
    stored: Option<&CalendarRecord>,
    year: i32,
) -> Option<CalendarView> {
    let (name, spec, is_stored) = match stored {
        Some(c) => (c.name.clone(), c.spec.clone(), true),
        None if code == HOME_CALENDAR => (
            "United States (federal holidays)".to_string(),
            CalendarSpec::new(CalendarBase::UsFederal),
            false,
        ),
        None => return None,
    };
    Some(CalendarView {
        code: code.to_string(),
        name,
        base: spec.base.as_str().to_string(),
        stored: is_stored,
        year,
        holidays: spec
            .holidays(year)
            .into_iter()
            .map(|h| HolidayView {
                date: h.date,
                name: h.name,
                source: match h.source {
                    HolidaySource::Federal => "federal",
                    HolidaySource::Added => "added",
                }
                .to_string(),
            })
            .collect(),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The year whose holidays to list (default: this year).
    pub year: Option<i32>,
}

pub(crate) fn year_of(state: &AppState, q: &YearQuery) -> ApiResult<i32> {
    let year = q.year.unwrap_or_else(|| state.clock.now().year());
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::bad_request("invalid_query", "year: 2000 to 2100"));
    }
    Ok(year)
}

/// Every calendar with the given year's holidays (the compiled US one until it is edited).
pub(crate) async fn calendars_of(
    state: &AppState,
    caller: &Caller,
    year: i32,
) -> ApiResult<Vec<CalendarView>> {
    caller.require_role(ADMIN_READERS, "the holiday calendars")?;
    let stored = state.store.deadlines().calendars().await?;
    let mut out: Vec<CalendarView> = stored
        .iter()
        .filter_map(|c| calendar_view(&c.code, Some(c), year))
        .collect();
    if !stored.iter().any(|c| c.code == HOME_CALENDAR) {
        out.extend(calendar_view(HOME_CALENDAR, None, year));
        out.sort_by(|a, b| a.code.cmp(&b.code));
    }
    Ok(out)
}

/// The holiday calendars deadlines are counted in.
#[utoipa::path(
    get,
    path = "/api/v1/admin/calendars",
    tag = "admin",
    params(YearQuery),
    responses(
        (status = 200, description = "Calendars", body = Vec<CalendarView>),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
    )
)]
pub async fn list_calendars(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<CalendarView>>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let year = year_of(&state, &q)?;
    Ok(Json(calendars_of(&state, &caller, year).await?))
}

/// A calendar code: a country (`US`, `GB`, ...).
pub(crate) fn calendar_code(raw: &str) -> ApiResult<(String, Country)> {
    let country = Country::parse(raw.trim())
        .map_err(|_| not_found("calendar (calendars are named by country code, e.g. US)"))?;
    Ok((country.code().to_string(), country))
}

/// One calendar with a year's holidays.
#[utoipa::path(
    get,
    path = "/api/v1/admin/calendars/{code}",
    tag = "admin",
    params(("code" = String, Path, description = "Country code, e.g. US"), YearQuery),
    responses(
        (status = 200, description = "The calendar", body = CalendarView),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
        (status = 404, description = "No such calendar", body = ErrorBody),
    )
)]
pub async fn show_calendar(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CalendarView>> {
    caller.require_role(ADMIN_READERS, "the holiday calendars")?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let year = year_of(&state, &q)?;
    let (code, _) = calendar_code(&code)?;
    let stored = state.store.deadlines().calendar(&code).await?;
    calendar_view(&code, stored.as_ref(), year)
        .map(Json)
        .ok_or_else(|| not_found("calendar"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCalendarInput {
    /// The country whose requests it counts (ISO 3166-1 alpha-2).
    pub code: String,
    /// A name; the country's by default.
    #[serde(default)]
    pub name: Option<String>,
    /// `us_federal` to extend the US federal holidays, `empty` to list every holiday yourself.
    pub base: String,
}

/// Creates a calendar (the API and the calendars page).
pub(crate) async fn new_calendar(
    state: &AppState,
    caller: &Caller,
    input: NewCalendarInput,
) -> ApiResult<CalendarRecord> {
    caller.require_role(ADMINS, "editing holiday calendars")?;
    let country = Country::parse(input.code.trim())
        .map_err(|e| ApiError::from(FieldError::new("code", e)))?;
    let base: CalendarBase = input
        .base
        .trim()
        .parse()
        .map_err(|e: String| ApiError::from(FieldError::new("base", e)))?;
    let name = match input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => required("name", n, 100)?,
        None => country.name().to_string(),
    };
    let created = state
        .store
        .deadlines()
        .create_calendar(&caller.actor(), country.code(), &name, base)
        .await?;
    state.calendars.clear();
    Ok(created)
}

/// Create a holiday calendar for a country.
#[utoipa::path(
    post,
    path = "/api/v1/admin/calendars",
    tag = "admin",
    request_body = NewCalendarInput,
    responses(
        (status = 201, description = "Created", body = CalendarView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 409, description = "The country has a calendar", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    )
)]
pub async fn create_calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewCalendarInput>,
) -> ApiResult<(StatusCode, Json<CalendarView>)> {
    let c = new_calendar(&state, &caller, input).await?;
    let year = state.clock.now().year();
    let view = calendar_view(&c.code, Some(&c), year).ok_or_else(|| not_found("calendar"))?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayInput {
    /// YYYY-MM-DD, a weekday.
    pub date: String,
    pub name: String,
}

fn parse_date(field: &str, raw: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "a date as YYYY-MM-DD").into())
}

/// The stored calendar `code`; editing the compiled US calendar first stores it (extending the
/// federal holidays), so that the admin edits the list they see.
async fn editable_calendar(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> ApiResult<CalendarRecord> {
    let (code, country) = calendar_code(code)?;
    if let Some(c) = state.store.deadlines().calendar(&code).await? {
        return Ok(c);
    }
    if code != HOME_CALENDAR {
        return Err(not_found("calendar; create it first"));
    }
    let created = state
        .store
        .deadlines()
        .create_calendar(
            &caller.actor(),
            &code,
            country.name(),
            CalendarBase::UsFederal,
        )
        .await;
    match created {
        Ok(c) => Ok(c),
        // Another admin stored it a moment ago.
        Err(StoreError::Conflict(_)) => state
            .store
            .deadlines()
            .calendar(&code)
            .await?
            .ok_or_else(|| not_found("calendar")),
        Err(e) => Err(e.into()),
    }
}

fn calendar_refusal(e: custodian_core::deadline::CalendarError) -> ApiError {
    use custodian_core::deadline::CalendarError::*;
    match e {
        Weekend(..) => FieldError::new("date", e.to_string()).into(),
        BadName => FieldError::new("name", "1 to 100 characters").into(),
        AlreadyHoliday(..) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
        NotHoliday(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
    }
}

/// Makes a day a holiday in a calendar (the API and the calendar page).
pub(crate) async fn holiday_added(
    state: &AppState,
    caller: &Caller,
    code: &str,
    date: &str,
    name: &str,
) -> ApiResult<CalendarRecord> {
    caller.require_role(ADMINS, "editing holiday calendars")?;
    let date = parse_date("date", date)?;
    let calendar = editable_calendar(state, caller, code).await?;
    // The calendar's rules give the clear answer here; the store applies them again in its
    // transaction.
    calendar.spec.add(date, name).map_err(calendar_refusal)?;
    let edited = state
        .store
        .deadlines()
        .add_holiday(&caller.actor(), &calendar.code, date, name.trim())
        .await
        .map_err(store_error("calendar"));
    state.calendars.clear();
    edited
}

/// Makes a holiday a working day again (the API and the calendar page).
pub(crate) async fn holiday_removed(
    state: &AppState,
    caller: &Caller,
    code: &str,
    date: &str,
) -> ApiResult<CalendarRecord> {
    caller.require_role(ADMINS, "editing holiday calendars")?;
    let date = parse_date("date", date)?;
    let calendar = editable_calendar(state, caller, code).await?;
    calendar.spec.remove(date).map_err(calendar_refusal)?;
    let edited = state
        .store
        .deadlines()
        .remove_holiday(&caller.actor(), &calendar.code, date)
        .await
        .map_err(store_error("holiday"));
    state.calendars.clear();
    edited
}

/// Add a holiday (a federal holiday worked through is taken off again).
#[utoipa::path(
    post,
    path = "/api/v1/admin/calendars/{code}/holidays",
    tag = "admin",
    params(("code" = String, Path, description = "Country code, e.g. US")),
    request_body = HolidayInput,
    responses(
        (status = 200, description = "The calendar", body = CalendarView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such calendar", body = ErrorBody),
        (status = 409, description = "Already a holiday", body = ErrorBody),
        (status = 422, description = "Not a weekday date, or no name", body = ErrorBody),
    )
)]
pub async fn add_holiday(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<HolidayInput>,
) -> ApiResult<Json<CalendarView>> {
    let c = holiday_added(&state, &caller, &code, &input.date, &input.name).await?;
    let year = parse_date("date", &input.date)?.year();
    calendar_view(&c.code, Some(&c), year)
        .map(Json)
        .ok_or_else(|| not_found("calendar"))
}

/// Remove a holiday: the day becomes a business day (a federal one is worked through).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/calendars/{code}/holidays/{date}",
    tag = "admin",
    params(
        ("code" = String, Path, description = "Country code, e.g. US"),
        ("date" = String, Path, description = "YYYY-MM-DD"),
    ),
    responses(
        (status = 200, description = "The calendar", body = CalendarView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such calendar or holiday", body = ErrorBody),
    )
)]
pub async fn remove_holiday(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, date)): Path<(String, String)>,
) -> ApiResult<Json<CalendarView>> {
    let c = holiday_removed(&state, &caller, &code, &date).await?;
    let year = parse_date("date", &date)?.year();
    calendar_view(&c.code, Some(&c), year)
        .map(Json)
        .ok_or_else(|| not_found("calendar"))
}

// --- the policy profile ------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// The profile every server applies now.
    pub active: String,
    /// The profile the servers were started with (`--policy-profile`, default
    /// provider-default); it applies when no admin has chosen another.
    pub configured: String,
    /// Whether an admin's choice (stored in the database) is in force.
    pub chosen_by_admin: bool,
    /// The profiles that can be chosen.
    pub available: Vec<String>,
    /// The active profile's rules.
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
}

/// What can be chosen: the configured profile and the built-in ones.
pub(crate) fn available_profiles(state: &AppState) -> Vec<String> {
    let mut names = vec![state.policy.name.clone()];
    for n in PolicyProfile::builtin_names() {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_string());
        }
    }
    names
}

/// The profile in force and where it comes from (the API and the policy page).
pub(crate) async fn policy_in_force(
    state: &AppState,
    caller: &Caller,
) -> ApiResult<(Arc<PolicyProfile>, bool)> {
    caller.require_role(ADMIN_READERS, "the policy profile")?;
    let chosen = state.store.admin().setting(POLICY_PROFILE_SETTING).await?;
    Ok((state.active_policy().await, chosen.is_some()))
}

/// The policy profile in force, its rules, and what may be chosen instead.
#[utoipa::path(
    get,
    path = "/api/v1/admin/policy",
    tag = "admin",
    responses(
        (status = 200, description = "The policy profile", body = PolicyView),
        (status = 403, description = "Admins and auditors only", body = ErrorBody),
    )
)]
pub async fn show_policy(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<PolicyView>> {
    let (profile, chosen) = policy_in_force(&state, &caller).await?;
    Ok(Json(policy_view(&state, &profile, chosen)?))
}

fn policy_view(state: &AppState, profile: &PolicyProfile, chosen: bool) -> ApiResult<PolicyView> {
    Ok(PolicyView {
        active: profile.name.clone(),
        configured: state.policy.name.clone(),
        chosen_by_admin: chosen,
        available: available_profiles(state),
        profile: serde_json::to_value(profile).map_err(|e| {
            tracing::error!(error = %e, "serialising a policy profile");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the profile cannot be shown",
            )
        })?,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChoice {
    /// A name from `available`; null (or the configured profile's name) goes back to the
    /// profile the servers were started with.
    pub profile: Option<String>,
}

/// Switches the profile every server applies (the API and the policy page).
pub(crate) async fn choose_policy(
    state: &AppState,
    caller: &Caller,
    profile: Option<&str>,
) -> ApiResult<Arc<PolicyProfile>> {
    caller.require_role(ADMINS, "switching the policy profile")?;
    let wanted = profile.map(str::trim).filter(|p| !p.is_empty());
    let value = match wanted {
        None => None,
        Some(name) if name == state.policy.name => None,
        Some(name) if PolicyProfile::builtin_names().contains(&name) => Some(name),
        Some(name) => {
            return Err(FieldError::new(
                "profile",
                format!(
                    "no profile '{name}'; choose one of: {}",
                    available_profiles(state).join(", ")
                ),
            )
            .into())
        }
    };
    state
        .store
        .admin()
        .set_setting(&caller.actor(), POLICY_PROFILE_SETTING, value)
        .await?;
    Ok(state.active_policy().await)
}

/// Switch the policy profile every server applies.
#[utoipa::path(
    put,
    path = "/api/v1/admin/policy",
    tag = "admin",
    request_body = PolicyChoice,
    responses(
        (status = 200, description = "Switched", body = PolicyView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "Unknown profile", body = ErrorBody),
    )
)]
pub async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(choice): ApiJson<PolicyChoice>,
) -> ApiResult<Json<PolicyView>> {
    let profile = choose_policy(&state, &caller, choice.profile.as_deref()).await?;
    let chosen = profile.name != state.policy.name;
    Ok(Json(policy_view(&state, &profile, chosen)?))
}
