//! The custody tables in SQL (migration 0006), written once and stamped out per backend by
//! [`impl_custody_store!`] as `sql.rs` is. See [`crate::custody`] for what each method does.
//! Times that decide something (an expiry, a download link) are the `now` the caller passes,
//! so that both backends agree and tests can move the clock.

pub(crate) const HOLD_COLUMNS: &str = "id, request_id, agency_id, status, categories, date_from, \
     date_to, days, renewal_days, max_renewals, renewals, started_at, expires_at, reviewer_id, \
     created_by, created_at, captured_at, accounts, files, bytes, released_at, release_reason, \
     error";

pub(crate) const PRODUCTION_COLUMNS: &str = "id, request_id, agency_id, status, protection, \
     custodian_id, created_at, object_key, package_sha256, package_bytes, manifest_sha256, files, \
     bytes, audit_idx, collection, built_at, released_at, expires_at, max_downloads, link_days, \
     downloads, error";

pub(crate) const ITEM_COLUMNS: &str = "seq, account_id, category, kind, file_id, path, \
     media_type, file_created_at, object_key, sha256, size";

macro_rules! impl_custody_store {
    ($store:ident, $db:ident) => {
        mod custody_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use custodian_core::notice::NoticeStatus;
            use custodian_core::preservation::{HoldStatus, HoldTerms};
            use custodian_core::request::DateRange;
            use custodian_core::{DataCategory, RequestStatus, Target};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::custody::job_kinds::*;
            use $crate::custody::*;
            use $crate::custody_sql::{HOLD_COLUMNS, ITEM_COLUMNS, PRODUCTION_COLUMNS};
            use $crate::sql::{parse_column, qualified};
            use $crate::{
                Actor, AuditEvent, NewJob, Scope, StoreError, StoreResult, StoredAuditEntry,
                StoredObject,
            };

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn count(v: i64) -> u64 {
                u64::try_from(v).unwrap_or(0)
            }

            fn small(v: i64) -> u32 {
                u32::try_from(v).unwrap_or(0)
            }

            fn big(v: u64) -> i64 {
                i64::try_from(v).unwrap_or(i64::MAX)
            }

            fn time(t: DateTime<Utc>) -> DateTime<Utc> {
                custodian_audit::AuditEntry::truncate_time(t)
            }

            fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
                serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
            }

            fn day(column: &str, raw: Option<String>) -> StoreResult<Option<NaiveDate>> {
                raw.map(|s| {
                    s.parse()
                        .map_err(|_| StoreError::Corrupt(format!("{column}: '{s}' is not a day")))
                })
                .transpose()
            }

            fn hold_row(row: &DbRow) -> StoreResult<HoldRecord> {
                let categories: String = row.try_get("categories")?;
                let categories: Vec<DataCategory> = serde_json::from_str(&categories)
                    .map_err(|e| StoreError::Corrupt(format!("holds.categories: {e}")))?;
                let from = day("holds.date_from", row.try_get("date_from")?)?;
                let to = day("holds.date_to", row.try_get("date_to")?)?;
                Ok(HoldRecord {
                    id: row.try_get("id")?,
                    request_id: row.try_get("request_id")?,
                    agency_id: row.try_get("agency_id")?,
                    status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                    categories,
                    date_range: match (from, to) {
                        (Some(from), Some(to)) => Some(DateRange { from, to }),
                        _ => None,
                    },
                    terms: HoldTerms {
                        days: small(row.try_get("days")?),
                        renewal_days: small(row.try_get("renewal_days")?),
                        max_renewals: small(row.try_get("max_renewals")?),
                    },
                    renewals: small(row.try_get("renewals")?),
                    started_at: row.try_get("started_at")?,
                    expires_at: row.try_get("expires_at")?,
                    reviewer_id: row.try_get("reviewer_id")?,
                    created_by: row.try_get("created_by")?,
                    created_at: row.try_get("created_at")?,
                    captured_at: row.try_get("captured_at")?,
                    accounts: count(row.try_get("accounts")?),
                    files: count(row.try_get("files")?),
                    bytes: count(row.try_get("bytes")?),
                    released_at: row.try_get("released_at")?,
                    release_reason: row.try_get("release_reason")?,
                    error: row.try_get("error")?,
                })
            }

            fn item_row(row: &DbRow) -> StoreResult<HeldItem> {
                Ok(HeldItem {
                    seq: count(row.try_get("seq")?),
                    account_id: row.try_get("account_id")?,
                    category: parse_column("category", &row.try_get::<String, _>("category")?)?,
                    kind: parse_column("kind", &row.try_get::<String, _>("kind")?)?,
                    file_id: row.try_get("file_id")?,
                    path: row.try_get("path")?,
                    media_type: row.try_get("media_type")?,
                    file_created_at: row.try_get("file_created_at")?,
                    object: StoredObject {
                        key: row.try_get("object_key")?,
                        sha256: row.try_get("sha256")?,
                        size: count(row.try_get("size")?),
                    },
                })
            }

            fn production_row(row: &DbRow) -> StoreResult<ProductionRecord> {
                let collection: Option<String> = row.try_get("collection")?;
                Ok(ProductionRecord {
                    id: row.try_get("id")?,
                    request_id: row.try_get("request_id")?,
                    agency_id: row.try_get("agency_id")?,
                    status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                    protection: row.try_get("protection")?,
                    custodian_id: row.try_get("custodian_id")?,
                    created_at: row.try_get("created_at")?,
                    object_key: row.try_get("object_key")?,
                    package_sha256: row.try_get("package_sha256")?,
                    package_bytes: row.try_get::<Option<i64>, _>("package_bytes")?.map(count),
                    manifest_sha256: row.try_get("manifest_sha256")?,
                    files: row.try_get::<Option<i64>, _>("files")?.map(count),
                    bytes: row.try_get::<Option<i64>, _>("bytes")?.map(count),
                    audit_idx: row.try_get::<Option<i64>, _>("audit_idx")?.map(count),
                    collection: collection
                        .map(|c| serde_json::from_str(&c))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(format!("productions.collection: {e}")))?,
                    built_at: row.try_get("built_at")?,
                    released_at: row.try_get("released_at")?,
                    expires_at: row.try_get("expires_at")?,
                    max_downloads: small(row.try_get("max_downloads")?),
                    link_days: small(row.try_get("link_days")?),
                    downloads: small(row.try_get("downloads")?),
                    error: row.try_get("error")?,
                })
            }

            fn recipient_row(row: &DbRow) -> StoreResult<RecipientRecord> {
                let status: Option<String> = row.try_get("mail_status")?;
                Ok(RecipientRecord {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    mail_id: row.try_get("mail_id")?,
                    mail_status: status.map(|s| parse_column("mail_status", &s)).transpose()?,
                    mail_sent_at: row.try_get("mail_sent_at")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            const RECIPIENT_SELECT: &str = "SELECT r.id, r.account_id, r.mail_id, r.created_at, \
                 m.status AS mail_status, m.sent_at AS mail_sent_at \
                 FROM notice_recipients r LEFT JOIN mail_outbox m ON m.id = r.mail_id";

            /// Errors texts come from sources and object stores; keep the tables small.
            fn clip(error: &str) -> String {
                error.chars().take(2000).collect()
            }

            fn request_object(id: Uuid) -> String {
                format!("request:{id}")
            }

            impl Store {
                async fn hold_in(tx: &mut Tx, id: Uuid) -> StoreResult<HoldRecord> {
                    let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    hold_row(&row)
                }

                async fn production_in(tx: &mut Tx, id: Uuid) -> StoreResult<ProductionRecord> {
                    let sql = format!("SELECT {PRODUCTION_COLUMNS} FROM productions WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    production_row(&row)
                }

                /// Cancels pending jobs by their keys, inside `tx` (a hold renewed or released).
                async fn cancel_jobs_in(
                    tx: &mut Tx,
                    keys: &[String],
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    for key in keys {
                        sqlx::query(
                            "UPDATE jobs SET status = 'cancelled', finished_at = $1 \
                             WHERE dedupe_key = $2 AND status = 'queued'",
                        )
                        .bind(now)
                        .bind(key)
                        .execute(&mut **tx)
                        .await?;
                    }
                    Ok(())
                }

                fn hold_jobs(
                    id: Uuid,
                    expires_at: DateTime<Utc>,
                    reminder_at: DateTime<Utc>,
                ) -> [NewJob; 2] {
                    let payload = serde_json::json!({ "hold_id": id });
                    [
                        NewJob::new(HOLD_EXPIRE, payload.clone(), expires_at)
                            .once(format!("hold-expiry:{id}")),
                        NewJob::new(HOLD_REMINDER, payload, reminder_at)
                            .once(format!("hold-reminder:{id}")),
                    ]
                }

                async fn insert_recipients(
                    tx: &mut Tx,
                    actor: &Actor,
                    request_id: Uuid,
                    recipients: &[NewRecipient],
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    for r in recipients {
                        let mail_id = Self::queue_mail_in(tx, actor, &r.mail, now).await?;
                        sqlx::query(
                            "INSERT INTO notice_recipients (id, request_id, account_id, \
                             token_hash, mail_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(Uuid::new_v4())
                        .bind(request_id)
                        .bind(&r.account_id)
                        .bind(&r.token_hash)
                        .bind(mail_id)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    }
                    Ok(())
                }

                async fn notice_in(
                    &self,
                    request_id: Uuid,
                ) -> StoreResult<Option<NoticeRecord>> {
                    let row = sqlx::query(
                        "SELECT request_id, notice, rule, status, due_at, created_at, updated_at, \
                         sent_at FROM customer_notices WHERE request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_optional(self.reader())
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let sql = format!("{RECIPIENT_SELECT} WHERE r.request_id = $1 ORDER BY r.created_at, r.account_id");
                    let recipients = sqlx::query(&sql)
                        .bind(request_id)
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(recipient_row)
                        .collect::<StoreResult<Vec<_>>>()?;
                    Ok(Some(NoticeRecord {
                        request_id: row.try_get("request_id")?,
                        notice: parse_column("notice", &row.try_get::<String, _>("notice")?)?,
                        rule: row.try_get("rule")?,
                        status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                        due_at: row.try_get("due_at")?,
                        created_at: row.try_get("created_at")?,
                        updated_at: row.try_get("updated_at")?,
                        sent_at: row.try_get("sent_at")?,
                        recipients,
                    }))
                }
            }

            #[async_trait]
            impl CustodyStore for Store {
                async fn create_hold(
                    &self,
                    actor: &Actor,
                    hold: NewHold,
                    now: DateTime<Utc>,
                ) -> StoreResult<HoldRecord> {
                    let id = Uuid::new_v4();
                    let mut tx = self.writer().begin().await?;
                    let agency_id: Uuid =
                        sqlx::query_scalar("SELECT agency_id FROM requests WHERE id = $1")
                            .bind(hold.request_id)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                    let inserted = sqlx::query(
                        "INSERT INTO holds (id, request_id, agency_id, status, categories, \
                         date_from, date_to, days, renewal_days, max_renewals, renewals, \
                         started_at, expires_at, reviewer_id, created_by, created_at) \
                         VALUES ($1, $2, $3, 'capturing', $4, $5, $6, $7, $8, $9, 0, $10, $11, \
                         $12, $13, $14)",
                    )
                    .bind(id)
                    .bind(hold.request_id)
                    .bind(agency_id)
                    .bind(json(&hold.categories)?)
                    .bind(hold.date_range.map(|r| r.from.to_string()))
                    .bind(hold.date_range.map(|r| r.to.to_string()))
                    .bind(i64::from(hold.terms.days))
                    .bind(i64::from(hold.terms.renewal_days))
                    .bind(i64::from(hold.terms.max_renewals))
                    .bind(time(hold.started_at))
                    .bind(time(hold.expires_at))
                    .bind(hold.reviewer_id)
                    .bind(actor.label())
                    .bind(now)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Err(e) if StoreError::is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(
                                "the request already has a live hold; renew or release it".into(),
                            ))
                        }
                        other => {
                            other?;
                        }
                    }
                    let job = NewJob::new(HOLD_CAPTURE, serde_json::json!({ "hold_id": id }), now)
                        .once(format!("hold-capture:{id}"));
                    Self::enqueue_job_in(&mut tx, &job, now).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "hold.created",
                            request_object(hold.request_id),
                            serde_json::json!({
                                "hold": id.to_string(),
                                "categories": hold.categories,
                                "started_at": custodian_audit::AuditEntry::format_time(&time(hold.started_at)),
                                "expires_at": custodian_audit::AuditEntry::format_time(&time(hold.expires_at)),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    let record = Self::hold_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn complete_capture(
                    &self,
                    hold_id: Uuid,
                    accounts: &[HeldAccount],
                    items: &[HeldItem],
                    reminder_at: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> StoreResult<HoldRecord> {
                    let files = items.iter().filter(|i| i.kind == HeldKind::File).count() as u64;
                    let bytes: u64 = items.iter().map(|i| i.object.size).sum();
                    let distinct: std::collections::BTreeSet<&str> =
                        accounts.iter().map(|a| a.account_id.as_str()).collect();
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE holds SET status = 'active', captured_at = $1, accounts = $2, \
                         files = $3, bytes = $4 WHERE id = $5 AND status = 'capturing'",
                    )
                    .bind(now)
                    .bind(big(distinct.len() as u64))
                    .bind(big(files))
                    .bind(big(bytes))
                    .bind(hold_id)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        let current = Self::hold_in(&mut tx, hold_id).await?;
                        return Err(StoreError::Conflict(format!(
                            "the hold is {}, no longer capturing",
                            current.status
                        )));
                    }
                    for a in accounts {
                        sqlx::query(
                            "INSERT INTO hold_accounts (hold_id, account_id, target_kind, \
                             target_value) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        )
                        .bind(hold_id)
                        .bind(&a.account_id)
                        .bind(a.target.kind.as_str())
                        .bind(&a.target.value)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let mut digest = <sha2::Sha256 as sha2::Digest>::new();
                    for i in items {
                        sha2::Digest::update(&mut digest, i.object.sha256.as_bytes());
                        sqlx::query(
                            "INSERT INTO hold_items (hold_id, seq, account_id, category, kind, \
                             file_id, path, media_type, file_created_at, object_key, sha256, size) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(hold_id)
                        .bind(big(i.seq))
                        .bind(&i.account_id)
                        .bind(i.category.as_str())
                        .bind(i.kind.as_str())
                        .bind(&i.file_id)
                        .bind(&i.path)
                        .bind(&i.media_type)
                        .bind(i.file_created_at)
                        .bind(&i.object.key)
                        .bind(&i.object.sha256)
                        .bind(big(i.object.size))
                        .execute(&mut *tx)
                        .await?;
                    }
                    let hold = Self::hold_in(&mut tx, hold_id).await?;
                    for job in Self::hold_jobs(hold_id, hold.expires_at, reminder_at) {
                        Self::enqueue_job_in(&mut tx, &job, now).await?;
                    }
                    Self::append_audit(
                        &mut tx,
                        &Actor::System("custody".into()),
                        AuditEvent::new(
                            "hold.captured",
                            request_object(hold.request_id),
                            serde_json::json!({
                                "hold": hold_id.to_string(),
                                "accounts": distinct.len(),
                                "files": files,
                                "bytes": bytes,
                                // One digest over the items' digests, in order: the snapshot
                                // as it was taken.
                                "snapshot_sha256": hex::encode(sha2::Digest::finalize(digest)),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(hold)
                }

                async fn fail_capture(
                    &self,
                    hold_id: Uuid,
                    error: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<HoldRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE holds SET status = 'failed', error = $1 \
                         WHERE id = $2 AND status = 'capturing'",
                    )
                    .bind(clip(error))
                    .bind(hold_id)
                    .execute(&mut *tx)
                    .await?;
                    let hold = Self::hold_in(&mut tx, hold_id).await?;
                    if changed.rows_affected() == 1 {
                        Self::append_audit(
                            &mut tx,
                            &Actor::System("custody".into()),
                            AuditEvent::new(
                                "hold.failed",
                                request_object(hold.request_id),
                                serde_json::json!({ "hold": hold_id.to_string() }),
                            ),
                            now,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(hold)
                }

                async fn renew_hold(
                    &self,
                    actor: &Actor,
                    hold_id: Uuid,
                    renewals: u32,
                    expires_at: DateTime<Utc>,
                    reminder_at: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> StoreResult<HoldRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE holds SET expires_at = $1, renewals = renewals + 1 \
                         WHERE id = $2 AND status = 'active' AND renewals = $3",
                    )
                    .bind(time(expires_at))
                    .bind(hold_id)
                    .bind(i64::from(renewals))
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        let current = Self::hold_in(&mut tx, hold_id).await?;
                        return Err(StoreError::Conflict(if current.status != HoldStatus::Active {
                            format!("only an active hold is renewed (this one is {})", current.status)
                        } else {
                            "the hold changed while this action was under way; try again".into()
                        }));
                    }
                    Self::cancel_jobs_in(
                        &mut tx,
                        &[format!("hold-expiry:{hold_id}"), format!("hold-reminder:{hold_id}")],
                        now,
                    )
                    .await?;
                    for job in Self::hold_jobs(hold_id, time(expires_at), reminder_at) {
                        Self::enqueue_job_in(&mut tx, &job, now).await?;
                    }
                    let hold = Self::hold_in(&mut tx, hold_id).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "hold.renewed",
                            request_object(hold.request_id),
                            serde_json::json!({
                                "hold": hold_id.to_string(),
                                "renewals": hold.renewals,
                                "expires_at": custodian_audit::AuditEntry::format_time(&hold.expires_at),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(hold)
                }

                async fn release_hold(
                    &self,
                    actor: &Actor,
                    hold_id: Uuid,
                    reason: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<HoldRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE holds SET status = 'released', released_at = $1, \
                         release_reason = $2 WHERE id = $3 AND status IN ('capturing', 'active')",
                    )
                    .bind(now)
                    .bind(clip(reason))
                    .bind(hold_id)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        let current = Self::hold_in(&mut tx, hold_id).await?;
                        return Err(StoreError::Conflict(format!(
                            "the hold is {} already",
                            current.status
                        )));
                    }
                    Self::cancel_jobs_in(
                        &mut tx,
                        &[
                            format!("hold-capture:{hold_id}"),
                            format!("hold-expiry:{hold_id}"),
                            format!("hold-reminder:{hold_id}"),
                        ],
                        now,
                    )
                    .await?;
                    // The expiry job, run now, deletes the snapshot of an ended hold: the
                    // deletion is durable work, not a hope.
                    let purge = NewJob::new(HOLD_EXPIRE, serde_json::json!({ "hold_id": hold_id }), now)
                        .once(format!("hold-expiry:{hold_id}"));
                    Self::enqueue_job_in(&mut tx, &purge, now).await?;
                    let hold = Self::hold_in(&mut tx, hold_id).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "hold.released",
                            request_object(hold.request_id),
                            serde_json::json!({
                                "hold": hold_id.to_string(),
                                "expired": reason == "expired",
                                "reason_sha256": crate::sha256_hex(reason.as_bytes()),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(hold)
                }

                async fn get_hold(&self, id: Uuid) -> StoreResult<HoldRecord> {
                    let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    hold_row(&row)
                }

                async fn list_holds(&self, filter: &HoldFilter) -> StoreResult<Vec<HoldRecord>> {
                    let sql = format!(
                        "SELECT {HOLD_COLUMNS} FROM holds WHERE ($1 IS NULL OR request_id = $1) \
                         AND ($2 IS NULL OR status = $2) ORDER BY expires_at, id LIMIT $3"
                    );
                    let limit = if filter.limit == 0 { 100 } else { filter.limit.min(1000) };
                    let rows = sqlx::query(&sql)
                        .bind(filter.request_id)
                        .bind(filter.status.map(|s| s.as_str()))
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(hold_row).collect()
                }

                async fn hold_accounts(&self, hold_id: Uuid) -> StoreResult<Vec<HeldAccount>> {
                    let rows = sqlx::query(
                        "SELECT account_id, target_kind, target_value FROM hold_accounts \
                         WHERE hold_id = $1 ORDER BY account_id, target_kind, target_value",
                    )
                    .bind(hold_id)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(HeldAccount {
                                account_id: row.try_get("account_id")?,
                                target: Target {
                                    kind: parse_column(
                                        "target_kind",
                                        &row.try_get::<String, _>("target_kind")?,
                                    )?,
                                    value: row.try_get("target_value")?,
                                },
                            })
                        })
                        .collect()
                }

                async fn hold_items(&self, hold_id: Uuid) -> StoreResult<Vec<HeldItem>> {
                    let sql = format!(
                        "SELECT {ITEM_COLUMNS} FROM hold_items WHERE hold_id = $1 ORDER BY seq"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(hold_id)
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(item_row).collect()
                }

                async fn active_holds_for_target(
                    &self,
                    agency_id: Uuid,
                    target: &Target,
                ) -> StoreResult<Vec<HoldRecord>> {
                    let columns = qualified(HOLD_COLUMNS, "h", None);
                    let sql = format!(
                        "SELECT {columns} FROM holds h WHERE h.agency_id = $1 \
                         AND h.status = 'active' AND EXISTS (SELECT 1 FROM hold_accounts a \
                         WHERE a.hold_id = h.id AND a.target_kind = $2 AND a.target_value = $3) \
                         ORDER BY h.captured_at DESC, h.id"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(agency_id)
                        .bind(target.kind.as_str())
                        .bind(&target.value)
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(hold_row).collect()
                }

                async fn create_production(
                    &self,
                    actor: &Actor,
                    p: NewProduction,
                    now: DateTime<Utc>,
                ) -> StoreResult<ProductionRecord> {
                    let id = Uuid::new_v4();
                    let mut tx = self.writer().begin().await?;
                    let status = Self::status_in(&mut tx, Scope::Provider, p.request_id).await?;
                    match status {
                        RequestStatus::Decided => {
                            Self::move_in(
                                &mut tx,
                                actor,
                                Scope::Provider,
                                p.request_id,
                                RequestStatus::Producing,
                                Some("production"),
                                now,
                            )
                            .await?;
                        }
                        RequestStatus::Producing => {}
                        other => {
                            return Err(StoreError::Conflict(format!(
                                "a production is made for a decided request (this one is {other})"
                            )))
                        }
                    }
                    let agency_id: Uuid =
                        sqlx::query_scalar("SELECT agency_id FROM requests WHERE id = $1")
                            .bind(p.request_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    let inserted = sqlx::query(
                        "INSERT INTO productions (id, request_id, agency_id, status, protection, \
                         passphrase, custodian_id, created_at, max_downloads, link_days, downloads) \
                         VALUES ($1, $2, $3, 'building', $4, $5, $6, $7, $8, $9, 0)",
                    )
                    .bind(id)
                    .bind(p.request_id)
                    .bind(agency_id)
                    .bind(&p.protection)
                    .bind(&p.passphrase)
                    .bind(p.custodian_id)
                    .bind(now)
                    .bind(i64::from(p.max_downloads))
                    .bind(i64::from(p.link_days))
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Err(e) if StoreError::is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(
                                "the request already has a production being built, waiting or \
                                 delivered"
                                    .into(),
                            ))
                        }
                        other => {
                            other?;
                        }
                    }
                    let job = NewJob::new(
                        PRODUCTION_BUILD,
                        serde_json::json!({ "production_id": id }),
                        now,
                    )
                    .once(format!("production-build:{id}"))
                    .attempts(3);
                    Self::enqueue_job_in(&mut tx, &job, now).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "production.requested",
                            request_object(p.request_id),
                            serde_json::json!({
                                "production": id.to_string(),
                                "protection": p.protection,
                                "custodian": p.custodian_id.to_string(),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    let record = Self::production_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn production_passphrase(&self, id: Uuid) -> StoreResult<Option<String>> {
                    let row: Option<Option<String>> = sqlx::query_scalar(
                        "SELECT passphrase FROM productions WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                    row.ok_or(StoreError::NotFound)
                }

                async fn record_package(
                    &self,
                    id: Uuid,
                    package: BuiltPackage,
                    now: DateTime<Utc>,
                ) -> StoreResult<ProductionRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE productions SET status = 'built', passphrase = NULL, \
                         object_key = $1, package_sha256 = $2, package_bytes = $3, \
                         manifest_sha256 = $4, files = $5, bytes = $6, audit_idx = $7, \
                         collection = $8, built_at = $9 WHERE id = $10 AND status = 'building'",
                    )
                    .bind(&package.object.key)
                    .bind(&package.object.sha256)
                    .bind(big(package.object.size))
                    .bind(&package.manifest_sha256)
                    .bind(big(package.files))
                    .bind(big(package.bytes))
                    .bind(big(package.audit_idx))
                    .bind(json(&package.collection)?)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        let current = Self::production_in(&mut tx, id).await?;
                        return Err(StoreError::Conflict(format!(
                            "the production is {}, no longer building",
                            current.status
                        )));
                    }
                    let job = NewJob::new(
                        PRODUCTION_RELEASE,
                        serde_json::json!({ "production_id": id }),
                        now,
                    )
                    .once(format!("production-release:{id}"));
                    Self::enqueue_job_in(&mut tx, &job, now).await?;
                    let record = Self::production_in(&mut tx, id).await?;
                    Self::append_audit(
                        &mut tx,
                        &Actor::System("custody".into()),
                        AuditEvent::new(
                            "production.built",
                            request_object(record.request_id),
                            serde_json::json!({
                                "production": id.to_string(),
                                "package_sha256": package.object.sha256,
                                "package_bytes": package.object.size,
                                "manifest_sha256": package.manifest_sha256,
                                "files": package.files,
                                "bytes": package.bytes,
                                "audit_idx": package.audit_idx,
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn fail_production(
                    &self,
                    id: Uuid,
                    error: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<ProductionRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE productions SET status = 'failed', passphrase = NULL, error = $1 \
                         WHERE id = $2 AND status = 'building'",
                    )
                    .bind(clip(error))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let record = Self::production_in(&mut tx, id).await?;
                    if changed.rows_affected() == 1 {
                        Self::append_audit(
                            &mut tx,
                            &Actor::System("custody".into()),
                            AuditEvent::new(
                                "production.failed",
                                request_object(record.request_id),
                                serde_json::json!({ "production": id.to_string() }),
                            ),
                            now,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(record)
                }

                async fn release_production(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    expires_at: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> StoreResult<ProductionRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE productions SET status = 'delivered', released_at = $1, \
                         expires_at = $2 WHERE id = $3 AND status = 'built'",
                    )
                    .bind(now)
                    .bind(time(expires_at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let record = Self::production_in(&mut tx, id).await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!(
                            "only a built production is released (this one is {})",
                            record.status
                        )));
                    }
                    Self::move_in(
                        &mut tx,
                        actor,
                        Scope::Provider,
                        record.request_id,
                        RequestStatus::Delivered,
                        Some("production released"),
                        now,
                    )
                    .await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "production.released",
                            request_object(record.request_id),
                            serde_json::json!({
                                "production": id.to_string(),
                                "package_sha256": record.package_sha256,
                                "link_expires_at": custodian_audit::AuditEntry::format_time(&time(expires_at)),
                                "max_downloads": record.max_downloads,
                            }),
                        ),
                        now,
                    )
                    .await?;
                    Self::first_answer_in(&mut tx, record.request_id, "production", now).await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn renew_link(
                    &self,
                    actor: &Actor,
                    id: Uuid,
                    expires_at: DateTime<Utc>,
                    max_downloads: u32,
                    now: DateTime<Utc>,
                ) -> StoreResult<ProductionRecord> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE productions SET expires_at = $1, max_downloads = $2, \
                         downloads = 0 WHERE id = $3 AND status = 'delivered'",
                    )
                    .bind(time(expires_at))
                    .bind(i64::from(max_downloads))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let record = Self::production_in(&mut tx, id).await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!(
                            "only a delivered production has a download link (this one is {})",
                            record.status
                        )));
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "production.link_renewed",
                            request_object(record.request_id),
                            serde_json::json!({
                                "production": id.to_string(),
                                "link_expires_at": custodian_audit::AuditEntry::format_time(&time(expires_at)),
                                "max_downloads": max_downloads,
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(record)
                }

                async fn get_production(&self, id: Uuid) -> StoreResult<ProductionRecord> {
                    let sql = format!("SELECT {PRODUCTION_COLUMNS} FROM productions WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    production_row(&row)
                }

                async fn productions_for_request(
                    &self,
                    scope: Scope,
                    request_id: Uuid,
                ) -> StoreResult<Vec<ProductionRecord>> {
                    self.request_in(scope, request_id, false).await?;
                    let sql = format!(
                        "SELECT {PRODUCTION_COLUMNS} FROM productions WHERE request_id = $1 \
                         ORDER BY created_at DESC, id"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(request_id)
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(production_row).collect()
                }

                async fn take_download(
                    &self,
                    actor: &Actor,
                    scope: Scope,
                    request_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<DownloadGrant> {
                    let mut tx = self.writer().begin().await?;
                    Self::status_in(&mut tx, scope, request_id).await?;
                    let sql = format!(
                        "SELECT {PRODUCTION_COLUMNS} FROM productions WHERE request_id = $1 \
                         AND status = 'delivered'"
                    );
                    let row = sqlx::query(&sql)
                        .bind(request_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    let record = production_row(&row)?;
                    let refused = match record.expires_at {
                        Some(at) if at <= now => Some(DownloadGrant::Expired(at)),
                        None => Some(DownloadGrant::Expired(now)),
                        _ if record.downloads >= record.max_downloads => {
                            Some(DownloadGrant::Exhausted(record.max_downloads))
                        }
                        _ => None,
                    };
                    let n: Option<i64> = match refused {
                        Some(_) => None,
                        None => {
                            sqlx::query_scalar(
                                "UPDATE productions SET downloads = downloads + 1 \
                                 WHERE id = $1 AND downloads < max_downloads RETURNING downloads",
                            )
                            .bind(record.id)
                            .fetch_optional(&mut *tx)
                            .await?
                        }
                    };
                    let refused = match (refused, n) {
                        (Some(r), _) => Some(r),
                        (None, None) => Some(DownloadGrant::Exhausted(record.max_downloads)),
                        (None, Some(_)) => None,
                    };
                    let (action, details) = match &refused {
                        Some(DownloadGrant::Expired(_)) => (
                            "production.download_refused",
                            serde_json::json!({"production": record.id.to_string(), "why": "expired"}),
                        ),
                        Some(_) => (
                            "production.download_refused",
                            serde_json::json!({"production": record.id.to_string(), "why": "limit_reached"}),
                        ),
                        None => (
                            "production.downloaded",
                            serde_json::json!({
                                "production": record.id.to_string(),
                                "download": n,
                                "of": record.max_downloads,
                                "package_sha256": record.package_sha256,
                            }),
                        ),
                    };
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(action, request_object(request_id), details),
                        now,
                    )
                    .await?;
                    let record = Self::production_in(&mut tx, record.id).await?;
                    tx.commit().await?;
                    Ok(refused.unwrap_or(DownloadGrant::Granted(Box::new(record))))
                }

                async fn plan_notice(
                    &self,
                    actor: &Actor,
                    n: NewNotice,
                    now: DateTime<Utc>,
                ) -> StoreResult<NoticeRecord> {
                    let mut tx = self.writer().begin().await?;
                    let inserted = sqlx::query(
                        "INSERT INTO customer_notices (request_id, notice, rule, status, due_at, \
                         created_at, updated_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) \
                         ON CONFLICT (request_id) DO NOTHING",
                    )
                    .bind(n.request_id)
                    .bind(n.notice.as_str())
                    .bind(&n.rule)
                    .bind(n.status.as_str())
                    .bind(n.due_at.map(time))
                    .bind(now)
                    .bind((n.status == NoticeStatus::Sent).then_some(now))
                    .execute(&mut *tx)
                    .await?;
                    if inserted.rows_affected() == 1 {
                        Self::insert_recipients(&mut tx, actor, n.request_id, &n.recipients, now)
                            .await?;
                        for job in &n.jobs {
                            Self::enqueue_job_in(&mut tx, job, now).await?;
                        }
                        Self::append_audit(
                            &mut tx,
                            actor,
                            AuditEvent::new(
                                "notice.planned",
                                request_object(n.request_id),
                                serde_json::json!({
                                    "notice": n.notice.as_str(),
                                    "rule": n.rule,
                                    "status": n.status.as_str(),
                                    "recipients": n.recipients.len(),
                                    "due_at": n.due_at.map(|t| custodian_audit::AuditEntry::format_time(&time(t))),
                                }),
                            ),
                            now,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    self.notice_in(n.request_id).await?.ok_or(StoreError::NotFound)
                }

                async fn update_notice(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    change: NoticeChange,
                    now: DateTime<Utc>,
                ) -> StoreResult<NoticeRecord> {
                    let mut tx = self.writer().begin().await?;
                    let current: String = sqlx::query_scalar(
                        "SELECT status FROM customer_notices WHERE request_id = $1",
                    )
                    .bind(request_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let current: NoticeStatus = parse_column("status", &current)?;
                    if !change.expect.contains(&current) {
                        return Err(StoreError::Conflict(format!(
                            "the notice is {current}; this cannot be done now"
                        )));
                    }
                    let changed = sqlx::query(
                        "UPDATE customer_notices SET status = $1, due_at = $2, updated_at = $3, \
                         sent_at = CASE WHEN $4 THEN $3 ELSE sent_at END \
                         WHERE request_id = $5 AND status = $6",
                    )
                    .bind(change.status.as_str())
                    .bind(change.due_at.map(time))
                    .bind(now)
                    .bind(change.status == NoticeStatus::Sent)
                    .bind(request_id)
                    .bind(current.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "the notice changed while this action was under way; try again".into(),
                        ));
                    }
                    Self::insert_recipients(&mut tx, actor, request_id, &change.recipients, now)
                        .await?;
                    for mail in &change.staff_mails {
                        Self::queue_mail_in(&mut tx, actor, mail, now).await?;
                    }
                    Self::cancel_jobs_in(&mut tx, &change.cancel, now).await?;
                    for job in &change.jobs {
                        Self::enqueue_job_in(&mut tx, job, now).await?;
                    }
                    let mut details = change.details.clone();
                    if let Some(obj) = details.as_object_mut() {
                        obj.insert("from".into(), current.as_str().into());
                        obj.insert("to".into(), change.status.as_str().into());
                        obj.insert("recipients".into(), change.recipients.len().into());
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(change.action, request_object(request_id), details),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    self.notice_in(request_id).await?.ok_or(StoreError::NotFound)
                }

                async fn get_notice(&self, request_id: Uuid) -> StoreResult<Option<NoticeRecord>> {
                    self.notice_in(request_id).await
                }

                async fn notice_by_token(
                    &self,
                    token_hash: &str,
                ) -> StoreResult<Option<(Uuid, RecipientRecord)>> {
                    let sql = format!(
                        "SELECT r.request_id AS notice_request, {} WHERE r.token_hash = $1",
                        RECIPIENT_SELECT.trim_start_matches("SELECT ")
                    );
                    let row = sqlx::query(&sql)
                        .bind(token_hash)
                        .fetch_optional(self.reader())
                        .await?;
                    match row {
                        None => Ok(None),
                        Some(row) => Ok(Some((row.try_get("notice_request")?, recipient_row(&row)?))),
                    }
                }

                async fn age_recipient(&self, agency_id: Uuid) -> StoreResult<Option<String>> {
                    let row: Option<Option<String>> =
                        sqlx::query_scalar("SELECT age_recipient FROM agencies WHERE id = $1")
                            .bind(agency_id)
                            .fetch_optional(self.reader())
                            .await?;
                    row.ok_or(StoreError::NotFound)
                }

                async fn set_age_recipient(
                    &self,
                    actor: &Actor,
                    agency_id: Uuid,
                    recipient: Option<&str>,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query("UPDATE agencies SET age_recipient = $1 WHERE id = $2")
                        .bind(recipient)
                        .bind(agency_id)
                        .execute(&mut *tx)
                        .await?;
                    if changed.rows_affected() != 1 {
                        return Err(StoreError::NotFound);
                    }
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new(
                            "agency.age_recipient_set",
                            format!("agency:{agency_id}"),
                            serde_json::json!({
                                "recipient_sha256": recipient.map(|r| crate::sha256_hex(r.as_bytes())),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn append_production_event(
                    &self,
                    actor: &Actor,
                    request_id: Uuid,
                    details: serde_json::Value,
                    now: DateTime<Utc>,
                ) -> StoreResult<StoredAuditEntry> {
                    let mut tx = self.writer().begin().await?;
                    let event =
                        AuditEvent::new(PRODUCTION_EVENT_ACTION, request_object(request_id), details);
                    let idx = Self::append_audit(&mut tx, actor, event, now).await?;
                    let row = sqlx::query(
                        "SELECT idx, actor, action, object, at, details, leaf_hash FROM audit_log \
                         WHERE idx = $1",
                    )
                    .bind(big(idx))
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    let details: String = row.try_get("details")?;
                    let leaf: Vec<u8> = row.try_get("leaf_hash")?;
                    Ok(StoredAuditEntry {
                        entry: custodian_audit::AuditEntry {
                            idx: count(row.try_get("idx")?),
                            actor: row.try_get("actor")?,
                            action: row.try_get("action")?,
                            object: row.try_get("object")?,
                            at: row.try_get("at")?,
                            details: serde_json::from_str(&details)
                                .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
                        },
                        leaf_hash: leaf
                            .try_into()
                            .map_err(|_| StoreError::Corrupt("audit leaf hash".into()))?,
                    })
                }
            }
        }
    };
}
pub(crate) use impl_custody_store;
