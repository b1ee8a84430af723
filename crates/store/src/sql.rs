//! The SQL shared by both backends. SQLite and PostgreSQL accept the same statements here
//! (numbered `$n` parameters, `RETURNING`, `ON CONFLICT`), so the implementation is written
//! once and stamped out per backend by [`impl_store!`]; each backend supplies only its pools,
//! its migrations and how it serialises appends to the audit log.

/// Columns of `requests` in the order `request_row` reads them.
pub(crate) const REQUEST_COLUMNS: &str =
    "id, number, agency_id, submitted_by, process, emergency, \
     status, received_at, respond_by, updated_at, intake, assignee_id";

pub(crate) const AGENCY_COLUMNS: &str = "id, name, country, kind, status, phone, created_at";

pub(crate) const USER_COLUMNS: &str =
    "id, email, name, role, agency_id, password_hash, active, created_at";

pub(crate) fn parse_column<T: std::str::FromStr<Err = String>>(
    column: &str,
    raw: &str,
) -> crate::StoreResult<T> {
    raw.parse()
        .map_err(|e: String| crate::StoreError::Corrupt(format!("{column}: {e}")))
}

/// Splits `items` into runs of a power of two rows each (the largest that fit, none over
/// `max`), for multi-row statements. A statement's text depends on its number of rows, and
/// each connection keeps only so many prepared statements: with one shape per batch length,
/// every batch of intake prepared its statements again (on PostgreSQL, a parse and plan per
/// statement). Runs of 1, 2, 4, ... rows keep the shapes few.
pub(crate) fn statement_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let fits = rest.len().min(max.max(1));
        let n = 1usize << (usize::BITS - 1 - fits.leading_zeros());
        let (run, tail) = rest.split_at(n);
        rest = tail;
        Some(run)
    })
}

/// `columns` ("a, b") qualified by `table` for a join: "t.a, t.b", or with `alias` "t.a AS
/// {alias}a, t.b AS {alias}b" where another table has columns of the same names.
pub(crate) fn qualified(columns: &str, table: &str, alias: Option<&str>) -> String {
    columns
        .split(", ")
        .map(|c| match alias {
            Some(a) => format!("{table}.{c} AS {a}{c}"),
            None => format!("{table}.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    custodian_audit::AuditEntry::truncate_time(chrono::Utc::now())
}

macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use custodian_audit::AuditEntry;
        use custodian_core::{AgencyStatus, RequestStatus};
        use sqlx::Row;
        use uuid::Uuid;

        use $crate::sql::{
            now, parse_column, qualified, AGENCY_COLUMNS, REQUEST_COLUMNS, USER_COLUMNS,
        };
        use $crate::*;

        type Tx = sqlx::Transaction<'static, $db>;
        type DbRow = <$db as sqlx::Database>::Row;

        fn agency_row(row: &DbRow, domains: Vec<String>) -> StoreResult<Agency> {
            agency_row_as(row, "", domains)
        }

        /// The agency in rows of `agencies LEFT JOIN agency_domains` (a row per domain, its
        /// columns and `domain` named `{prefix}{column}`); `None` when the join found none.
        fn agency_of_rows(rows: &[DbRow], prefix: &str) -> StoreResult<Option<Agency>> {
            let Some(first) = rows.first() else { return Ok(None) };
            if first.try_get::<Option<Uuid>, _>(format!("{prefix}id").as_str())?.is_none() {
                return Ok(None);
            }
            let domain = format!("{prefix}domain");
            let mut domains = Vec::with_capacity(rows.len());
            for row in rows {
                if let Some(d) = row.try_get::<Option<String>, _>(domain.as_str())? {
                    domains.push(d);
                }
            }
            agency_row_as(first, prefix, domains).map(Some)
        }

        /// An agency from columns named `{prefix}{column}` (joined beside another table's).
        fn agency_row_as(row: &DbRow, prefix: &str, domains: Vec<String>) -> StoreResult<Agency> {
            let c = |name: &str| format!("{prefix}{name}");
            Ok(Agency {
                id: row.try_get(c("id").as_str())?,
                name: row.try_get(c("name").as_str())?,
                country: parse_column("country", &row.try_get::<String, _>(c("country").as_str())?)?,
                kind: parse_column("kind", &row.try_get::<String, _>(c("kind").as_str())?)?,
                status: parse_column("status", &row.try_get::<String, _>(c("status").as_str())?)?,
                phone: row.try_get(c("phone").as_str())?,
                domains,
                created_at: row.try_get(c("created_at").as_str())?,
            })
        }

        fn user_row(row: &DbRow) -> StoreResult<User> {
            Ok(User {
                id: row.try_get("id")?,
                email: row.try_get("email")?,
                name: row.try_get("name")?,
                role: parse_column("role", &row.try_get::<String, _>("role")?)?,
                agency_id: row.try_get("agency_id")?,
                password_hash: row.try_get("password_hash")?,
                active: row.try_get("active")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn request_row(row: &DbRow) -> StoreResult<RequestRecord> {
            let intake: String = row.try_get("intake")?;
            let intake = serde_json::from_str(&intake)
                .map_err(|e| StoreError::Corrupt(format!("request intake: {e}")))?;
            Ok(RequestRecord {
                id: row.try_get("id")?,
                number: row.try_get("number")?,
                agency_id: row.try_get("agency_id")?,
                submitted_by: row.try_get("submitted_by")?,
                process: parse_column("process", &row.try_get::<String, _>("process")?)?,
                emergency: row.try_get("emergency")?,
                status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                received_at: row.try_get("received_at")?,
                respond_by: row.try_get("respond_by")?,
                updated_at: row.try_get("updated_at")?,
                intake,
                documents: Vec::new(),
                assignee_id: row.try_get("assignee_id")?,
            })
        }

        fn document_row(row: &DbRow) -> StoreResult<DocumentRecord> {
            Ok(DocumentRecord {
                id: row.try_get("id")?,
                request_id: row.try_get("request_id")?,
                sha256: row.try_get("sha256")?,
                size: row.try_get::<i64, _>("size")? as u64,
                file_name: row.try_get("file_name")?,
                content_type: row.try_get("content_type")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn message_row(row: &DbRow) -> StoreResult<MessageRecord> {
            Ok(MessageRecord {
                id: row.try_get("id")?,
                request_id: row.try_get("request_id")?,
                author_id: row.try_get("author_id")?,
                from_agency: row.try_get("from_agency")?,
                body: row.try_get("body")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn to_u64(v: i64) -> u64 {
            u64::try_from(v).unwrap_or(0)
        }

        impl $store {
            /// Appends one entry to the audit log inside `tx`. The backend's lock makes the
            /// next index and the insert atomic with respect to other writers.
            async fn append_audit(
                tx: &mut Tx,
                actor: &Actor,
                event: AuditEvent,
                at: DateTime<Utc>,
            ) -> StoreResult<u64> {
                Self::lock_audit(tx).await?;
                let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log")
                    .fetch_one(&mut **tx)
                    .await?;
                let entry = AuditEntry {
                    idx: to_u64(next),
                    actor: actor.label(),
                    action: event.action.to_string(),
                    object: event.object,
                    at,
                    details: event.details,
                };
                let leaf = entry.leaf_hash();
                let details = serde_json::to_string(&entry.details)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO audit_log (idx, actor, action, object, at, details, leaf_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(next)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.object)
                .bind(entry.at)
                .bind(details)
                .bind(leaf.to_vec())
                .execute(&mut **tx)
                .await?;
                Ok(entry.idx)
            }

            /// A decision that may now be acted on gets its customer notice decided, by a job
            /// enqueued in the decision's own transaction (`custodian-custody` runs it).
            async fn schedule_notice_plan(tx: &mut Tx, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                let job = NewJob::new(
                    custody::job_kinds::NOTICE_PLAN,
                    serde_json::json!({ "request_id": id }),
                    at,
                )
                .once(format!("notice-plan:{id}"));
                Self::enqueue_job_in(tx, &job, at).await?;
                Ok(())
            }

            /// The current state of a request the scope may see, read inside `tx`.
            async fn status_in(tx: &mut Tx, scope: Scope, id: Uuid) -> StoreResult<RequestStatus> {
                let current: String = sqlx::query_scalar(
                    "SELECT status FROM requests WHERE id = $1 AND ($2 IS NULL OR agency_id = $2)",
                )
                .bind(id)
                .bind(scope.agency())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                parse_column("status", &current)
            }

            /// The one place a request changes state: checked against the lifecycle, guarded
            /// against a concurrent change, and audited, all inside `tx`.
            async fn move_in(
                tx: &mut Tx,
                actor: &Actor,
                scope: Scope,
                id: Uuid,
                to: RequestStatus,
                reason: Option<&str>,
                at: DateTime<Utc>,
            ) -> StoreResult<RequestStatus> {
                let from = Self::status_in(tx, scope, id).await?;
                from.transition(to)?;
                let changed = sqlx::query(
                    "UPDATE requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
                )
                .bind(to.as_str())
                .bind(at)
                .bind(id)
                .bind(from.as_str())
                .execute(&mut **tx)
                .await?;
                if changed.rows_affected() != 1 {
                    return Err(StoreError::Conflict(
                        "the request changed while this action was under way; try again".into(),
                    ));
                }
                Self::append_audit(
                    tx,
                    actor,
                    AuditEvent::new(
                        "request.status_changed",
                        format!("request:{id}"),
                        serde_json::json!({"from": from.as_str(), "to": to.as_str(), "reason": reason}),
                    ),
                    at,
                )
                .await?;
                // Ending states change what the transparency report counts for the request.
                Self::report_transition(tx, actor, id, to, at).await?;
                Ok(from)
            }

            async fn domains_of(&self, agency_id: Uuid) -> StoreResult<Vec<String>> {
                let rows: Vec<String> = sqlx::query_scalar(
                    "SELECT domain FROM agency_domains WHERE agency_id = $1 ORDER BY domain",
                )
                .bind(agency_id)
                .fetch_all(self.reader())
                .await?;
                Ok(rows)
            }

            async fn request_in(
                &self,
                scope: Scope,
                id: Uuid,
                with_documents: bool,
            ) -> StoreResult<RequestRecord> {
                let sql = format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1 \
                     AND ($2 IS NULL OR agency_id = $2)"
                );
                let row = sqlx::query(&sql)
                    .bind(id)
                    .bind(scope.agency())
                    .fetch_optional(self.reader())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let mut record = request_row(&row)?;
                if with_documents {
                    let rows = sqlx::query(
                        "SELECT id, request_id, sha256, size, file_name, content_type, created_at \
                         FROM documents WHERE request_id = $1 ORDER BY created_at, id",
                    )
                    .bind(id)
                    .fetch_all(self.reader())
                    .await?;
                    record.documents = rows.iter().map(document_row).collect::<StoreResult<_>>()?;
                }
                Ok(record)
            }

            /// The first answer for an idempotency key, if the key was used before.
            async fn replay(
                tx: &mut Tx,
                user_id: Uuid,
                key: &IdempotencyKey,
            ) -> StoreResult<Option<RequestRecord>> {
                let row = sqlx::query(
                    "SELECT fingerprint, response FROM idempotency_keys \
                     WHERE user_id = $1 AND key = $2",
                )
                .bind(user_id)
                .bind(&key.key)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let fingerprint: String = row.try_get("fingerprint")?;
                if fingerprint != key.fingerprint {
                    return Err(StoreError::IdempotencyMismatch);
                }
                let response: String = row.try_get("response")?;
                serde_json::from_str(&response)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(format!("idempotent response: {e}")))
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn migrate(&self) -> StoreResult<()> {
                self.run_migrations().await
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn create_agency(&self, actor: &Actor, agency: NewAgency) -> StoreResult<Agency> {
                let id = Uuid::new_v4();
                let at = now();
                let mut tx = self.writer().begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO agencies (id, name, country, kind, status, phone, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(&agency.name)
                .bind(agency.country.code())
                .bind(agency.kind.as_str())
                .bind(agency.status.as_str())
                .bind(&agency.phone)
                .bind(at)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Err(e) if StoreError::is_unique_violation(&e) => {
                        return Err(StoreError::Conflict(format!(
                            "an agency named '{}' exists already",
                            agency.name
                        )))
                    }
                    other => {
                        other?;
                    }
                }
                let mut domains = agency.domains.clone();
                domains.sort();
                domains.dedup();
                for d in &domains {
                    sqlx::query("INSERT INTO agency_domains (agency_id, domain) VALUES ($1, $2)")
                        .bind(id)
                        .bind(d)
                        .execute(&mut *tx)
                        .await?;
                }
                let details = serde_json::json!({
                    "name": agency.name,
                    "country": agency.country.code(),
                    "kind": agency.kind.as_str(),
                    "status": agency.status.as_str(),
                    "domains": domains,
                });
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new("agency.created", format!("agency:{id}"), details),
                    at,
                )
                .await?;
                tx.commit().await?;
                self.get_agency(id).await
            }

            async fn get_agency(&self, id: Uuid) -> StoreResult<Agency> {
                // One statement (a row per domain): every authenticated agency call reads
                // its agency, and each statement costs a trip through the pool.
                let sql = format!(
                    "SELECT {}, d.domain FROM agencies a \
                     LEFT JOIN agency_domains d ON d.agency_id = a.id \
                     WHERE a.id = $1 ORDER BY d.domain",
                    qualified(AGENCY_COLUMNS, "a", None)
                );
                let rows = sqlx::query(&sql).bind(id).fetch_all(self.reader()).await?;
                agency_of_rows(&rows, "")?.ok_or(StoreError::NotFound)
            }

            async fn find_agency_by_name(&self, name: &str) -> StoreResult<Agency> {
                let id: Uuid = sqlx::query_scalar("SELECT id FROM agencies WHERE name = $1")
                    .bind(name)
                    .fetch_optional(self.reader())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                self.get_agency(id).await
            }

            async fn list_agencies(&self) -> StoreResult<Vec<Agency>> {
                let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies ORDER BY name");
                let rows = sqlx::query(&sql).fetch_all(self.reader()).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let id: Uuid = row.try_get("id")?;
                    out.push(agency_row(row, self.domains_of(id).await?)?);
                }
                Ok(out)
            }

            async fn set_agency_status(
                &self,
                actor: &Actor,
                id: Uuid,
                status: AgencyStatus,
            ) -> StoreResult<Agency> {
                let at = now();
                let mut tx = self.writer().begin().await?;
                let old: String = sqlx::query_scalar("SELECT status FROM agencies WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                sqlx::query("UPDATE agencies SET status = $1 WHERE id = $2")
                    .bind(status.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        "agency.status_changed",
                        format!("agency:{id}"),
                        serde_json::json!({"from": old, "to": status.as_str()}),
                    ),
                    at,
                )
                .await?;
                tx.commit().await?;
                self.get_agency(id).await
            }

            async fn create_user(&self, actor: &Actor, user: NewUser) -> StoreResult<User> {
                let id = Uuid::new_v4();
                let at = now();
                let email = user.email.trim().to_ascii_lowercase();
                let mut tx = self.writer().begin().await?;
                if let Some(agency) = user.agency_id {
                    let exists: Option<Uuid> =
                        sqlx::query_scalar("SELECT id FROM agencies WHERE id = $1")
                            .bind(agency)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound);
                    }
                }
                let inserted = sqlx::query(
                    "INSERT INTO users (id, email, name, role, agency_id, password_hash, active, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(&email)
                .bind(&user.name)
                .bind(user.role.as_str())
                .bind(user.agency_id)
                .bind(&user.password_hash)
                .bind(true)
                .bind(at)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Err(e) if StoreError::is_unique_violation(&e) => {
                        return Err(StoreError::Conflict(format!(
                            "a user with the e-mail address {email} exists already"
                        )))
                    }
                    other => {
                        other?;
                    }
                }
                let details = serde_json::json!({
                    "role": user.role.as_str(),
                    "agency": user.agency_id.map(|a| a.to_string()),
                });
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new("user.created", format!("user:{id}"), details),
                    at,
                )
                .await?;
                tx.commit().await?;
                self.get_user(id).await
            }

            async fn get_user(&self, id: Uuid) -> StoreResult<User> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                let row = sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                user_row(&row)
            }

            async fn find_user_by_email(&self, email: &str) -> StoreResult<User> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
                let row = sqlx::query(&sql)
                    .bind(email.trim().to_ascii_lowercase())
                    .fetch_optional(self.reader())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                user_row(&row)
            }

            async fn list_users(&self) -> StoreResult<Vec<User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY email");
                let rows = sqlx::query(&sql).fetch_all(self.reader()).await?;
                rows.iter().map(user_row).collect()
            }

            async fn create_token(
                &self,
                actor: &Actor,
                user_id: Uuid,
                token_hash: &str,
                label: &str,
            ) -> StoreResult<Uuid> {
                let id = Uuid::new_v4();
                let at = now();
                let mut tx = self.writer().begin().await?;
                sqlx::query(
                    "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(user_id)
                .bind(token_hash)
                .bind(label)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        "token.issued",
                        format!("user:{user_id}"),
                        serde_json::json!({"token": id.to_string(), "label": label}),
                    ),
                    at,
                )
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn user_for_token(
                &self,
                token_hash: &str,
            ) -> StoreResult<(User, Option<Agency>)> {
                // A row per agency domain; the agency's columns prefixed `agency__` (the user
                // has an `agency_id` of its own).
                let sql = format!(
                    "SELECT {}, {}, d.domain AS agency__domain \
                     FROM users u JOIN api_tokens t ON t.user_id = u.id \
                     LEFT JOIN agencies a ON a.id = u.agency_id \
                     LEFT JOIN agency_domains d ON d.agency_id = a.id \
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = $2 \
                     ORDER BY d.domain",
                    qualified(USER_COLUMNS, "u", None),
                    qualified(AGENCY_COLUMNS, "a", Some("agency__")),
                );
                let rows = sqlx::query(&sql)
                    .bind(token_hash)
                    .bind(true)
                    .fetch_all(self.reader())
                    .await?;
                let first = rows.first().ok_or(StoreError::NotFound)?;
                Ok((user_row(first)?, agency_of_rows(&rows, "agency__")?))
            }

            async fn submit_request(
                &self,
                actor: &Actor,
                request: NewRequest,
            ) -> StoreResult<Submission> {
                // Group commit with whatever else is being submitted (`intake_sql.rs`).
                self.submit_grouped(actor, request).await
            }

            async fn get_request(&self, scope: Scope, id: Uuid) -> StoreResult<RequestRecord> {
                self.request_in(scope, id, true).await
            }

            async fn list_requests(
                &self,
                scope: Scope,
                filter: &RequestFilter,
            ) -> StoreResult<RequestPage> {
                let status = filter.status.map(|s| s.as_str());
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM requests WHERE ($1 IS NULL OR agency_id = $1) \
                     AND ($2 IS NULL OR status = $2)",
                )
                .bind(scope.agency())
                .bind(status)
                .fetch_one(self.reader())
                .await?;
                let sql = format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE ($1 IS NULL OR agency_id = $1) \
                     AND ($2 IS NULL OR status = $2) ORDER BY received_at DESC, id \
                     LIMIT $3 OFFSET $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(scope.agency())
                    .bind(status)
                    .bind(i64::from(filter.limit))
                    .bind(i64::from(filter.offset))
                    .fetch_all(self.reader())
                    .await?;
                Ok(RequestPage {
                    items: rows.iter().map(request_row).collect::<StoreResult<_>>()?,
                    total: to_u64(total),
                })
            }

            async fn transition(
                &self,
                actor: &Actor,
                scope: Scope,
                id: Uuid,
                to: RequestStatus,
                reason: Option<&str>,
            ) -> StoreResult<RequestRecord> {
                let mut tx = self.writer().begin().await?;
                Self::move_in(&mut tx, actor, scope, id, to, reason, now()).await?;
                tx.commit().await?;
                self.request_in(scope, id, true).await
            }

            async fn assign(
                &self,
                actor: &Actor,
                id: Uuid,
                assignee: Option<Uuid>,
            ) -> StoreResult<RequestRecord> {
                let at = now();
                let mut tx = self.writer().begin().await?;
                let status = Self::status_in(&mut tx, Scope::Provider, id).await?;
                sqlx::query("UPDATE requests SET assignee_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(assignee)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        "request.assigned",
                        format!("request:{id}"),
                        serde_json::json!({"assignee": assignee.map(|a| a.to_string())}),
                    ),
                    at,
                )
                .await?;
                if status == RequestStatus::Received && assignee.is_some() {
                    Self::move_in(&mut tx, actor, Scope::Provider, id, RequestStatus::InReview, None, at)
                        .await?;
                }
                tx.commit().await?;
                self.request_in(Scope::Provider, id, true).await
            }

            async fn review_queue(&self, filter: &QueueFilter) -> StoreResult<Vec<RequestRecord>> {
                let open: Vec<&str> = RequestStatus::ALL
                    .iter()
                    .filter(|s| s.is_open())
                    .map(|s| s.as_str())
                    .collect();
                let open_list = open
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                // A deadline filter looks only at requests whose answer is still owed.
                let owed = RequestStatus::ALL
                    .iter()
                    .filter(|s| custodian_core::deadline::awaiting_answer(**s))
                    .map(|s| format!("'{}'", s.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let open_clause = if filter.due_by.is_some() || filter.due_after.is_some() {
                    format!("AND status IN ({owed})")
                } else if filter.open_only {
                    format!("AND status IN ({open_list})")
                } else {
                    String::new()
                };
                let unassigned_clause = if filter.unassigned && filter.assignee.is_none() {
                    "AND assignee_id IS NULL"
                } else {
                    ""
                };
                let sql = format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE ($1 IS NULL OR status = $1) \
                     AND ($2 IS NULL OR assignee_id = $2) {open_clause} {unassigned_clause} \
                     AND ($4 IS NULL OR process = $4) \
                     AND ($5 IS NULL OR respond_by > $5) AND ($6 IS NULL OR respond_by <= $6) \
                     ORDER BY emergency DESC, respond_by ASC, received_at ASC LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(filter.status.map(|s| s.as_str()))
                    .bind(filter.assignee)
                    .bind(i64::from(filter.limit.max(1)))
                    .bind(filter.process.map(|p| p.as_str()))
                    .bind(filter.due_after.map(custodian_audit::AuditEntry::truncate_time))
                    .bind(filter.due_by.map(custodian_audit::AuditEntry::truncate_time))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(request_row).collect()
            }

            async fn status_counts(&self) -> StoreResult<Vec<(RequestStatus, u64)>> {
                let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM requests GROUP BY status")
                    .fetch_all(self.reader())
                    .await?;
                let mut out = Vec::new();
                for row in &rows {
                    let status: RequestStatus =
                        parse_column("status", &row.try_get::<String, _>("status")?)?;
                    out.push((status, to_u64(row.try_get("n")?)));
                }
                out.sort();
                Ok(out)
            }

            async fn record_decision(
                &self,
                actor: &Actor,
                id: Uuid,
                decision: &custodian_core::review::ReviewDecision,
                needs_approval: bool,
            ) -> StoreResult<DecisionRecord> {
                let decided_by = actor.user_id().ok_or(StoreError::NotFound)?;
                let at = now();
                let mut tx = self.writer().begin().await?;
                Self::move_in(&mut tx, actor, Scope::Provider, id, RequestStatus::Decided, None, at)
                    .await?;
                // A fraud referral's decision names its route (disclosed without legal process).
                let process: String = sqlx::query_scalar("SELECT process FROM requests WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let action = custodian_core::routes::fraud_referral::decided_action(
                    parse_column("process", &process)?,
                );
                let json = serde_json::to_string(decision)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO decisions (request_id, decided_by, decided_at, decision, needs_approval) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(decided_by)
                .bind(at)
                .bind(&json)
                .bind(needs_approval)
                .execute(&mut *tx)
                .await?;
                let rulings: serde_json::Map<String, serde_json::Value> = decision
                    .categories
                    .iter()
                    .map(|(c, r)| (c.as_str().to_string(), serde_json::json!(r.decision.as_str())))
                    .collect();
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        action,
                        format!("request:{id}"),
                        serde_json::json!({
                            "categories": rulings,
                            "needs_approval": needs_approval,
                            "illegal_conduct_indicated": decision.illegal_conduct_reason.is_some(),
                            "decision_sha256": crate::sha256_hex(json.as_bytes()),
                        }),
                    ),
                    at,
                )
                .await?;
                if !needs_approval {
                    Self::schedule_notice_plan(&mut tx, id, at).await?;
                    Self::first_answer_in(&mut tx, id, "decision", at).await?;
                }
                tx.commit().await?;
                self.get_decision(Scope::Provider, id)
                    .await?
                    .ok_or(StoreError::NotFound)
            }

            async fn approve_decision(&self, actor: &Actor, id: Uuid) -> StoreResult<DecisionRecord> {
                let approver = actor.user_id().ok_or(StoreError::NotFound)?;
                let at = now();
                let mut tx = self.writer().begin().await?;
                let row = sqlx::query(
                    "SELECT decided_by, needs_approval, approved_by FROM decisions WHERE request_id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let decided_by: Uuid = row.try_get("decided_by")?;
                let needs: bool = row.try_get("needs_approval")?;
                let approved: Option<Uuid> = row.try_get("approved_by")?;
                custodian_core::review::check_approval(decided_by, approver, needs, approved.is_some())
                    .map_err(|e| StoreError::Conflict(e.to_string()))?;
                sqlx::query(
                    "UPDATE decisions SET approved_by = $1, approved_at = $2 \
                     WHERE request_id = $3 AND approved_by IS NULL",
                )
                .bind(approver)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        "request.decision_approved",
                        format!("request:{id}"),
                        serde_json::json!({"decided_by": decided_by.to_string()}),
                    ),
                    at,
                )
                .await?;
                Self::schedule_notice_plan(&mut tx, id, at).await?;
                Self::first_answer_in(&mut tx, id, "decision", at).await?;
                tx.commit().await?;
                self.get_decision(Scope::Provider, id)
                    .await?
                    .ok_or(StoreError::NotFound)
            }

            async fn get_decision(&self, scope: Scope, id: Uuid) -> StoreResult<Option<DecisionRecord>> {
                self.request_in(scope, id, false).await?;
                let row = sqlx::query(
                    "SELECT request_id, decided_by, decided_at, decision, needs_approval, \
                     approved_by, approved_at FROM decisions WHERE request_id = $1",
                )
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
                let Some(row) = row else { return Ok(None) };
                let decision: String = row.try_get("decision")?;
                Ok(Some(DecisionRecord {
                    request_id: row.try_get("request_id")?,
                    decided_by: row.try_get("decided_by")?,
                    decided_at: row.try_get("decided_at")?,
                    decision: serde_json::from_str(&decision)
                        .map_err(|e| StoreError::Corrupt(format!("decision: {e}")))?,
                    needs_approval: row.try_get("needs_approval")?,
                    approved_by: row.try_get("approved_by")?,
                    approved_at: row.try_get("approved_at")?,
                }))
            }

            async fn send_letter(
                &self,
                actor: &Actor,
                id: Uuid,
                kind: &'static str,
                body: &str,
                then: Option<RequestStatus>,
            ) -> StoreResult<LetterRecord> {
                let author_id = actor.user_id().ok_or(StoreError::NotFound)?;
                let at = now();
                let mut tx = self.writer().begin().await?;
                if let Some(to) = then {
                    Self::move_in(&mut tx, actor, Scope::Provider, id, to, Some(kind), at).await?;
                } else {
                    Self::status_in(&mut tx, Scope::Provider, id).await?;
                }
                let letter = LetterRecord {
                    id: Uuid::new_v4(),
                    request_id: id,
                    kind: kind.to_string(),
                    body: body.to_string(),
                    author_id,
                    created_at: at,
                };
                sqlx::query(
                    "INSERT INTO letters (id, request_id, kind, body, author_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(letter.id)
                .bind(id)
                .bind(kind)
                .bind(body)
                .bind(author_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        "request.letter_sent",
                        format!("request:{id}"),
                        serde_json::json!({
                            "letter": letter.id.to_string(),
                            "kind": kind,
                            "sha256": crate::sha256_hex(body.as_bytes()),
                        }),
                    ),
                    at,
                )
                .await?;
                Self::first_answer_in(&mut tx, id, "letter", at).await?;
                tx.commit().await?;
                Ok(letter)
            }

            async fn list_letters(&self, scope: Scope, id: Uuid) -> StoreResult<Vec<LetterRecord>> {
                self.request_in(scope, id, false).await?;
                let rows = sqlx::query(
                    "SELECT id, request_id, kind, body, author_id, created_at FROM letters \
                     WHERE request_id = $1 ORDER BY created_at, id",
                )
                .bind(id)
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(LetterRecord {
                            id: row.try_get("id")?,
                            request_id: row.try_get("request_id")?,
                            kind: row.try_get("kind")?,
                            body: row.try_get("body")?,
                            author_id: row.try_get("author_id")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn add_message(
                &self,
                actor: &Actor,
                scope: Scope,
                request_id: Uuid,
                from_agency: bool,
                body: &str,
            ) -> StoreResult<MessageRecord> {
                let author_id = actor.user_id().ok_or(StoreError::NotFound)?;
                let at = now();
                let mut tx = self.writer().begin().await?;
                let status = Self::status_in(&mut tx, scope, request_id).await?;
                let message = MessageRecord {
                    id: Uuid::new_v4(),
                    request_id,
                    author_id,
                    from_agency,
                    body: body.to_string(),
                    created_at: at,
                };
                sqlx::query(
                    "INSERT INTO messages (id, request_id, author_id, from_agency, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(message.id)
                .bind(request_id)
                .bind(author_id)
                .bind(from_agency)
                .bind(body)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                // The agency's answer to a clarification question puts the request back in review.
                if from_agency && status == RequestStatus::ClarificationRequested {
                    Self::move_in(
                        &mut tx,
                        actor,
                        scope,
                        request_id,
                        RequestStatus::InReview,
                        Some("the agency answered"),
                        at,
                    )
                    .await?;
                }
                // The text may quote customer data; the log keeps only its digest.
                Self::append_audit(
                    &mut tx,
                    actor,
                    AuditEvent::new(
                        "request.message_added",
                        format!("request:{request_id}"),
                        serde_json::json!({
                            "message": message.id.to_string(),
                            "sha256": crate::sha256_hex(body.as_bytes()),
                        }),
                    ),
                    at,
                )
                .await?;
                if !from_agency {
                    Self::first_answer_in(&mut tx, request_id, "message", at).await?;
                }
                tx.commit().await?;
                Ok(message)
            }

            async fn list_messages(
                &self,
                scope: Scope,
                request_id: Uuid,
            ) -> StoreResult<Vec<MessageRecord>> {
                self.request_in(scope, request_id, false).await?;
                let rows = sqlx::query(
                    "SELECT id, request_id, author_id, from_agency, body, created_at FROM messages \
                     WHERE request_id = $1 ORDER BY created_at, id",
                )
                .bind(request_id)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(message_row).collect()
            }

            async fn record_access(&self, actor: &Actor, event: AuditEvent) -> StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                Self::append_audit(&mut tx, actor, event, now()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_entries(
                &self,
                from: u64,
                limit: u32,
            ) -> StoreResult<Vec<StoredAuditEntry>> {
                let rows = sqlx::query(
                    "SELECT idx, actor, action, object, at, details, leaf_hash FROM audit_log \
                     WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind(i64::try_from(from).unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|row| {
                        let details: String = row.try_get("details")?;
                        let leaf: Vec<u8> = row.try_get("leaf_hash")?;
                        Ok(StoredAuditEntry {
                            entry: AuditEntry {
                                idx: to_u64(row.try_get("idx")?),
                                actor: row.try_get("actor")?,
                                action: row.try_get("action")?,
                                object: row.try_get("object")?,
                                at: row.try_get("at")?,
                                // A row whose details no longer parse is tampering; keep the
                                // raw text so the verifier reports it rather than failing here.
                                details: serde_json::from_str(&details)
                                    .unwrap_or(serde_json::Value::String(details)),
                            },
                            leaf_hash: leaf.try_into().unwrap_or([0u8; 32]),
                        })
                    })
                    .collect()
            }

            async fn audit_size(&self) -> StoreResult<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
                    .fetch_one(self.reader())
                    .await?;
                Ok(to_u64(n))
            }

            async fn save_checkpoint(&self, checkpoint: StoredCheckpoint) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_checkpoints (size, root, note, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING",
                )
                .bind(i64::try_from(checkpoint.size).unwrap_or(i64::MAX))
                .bind(checkpoint.root.to_vec())
                .bind(&checkpoint.note)
                .bind(checkpoint.created_at)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            fn reports(&self) -> &dyn ReportStore {
                self
            }

            fn jobs(&self) -> &dyn JobQueue {
                self
            }

            fn outbox(&self) -> &dyn Outbox {
                self
            }

            fn accounts(&self) -> &dyn AccountStore {
                self
            }

            fn custody(&self) -> &dyn $crate::custody::CustodyStore {
                self
            }

            fn admin(&self) -> &dyn AdminStore {
                self
            }

            fn deadlines(&self) -> &dyn DeadlineStore {
                self
            }

            fn paging(&self) -> &dyn $crate::paging::PagingStore {
                self
            }

            fn verification(&self) -> &dyn $crate::verification::VerificationStore {
                self
            }

            fn orders(&self) -> &dyn $crate::orders::OrderStore {
                self
            }

            fn billing(&self) -> &dyn $crate::billing::BillingStore {
                self
            }

            async fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>> {
                let rows = sqlx::query(
                    "SELECT size, root, note, created_at FROM audit_checkpoints ORDER BY size",
                )
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|row| {
                        let root: Vec<u8> = row.try_get("root")?;
                        Ok(StoredCheckpoint {
                            size: to_u64(row.try_get("size")?),
                            root: root
                                .try_into()
                                .map_err(|_| StoreError::Corrupt("checkpoint root".into()))?,
                            note: row.try_get("note")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}
pub(crate) use impl_store;

#[cfg(test)]
mod tests {
    use super::statement_chunks;

    #[test]
    fn statement_chunks_are_powers_of_two_covering_everything_in_order() {
        let items: Vec<u32> = (0..203).collect();
        let runs: Vec<&[u32]> = statement_chunks(&items, 64).collect();
        let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, vec![64, 64, 64, 8, 2, 1]);
        assert_eq!(runs.concat(), items);
        let sizes: Vec<usize> = statement_chunks(&items, 1000).map(|r| r.len()).collect();
        assert_eq!(sizes, vec![128, 64, 8, 2, 1]);
        assert_eq!(statement_chunks(&items[..0], 64).count(), 0);
        assert_eq!(
            statement_chunks(&items[..5], 0)
                .map(|r| r.len())
                .sum::<usize>(),
            5
        );
    }
}
