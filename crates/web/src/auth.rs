//! Who is asking. API clients present a bearer token that an admin issued; only its SHA-256 is
//! stored, so a copy of the database does not hand out working tokens. Browsers present a
//! session cookie (see `session.rs`), so the JSON API works from the pages too.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use custodian_core::{AgencyStatus, Role};
use custodian_store::{Actor, Agency, Scope, SessionStage, StoreError, User};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::session::{csrf_refused, is_unsafe, same_token, MaybeSession, CSRF_HEADER};
use crate::AppState;

/// Prefix of every token Custodian issues, so that a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "cust_";

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An authenticated caller and what they may see.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub scope: Scope,
    /// For agency staff: their agency as it stood when the call was authenticated (only
    /// verified agencies may serve; verification at intake reads the rest).
    pub agency: Option<Agency>,
    /// The address the call came from, when known (see `verification::address_of`).
    pub address: Option<std::net::IpAddr>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::User(self.user.id)
    }

    pub fn is_agency(&self) -> bool {
        self.user.role.is_agency_side()
    }

    /// Refuses callers whose role is not among `roles`.
    pub fn require_role(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(
                "forbidden",
                format!("{what} needs one of these roles: {}", names.join(", ")),
            ))
        }
    }

    /// Only officers of a verified agency may serve legal process.
    pub fn require_serving_officer(&self) -> Result<uuid::Uuid, ApiError> {
        let agency = match (self.user.role, self.user.agency_id) {
            (Role::AgencyOfficer | Role::AgencySupervisor, Some(a)) => a,
            _ => {
                return Err(ApiError::forbidden(
                    "agency_only",
                    "only agency officers serve legal process",
                ))
            }
        };
        match self.agency.as_ref().map(|a| a.status) {
            Some(AgencyStatus::Verified) => Ok(agency),
            Some(AgencyStatus::Suspended) => Err(ApiError::forbidden(
                "agency_suspended",
                "your agency is suspended; contact the provider's legal team",
            )),
            _ => Err(ApiError::forbidden(
                "agency_not_verified",
                "your agency has not been verified yet; requests can be served once it is",
            )),
        }
    }
}

impl Caller {
    /// The caller a signed-in browser session stands for.
    pub async fn of_user(state: &AppState, user: User) -> Result<Caller, ApiError> {
        let agency = match user.agency_id {
            Some(a) if user.role.is_agency_side() => Some(state.store.get_agency(a).await?),
            _ => None,
        };
        Ok(Caller::with_agency(user, agency))
    }

    /// The caller `user` stands for, with their agency as read with them (kept only for
    /// agency staff).
    fn with_agency(user: User, agency: Option<Agency>) -> Caller {
        let agency = agency.filter(|_| user.role.is_agency_side());
        Caller {
            scope: Scope::of(&user),
            user,
            agency,
            address: None,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// A bearer token (API clients), or else a complete browser session; a cookie-authenticated
    /// unsafe request must carry the session's CSRF token in `X-CSRF-Token`.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(header) = header else {
            let MaybeSession(session) = MaybeSession::from_request_parts(parts, state).await?;
            let session = session
                .filter(|s| s.stage() == SessionStage::Full)
                .ok_or_else(|| {
                    ApiError::unauthorized("send 'Authorization: Bearer <token>' or sign in")
                })?;
            if is_unsafe(&parts.method) {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !same_token(sent, session.csrf()) {
                    return Err(csrf_refused());
                }
            }
            let mut caller = Caller::of_user(state, session.user).await?;
            caller.address = crate::verification::address_of(parts);
            return Ok(caller);
        };
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not a Custodian bearer token")
            })?;
        let (user, agency) = match state.store.user_for_token(&token_hash(token)).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => {
                return Err(ApiError::unauthorized("the token is unknown or revoked"))
            }
            Err(e) => return Err(e.into()),
        };
        let mut caller = Caller::with_agency(user, agency);
        caller.address = crate::verification::address_of(parts);
        Ok(caller)
    }
}
