//! The job table and the mail outbox in SQL (migration 0004), written once and stamped out per
//! backend by [`impl_jobs_store!`] as `sql.rs` is. Besides the [`JobQueue`](crate::JobQueue) and
//! [`Outbox`](crate::Outbox) traits, it gives every other part of the store two in-transaction
//! helpers, `enqueue_job_in` and `queue_mail_in`, so that an action and the work it schedules
//! (a decision and its customer notice, a hold and its expiry) commit together or not at all.

pub(crate) const JOB_COLUMNS: &str = "id, kind, payload, run_at, status, attempts, max_attempts, \
     last_error, dedupe_key, created_at, finished_at";

pub(crate) const MAIL_COLUMNS: &str = "id, kind, recipient, subject, body_text, request_id, \
     status, attempts, last_error, created_at, sent_at, message_id";

macro_rules! impl_jobs_store {
    ($store:ident, $db:ident) => {
        mod jobs_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Duration, Utc};
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::jobs::{
                Job, JobFilter, JobQueue, JobStatus, MailFilter, MailRecord, MailStatus, NewJob,
                NewMail, Outbox, MAIL_SEND_JOB,
            };
            use $crate::jobs_sql::{JOB_COLUMNS, MAIL_COLUMNS};
            use $crate::sql::parse_column;
            use $crate::{Actor, AuditEvent, StoreError, StoreResult};

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn count(v: i64) -> u32 {
                u32::try_from(v).unwrap_or(0)
            }

            fn job_row(row: &DbRow) -> StoreResult<Job> {
                let payload: String = row.try_get("payload")?;
                Ok(Job {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(format!("jobs.payload: {e}")))?,
                    run_at: row.try_get("run_at")?,
                    status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                    attempts: count(row.try_get::<i32, _>("attempts")?.into()),
                    max_attempts: count(row.try_get::<i32, _>("max_attempts")?.into()),
                    last_error: row.try_get("last_error")?,
                    dedupe_key: row.try_get("dedupe_key")?,
                    created_at: row.try_get("created_at")?,
                    finished_at: row.try_get("finished_at")?,
                })
            }

            fn mail_row(row: &DbRow) -> StoreResult<MailRecord> {
                Ok(MailRecord {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    recipient: row.try_get("recipient")?,
                    subject: row.try_get("subject")?,
                    body_text: row.try_get("body_text")?,
                    request_id: row.try_get("request_id")?,
                    status: parse_column("status", &row.try_get::<String, _>("status")?)?,
                    attempts: count(row.try_get::<i32, _>("attempts")?.into()),
                    last_error: row.try_get("last_error")?,
                    created_at: row.try_get("created_at")?,
                    sent_at: row.try_get("sent_at")?,
                    message_id: row.try_get("message_id")?,
                })
            }

            /// Error texts come from SMTP servers and handlers; keep the table small.
            fn clip(error: &str) -> String {
                let mut s: String = error.chars().take(2000).collect();
                if s.len() < error.len() {
                    s.push('…');
                }
                s
            }

            impl Store {
                /// Schedules a job inside `tx`. With a dedupe key that is already pending, the
                /// pending job's id comes back and nothing is added.
                pub(crate) async fn enqueue_job_in(
                    tx: &mut Tx,
                    job: &NewJob,
                    now: DateTime<Utc>,
                ) -> StoreResult<Uuid> {
                    let id = Uuid::new_v4();
                    let payload = serde_json::to_string(&job.payload)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let inserted = sqlx::query(
                        "INSERT INTO jobs (id, kind, payload, run_at, status, attempts, \
                         max_attempts, dedupe_key, created_at) \
                         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7) \
                         ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL \
                         AND status IN ('queued', 'running') DO NOTHING",
                    )
                    .bind(id)
                    .bind(&job.kind)
                    .bind(payload)
                    .bind(custodian_audit::AuditEntry::truncate_time(job.run_at))
                    .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
                    .bind(&job.dedupe_key)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    if inserted.rows_affected() == 1 {
                        return Ok(id);
                    }
                    let existing: Uuid = sqlx::query_scalar(
                        "SELECT id FROM jobs WHERE dedupe_key = $1 \
                         AND status IN ('queued', 'running')",
                    )
                    .bind(&job.dedupe_key)
                    .fetch_one(&mut **tx)
                    .await?;
                    Ok(existing)
                }

                /// Puts a mail in the outbox and schedules its delivery, inside `tx`. The audit
                /// entry names the kind and the request, never the recipient or the text.
                pub(crate) async fn queue_mail_in(
                    tx: &mut Tx,
                    actor: &Actor,
                    mail: &NewMail,
                    now: DateTime<Utc>,
                ) -> StoreResult<Uuid> {
                    let id = Uuid::new_v4();
                    sqlx::query(
                        "INSERT INTO mail_outbox (id, kind, recipient, subject, body_text, \
                         request_id, status, attempts, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7)",
                    )
                    .bind(id)
                    .bind(&mail.kind)
                    .bind(&mail.recipient)
                    .bind(&mail.subject)
                    .bind(&mail.body_text)
                    .bind(mail.request_id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    let job = NewJob::new(
                        MAIL_SEND_JOB,
                        serde_json::json!({ "mail_id": id }),
                        mail.send_after.unwrap_or(now),
                    )
                    .attempts(8);
                    Self::enqueue_job_in(tx, &job, now).await?;
                    Self::append_audit(
                        tx,
                        actor,
                        AuditEvent::new(
                            "mail.queued",
                            format!("mail:{id}"),
                            serde_json::json!({
                                "kind": mail.kind,
                                "request": mail.request_id.map(|r| format!("request:{r}")),
                            }),
                        ),
                        now,
                    )
                    .await?;
                    Ok(id)
                }
            }

            #[async_trait]
            impl JobQueue for Store {
                async fn enqueue(&self, job: NewJob) -> StoreResult<Uuid> {
                    let now = $crate::sql::now();
                    let mut tx = self.writer().begin().await?;
                    let id = Self::enqueue_job_in(&mut tx, &job, now).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                async fn claim(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease: Duration,
                    limit: u32,
                ) -> StoreResult<Vec<Job>> {
                    let sql = format!(
                        "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, \
                         attempts = attempts + 1 \
                         WHERE id IN (SELECT id FROM jobs \
                           WHERE (status = 'queued' AND run_at <= $3) \
                              OR (status = 'running' AND locked_until <= $3) \
                           ORDER BY run_at LIMIT $4{}) \
                         RETURNING {JOB_COLUMNS}",
                        Store::SKIP_LOCKED
                    );
                    let mut tx = self.writer().begin().await?;
                    let rows = sqlx::query(&sql)
                        .bind(worker)
                        .bind(now + lease)
                        .bind(now)
                        .bind(i64::from(limit.max(1)))
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    let mut jobs = rows.iter().map(job_row).collect::<StoreResult<Vec<_>>>()?;
                    jobs.sort_by_key(|j| j.run_at);
                    Ok(jobs)
                }

                async fn complete(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE jobs SET status = 'done', finished_at = $1, locked_by = NULL, \
                         locked_until = NULL WHERE id = $2",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn retry(
                    &self,
                    id: Uuid,
                    at: DateTime<Utc>,
                    error: &str,
                ) -> StoreResult<JobStatus> {
                    let status: String = sqlx::query_scalar(
                        "UPDATE jobs SET \
                           status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                           finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
                           run_at = $1, last_error = $2, locked_by = NULL, locked_until = NULL \
                         WHERE id = $3 RETURNING status",
                    )
                    .bind(custodian_audit::AuditEntry::truncate_time(at))
                    .bind(clip(error))
                    .bind(id)
                    .fetch_optional(self.writer())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    parse_column("status", &status)
                }

                async fn fail(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE jobs SET status = 'failed', finished_at = $1, last_error = $2, \
                         locked_by = NULL, locked_until = NULL WHERE id = $3",
                    )
                    .bind(now)
                    .bind(clip(error))
                    .bind(id)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn cancel(&self, dedupe_key: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE jobs SET status = 'cancelled', finished_at = $1 \
                         WHERE dedupe_key = $2 AND status = 'queued'",
                    )
                    .bind(now)
                    .bind(dedupe_key)
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn get(&self, id: Uuid) -> StoreResult<Job> {
                    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    job_row(&row)
                }

                async fn list(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
                    let sql = format!(
                        "SELECT {JOB_COLUMNS} FROM jobs \
                         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) \
                         ORDER BY created_at DESC, id LIMIT $3"
                    );
                    let limit = if filter.limit == 0 { 100 } else { filter.limit.min(1000) };
                    let rows = sqlx::query(&sql)
                        .bind(filter.status.map(|s| s.as_str()))
                        .bind(filter.kind.as_deref())
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(job_row).collect()
                }

                async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
                    let at: Option<DateTime<Utc>> = sqlx::query_scalar(
                        "SELECT run_at FROM jobs WHERE status = 'queued' \
                         ORDER BY run_at LIMIT 1",
                    )
                    .fetch_optional(self.reader())
                    .await?;
                    Ok(at)
                }
            }

            #[async_trait]
            impl Outbox for Store {
                async fn queue(
                    &self,
                    actor: &Actor,
                    mail: NewMail,
                    now: DateTime<Utc>,
                ) -> StoreResult<Uuid> {
                    let mut tx = self.writer().begin().await?;
                    let id = Self::queue_mail_in(&mut tx, actor, &mail, now).await?;
                    tx.commit().await?;
                    Ok(id)
                }

                async fn get(&self, id: Uuid) -> StoreResult<MailRecord> {
                    let sql = format!("SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE id = $1");
                    let row = sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    mail_row(&row)
                }

                async fn list(&self, filter: &MailFilter) -> StoreResult<Vec<MailRecord>> {
                    let sql = format!(
                        "SELECT {MAIL_COLUMNS} FROM mail_outbox \
                         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) \
                         AND ($3 IS NULL OR request_id = $3) \
                         ORDER BY created_at DESC, id LIMIT $4"
                    );
                    let limit = if filter.limit == 0 { 100 } else { filter.limit.min(1000) };
                    let rows = sqlx::query(&sql)
                        .bind(filter.status.map(|s| s.as_str()))
                        .bind(filter.kind.as_deref())
                        .bind(filter.request_id)
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(mail_row).collect()
                }

                async fn mark_sent(
                    &self,
                    id: Uuid,
                    at: DateTime<Utc>,
                    message_id: &str,
                ) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await?;
                    let done = sqlx::query(
                        "UPDATE mail_outbox SET status = 'sent', sent_at = $1, message_id = $2, \
                         attempts = attempts + 1, last_error = NULL WHERE id = $3",
                    )
                    .bind(at)
                    .bind(message_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::NotFound);
                    }
                    Self::append_audit(
                        &mut tx,
                        &Actor::System("mailer".into()),
                        AuditEvent::new("mail.sent", format!("mail:{id}"), serde_json::json!({})),
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn mark_attempt_failed(
                    &self,
                    id: Uuid,
                    error: &str,
                    permanent: bool,
                ) -> StoreResult<()> {
                    let status = if permanent { MailStatus::Failed } else { MailStatus::Queued };
                    sqlx::query(
                        "UPDATE mail_outbox SET status = $1, attempts = attempts + 1, \
                         last_error = $2 WHERE id = $3 AND status <> 'sent'",
                    )
                    .bind(status.as_str())
                    .bind(clip(error))
                    .bind(id)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn resend(&self, actor: &Actor, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    let mut tx = self.writer().begin().await?;
                    let changed = sqlx::query(
                        "UPDATE mail_outbox SET status = 'queued', last_error = NULL \
                         WHERE id = $1 AND status = 'failed'",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if changed.rows_affected() != 1 {
                        let exists: Option<String> =
                            sqlx::query_scalar("SELECT status FROM mail_outbox WHERE id = $1")
                                .bind(id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        return Err(match exists {
                            None => StoreError::NotFound,
                            Some(s) => StoreError::Conflict(format!(
                                "only a failed mail can be sent again (this one is {s})"
                            )),
                        });
                    }
                    let job = NewJob::new(MAIL_SEND_JOB, serde_json::json!({ "mail_id": id }), now)
                        .attempts(8);
                    Self::enqueue_job_in(&mut tx, &job, now).await?;
                    Self::append_audit(
                        &mut tx,
                        actor,
                        AuditEvent::new("mail.resend", format!("mail:{id}"), serde_json::json!({})),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use impl_jobs_store;
