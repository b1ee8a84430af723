//! Accounts over JSON: officers' registration and e-mail verification, the admin's approval of
//! registrations from unknown domains, and a caller's own browser sessions. API clients still
//! sign in with bearer tokens; these are what the pages do, available to scripts too.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use custodian_core::verification::{check_email, DomainVerdict};
use custodian_core::{AgencyKind, AgencyStatus, Country, FieldError, Role, Target, TargetKind};
use custodian_store::{
    ClaimedAgency, NewMail, NewRegistration, RegistrationRecord, RegistrationStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::account::{digest, password, random_hex};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::AppState;

const MAX_NAME: usize = 200;

/// An officer's registration.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationInput {
    /// The officer's government e-mail address; the verification link is sent there.
    pub email: String,
    /// The officer's name and rank as it should appear to the provider.
    pub name: String,
    /// At least 12 characters.
    pub password: String,
    /// Needed only when the address is not on a verified agency domain: the agency, for the
    /// provider's admin to check before approving.
    #[serde(default)]
    pub agency: Option<AgencyClaimInput>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyClaimInput {
    pub name: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// local_police, state_police, federal_agency, prosecutor, court, foreign_law_enforcement,
    /// foreign_authority, regulator, other.
    pub kind: String,
    /// The agency's switchboard number, for the provider's call-back.
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationView {
    pub id: Uuid,
    /// awaiting_email, awaiting_approval, approved, refused or lookalike.
    pub status: String,
    pub email: String,
    pub name: String,
    /// The agency the officer joins (or joined).
    pub agency_id: Option<Uuid>,
    /// The agency claimed by an officer of an unknown domain.
    pub claimed_agency: Option<String>,
    pub claimed_country: Option<String>,
    /// For a flagged lookalike: the verified domain it imitates.
    pub lookalike_of: Option<String>,
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    /// What happens next, in words.
    pub next: String,
}

impl From<RegistrationRecord> for RegistrationView {
    fn from(r: RegistrationRecord) -> Self {
        let next = match r.status {
            RegistrationStatus::AwaitingEmail => {
                "Follow the link in the e-mail we sent to verify the address."
            }
            RegistrationStatus::AwaitingApproval => {
                "The address is verified. The provider checks your agency with an independent \
                 source before approving the account; you will be able to sign in then."
            }
            RegistrationStatus::Approved => "The account is ready: sign in.",
            RegistrationStatus::Refused => "The registration was refused.",
            RegistrationStatus::Lookalike => {
                "Refused: the domain imitates a verified agency domain."
            }
        };
        RegistrationView {
            id: r.id,
            status: r.status.as_str().to_string(),
            email: r.email,
            name: r.name,
            agency_id: r.agency_id,
            claimed_agency: r.claimed.as_ref().map(|c| c.name.clone()),
            claimed_country: r.claimed.as_ref().map(|c| c.country.code().to_string()),
            lookalike_of: r.lookalike_of,
            user_id: r.user_id,
            created_at: r.created_at,
            verified_at: r.verified_at,
            next: next.to_string(),
        }
    }
}

fn claim(input: &AgencyClaimInput) -> ApiResult<ClaimedAgency> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(FieldError::new("agency.name", format!("1 to {MAX_NAME} characters")).into());
    }
    let country = Country::parse(&input.country)
        .map_err(|e| ApiError::field(FieldError::new("agency.country", e)))?;
    let kind: AgencyKind = input
        .kind
        .trim()
        .parse()
        .map_err(|e: String| ApiError::field(FieldError::new("agency.kind", e)))?;
    let phone = input
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if phone.as_ref().is_some_and(|p| p.chars().count() > 40) {
        return Err(FieldError::new("agency.phone", "at most 40 characters").into());
    }
    Ok(ClaimedAgency {
        name: name.to_string(),
        country,
        kind,
        phone,
    })
}

/// The refusal of a lookalike domain, naming the field and what was imitated.
fn lookalike_refusal(domain: &str, verdict: &DomainVerdict) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "lookalike_domain",
        format!(
            "email: {} Registration is refused. If you serve that agency, register with the \
             agency's own e-mail address.",
            verdict.describe(domain)
        ),
    )
}

/// Registers an officer: checks the address against the verified agency domains (a lookalike
/// is refused and flagged), stores the registration and queues the verification mail in the
/// same transaction. The portal's form and the JSON API both come here.
pub async fn register(state: &AppState, input: RegistrationInput) -> ApiResult<RegistrationRecord> {
    let email = Target::parse(TargetKind::Email, &input.email)
        .map_err(|e| ApiError::field(e.under("email")))?
        .value
        .to_ascii_lowercase();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(FieldError::new("name", format!("1 to {MAX_NAME} characters")).into());
    }
    password::check_strength(&input.password)
        .map_err(|e| ApiError::field(FieldError::new("password", strip_field(&e.to_string()))))?;
    let domain = custodian_core::agency::email_domain(&email).unwrap_or_default();

    let agencies = state.store.list_agencies().await?;
    let known: Vec<String> = agencies
        .iter()
        .flat_map(|a| a.domains.iter().cloned())
        .collect();
    let verdict = check_email(&email, &known);
    let system = custodian_store::Actor::System("registration".into());
    let (agency_id, claimed) = match &verdict {
        DomainVerdict::Verified { domain: on } => {
            let agency = agencies
                .iter()
                .filter(|a| a.domains.iter().any(|d| d == on))
                .max_by_key(|a| a.status == AgencyStatus::Verified)
                .ok_or_else(ApiError::not_found)?;
            if agency.status == AgencyStatus::Suspended {
                return Err(ApiError::forbidden(
                    "agency_suspended",
                    "email: this agency is suspended; contact the provider's legal team",
                ));
            }
            (Some(agency.id), None)
        }
        DomainVerdict::Lookalike { of, reasons } => {
            state
                .store
                .accounts()
                .create_registration(
                    &system,
                    NewRegistration {
                        email: email.clone(),
                        name,
                        password_hash: None,
                        agency_id: None,
                        claimed: None,
                        status: RegistrationStatus::Lookalike,
                        lookalike_of: Some(of.clone()),
                        lookalike_reasons: reasons.iter().map(|r| r.as_str().to_string()).collect(),
                        token_hash: None,
                        token_expires_at: None,
                    },
                    None,
                    state.clock.now(),
                )
                .await?;
            return Err(lookalike_refusal(&domain, &verdict));
        }
        DomainVerdict::Unknown => {
            let c = input.agency.as_ref().ok_or_else(|| {
                ApiError::field(FieldError::new(
                    "agency.name",
                    format!(
                        "'{domain}' is not on the provider's list of verified agency domains; \
                         name your agency (name, country, kind) so that an admin can verify it"
                    ),
                ))
            })?;
            (None, Some(claim(c)?))
        }
    };

    let pw = input.password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "hashing failed",
            )
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "hashing a password");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "hashing failed",
            )
        })?;
    let token = random_hex(32);
    let link = format!("{}/register/verify?token={token}", state.config.public_url);
    let mail = NewMail {
        kind: "email_verification".into(),
        recipient: email.clone(),
        subject: "Verify your e-mail address for Custodian".into(),
        request_id: None,
        send_after: None,
        body_text: format!(
            "Hello {name},\n\nsomeone (we hope you) registered this address as an officer's \
             account on Custodian, the provider's portal for legal process.\n\nTo verify the \
             address, open this link within {} hours:\n\n{link}\n\nIf it was not you, ignore \
             this message: nothing happens without the link.\n",
            state.config.verification_ttl.num_hours()
        ),
    };
    let record = state
        .store
        .accounts()
        .create_registration(
            &system,
            NewRegistration {
                email,
                name,
                password_hash: Some(hash),
                agency_id,
                claimed,
                status: RegistrationStatus::AwaitingEmail,
                lookalike_of: None,
                lookalike_reasons: Vec::new(),
                token_hash: Some(digest(&token)),
                token_expires_at: Some(state.clock.now() + state.config.verification_ttl),
            },
            Some(mail),
            state.clock.now(),
        )
        .await?;
    state.jobs_waker.notify_one();
    Ok(record)
}

/// `password: at least 12 characters` -> `at least 12 characters`.
fn strip_field(message: &str) -> String {
    message
        .split_once(": ")
        .map(|(_, m)| m.to_string())
        .unwrap_or_else(|| message.to_string())
}

/// Follows a verification link's token.
pub async fn verify_token(state: &AppState, token: &str) -> ApiResult<RegistrationRecord> {
    let token = token.trim();
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid_link());
    }
    match state
        .store
        .accounts()
        .verify_registration(&digest(token), state.clock.now())
        .await
    {
        Err(custodian_store::StoreError::NotFound) => Err(invalid_link()),
        other => Ok(other?),
    }
}

fn invalid_link() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_link",
        "this verification link is unknown, was used already, or has expired; register again",
    )
}

/// Register as an agency officer (no sign-in). The verification link is mailed to the address.
#[utoipa::path(
    post,
    path = "/api/v1/registrations",
    tag = "accounts",
    security(()),
    request_body = RegistrationInput,
    responses(
        (status = 202, description = "Registered; the verification mail is queued", body = RegistrationView),
        (status = 403, description = "The agency is suspended", body = ErrorBody),
        (status = 409, description = "An account with this address exists", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the domain imitates a verified one (code lookalike_domain)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<RegistrationInput>,
) -> ApiResult<(StatusCode, Json<RegistrationView>)> {
    let r = register(&state, input).await?;
    Ok((StatusCode::ACCEPTED, Json(r.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationInput {
    /// The token from the link in the verification mail.
    pub token: String,
}

/// Verify the e-mail address with the token from the mail (once, within 24 hours).
#[utoipa::path(
    post,
    path = "/api/v1/registrations/verify",
    tag = "accounts",
    security(()),
    request_body = VerificationInput,
    responses(
        (status = 200, description = "Verified: approved at once on a verified agency domain, else awaiting approval", body = RegistrationView),
        (status = 404, description = "Unknown, used or expired link", body = ErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VerificationInput>,
) -> ApiResult<Json<RegistrationView>> {
    Ok(Json(verify_token(&state, &input.token).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegistrationQuery {
    /// awaiting_email, awaiting_approval, approved, refused or lookalike.
    pub status: Option<String>,
}

/// Registrations, newest first (admin).
#[utoipa::path(
    get,
    path = "/api/v1/admin/registrations",
    tag = "accounts",
    params(RegistrationQuery),
    responses(
        (status = 200, description = "Registrations", body = Vec<RegistrationView>),
        (status = 403, description = "Admins only", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RegistrationQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<RegistrationView>>> {
    caller.require_role(&[Role::Admin], "registrations")?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status = q
        .status
        .as_deref()
        .map(RegistrationStatus::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("status: {e}")))?;
    let found = state.store.accounts().list_registrations(status).await?;
    Ok(Json(
        found.into_iter().map(RegistrationView::from).collect(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalInput {
    /// Join this existing agency; without it, the claimed agency is created, verified, with
    /// the address's domain as its verified domain.
    #[serde(default)]
    pub agency_id: Option<Uuid>,
}

fn registration_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such registration"))
}

fn registration_error(e: custodian_store::StoreError) -> ApiError {
    match e {
        custodian_store::StoreError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such registration or agency",
        ),
        other => other.into(),
    }
}

/// Approve a verified registration from an unknown domain (admin, after checking the agency).
#[utoipa::path(
    post,
    path = "/api/v1/admin/registrations/{id}/approve",
    tag = "accounts",
    params(("id" = Uuid, Path, description = "Registration id")),
    request_body(content = Option<ApprovalInput>, description = "Optional existing agency"),
    responses(
        (status = 200, description = "Approved: the officer's account exists", body = RegistrationView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such registration or agency", body = ErrorBody),
        (status = 409, description = "Not awaiting approval", body = ErrorBody),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<RegistrationView>> {
    caller.require_role(&[Role::Admin], "approving registrations")?;
    let id = registration_id(&id)?;
    let input: ApprovalInput = if body.is_empty() {
        ApprovalInput::default()
    } else {
        crate::json::parse_json(&body, "body")?
    };
    let r = decide_registration(&state, &caller, id, Some(input.agency_id)).await?;
    Ok(Json(r.into()))
}

/// Approves a registration (`Some(agency)`: join that agency, `Some(None)`: create the claimed
/// one) or refuses it (`None`). The API and the agencies page both come here.
pub(crate) async fn decide_registration(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    approve: Option<Option<Uuid>>,
) -> ApiResult<RegistrationRecord> {
    caller.require_role(&[Role::Admin], "deciding registrations")?;
    let accounts = state.store.accounts();
    match approve {
        Some(agency) => {
            accounts
                .approve_registration(&caller.actor(), id, agency)
                .await
        }
        None => accounts.refuse_registration(&caller.actor(), id).await,
    }
    .map_err(registration_error)
}

/// Refuse an open registration (admin).
#[utoipa::path(
    post,
    path = "/api/v1/admin/registrations/{id}/refuse",
    tag = "accounts",
    params(("id" = Uuid, Path, description = "Registration id")),
    responses(
        (status = 200, description = "Refused", body = RegistrationView),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
    )
)]
pub async fn refuse(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RegistrationView>> {
    caller.require_role(&[Role::Admin], "refusing registrations")?;
    let id = registration_id(&id)?;
    let r = decide_registration(&state, &caller, id, None).await?;
    Ok(Json(r.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// A short, stable handle for the session (a prefix of its stored digest).
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: String,
}

/// The caller's browser sessions that are still open.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    tag = "accounts",
    responses(
        (status = 200, description = "Open sessions", body = Vec<SessionView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SessionView>>> {
    let found = state
        .store
        .accounts()
        .list_sessions(caller.user.id, state.clock.now())
        .await?;
    Ok(Json(
        found
            .into_iter()
            .map(|s| SessionView {
                id: s.id_hash.chars().take(16).collect(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedOut {
    /// How many sessions were ended.
    pub ended: u64,
}

/// Sign the caller out of every browser session.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/sign-out-everywhere",
    tag = "accounts",
    responses(
        (status = 200, description = "Signed out everywhere", body = SignedOut),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<SignedOut>> {
    let ended = state
        .store
        .accounts()
        .end_all_sessions(&caller.actor(), caller.user.id)
        .await?;
    Ok(Json(SignedOut { ended }))
}
