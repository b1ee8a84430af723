//! Intake with group commit: how [`crate::Store::submit_request`] stores legal process.
//!
//! Every submission used to pay for a transaction of its own: on SQLite one WAL fsync per
//! submission through the single writer connection; on PostgreSQL a commit that held the
//! year's request counter row and the audit log's lock until it was on disk, so that every
//! other submission queued behind it. Now a submission is handed to one writer task per store,
//! which takes every submission waiting at that moment (up to [`MAX_BATCH`]) and stores them
//! in ONE transaction, with one statement per table for the whole batch, and answers each only
//! after that transaction has committed. Nothing about durability changes: the blobs are
//! durable before `submit_request` is called (the caller writes them first), a submission hears
//! `Created` only once its row is committed, and a crash before the commit leaves none of the
//! batch's rows (at most orphan blobs). The audit log still gets one `report.counted` and one
//! `request.received` entry per submission, appended in order under the backend's audit lock.
//!
//! If a batch fails as a whole (a racing idempotency key, a constraint), it is rolled back and
//! its submissions are stored one by one, each in its own transaction as before, so that one
//! bad submission gets its own error and the others are unaffected. A submission whose
//! idempotency key already occurs earlier in the same batch waits for the batch's commit and
//! is then answered with the first one's response.
//!
//! When no Tokio runtime can run the writer task, a submission is stored alone, directly.

use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};

use crate::{Actor, NewRequest, StoreResult, Submission};

/// The most submissions one transaction takes.
pub(crate) const MAX_BATCH: usize = 256;
/// Rows per multi-row `INSERT` (the widest, `requests`, binds 12 parameters a row).
pub(crate) const ROWS_PER_INSERT: usize = 64;

/// A submission waiting for the writer task, with the way to answer it.
pub(crate) struct Pending {
    pub(crate) actor: Actor,
    pub(crate) request: NewRequest,
    pub(crate) answer: oneshot::Sender<StoreResult<Submission>>,
}

/// The way to the store's writer task, started on first use (and again if the runtime that ran
/// it has gone, as between two `#[tokio::test]`s sharing nothing but a store).
#[derive(Default)]
pub(crate) struct IntakeQueue {
    sender: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

impl IntakeQueue {
    /// Hands `pending` to the writer task, starting one with `start` if none is running.
    /// Gives the submission back when there is no runtime to start a task on.
    pub(crate) fn send(
        &self,
        pending: Pending,
        start: impl FnOnce(mpsc::UnboundedReceiver<Pending>),
    ) -> Result<(), Box<Pending>> {
        let mut sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let pending = match sender.as_ref() {
            Some(s) => match s.send(pending) {
                Ok(()) => return Ok(()),
                Err(back) => back.0,
            },
            None => pending,
        };
        if tokio::runtime::Handle::try_current().is_err() {
            *sender = None;
            return Err(Box::new(pending));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        start(rx);
        let sent = tx.send(pending).map_err(|back| Box::new(back.0));
        *sender = Some(tx);
        sent
    }
}

/// Stamps out the writer task and the batched statements for one backend, as
/// [`crate::sql::impl_store!`] does for the rest of the [`crate::Store`] trait.
macro_rules! impl_intake {
    ($store:ident, $db:ident) => {
        mod intake_impl {
            use std::collections::{BTreeMap, HashSet};

            use chrono::{DateTime, Utc};
            use custodian_audit::AuditEntry;
            use custodian_core::{RequestNumber, RequestStatus};
            use tokio::sync::{mpsc, oneshot};
            use uuid::Uuid;

            use $crate::intake_sql::{Pending, MAX_BATCH, ROWS_PER_INSERT};
            use $crate::report_sql::BulkImport;
            use $crate::sql::{now, statement_chunks};
            use $crate::verification::IntakeRisk;
            use $crate::{
                Actor, AuditEvent, DocumentRecord, NewRequest, RequestRecord, StoreError,
                StoreResult, Submission,
            };

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type Pool = sqlx::Pool<super::$db>;

            fn values(rows: usize, cols: usize) -> String {
                <super::$db as BulkImport>::values_list(rows, cols)
            }

            impl Store {
                /// `submit_request`: through the writer task, or alone when there is none.
                pub(crate) async fn submit_grouped(
                    &self,
                    actor: &Actor,
                    request: NewRequest,
                ) -> StoreResult<Submission> {
                    let (answer, answered) = oneshot::channel();
                    let pending = Pending {
                        actor: actor.clone(),
                        request,
                        answer,
                    };
                    let pool = self.writer().clone();
                    let sent = self.intake.send(pending, move |rx| {
                        tokio::spawn(Self::intake_writer(pool, rx));
                    });
                    match sent {
                        Ok(()) => answered
                            .await
                            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed))),
                        Err(p) => Self::submit_alone(self.writer(), &p.actor, &p.request).await,
                    }
                }

                /// The writer task: every submission waiting when it looks, in one transaction.
                async fn intake_writer(pool: Pool, mut queue: mpsc::UnboundedReceiver<Pending>) {
                    while let Some(first) = queue.recv().await {
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH {
                            match queue.try_recv() {
                                Ok(p) => batch.push(p),
                                Err(_) => break,
                            }
                        }
                        Self::commit_batch(&pool, batch).await;
                    }
                }

                async fn commit_batch(pool: &Pool, batch: Vec<Pending>) {
                    // A key already in this batch is answered after the batch commits, by
                    // the replay of the first submission with it.
                    let mut keys = HashSet::new();
                    let (mut together, mut alone) = (Vec::new(), Vec::new());
                    for p in batch {
                        let repeated = p.request.idempotency.as_ref().is_some_and(|k| {
                            !keys.insert((p.request.submitted_by, k.key.clone()))
                        });
                        if repeated {
                            alone.push(p);
                        } else {
                            together.push(p);
                        }
                    }
                    if together.len() > 1 {
                        match Self::try_batch(pool, &together).await {
                            Ok(outcomes) => {
                                for (p, outcome) in together.into_iter().zip(outcomes) {
                                    let _ = p.answer.send(outcome);
                                }
                                together = Vec::new();
                            }
                            Err(e) => {
                                tracing::debug!(
                                    submissions = together.len(),
                                    "intake batch rolled back, storing one by one: {e}"
                                );
                            }
                        }
                    }
                    for p in together.into_iter().chain(alone) {
                        let outcome = Self::submit_alone(pool, &p.actor, &p.request).await;
                        let _ = p.answer.send(outcome);
                    }
                }

                /// One transaction for all of `batch`; the outcome of each, in order.
                async fn try_batch(
                    pool: &Pool,
                    batch: &[Pending],
                ) -> StoreResult<Vec<StoreResult<Submission>>> {
                    let mut tx = pool.begin().await?;
                    let mut outcomes: Vec<Option<StoreResult<Submission>>> =
                        batch.iter().map(|_| None).collect();
                    let mut fresh = Vec::with_capacity(batch.len());
                    for (i, p) in batch.iter().enumerate() {
                        if let Some(key) = &p.request.idempotency {
                            match Self::replay(&mut tx, p.request.submitted_by, key).await {
                                Ok(None) => {}
                                Ok(Some(first)) => {
                                    outcomes[i] = Some(Ok(Submission::Replayed(first)));
                                    continue;
                                }
                                Err(StoreError::IdempotencyMismatch) => {
                                    outcomes[i] = Some(Err(StoreError::IdempotencyMismatch));
                                    continue;
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        fresh.push(i);
                    }
                    let items: Vec<(&Actor, &NewRequest)> = fresh
                        .iter()
                        .map(|&i| (&batch[i].actor, &batch[i].request))
                        .collect();
                    let records = Self::insert_requests(&mut tx, &items).await?;
                    tx.commit().await?;
                    for (i, record) in fresh.into_iter().zip(records) {
                        outcomes[i] = Some(Ok(Submission::Created(record)));
                    }
                    Ok(outcomes
                        .into_iter()
                        .map(|o| o.unwrap_or(Err(StoreError::NotFound)))
                        .collect())
                }

                /// One submission in a transaction of its own; a racing retry with the same
                /// idempotency key gets the winner's answer.
                pub(crate) async fn submit_alone(
                    pool: &Pool,
                    actor: &Actor,
                    request: &NewRequest,
                ) -> StoreResult<Submission> {
                    match Self::try_alone(pool, actor, request).await {
                        Err(StoreError::Database(e))
                            if request.idempotency.is_some()
                                && StoreError::is_unique_violation(&e) =>
                        {
                            let key = request.idempotency.as_ref().ok_or(StoreError::NotFound)?;
                            let mut tx = pool.begin().await?;
                            let first = Self::replay(&mut tx, request.submitted_by, key).await?;
                            tx.rollback().await?;
                            first.map(Submission::Replayed).ok_or(StoreError::Database(e))
                        }
                        other => other,
                    }
                }

                async fn try_alone(
                    pool: &Pool,
                    actor: &Actor,
                    request: &NewRequest,
                ) -> StoreResult<Submission> {
                    let mut tx = pool.begin().await?;
                    if let Some(key) = &request.idempotency {
                        if let Some(first) = Self::replay(&mut tx, request.submitted_by, key).await? {
                            return Ok(Submission::Replayed(first));
                        }
                    }
                    let record = Self::insert_requests(&mut tx, &[(actor, request)])
                        .await?
                        .pop()
                        .ok_or(StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok(Submission::Created(record))
                }

                /// Stores requests with their targets, documents, reporting facts, audit
                /// entries and idempotency keys inside `tx`: one statement per table (per
                /// [`ROWS_PER_INSERT`] rows), whatever the number of requests. The records, in
                /// the order given.
                pub(crate) async fn insert_requests(
                    tx: &mut Tx,
                    items: &[(&Actor, &NewRequest)],
                ) -> StoreResult<Vec<RequestRecord>> {
                    if items.is_empty() {
                        return Ok(Vec::new());
                    }
                    let at = now();
                    let times: Vec<(DateTime<Utc>, DateTime<Utc>)> = items
                        .iter()
                        .map(|(_, r)| {
                            (
                                AuditEntry::truncate_time(r.received_at),
                                AuditEntry::truncate_time(r.respond_by),
                            )
                        })
                        .collect();

                    // Human numbers: one counter update per year in the batch.
                    let mut per_year: BTreeMap<i32, i64> = BTreeMap::new();
                    for (received_at, _) in &times {
                        *per_year.entry(chrono::Datelike::year(received_at)).or_default() += 1;
                    }
                    let mut next_in_year: BTreeMap<i32, i64> = BTreeMap::new();
                    for (year, n) in per_year {
                        let last: i64 = sqlx::query_scalar(
                            "INSERT INTO request_counters (year, last) VALUES ($1, $2) \
                             ON CONFLICT (year) DO UPDATE \
                             SET last = request_counters.last + excluded.last \
                             RETURNING last",
                        )
                        .bind(year)
                        .bind(n)
                        .fetch_one(&mut **tx)
                        .await?;
                        next_in_year.insert(year, last - n + 1);
                    }

                    let status = RequestStatus::Received;
                    let mut records = Vec::with_capacity(items.len());
                    for ((_, request), (received_at, respond_by)) in items.iter().zip(&times) {
                        let year = chrono::Datelike::year(received_at);
                        let sequence = next_in_year.get(&year).copied().unwrap_or(1);
                        next_in_year.insert(year, sequence + 1);
                        let number =
                            RequestNumber::new(year, u32::try_from(sequence).unwrap_or(u32::MAX));
                        let id = Uuid::new_v4();
                        let documents = request
                            .documents
                            .iter()
                            .map(|d| DocumentRecord {
                                id: Uuid::new_v4(),
                                request_id: id,
                                sha256: d.blob.sha256.clone(),
                                size: d.blob.size,
                                file_name: d.file_name.clone(),
                                content_type: d.content_type.clone(),
                                created_at: at,
                            })
                            .collect();
                        records.push(RequestRecord {
                            id,
                            number: number.to_string(),
                            agency_id: request.agency_id,
                            submitted_by: request.submitted_by,
                            status,
                            process: request.intake.intake.process,
                            emergency: request.intake.is_emergency(),
                            received_at: *received_at,
                            respond_by: *respond_by,
                            updated_at: at,
                            intake: request.intake.intake.clone(),
                            documents,
                            assignee_id: None,
                        });
                    }

                    let both: Vec<(&RequestRecord, &NewRequest)> =
                        records.iter().zip(items.iter().map(|(_, r)| *r)).collect();
                    for chunk in statement_chunks(&both, ROWS_PER_INSERT) {
                        let sql = format!(
                            "INSERT INTO requests (id, number, agency_id, submitted_by, process, \
                             issuing_country, emergency, status, received_at, respond_by, \
                             updated_at, intake) VALUES {}",
                            values(chunk.len(), 12)
                        );
                        let mut q = sqlx::query(&sql);
                        for (r, request) in chunk {
                            let intake_json = serde_json::to_string(&r.intake)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            q = q
                                .bind(r.id)
                                .bind(r.number.clone())
                                .bind(r.agency_id)
                                .bind(r.submitted_by)
                                .bind(r.process.as_str())
                                .bind(request.intake.intake.issuing_country.code())
                                .bind(r.emergency)
                                .bind(r.status.as_str())
                                .bind(r.received_at)
                                .bind(r.respond_by)
                                .bind(r.updated_at)
                                .bind(intake_json);
                        }
                        q.execute(&mut **tx).await?;
                    }

                    // The agency and time beside each target let verification find other
                    // agencies' recent requests about it through the index (migration 0015).
                    let targets: Vec<(&RequestRecord, &custodian_core::Target)> = records
                        .iter()
                        .flat_map(|r| r.intake.targets.iter().map(move |t| (r, t)))
                        .collect();
                    for chunk in statement_chunks(&targets, ROWS_PER_INSERT) {
                        let sql = format!(
                            "INSERT INTO request_targets (request_id, kind, value, agency_id, \
                             received_at) VALUES {}",
                            values(chunk.len(), 5)
                        );
                        let mut q = sqlx::query(&sql);
                        for (r, t) in chunk {
                            q = q
                                .bind(r.id)
                                .bind(t.kind.as_str())
                                .bind(t.value.clone())
                                .bind(r.agency_id)
                                .bind(r.received_at);
                        }
                        q.execute(&mut **tx).await?;
                    }

                    let documents: Vec<(&DocumentRecord, Uuid)> = records
                        .iter()
                        .flat_map(|r| r.documents.iter().map(move |d| (d, r.submitted_by)))
                        .collect();
                    for chunk in statement_chunks(&documents, ROWS_PER_INSERT) {
                        let sql = format!(
                            "INSERT INTO documents (id, request_id, sha256, size, file_name, \
                             content_type, uploaded_by, created_at) VALUES {}",
                            values(chunk.len(), 8)
                        );
                        let mut q = sqlx::query(&sql);
                        for (d, uploaded_by) in chunk {
                            q = q
                                .bind(d.id)
                                .bind(d.request_id)
                                .bind(d.sha256.clone())
                                .bind(d.size as i64)
                                .bind(d.file_name.clone())
                                .bind(d.content_type.clone())
                                .bind(*uploaded_by)
                                .bind(d.created_at);
                        }
                        q.execute(&mut **tx).await?;
                    }

                    // Counted for the transparency report at once (audited), then the
                    // request's own audit entry.
                    let counted: Vec<(&Actor, Uuid, &NewRequest, DateTime<Utc>)> = items
                        .iter()
                        .zip(&records)
                        .map(|((actor, request), r)| (*actor, r.id, *request, r.received_at))
                        .collect();
                    Self::report_received(tx, &counted, at).await?;
                    // Targets are customer data and stay out of the log; digests of the
                    // served documents tie the entry to exactly what was received.
                    // The requester's risk assessment (verification_sql.rs) is logged right
                    // after the request it concerns.
                    let mut received: Vec<(&Actor, AuditEvent)> = Vec::with_capacity(2 * items.len());
                    for ((actor, request), r) in items.iter().zip(&records) {
                        let details = serde_json::json!({
                            "number": r.number,
                            "process": r.process.as_str(),
                            "agency": r.agency_id.to_string(),
                            "targets": r.intake.targets.len(),
                            "documents": r.documents.iter().map(|d| d.sha256.clone()).collect::<Vec<_>>(),
                        });
                        received.push((
                            *actor,
                            AuditEvent::new("request.received", format!("request:{}", r.id), details),
                        ));
                        if let Some(risk) = &request.risk {
                            received.push((*actor, Self::risk_assessed_event(r, &risk.assessment)));
                        }
                    }
                    Self::append_audit_many(tx, received, at).await?;

                    let keyed: Vec<(&RequestRecord, &NewRequest)> = both
                        .iter()
                        .filter(|(_, request)| request.idempotency.is_some())
                        .copied()
                        .collect();
                    for chunk in statement_chunks(&keyed, ROWS_PER_INSERT) {
                        let sql = format!(
                            "INSERT INTO idempotency_keys (user_id, key, fingerprint, request_id, \
                             response, created_at) VALUES {}",
                            values(chunk.len(), 6)
                        );
                        let mut q = sqlx::query(&sql);
                        for (r, request) in chunk {
                            let Some(key) = &request.idempotency else { continue };
                            let response = serde_json::to_string(r)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            q = q
                                .bind(request.submitted_by)
                                .bind(key.key.clone())
                                .bind(key.fingerprint.clone())
                                .bind(r.id)
                                .bind(response)
                                .bind(r.updated_at);
                        }
                        q.execute(&mut **tx).await?;
                    }
                    // In the same transaction: the requester's risk assessment
                    // (verification_sql.rs), and the first page of an emergency to the
                    // on-call reviewer (paging_sql.rs), so that a crash loses neither.
                    let risks: Vec<(&Actor, &RequestRecord, &IntakeRisk)> = items
                        .iter()
                        .zip(&records)
                        .filter_map(|((actor, request), record)| {
                            request.risk.as_ref().map(|risk| (*actor, record, risk))
                        })
                        .collect();
                    Self::store_intake_risks(tx, &risks).await?;
                    for ((actor, _), record) in items.iter().zip(&records) {
                        Self::emergency_intake_in(tx, actor, record, at).await?;
                    }
                    Ok(records)
                }

                /// Appends entries to the audit log inside `tx`, in the order given, numbered
                /// from the log's next index under the backend's audit lock.
                async fn append_audit_many(
                    tx: &mut Tx,
                    events: Vec<(&Actor, AuditEvent)>,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    if events.is_empty() {
                        return Ok(());
                    }
                    Self::lock_audit(tx).await?;
                    let next: i64 =
                        sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log")
                            .fetch_one(&mut **tx)
                            .await?;
                    let first = u64::try_from(next).unwrap_or(0);
                    let entries: Vec<AuditEntry> = events
                        .into_iter()
                        .enumerate()
                        .map(|(i, (actor, event))| AuditEntry {
                            idx: first + i as u64,
                            actor: actor.label(),
                            action: event.action.to_string(),
                            object: event.object,
                            at,
                            details: event.details,
                        })
                        .collect();
                    for chunk in statement_chunks(&entries, ROWS_PER_INSERT) {
                        let sql = format!(
                            "INSERT INTO audit_log (idx, actor, action, object, at, details, \
                             leaf_hash) VALUES {}",
                            values(chunk.len(), 7)
                        );
                        let mut q = sqlx::query(&sql);
                        for entry in chunk {
                            let details = serde_json::to_string(&entry.details)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            q = q
                                .bind(i64::try_from(entry.idx).unwrap_or(i64::MAX))
                                .bind(entry.actor.clone())
                                .bind(entry.action.clone())
                                .bind(entry.object.clone())
                                .bind(entry.at)
                                .bind(details)
                                .bind(entry.leaf_hash().to_vec());
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_intake;
