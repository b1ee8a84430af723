//! Storage for the review console's administration (migration 0007), written once and stamped
//! out per backend by [`impl_console_store!`] as `sql.rs` is:
//!
//! - [`AdminStore`] (`store.admin()`): an agency's directory phone and verified domains, staff
//!   roles and deactivation, and the settings every server reads (the active policy profile);
//! - [`DeadlineStore`] (`store.deadlines()`): the holiday calendars deadlines are counted in,
//!   and the deadline reminders, each queued in the outbox once per deadline and assignee.
//!
//! Every change appends its audit entry in its own transaction; entries carry ids, codes and
//! digests, never an e-mail address.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::deadline::{CalendarBase, CalendarSpec, ReminderKind};
use custodian_core::Role;
use uuid::Uuid;

use crate::{Actor, Agency, NewMail, RequestRecord, StoreResult, User};

/// The setting that names the policy profile every server applies (a built-in profile's
/// name); without it, each server applies the profile it was started with.
pub const POLICY_PROFILE_SETTING: &str = "policy_profile";

/// A holiday calendar as the admin keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRecord {
    /// The ISO 3166-1 code of the country whose requests it counts (`US`, `GB`, ...).
    pub code: String,
    pub name: String,
    pub spec: CalendarSpec,
    pub created_at: DateTime<Utc>,
}

/// A deadline an assignee should hear about now.
#[derive(Debug, Clone)]
pub struct ReminderDue {
    pub request: RequestRecord,
    pub kind: ReminderKind,
    pub assignee: User,
}

/// Agencies, staff and settings, for the admin. Reach it with `store.admin()`.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// The switchboard number from an independent directory (call-backs dial it), or none.
    async fn set_agency_phone(
        &self,
        actor: &Actor,
        id: Uuid,
        phone: Option<&str>,
    ) -> StoreResult<Agency>;
    /// Adds a verified e-mail domain; a domain another agency holds is a conflict.
    async fn add_agency_domain(&self, actor: &Actor, id: Uuid, domain: &str)
        -> StoreResult<Agency>;
    async fn remove_agency_domain(
        &self,
        actor: &Actor,
        id: Uuid,
        domain: &str,
    ) -> StoreResult<Agency>;
    /// Changes a user's role within their side: provider roles for staff, agency roles for an
    /// agency's people.
    async fn set_user_role(&self, actor: &Actor, id: Uuid, role: Role) -> StoreResult<User>;
    /// Deactivates (ending every session at once) or reactivates a user.
    async fn set_user_active(&self, actor: &Actor, id: Uuid, active: bool) -> StoreResult<User>;
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a setting, or (None) removes it.
    async fn set_setting(&self, actor: &Actor, key: &str, value: Option<&str>) -> StoreResult<()>;
}

/// Holiday calendars and deadline reminders. Reach it with `store.deadlines()`.
#[async_trait]
pub trait DeadlineStore: Send + Sync {
    async fn calendars(&self) -> StoreResult<Vec<CalendarRecord>>;
    async fn calendar(&self, code: &str) -> StoreResult<Option<CalendarRecord>>;
    async fn create_calendar(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        base: CalendarBase,
    ) -> StoreResult<CalendarRecord>;
    /// Makes `day` a holiday (adding one of the admin's own, or taking a worked federal
    /// holiday off again); checked against the calendar inside the transaction.
    async fn add_holiday(
        &self,
        actor: &Actor,
        code: &str,
        day: NaiveDate,
        name: &str,
    ) -> StoreResult<CalendarRecord>;
    /// Makes `day` a working day (forgetting an added holiday, or working a federal one).
    async fn remove_holiday(
        &self,
        actor: &Actor,
        code: &str,
        day: NaiveDate,
    ) -> StoreResult<CalendarRecord>;
    /// Open, assigned requests whose next step is the provider's, due within `window` of
    /// `now` or overdue, whose assignee has not had this reminder for this deadline.
    async fn reminders_due(
        &self,
        now: DateTime<Utc>,
        window: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ReminderDue>>;
    /// Records the reminder and queues its mail in one transaction; false (and nothing
    /// queued) when this assignee already had it for this deadline.
    async fn record_reminder(
        &self,
        actor: &Actor,
        due: &ReminderDue,
        mail: NewMail,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

macro_rules! impl_console_store {
    ($store:ident, $db:ident) => {
        mod console_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use custodian_core::deadline::{
                provider_acts_next, CalendarBase, CalendarEdit, CalendarSpec,
            };
            use custodian_core::{RequestStatus, Role};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::console_sql::*;
            use $crate::sql::{now, parse_column, qualified, REQUEST_COLUMNS, USER_COLUMNS};
            use $crate::{Actor, Agency, AuditEvent, NewMail, StoreError, StoreResult, User};

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type Conn = <super::$db as sqlx::Database>::Connection;

            impl Store {
                /// The calendar `code` as stored, read inside `tx`.
                async fn calendar_in(tx: &mut Tx, code: &str) -> StoreResult<Option<CalendarRecord>> {
                    Self::calendar_on(&mut **tx, code).await
                }

                /// A calendar with its holidays, in one statement (a row per holiday): intake
                /// reads the calendar of every request's country to set its deadline.
                async fn calendar_on(conn: &mut Conn, code: &str) -> StoreResult<Option<CalendarRecord>> {
                    let rows = sqlx::query(
                        "SELECT c.code, c.name, c.base, c.created_at, h.day, \
                         h.name AS holiday, h.worked FROM holiday_calendars c \
                         LEFT JOIN holidays h ON h.calendar = c.code \
                         WHERE c.code = $1 ORDER BY h.day",
                    )
                    .bind(code)
                    .fetch_all(&mut *conn)
                    .await?;
                    let Some(row) = rows.first() else { return Ok(None) };
                    let base: CalendarBase = parse_column("base", &row.try_get::<String, _>("base")?)?;
                    let mut spec = CalendarSpec::new(base);
                    for d in &rows {
                        let Some(day) = d.try_get::<Option<NaiveDate>, _>("day")? else {
                            continue; // a calendar without holidays of its own
                        };
                        if d.try_get::<bool, _>("worked")? {
                            spec.worked.insert(day);
                        } else {
                            spec.added.insert(day, d.try_get("holiday")?);
                        }
                    }
                    Ok(Some(CalendarRecord {
                        code: row.try_get("code")?,
                        name: row.try_get("name")?,
                        spec,
                        created_at: row.try_get("created_at")?,
                    }))
                }

                async fn edit_calendar(
                    &self,
                    actor: &Actor,
                    code: &str,
                    edit: impl FnOnce(&CalendarSpec) -> Result<CalendarEdit, custodian_core::deadline::CalendarError>,
                ) -> StoreResult<CalendarRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let calendar = Self::calendar_in(&mut tx, code)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    let edit = edit(&calendar.spec).map_err(|e| match e {
                        custodian_core::deadline::CalendarError::NotHoliday(_) => StoreError::NotFound,
                        other => StoreError::Conflict(other.to_string()),
                    })?;
                    let (action, day, name) = match &edit {
                        CalendarEdit::Add(day, name) => {
                            sqlx::query(
                                "INSERT INTO holidays (calendar, day, name, worked) VALUES ($1, $2, $3, $4)",
                            )
                            .bind(code)
                            .bind(*day)
                            .bind(name)
                            .bind(false)
                            .execute(&mut *tx)
                            .await?;
                            ("calendar.holiday_added", *day, name.clone())
                        }
                        CalendarEdit::Work(day) => {
                            sqlx::query(
                                "INSERT INTO holidays (calendar, day, name, worked) VALUES ($1, $2, $3, $4)",
                            )
                            .bind(code)
                            .bind(*day)
                            .bind("worked")
                            .bind(true)
                            .execute(&mut *tx)
                            .await?;
                            ("calendar.holiday_removed", *day, String::new())
                        }
                        CalendarEdit::Forget(day) | CalendarEdit::Unwork(day) => {
                            sqlx::query("DELETE FROM holidays WHERE calendar = $1 AND day = $2")
                                .bind(code)
                                .bind(*day)
                                .execute(&mut *tx)
                                .await?;
                            let action = if matches!(edit, CalendarEdit::Forget(_)) {
                                "calendar.holiday_removed"
                            } else {
                                "calendar.holiday_added"
                            };
                            (action, *day, String::new())
                        }
                    };
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            action,
                            format!("calendar:{code}"),
                            serde_json::json!({"day": day.to_string(), "name": name}),
                        ),
                        at,
                    )
                    .await?;
                    let updated = Self::calendar_in(&mut tx, code)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok(updated)
                }

                /// Refuses an agency that does not exist, inside `tx`.
                async fn agency_exists_in(tx: &mut Tx, id: Uuid) -> StoreResult<()> {
                    let exists: Option<Uuid> =
                        sqlx::query_scalar("SELECT id FROM agencies WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut **tx)
                            .await?;
                    exists.map(|_| ()).ok_or(StoreError::NotFound)
                }

                /// Audits a change to an agency, commits, and reads the agency back.
                async fn agency_changed(
                    &self,
                    mut tx: Tx,
                    actor: &Actor,
                    id: Uuid,
                    action: &'static str,
                    details: serde_json::Value,
                ) -> StoreResult<Agency> {
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(action, format!("agency:{id}"), details),
                        now(),
                    )
                    .await?;
                    tx.commit().await?;
                    $crate::Store::get_agency(self, id).await
                }
            }

            #[async_trait]
            impl AdminStore for Store {
                async fn set_agency_phone(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    phone: Option<&str>,
                ) -> StoreResult<Agency> {
                    let mut tx = self.writer().begin().await?;
                    Self::agency_exists_in(&mut tx, id).await?;
                    sqlx::query("UPDATE agencies SET phone = $1 WHERE id = $2")
                        .bind(phone)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let digest = phone.map(|p| $crate::sha256_hex(p.as_bytes()));
                    self.agency_changed(
                        tx,
                        actor,
                        id,
                        "agency.phone_changed",
                        serde_json::json!({"phone_sha256": digest}),
                    )
                    .await
                }

                async fn add_agency_domain(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    domain: &str,
                ) -> StoreResult<Agency> {
                    let mut tx = self.writer().begin().await?;
                    Self::agency_exists_in(&mut tx, id).await?;
                    let holder: Option<Uuid> = sqlx::query_scalar(
                        "SELECT agency_id FROM agency_domains WHERE domain = $1",
                    )
                    .bind(domain)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match holder {
                        Some(a) if a == id => {
                            return Err(StoreError::Conflict(format!(
                                "{domain} is already one of the agency's domains"
                            )))
                        }
                        Some(_) => {
                            return Err(StoreError::Conflict(format!(
                                "{domain} belongs to another agency"
                            )))
                        }
                        None => {}
                    }
                    sqlx::query("INSERT INTO agency_domains (agency_id, domain) VALUES ($1, $2)")
                        .bind(id)
                        .bind(domain)
                        .execute(&mut *tx)
                        .await?;
                    self.agency_changed(
                        tx,
                        actor,
                        id,
                        "agency.domain_added",
                        serde_json::json!({"domain": domain}),
                    )
                    .await
                }

                async fn remove_agency_domain(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    domain: &str,
                ) -> StoreResult<Agency> {
                    let mut tx = self.writer().begin().await?;
                    Self::agency_exists_in(&mut tx, id).await?;
                    let gone = sqlx::query(
                        "DELETE FROM agency_domains WHERE agency_id = $1 AND domain = $2",
                    )
                    .bind(id)
                    .bind(domain)
                    .execute(&mut *tx)
                    .await?;
                    if gone.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    self.agency_changed(
                        tx,
                        actor,
                        id,
                        "agency.domain_removed",
                        serde_json::json!({"domain": domain}),
                    )
                    .await
                }

                async fn set_user_role(&self, actor: &Actor, id: Uuid, role: Role) -> StoreResult<User> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let old: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    let old: Role = parse_column("role", &old)?;
                    if old.is_agency_side() != role.is_agency_side() {
                        return Err(StoreError::Conflict(format!(
                            "a {} cannot become a {}: agency people and the provider's staff are \
                             separate accounts",
                            old.as_str().replace('_', " "),
                            role.as_str().replace('_', " ")
                        )));
                    }
                    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                        .bind(role.as_str())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "user.role_changed",
                            format!("user:{id}"),
                            serde_json::json!({"from": old.as_str(), "to": role.as_str()}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    $crate::Store::get_user(self, id).await
                }

                async fn set_user_active(&self, actor: &Actor, id: Uuid, active: bool) -> StoreResult<User> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
                        .bind(active)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if changed.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    // A deactivated account is signed out everywhere at once.
                    let ended = if active {
                        0
                    } else {
                        sqlx::query(
                            "UPDATE web_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
                        )
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                    };
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            if active { "user.reactivated" } else { "user.deactivated" },
                            format!("user:{id}"),
                            serde_json::json!({"sessions_ended": ended}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    $crate::Store::get_user(self, id).await
                }

                async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
                    Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(self.reader())
                        .await?)
                }

                async fn set_setting(&self, actor: &Actor, key: &str, value: Option<&str>) -> StoreResult<()> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    match value {
                        Some(v) => {
                            sqlx::query(
                                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                                 ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = $3",
                            )
                            .bind(key)
                            .bind(v)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            sqlx::query("DELETE FROM settings WHERE key = $1")
                                .bind(key)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "setting.changed",
                            format!("setting:{key}"),
                            serde_json::json!({"value": value}),
                        ),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl DeadlineStore for Store {
                async fn calendars(&self) -> StoreResult<Vec<CalendarRecord>> {
                    let codes: Vec<String> =
                        sqlx::query_scalar("SELECT code FROM holiday_calendars ORDER BY code")
                            .fetch_all(self.reader())
                            .await?;
                    let mut out = Vec::with_capacity(codes.len());
                    for code in codes {
                        if let Some(c) = self.calendar(&code).await? {
                            out.push(c);
                        }
                    }
                    Ok(out)
                }

                async fn calendar(&self, code: &str) -> StoreResult<Option<CalendarRecord>> {
                    Self::calendar_on(&mut *self.reader().acquire().await?, code).await
                }

                async fn create_calendar(
                    &self,
                    actor: &Actor,
                    code: &str,
                    name: &str,
                    base: CalendarBase,
                ) -> StoreResult<CalendarRecord> {
                    let at = now();
                    let mut tx = self.writer().begin().await?;
                    let inserted = sqlx::query(
                        "INSERT INTO holiday_calendars (code, name, base, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(code)
                    .bind(name)
                    .bind(base.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Err(e) if StoreError::is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(format!(
                                "there is a calendar for {code} already"
                            )))
                        }
                        other => {
                            other?;
                        }
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "calendar.created",
                            format!("calendar:{code}"),
                            serde_json::json!({"name": name, "base": base.as_str()}),
                        ),
                        at,
                    )
                    .await?;
                    let created = Self::calendar_in(&mut tx, code)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok(created)
                }

                async fn add_holiday(
                    &self,
                    actor: &Actor,
                    code: &str,
                    day: NaiveDate,
                    name: &str,
                ) -> StoreResult<CalendarRecord> {
                    self.edit_calendar(actor, code, |spec| spec.add(day, name)).await
                }

                async fn remove_holiday(
                    &self,
                    actor: &Actor,
                    code: &str,
                    day: NaiveDate,
                ) -> StoreResult<CalendarRecord> {
                    self.edit_calendar(actor, code, |spec| spec.remove(day)).await
                }

                async fn reminders_due(
                    &self,
                    now: DateTime<Utc>,
                    window: chrono::Duration,
                    limit: u32,
                ) -> StoreResult<Vec<ReminderDue>> {
                    let acting: Vec<String> = RequestStatus::ALL
                        .iter()
                        .filter(|s| provider_acts_next(**s))
                        .map(|s| format!("'{}'", s.as_str()))
                        .collect();
                    let sql = format!(
                        "SELECT {}, {} FROM requests r JOIN users u ON u.id = r.assignee_id \
                         WHERE r.status IN ({}) AND r.respond_by <= $1 AND u.active = $3 \
                         AND NOT EXISTS (SELECT 1 FROM deadline_reminders d \
                             WHERE d.request_id = r.id AND d.respond_by = r.respond_by \
                             AND d.assignee_id = r.assignee_id \
                             AND d.kind = CASE WHEN r.respond_by < $2 THEN 'overdue' ELSE 'due_soon' END) \
                         ORDER BY r.respond_by LIMIT $4",
                        qualified(REQUEST_COLUMNS, "r", None),
                        qualified(USER_COLUMNS, "u", Some("user_")),
                        acting.join(", ")
                    );
                    let rows = sqlx::query(&sql)
                        .bind(custodian_audit::AuditEntry::truncate_time(now + window))
                        .bind(custodian_audit::AuditEntry::truncate_time(now))
                        .bind(true)
                        .bind(i64::from(limit.max(1)))
                        .fetch_all(self.reader())
                        .await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let request = super::request_row(row)?;
                        let Some(kind) =
                            custodian_core::deadline::reminder_due(request.respond_by, now)
                        else {
                            continue;
                        };
                        let assignee = User {
                            id: row.try_get("user_id")?,
                            email: row.try_get("user_email")?,
                            name: row.try_get("user_name")?,
                            role: parse_column("role", &row.try_get::<String, _>("user_role")?)?,
                            agency_id: row.try_get("user_agency_id")?,
                            password_hash: None,
                            active: row.try_get("user_active")?,
                            created_at: row.try_get("user_created_at")?,
                        };
                        out.push(ReminderDue { request, kind, assignee });
                    }
                    Ok(out)
                }

                async fn record_reminder(
                    &self,
                    actor: &Actor,
                    due: &ReminderDue,
                    mail: NewMail,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.writer().begin().await?;
                    let fresh = sqlx::query(
                        "INSERT INTO deadline_reminders (request_id, kind, respond_by, assignee_id, \
                         mail_id, sent_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind(due.request.id)
                    .bind(due.kind.as_str())
                    .bind(due.request.respond_by)
                    .bind(due.assignee.id)
                    .bind(Uuid::nil())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if fresh.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    let mail_id = Self::queue_mail_in(&mut tx, actor, &mail, now).await?;
                    sqlx::query(
                        "UPDATE deadline_reminders SET mail_id = $1 WHERE request_id = $2 \
                         AND kind = $3 AND respond_by = $4 AND assignee_id = $5",
                    )
                    .bind(mail_id)
                    .bind(due.request.id)
                    .bind(due.kind.as_str())
                    .bind(due.request.respond_by)
                    .bind(due.assignee.id)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "request.deadline_reminder",
                            format!("request:{}", due.request.id),
                            serde_json::json!({
                                "kind": due.kind.as_str(),
                                "assignee": format!("user:{}", due.assignee.id),
                                "mail": format!("mail:{mail_id}"),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }
            }
        }
    };
}
pub(crate) use impl_console_store;
