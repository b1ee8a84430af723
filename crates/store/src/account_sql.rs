//! Storage for web accounts (migration 0005): the second factor and recovery codes, browser
//! sessions, sign-in throttling, officers' self-registration, and colleagues who follow a
//! request. As in `report_sql.rs`, the SQL is written once and stamped out per backend by
//! [`impl_account_store!`]. Reach it from a [`crate::DynStore`] with `store.accounts()`.
//!
//! Times that decide something (expiry, locks) are compared in Rust with the `now` the caller
//! passes, not in SQL, so both backends agree and tests can move the clock.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use custodian_core::{AgencyKind, Country};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Actor, RequestFilter, RequestPage, Scope, StoreResult, StoredAuditEntry, User};

/// How far a browser session got through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// The password was right; the TOTP code (or a recovery code) is due.
    SecondFactor,
    /// The password was right and the account has no second factor yet: enrolment is due.
    Enrol,
    /// Signed in.
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second_factor",
            SessionStage::Enrol => "enrol",
            SessionStage::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "second_factor" => Ok(SessionStage::SecondFactor),
            "enrol" => Ok(SessionStage::Enrol),
            "full" => Ok(SessionStage::Full),
            other => Err(format!("unknown session stage '{other}'")),
        }
    }
}

/// A session about to be stored. `id_hash` is the SHA-256 of the cookie's random id.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user_id: Uuid,
    pub stage: SessionStage,
    pub csrf: String,
    pub user_agent: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: Uuid,
    pub stage: SessionStage,
    /// The token every form and every unsafe cookie-authenticated call must carry.
    #[serde(skip)]
    pub csrf: String,
    /// A message to show once on the next page.
    #[serde(skip)]
    pub flash: Option<String>,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl SessionRecord {
    /// Whether the session still admits its holder at `now`: not ended, before its absolute
    /// expiry, and used within the last `idle`.
    pub fn is_live(&self, now: DateTime<Utc>, idle: Duration) -> bool {
        self.ended_at.is_none() && now < self.expires_at && now < self.last_seen_at + idle
    }
}

/// The rule for failed sign-ins: `max_failures` within `window` lock the account for `lock`.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub lock: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(15),
            lock: Duration::minutes(15),
        }
    }
}

/// What a failed sign-in did to the account's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub failures: u32,
    /// Set when this failure (or an earlier one) locked the account.
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    pub secret: Vec<u8>,
    pub confirmed: bool,
    pub last_step: u64,
}

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    /// The verification link has been mailed and not yet followed.
    AwaitingEmail,
    /// The address is verified; the agency is unknown and waits for an admin.
    AwaitingApproval,
    /// The account exists.
    Approved,
    Refused,
    /// Refused at once: the domain imitates a verified agency domain (flagged for the admin).
    Lookalike,
}

impl RegistrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::AwaitingEmail => "awaiting_email",
            RegistrationStatus::AwaitingApproval => "awaiting_approval",
            RegistrationStatus::Approved => "approved",
            RegistrationStatus::Refused => "refused",
            RegistrationStatus::Lookalike => "lookalike",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "awaiting_email" => RegistrationStatus::AwaitingEmail,
            "awaiting_approval" => RegistrationStatus::AwaitingApproval,
            "approved" => RegistrationStatus::Approved,
            "refused" => RegistrationStatus::Refused,
            "lookalike" => RegistrationStatus::Lookalike,
            other => return Err(format!("unknown registration status '{other}'")),
        })
    }
}

/// The agency an officer of an unknown domain says they serve, for the admin to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedAgency {
    pub name: String,
    pub country: Country,
    pub kind: AgencyKind,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewRegistration {
    pub email: String,
    pub name: String,
    /// None for a flagged lookalike attempt: its password is not kept.
    pub password_hash: Option<String>,
    /// The agency whose verified domain holds the address.
    pub agency_id: Option<Uuid>,
    pub claimed: Option<ClaimedAgency>,
    pub status: RegistrationStatus,
    /// For a lookalike: the verified domain imitated, and how.
    pub lookalike_of: Option<String>,
    pub lookalike_reasons: Vec<String>,
    /// SHA-256 of the e-mail verification token, and when it stops working.
    pub token_hash: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistrationRecord {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub agency_id: Option<Uuid>,
    pub claimed: Option<ClaimedAgency>,
    pub status: RegistrationStatus,
    pub lookalike_of: Option<String>,
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A follower of a request and who added them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowerRecord {
    pub user: User,
    pub added_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// The most colleagues that may follow one request.
pub const MAX_FOLLOWERS: usize = 5;

/// Web accounts' storage, implemented by both backends.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // --- sessions ---------------------------------------------------------------------
    /// Stores a session. A complete (`Full`) one is a sign-in and is audited.
    async fn create_session(&self, actor: &Actor, session: NewSession) -> StoreResult<()>;
    /// The session with this id hash, live or not (the caller checks `is_live`).
    async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Records that the session was used at `at` (idle expiry counts from here).
    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends one session (signing out, or replacing a half-signed-in one).
    async fn end_session(&self, actor: &Actor, id_hash: &str) -> StoreResult<()>;
    /// Ends every session of a user; returns how many were live.
    async fn end_all_sessions(&self, actor: &Actor, user_id: Uuid) -> StoreResult<u64>;
    /// The user's sessions that have not ended and not passed their absolute expiry.
    async fn list_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Sets (or clears) the message shown once on the session's next page.
    async fn set_flash(&self, id_hash: &str, flash: Option<&str>) -> StoreResult<()>;

    // --- sign-in throttling -----------------------------------------------------------
    /// Until when the account is locked, if it is locked at `now`.
    async fn locked_until(
        &self,
        account: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Counts a failed sign-in (audited; a lock is audited too). `user_id` names the account
    /// when the address belongs to one.
    async fn record_failure(
        &self,
        account: &str,
        user_id: Option<Uuid>,
        stage: &'static str,
        now: DateTime<Utc>,
        policy: ThrottlePolicy,
    ) -> StoreResult<Failure>;
    /// Forgets an account's failures after a complete sign-in.
    async fn clear_failures(&self, account: &str) -> StoreResult<()>;

    // --- second factor ----------------------------------------------------------------
    async fn totp(&self, user_id: Uuid) -> StoreResult<Option<TotpRecord>>;
    /// Starts (or restarts) an enrolment with a new secret. Refused once one is confirmed.
    async fn begin_totp(&self, actor: &Actor, user_id: Uuid, secret: &[u8]) -> StoreResult<()>;
    /// Confirms the enrolment with the first accepted step and stores the recovery codes'
    /// hashes, replacing any earlier ones (audited).
    async fn confirm_totp(
        &self,
        actor: &Actor,
        user_id: Uuid,
        step: u64,
        recovery_hashes: &[String],
    ) -> StoreResult<()>;
    /// Accepts a TOTP step if it is later than the last one accepted (a code works once).
    async fn accept_totp_step(&self, user_id: Uuid, step: u64) -> StoreResult<bool>;
    /// Uses up one recovery code; false if it is unknown or already used (audited when used).
    async fn use_recovery_code(
        &self,
        actor: &Actor,
        user_id: Uuid,
        code_hash: &str,
    ) -> StoreResult<bool>;
    async fn recovery_codes_left(&self, user_id: Uuid) -> StoreResult<u64>;
    /// Replaces the recovery codes with new ones (audited).
    async fn replace_recovery_codes(
        &self,
        actor: &Actor,
        user_id: Uuid,
        hashes: &[String],
    ) -> StoreResult<()>;

    // --- registration -----------------------------------------------------------------
    /// Stores a registration (audited; a lookalike is audited as flagged). The verification
    /// mail, when there is one, is queued in the outbox in the same transaction.
    async fn create_registration(
        &self,
        actor: &Actor,
        registration: NewRegistration,
        mail: Option<crate::NewMail>,
        now: DateTime<Utc>,
    ) -> StoreResult<RegistrationRecord>;
    /// Follows the verification link: once, before it expires. An address on a verified
    /// agency domain becomes an officer's account at once; any other waits for an admin.
    async fn verify_registration(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<RegistrationRecord>;
    async fn get_registration(&self, id: Uuid) -> StoreResult<RegistrationRecord>;
    async fn list_registrations(
        &self,
        status: Option<RegistrationStatus>,
    ) -> StoreResult<Vec<RegistrationRecord>>;
    /// An admin approves a registration awaiting approval: the officer joins `agency` or,
    /// without one, a new verified agency made from the claim with the address's domain.
    async fn approve_registration(
        &self,
        actor: &Actor,
        id: Uuid,
        agency: Option<Uuid>,
    ) -> StoreResult<RegistrationRecord>;
    async fn refuse_registration(&self, actor: &Actor, id: Uuid)
        -> StoreResult<RegistrationRecord>;

    // --- followers and the agency's view of a request ----------------------------------
    /// Adds a colleague of the serving agency as a follower (at most [`MAX_FOLLOWERS`]).
    async fn add_follower(
        &self,
        actor: &Actor,
        scope: Scope,
        request_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<()>;
    async fn remove_follower(
        &self,
        actor: &Actor,
        scope: Scope,
        request_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<()>;
    async fn followers(&self, scope: Scope, request_id: Uuid) -> StoreResult<Vec<FollowerRecord>>;
    /// The requests a user served or follows, newest first.
    async fn my_requests(&self, user_id: Uuid, filter: &RequestFilter) -> StoreResult<RequestPage>;
    /// The audit entries about one request, oldest first.
    async fn request_timeline(
        &self,
        scope: Scope,
        request_id: Uuid,
    ) -> StoreResult<Vec<StoredAuditEntry>>;
}

macro_rules! impl_account_store {
    ($store:ident, $db:ident) => {
        mod account_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::account_sql::*;
            use $crate::sql::{now, parse_column, qualified, REQUEST_COLUMNS, USER_COLUMNS};
            use $crate::{
                Actor, AuditEvent, RequestFilter, RequestPage, Scope, StoreError, StoreResult,
                StoredAuditEntry,
            };

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            const SESSION_COLUMNS: &str = "id_hash, user_id, stage, csrf, flash, user_agent, \
                 created_at, last_seen_at, expires_at, ended_at";
            const REGISTRATION_COLUMNS: &str = "id, email, name, agency_id, agency_name, \
                 agency_country, agency_kind, agency_phone, status, lookalike_of, user_id, \
                 created_at, verified_at, decided_at";

            fn session_row(row: &DbRow) -> StoreResult<SessionRecord> {
                let stage: String = row.try_get("stage")?;
                Ok(SessionRecord {
                    id_hash: row.try_get("id_hash")?,
                    user_id: row.try_get("user_id")?,
                    stage: SessionStage::parse(&stage).map_err(StoreError::Corrupt)?,
                    csrf: row.try_get("csrf")?,
                    flash: row.try_get("flash")?,
                    user_agent: row.try_get("user_agent")?,
                    created_at: row.try_get("created_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                    expires_at: row.try_get("expires_at")?,
                    ended_at: row.try_get("ended_at")?,
                })
            }

            fn registration_row(row: &DbRow) -> StoreResult<RegistrationRecord> {
                let status: String = row.try_get("status")?;
                let name: Option<String> = row.try_get("agency_name")?;
                let claimed = match name {
                    Some(name) => Some(ClaimedAgency {
                        name,
                        country: parse_column(
                            "agency_country",
                            &row.try_get::<Option<String>, _>("agency_country")?.unwrap_or_default(),
                        )?,
                        kind: parse_column(
                            "agency_kind",
                            &row.try_get::<Option<String>, _>("agency_kind")?.unwrap_or_default(),
                        )?,
                        phone: row.try_get("agency_phone")?,
                    }),
                    None => None,
                };
                Ok(RegistrationRecord {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    agency_id: row.try_get("agency_id")?,
                    claimed,
                    status: RegistrationStatus::parse(&status).map_err(StoreError::Corrupt)?,
                    lookalike_of: row.try_get("lookalike_of")?,
                    user_id: row.try_get("user_id")?,
                    created_at: row.try_get("created_at")?,
                    verified_at: row.try_get("verified_at")?,
                    decided_at: row.try_get("decided_at")?,
                })
            }

            fn audit_row(row: &DbRow) -> StoreResult<StoredAuditEntry> {
                let details: String = row.try_get("details")?;
                let leaf: Vec<u8> = row.try_get("leaf_hash")?;
                Ok(StoredAuditEntry {
                    entry: custodian_audit::AuditEntry {
                        idx: u64::try_from(row.try_get::<i64, _>("idx")?).unwrap_or(0),
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        object: row.try_get("object")?,
                        at: row.try_get("at")?,
                        details: serde_json::from_str(&details)
                            .unwrap_or(serde_json::Value::String(details)),
                    },
                    leaf_hash: leaf.try_into().unwrap_or([0u8; 32]),
                })
            }

            fn step_i64(step: u64) -> i64 {
                i64::try_from(step).unwrap_or(i64::MAX)
            }

            impl Store {
                async fn store_recovery_codes(
                    tx: &mut Tx,
                    user_id: Uuid,
                    hashes: &[String],
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut **tx)
                        .await?;
                    for h in hashes {
                        sqlx::query(
                            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
                        )
                        .bind(user_id)
                        .bind(h)
                        .bind(at)
                        .execute(&mut **tx)
                        .await?;
                    }
                    Ok(())
                }

                async fn registration_in(tx: &mut Tx, id: Uuid) -> StoreResult<RegistrationRecord> {
                    let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    registration_row(&row)
                }

                /// Creates the officer's account for a registration inside `tx`.
                async fn officer_from_registration(
                    tx: &mut Tx,
                    actor: &Actor,
                    id: Uuid,
                    agency_id: Uuid,
                    at: DateTime<Utc>,
                ) -> StoreResult<Uuid> {
                    let row = sqlx::query(
                        "SELECT email, name, password_hash FROM registrations WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
                    let email: String = row.try_get("email")?;
                    let name: String = row.try_get("name")?;
                    let hash: Option<String> = row.try_get("password_hash")?;
                    let taken: Option<Uuid> =
                        sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                            .bind(&email)
                            .fetch_optional(&mut **tx)
                            .await?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict(
                            "an account with this e-mail address exists already; sign in instead"
                                .into(),
                        ));
                    }
                    let user_id = Uuid::new_v4();
                    sqlx::query(
                        "INSERT INTO users (id, email, name, role, agency_id, password_hash, \
                         active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(user_id)
                    .bind(&email)
                    .bind(&name)
                    .bind(custodian_core::Role::AgencyOfficer.as_str())
                    .bind(agency_id)
                    .bind(hash)
                    .bind(true)
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                    Self::append_audit(
                        tx,
                        actor,
                        AuditEvent::new(
                            "user.created",
                            format!("user:{user_id}"),
                            serde_json::json!({
                                "role": custodian_core::Role::AgencyOfficer.as_str(),
                                "agency": agency_id.to_string(),
                                "registration": id.to_string(),
                            }),
                        ),
                        at,
                    )
                    .await?;
                    sqlx::query(
                        "UPDATE registrations SET status = $1, user_id = $2, agency_id = $3, \
                         password_hash = NULL, decided_at = $4 WHERE id = $5",
                    )
                    .bind(RegistrationStatus::Approved.as_str())
                    .bind(user_id)
                    .bind(agency_id)
                    .bind(at)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                    Ok(user_id)
                }
            }

            #[async_trait]
            impl AccountStore for Store {
                async fn create_session(&self, actor: &Actor, s: NewSession) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    sqlx::query(
                        "INSERT INTO web_sessions (id_hash, user_id, stage, csrf, user_agent, \
                         created_at, last_seen_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&s.id_hash)
                    .bind(s.user_id)
                    .bind(s.stage.as_str())
                    .bind(&s.csrf)
                    .bind(&s.user_agent)
                    .bind(at)
                    .bind(at)
                    .bind(s.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    if s.stage == SessionStage::Full {
                        // The session's own id would let a reader of the log hijack it; a
                        // prefix of its hash is enough to tell sessions apart.
                        Self::append_audit(
                            &mut tx,
                            actor,
                            AuditEvent::new(
                                "auth.signed_in",
                                format!("user:{}", s.user_id),
                                serde_json::json!({"session": &s.id_hash[..16.min(s.id_hash.len())]}),
                            ),
                            at,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
                    let sql = format!("SELECT {SESSION_COLUMNS} FROM web_sessions WHERE id_hash = $1");
                    let row = sqlx::query(&sql)
                        .bind(id_hash)
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(session_row).transpose()
                }

                async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE web_sessions SET last_seen_at = $1 WHERE id_hash = $2 \
                         AND ended_at IS NULL",
                    )
                    .bind(at)
                    .bind(id_hash)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn end_session(&self, actor: &Actor, id_hash: &str) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let row = sqlx::query(
                        "UPDATE web_sessions SET ended_at = $1 WHERE id_hash = $2 \
                         AND ended_at IS NULL RETURNING user_id, stage",
                    )
                    .bind(at)
                    .bind(id_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = row {
                        let stage: String = row.try_get("stage")?;
                        if stage == SessionStage::Full.as_str() {
                            let user: Uuid = row.try_get("user_id")?;
                            Self::append_audit(
                                &mut tx,
                                actor,
                                AuditEvent::new(
                                    "auth.signed_out",
                                    format!("user:{user}"),
                                    serde_json::json!({"session": &id_hash[..16.min(id_hash.len())]}),
                                ),
                                at,
                            )
                            .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn end_all_sessions(&self, actor: &Actor, user_id: Uuid) -> StoreResult<u64> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let ended = sqlx::query(
                        "UPDATE web_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
                    )
                    .bind(at)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "auth.signed_out_everywhere",
                            format!("user:{user_id}"),
                            serde_json::json!({"sessions": ended}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(ended)
                }

                async fn list_sessions(
                    &self,
                    user_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<Vec<SessionRecord>> {
                    let sql = format!(
                        "SELECT {SESSION_COLUMNS} FROM web_sessions WHERE user_id = $1 \
                         AND ended_at IS NULL AND stage = $2 ORDER BY created_at DESC"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(user_id)
                        .bind(SessionStage::Full.as_str())
                        .fetch_all(self.reader())
                        .await?;
                    let all = rows.iter().map(session_row).collect::<StoreResult<Vec<_>>>()?;
                    Ok(all.into_iter().filter(|s| now < s.expires_at).collect())
                }

                async fn set_flash(&self, id_hash: &str, flash: Option<&str>) -> StoreResult<()> {
                    sqlx::query("UPDATE web_sessions SET flash = $1 WHERE id_hash = $2")
                        .bind(flash)
                        .bind(id_hash)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn locked_until(
                    &self,
                    account: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<DateTime<Utc>>> {
                    let until: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
                        "SELECT locked_until FROM sign_in_throttle WHERE account = $1",
                    )
                    .bind(account)
                    .fetch_optional(self.reader())
                    .await?;
                    Ok(until.flatten().filter(|u| now < *u))
                }

                async fn record_failure(
                    &self,
                    account: &str,
                    user_id: Option<Uuid>,
                    stage: &'static str,
                    now: DateTime<Utc>,
                    policy: ThrottlePolicy,
                ) -> StoreResult<Failure> {
                    let at = custodian_audit::AuditEntry::truncate_time(now);
                    let mut tx = self.writer().begin().await?;
                    // One atomic increment, so that servers counting at once lose no failure.
                    let row = sqlx::query(
                        "INSERT INTO sign_in_throttle (account, failures, first_failure_at) \
                         VALUES ($1, 1, $2) ON CONFLICT (account) DO UPDATE \
                         SET failures = sign_in_throttle.failures + 1 \
                         RETURNING failures, first_failure_at, locked_until",
                    )
                    .bind(account)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    let mut failures = u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX);
                    let first: DateTime<Utc> = row.try_get("first_failure_at")?;
                    let mut locked: Option<DateTime<Utc>> =
                        row.try_get::<Option<DateTime<Utc>>, _>("locked_until")?.filter(|u| at < *u);
                    if locked.is_none() && at >= first + policy.window {
                        // The earlier failures are too old to count: start a new window.
                        sqlx::query(
                            "UPDATE sign_in_throttle SET failures = 1, first_failure_at = $1, \
                             locked_until = NULL WHERE account = $2",
                        )
                        .bind(at)
                        .bind(account)
                        .execute(&mut *tx)
                        .await?;
                        failures = 1;
                    }
                    let object = match user_id {
                        Some(u) => format!("user:{u}"),
                        None => format!("account:{}", &account[..16.min(account.len())]),
                    };
                    let audit_actor = match user_id {
                        Some(u) => Actor::User(u),
                        None => Actor::System("web".into()),
                    };
                    Self::append_audit(
                        &mut tx,
                        &audit_actor,
                        AuditEvent::new(
                            "auth.sign_in_failed",
                            object.clone(),
                            serde_json::json!({"stage": stage, "failures": failures}),
                        ),
                        at,
                    )
                    .await?;
                    if locked.is_none() && failures >= policy.max_failures {
                        let until = at + policy.lock;
                        sqlx::query(
                            "UPDATE sign_in_throttle SET locked_until = $1, failures = 0, \
                             first_failure_at = $2 WHERE account = $3",
                        )
                        .bind(until)
                        .bind(at)
                        .bind(account)
                        .execute(&mut *tx)
                        .await?;
                        Self::append_audit(
                            &mut tx,
                            &audit_actor,
                            AuditEvent::new(
                                "auth.locked",
                                object,
                                serde_json::json!({
                                    "until": until.to_rfc3339(),
                                    "failures": failures,
                                }),
                            ),
                            at,
                        )
                        .await?;
                        locked = Some(until);
                    }
                    tx.commit().await?;
                    Ok(Failure {
                        failures,
                        locked_until: locked,
                    })
                }

                async fn clear_failures(&self, account: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM sign_in_throttle WHERE account = $1")
                        .bind(account)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn totp(&self, user_id: Uuid) -> StoreResult<Option<TotpRecord>> {
                    let row = sqlx::query(
                        "SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(self.reader())
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    Ok(Some(TotpRecord {
                        secret: row.try_get("secret")?,
                        confirmed: row.try_get::<Option<DateTime<Utc>>, _>("confirmed_at")?.is_some(),
                        last_step: u64::try_from(row.try_get::<i64, _>("last_step")?).unwrap_or(0),
                    }))
                }

                async fn begin_totp(&self, actor: &Actor, user_id: Uuid, secret: &[u8]) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let confirmed: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
                        "SELECT confirmed_at FROM user_totp WHERE user_id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if matches!(confirmed, Some(Some(_))) {
                        return Err(StoreError::Conflict(
                            "an authenticator is already enrolled for this account".into(),
                        ));
                    }
                    sqlx::query(
                        "INSERT INTO user_totp (user_id, secret, last_step, created_at) \
                         VALUES ($1, $2, 0, $3) ON CONFLICT (user_id) DO UPDATE \
                         SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0",
                    )
                    .bind(user_id)
                    .bind(secret)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new("auth.totp_enrolment_started", format!("user:{user_id}"), serde_json::json!({})),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn confirm_totp(
                    &self,
                    actor: &Actor,
                    user_id: Uuid,
                    step: u64,
                    recovery_hashes: &[String],
                ) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE user_totp SET confirmed_at = $1, last_step = $2 \
                         WHERE user_id = $3 AND confirmed_at IS NULL",
                    )
                    .bind(at)
                    .bind(step_i64(step))
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "no authenticator enrolment is under way; start again".into(),
                        ));
                    }
                    Self::store_recovery_codes(&mut tx, user_id, recovery_hashes, at).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "auth.totp_enrolled",
                            format!("user:{user_id}"),
                            serde_json::json!({"recovery_codes": recovery_hashes.len()}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn accept_totp_step(&self, user_id: Uuid, step: u64) -> StoreResult<bool> {
                    let changed = sqlx::query(
                        "UPDATE user_totp SET last_step = $1 WHERE user_id = $2 \
                         AND confirmed_at IS NOT NULL AND last_step < $1",
                    )
                    .bind(step_i64(step))
                    .bind(user_id)
                    .execute(self.writer())
                    .await?;
                    Ok(changed.rows_affected() == 1)
                }

                async fn use_recovery_code(
                    &self,
                    actor: &Actor,
                    user_id: Uuid,
                    code_hash: &str,
                ) -> StoreResult<bool> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 \
                         AND code_hash = $3 AND used_at IS NULL",
                    )
                    .bind(at)
                    .bind(user_id)
                    .bind(code_hash)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        return Ok(false);
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new("auth.recovery_code_used", format!("user:{user_id}"), serde_json::json!({})),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn recovery_codes_left(&self, user_id: Uuid) -> StoreResult<u64> {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
                    )
                    .bind(user_id)
                    .fetch_one(self.reader())
                    .await?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn replace_recovery_codes(
                    &self,
                    actor: &Actor,
                    user_id: Uuid,
                    hashes: &[String],
                ) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    Self::store_recovery_codes(&mut tx, user_id, hashes, at).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "auth.recovery_codes_replaced",
                            format!("user:{user_id}"),
                            serde_json::json!({"recovery_codes": hashes.len()}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn create_registration(
                    &self,
                    actor: &Actor,
                    r: NewRegistration,
                    mail: Option<$crate::NewMail>,
                    now_: DateTime<Utc>,
                ) -> StoreResult<RegistrationRecord> {
                    let id = Uuid::new_v4();
                    let at = custodian_audit::AuditEntry::truncate_time(now_);
                    let email = r.email.trim().to_ascii_lowercase();
                    let mut tx = self.writer().begin().await?;
                    if r.status != RegistrationStatus::Lookalike {
                        let taken: Option<Uuid> =
                            sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                                .bind(&email)
                                .fetch_optional(&mut *tx)
                                .await?;
                        if taken.is_some() {
                            return Err(StoreError::Conflict(
                                "email: an account with this address exists already; sign in instead"
                                    .into(),
                            ));
                        }
                    }
                    sqlx::query(
                        "INSERT INTO registrations (id, email, name, password_hash, agency_id, \
                         agency_name, agency_country, agency_kind, agency_phone, status, \
                         lookalike_of, token_hash, token_expires_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(id)
                    .bind(&email)
                    .bind(r.name.trim())
                    .bind(&r.password_hash)
                    .bind(r.agency_id)
                    .bind(r.claimed.as_ref().map(|c| c.name.clone()))
                    .bind(r.claimed.as_ref().map(|c| c.country.code().to_string()))
                    .bind(r.claimed.as_ref().map(|c| c.kind.as_str()))
                    .bind(r.claimed.as_ref().and_then(|c| c.phone.clone()))
                    .bind(r.status.as_str())
                    .bind(&r.lookalike_of)
                    .bind(&r.token_hash)
                    .bind(r.token_expires_at)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    let event = if r.status == RegistrationStatus::Lookalike {
                        AuditEvent::new(
                            "registration.lookalike_flagged",
                            format!("registration:{id}"),
                            serde_json::json!({
                                "imitates": r.lookalike_of,
                                "reasons": r.lookalike_reasons,
                            }),
                        )
                    } else {
                        AuditEvent::new(
                            "registration.started",
                            format!("registration:{id}"),
                            serde_json::json!({
                                "agency": r.agency_id.map(|a| a.to_string()),
                                "known_domain": r.agency_id.is_some(),
                            }),
                        )
                    };
                    Self::append_audit(&mut tx, actor, event, at).await?;
                    // The verification mail goes out if and only if the registration commits.
                    if let Some(mail) = mail {
                        Self::queue_mail_in(&mut tx, actor, &mail, at).await?;
                    }
                    let record = Self::registration_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn verify_registration(
                    &self,
                    token_hash: &str,
                    now_: DateTime<Utc>,
                ) -> StoreResult<RegistrationRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let row = sqlx::query(
                        "SELECT id, agency_id, token_expires_at FROM registrations \
                         WHERE token_hash = $1 AND status = $2",
                    )
                    .bind(token_hash)
                    .bind(RegistrationStatus::AwaitingEmail.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let id: Uuid = row.try_get("id")?;
                    let agency: Option<Uuid> = row.try_get("agency_id")?;
                    let expires: Option<DateTime<Utc>> = row.try_get("token_expires_at")?;
                    if expires.is_none_or(|e| now_ >= e) {
                        return Err(StoreError::NotFound);
                    }
                    // Single use: the token is gone whatever happens next.
                    sqlx::query(
                        "UPDATE registrations SET token_hash = NULL, verified_at = $1, status = $2 \
                         WHERE id = $3",
                    )
                    .bind(at)
                    .bind(RegistrationStatus::AwaitingApproval.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let actor = Actor::System("registration".into());
                    Self::append_audit(
                        &mut tx,
                        &actor,
                        AuditEvent::new("registration.email_verified", format!("registration:{id}"), serde_json::json!({})),
                        at,
                    )
                    .await?;
                    if let Some(agency) = agency {
                        Self::officer_from_registration(&mut tx, &actor, id, agency, at).await?;
                    }
                    let record = Self::registration_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn get_registration(&self, id: Uuid) -> StoreResult<RegistrationRecord> {
                    let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    registration_row(&row)
                }

                async fn list_registrations(
                    &self,
                    status: Option<RegistrationStatus>,
                ) -> StoreResult<Vec<RegistrationRecord>> {
                    let sql = format!(
                        "SELECT {REGISTRATION_COLUMNS} FROM registrations \
                         WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT 500"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(status.map(|s| s.as_str()))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(registration_row).collect()
                }

                async fn approve_registration(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    agency: Option<Uuid>,
                ) -> StoreResult<RegistrationRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let r = Self::registration_in(&mut tx, id).await?;
                    if r.status != RegistrationStatus::AwaitingApproval {
                        return Err(StoreError::Conflict(format!(
                            "the registration is {}, not awaiting approval",
                            r.status.as_str()
                        )));
                    }
                    let agency_id = match agency {
                        Some(a) => {
                            let exists: Option<Uuid> =
                                sqlx::query_scalar("SELECT id FROM agencies WHERE id = $1")
                                    .bind(a)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            exists.ok_or(StoreError::NotFound)?
                        }
                        None => {
                            let claim = r.claimed.clone().ok_or_else(|| {
                                StoreError::Conflict(
                                    "agency: the registration describes no agency; name an existing one".into(),
                                )
                            })?;
                            let domain = custodian_core::agency::email_domain(&r.email)
                                .ok_or_else(|| StoreError::Corrupt("registration e-mail".into()))?;
                            let agency_id = Uuid::new_v4();
                            let inserted = sqlx::query(
                                "INSERT INTO agencies (id, name, country, kind, status, phone, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(agency_id)
                            .bind(&claim.name)
                            .bind(claim.country.code())
                            .bind(claim.kind.as_str())
                            .bind(custodian_core::AgencyStatus::Verified.as_str())
                            .bind(&claim.phone)
                            .bind(at)
                            .execute(&mut *tx)
                            .await;
                            match inserted {
                                Err(e) if StoreError::is_unique_violation(&e) => {
                                    return Err(StoreError::Conflict(format!(
                                        "agency: an agency named '{}' exists already; approve into it",
                                        claim.name
                                    )))
                                }
                                other => {
                                    other?;
                                }
                            }
                            sqlx::query("INSERT INTO agency_domains (agency_id, domain) VALUES ($1, $2)")
                                .bind(agency_id)
                                .bind(&domain)
                                .execute(&mut *tx)
                                .await?;
                            Self::append_audit(
                                &mut tx,
                                actor,
                                AuditEvent::new(
                                    "agency.created",
                                    format!("agency:{agency_id}"),
                                    serde_json::json!({
                                        "name": claim.name,
                                        "country": claim.country.code(),
                                        "kind": claim.kind.as_str(),
                                        "status": custodian_core::AgencyStatus::Verified.as_str(),
                                        "domains": [domain],
                                        "registration": id.to_string(),
                                    }),
                                ),
                                at,
                            )
                            .await?;
                            agency_id
                        }
                    };
                    Self::officer_from_registration(&mut tx, actor, id, agency_id, at).await?;
                    sqlx::query("UPDATE registrations SET decided_by = $1 WHERE id = $2")
                        .bind(actor.user_id())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "registration.approved",
                            format!("registration:{id}"),
                            serde_json::json!({"agency": agency_id.to_string()}),
                        ),
                        at,
                    )
                    .await?;
                    let record = Self::registration_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn refuse_registration(&self, actor: &Actor, id: Uuid) -> StoreResult<RegistrationRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let r = Self::registration_in(&mut tx, id).await?;
                    if !matches!(
                        r.status,
                        RegistrationStatus::AwaitingApproval | RegistrationStatus::AwaitingEmail
                    ) {
                        return Err(StoreError::Conflict(format!(
                            "the registration is {}; only an open one can be refused",
                            r.status.as_str()
                        )));
                    }
                    sqlx::query(
                        "UPDATE registrations SET status = $1, token_hash = NULL, password_hash = NULL, \
                         decided_at = $2, decided_by = $3 WHERE id = $4",
                    )
                    .bind(RegistrationStatus::Refused.as_str())
                    .bind(at)
                    .bind(actor.user_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new("registration.refused", format!("registration:{id}"), serde_json::json!({})),
                        at,
                    )
                    .await?;
                    let record = Self::registration_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn add_follower(
                    &self,
                    actor: &Actor,
                    scope: Scope,
                    request_id: Uuid,
                    user_id: Uuid,
                ) -> StoreResult<()> {
                    let added_by = actor.user_id().ok_or(StoreError::NotFound)?;
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let agency: Uuid = sqlx::query_scalar(
                        "SELECT agency_id FROM requests WHERE id = $1 AND ($2 IS NULL OR agency_id = $2)",
                    )
                    .bind(request_id)
                    .bind(scope.agency())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let colleague: Option<Uuid> = sqlx::query_scalar(
                        "SELECT agency_id FROM users WHERE id = $1 AND active = $2",
                    )
                    .bind(user_id)
                    .bind(true)
                    .fetch_optional(&mut *tx)
                    .await?
                    .flatten();
                    if colleague != Some(agency) {
                        return Err(StoreError::Conflict(
                            "email: only a colleague of the serving agency can follow a request".into(),
                        ));
                    }
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM request_followers WHERE request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if usize::try_from(n).unwrap_or(usize::MAX) >= MAX_FOLLOWERS {
                        return Err(StoreError::Conflict(format!(
                            "email: at most {MAX_FOLLOWERS} colleagues can follow a request"
                        )));
                    }
                    let inserted = sqlx::query(
                        "INSERT INTO request_followers (request_id, user_id, added_by, created_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(request_id)
                    .bind(user_id)
                    .bind(added_by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Err(e) if StoreError::is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(
                                "email: this colleague already follows the request".into(),
                            ))
                        }
                        other => {
                            other?;
                        }
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "request.follower_added",
                            format!("request:{request_id}"),
                            serde_json::json!({"user": user_id.to_string()}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn remove_follower(
                    &self,
                    actor: &Actor,
                    scope: Scope,
                    request_id: Uuid,
                    user_id: Uuid,
                ) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    Self::status_in(&mut tx, scope, request_id).await?;
                    let gone = sqlx::query(
                        "DELETE FROM request_followers WHERE request_id = $1 AND user_id = $2",
                    )
                    .bind(request_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    if gone.rows_affected() != 1 {
                        return Err(StoreError::NotFound);
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "request.follower_removed",
                            format!("request:{request_id}"),
                            serde_json::json!({"user": user_id.to_string()}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn followers(&self, scope: Scope, request_id: Uuid) -> StoreResult<Vec<FollowerRecord>> {
                    self.request_in(scope, request_id, false).await?;
                    let cols = qualified(USER_COLUMNS, "u", None);
                    let sql = format!(
                        "SELECT {cols}, f.added_by, f.created_at AS followed_at FROM request_followers f \
                         JOIN users u ON u.id = f.user_id WHERE f.request_id = $1 ORDER BY f.created_at, u.email"
                    );
                    let rows = sqlx::query(&sql).bind(request_id).fetch_all(self.reader()).await?;
                    rows.iter()
                        .map(|row| {
                            Ok(FollowerRecord {
                                user: super::user_row(row)?,
                                added_by: row.try_get("added_by")?,
                                created_at: row.try_get("followed_at")?,
                            })
                        })
                        .collect()
                }

                async fn my_requests(&self, user_id: Uuid, filter: &RequestFilter) -> StoreResult<RequestPage> {
                    let status = filter.status.map(|s| s.as_str());
                    let mine = "(submitted_by = $1 OR id IN \
                                (SELECT request_id FROM request_followers WHERE user_id = $1)) \
                                AND ($2 IS NULL OR status = $2)";
                    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM requests WHERE {mine}"))
                        .bind(user_id)
                        .bind(status)
                        .fetch_one(self.reader())
                        .await?;
                    let sql = format!(
                        "SELECT {REQUEST_COLUMNS} FROM requests WHERE {mine} \
                         ORDER BY received_at DESC, id LIMIT $3 OFFSET $4"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(user_id)
                        .bind(status)
                        .bind(i64::from(filter.limit))
                        .bind(i64::from(filter.offset))
                        .fetch_all(self.reader())
                        .await?;
                    let items = rows
                        .iter()
                        .map(super::request_row)
                        .collect::<StoreResult<Vec<_>>>()?;
                    Ok(RequestPage {
                        items,
                        total: u64::try_from(total).unwrap_or(0),
                    })
                }

                async fn request_timeline(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Vec<StoredAuditEntry>> {
                    self.request_in(scope, request_id, false).await?;
                    let rows = sqlx::query(
                        "SELECT idx, actor, action, object, at, details, leaf_hash FROM audit_log \
                         WHERE object = $1 ORDER BY idx",
                    )
                    .bind(format!("request:{request_id}"))
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(audit_row).collect()
                }
            }
        }
    };
}
pub(crate) use impl_account_store;
