//! Storage for the transparency report: the reporting facts of every counted request and the
//! counters derived from them (migration 0002). As in `sql.rs`, the SQL is written once and
//! stamped out per backend by [`impl_report_store!`], which each backend module invokes so
//! that it can use the backend's pools and audit lock.
//!
//! Every change of facts goes through one path, `report_change`: it appends an audit entry
//! carrying the new facts, writes the facts row, and applies the difference (old -> new) to
//! the counter cells, all in the caller's transaction. Import calls it for whole batches; the
//! request lifecycle calls it when a request is received and when it ends.

use async_trait::async_trait;
use custodian_report::{CellValue, Facts, ImportRow, Period, Report};

use crate::{Actor, StoreResult};

/// What importing one row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported,
    /// A request with this reference was imported before: nothing changed.
    AlreadyImported,
}

/// The audit object of an imported request.
pub fn import_object(reference: &str) -> String {
    format!("import:{reference}")
}

/// The transparency report's storage, implemented by both backends. Reach it from a
/// [`crate::DynStore`] with `store.reports()`.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Imports a batch of rows in one transaction: each new reference gets its facts, one
    /// `request.imported` audit entry and its counters; a reference seen before is left alone.
    async fn import_rows(
        &self,
        actor: &Actor,
        rows: &[ImportRow],
    ) -> StoreResult<Vec<ImportOutcome>>;

    /// Records new facts for a counted request (audit object `object`), e.g. when a review
    /// decides it. Returns false when the facts were already these.
    async fn set_facts(&self, actor: &Actor, object: &str, facts: &Facts) -> StoreResult<bool>;

    /// The counter cells of the given periods (a year is read as its two halves).
    async fn report_cells(&self, periods: &[Period]) -> StoreResult<Vec<CellValue>>;

    /// The half-years that have anything counted, oldest first.
    async fn report_periods(&self) -> StoreResult<Vec<Period>>;

    /// Every counted request's facts with the leaf hash that recorded them (for checks that
    /// recount from scratch; this costs the number of requests).
    async fn all_facts(&self) -> StoreResult<Vec<(String, Facts, [u8; 32])>>;

    /// Which of `objects` have no facts row (a counted request that disappeared).
    async fn missing_facts(&self, objects: &[String]) -> StoreResult<Vec<String>>;

    /// The report of a period, built from the counters alone (no verification block).
    async fn report(&self, period: Period) -> StoreResult<Report> {
        let cells = self.report_cells(&period.halves()).await?;
        Ok(Report::from_cells(period, &cells))
    }
}

/// `($1, $2, ...), (...)` for `rows` rows of `cols` parameters.
pub(crate) fn values_list(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Rows per multi-row statement (well below both backends' parameter limits).
pub(crate) const CHUNK: usize = 1000;

pub(crate) const FACT_COLUMNS: &str = "object, period, received_at, country, process, emergency, \
     accounts, outcome, disclosed, none_reason, ndo, notified, responded_at, audit_idx, leaf_hash";

macro_rules! impl_report_store {
    ($store:ident, $db:ident) => {
        mod report_impl {
            use std::collections::HashMap;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use custodian_audit::AuditEntry;
            use custodian_core::RequestStatus;
            use custodian_report::{
                CellKey, CellValue, Deltas, Disclosed, Facts, ImportRow, NoneReason, Outcome,
                Period,
            };
            use sqlx::Row;
            use uuid::Uuid;

            use $crate::report_sql::{
                import_object, values_list, ImportOutcome, ReportStore, CHUNK, FACT_COLUMNS,
            };
            use $crate::sql::parse_column;
            use $crate::{Actor, StoreError, StoreResult};

            type Store = super::$store;
            type Tx = sqlx::Transaction<'static, super::$db>;
            type DbRow = <super::$db as sqlx::Database>::Row;

            fn leaf_of(bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
                bytes
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("report_facts.leaf_hash".into()))
            }

            fn facts_row(row: &DbRow) -> StoreResult<(String, Facts, [u8; 32])> {
                let opt = |c: &str| -> StoreResult<Option<String>> { Ok(row.try_get(c)?) };
                let outcome: Option<Outcome> = opt("outcome")?
                    .map(|s| parse_column("outcome", &s))
                    .transpose()?;
                let disclosed: Option<Disclosed> = opt("disclosed")?
                    .map(|s| parse_column("disclosed", &s))
                    .transpose()?;
                let none_reason: Option<NoneReason> = opt("none_reason")?
                    .map(|s| parse_column("none_reason", &s))
                    .transpose()?;
                let facts = Facts {
                    received_at: row.try_get("received_at")?,
                    country: parse_column("country", &row.try_get::<String, _>("country")?)?,
                    process: parse_column("process", &row.try_get::<String, _>("process")?)?,
                    emergency: row.try_get("emergency")?,
                    accounts: u64::try_from(row.try_get::<i64, _>("accounts")?).unwrap_or(0),
                    outcome,
                    disclosed,
                    none_reason,
                    ndo: row.try_get("ndo")?,
                    notified: row.try_get("notified")?,
                    responded_at: row.try_get("responded_at")?,
                };
                Ok((
                    row.try_get("object")?,
                    facts,
                    leaf_of(row.try_get("leaf_hash")?)?,
                ))
            }

            fn cell_row(row: &DbRow) -> StoreResult<CellValue> {
                let acc: Vec<u8> = row.try_get("acc")?;
                Ok(CellValue {
                    key: CellKey {
                        period: row.try_get("period")?,
                        dim: row.try_get("dim")?,
                        key: row.try_get("key")?,
                        metric: row.try_get("metric")?,
                    },
                    value: row.try_get("value")?,
                    acc: custodian_report::Acc::from_slice(&acc),
                })
            }

            fn details_of(facts: &Facts) -> StoreResult<serde_json::Value> {
                serde_json::to_value(facts).map_err(|e| StoreError::Corrupt(e.to_string()))
            }

            impl Store {
                /// Facts rows for these objects, by object.
                async fn report_load(
                    tx: &mut Tx,
                    objects: &[String],
                ) -> StoreResult<HashMap<String, (Facts, [u8; 32])>> {
                    let mut out = HashMap::new();
                    for chunk in objects.chunks(CHUNK) {
                        let sql = format!(
                            "SELECT {FACT_COLUMNS} FROM report_facts WHERE object IN ({})",
                            (1..=chunk.len())
                                .map(|i| format!("${i}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        let mut q = sqlx::query(&sql);
                        for o in chunk {
                            q = q.bind(o);
                        }
                        for row in q.fetch_all(&mut **tx).await? {
                            let (object, facts, leaf) = facts_row(&row)?;
                            out.insert(object, (facts, leaf));
                        }
                    }
                    Ok(out)
                }

                /// The one path by which reporting facts change: for each (object, action,
                /// old, new) appends an audit entry with the new facts, writes the facts row
                /// and moves the counters from old to new, in `tx`.
                pub(crate) async fn report_change(
                    tx: &mut Tx,
                    actor: &Actor,
                    changes: Vec<(String, &'static str, Option<(Facts, [u8; 32])>, Facts)>,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    if changes.is_empty() {
                        return Ok(());
                    }
                    Self::lock_audit(tx).await?;
                    let next: i64 =
                        sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log")
                            .fetch_one(&mut **tx)
                            .await?;
                    let actor_label = actor.label();
                    let mut recorded = Vec::with_capacity(changes.len());
                    let mut deltas = Deltas::default();
                    for (i, (object, action, old, new)) in changes.into_iter().enumerate() {
                        let entry = AuditEntry {
                            idx: u64::try_from(next).unwrap_or(0) + i as u64,
                            actor: actor_label.clone(),
                            action: action.to_string(),
                            object,
                            at,
                            details: details_of(&new)?,
                        };
                        let leaf = entry.leaf_hash();
                        deltas.change(old.as_ref().map(|(f, l)| (f, l)), Some((&new, &leaf)));
                        recorded.push((entry, leaf, new));
                    }
                    for chunk in recorded.chunks(CHUNK) {
                        let sql = format!(
                            "INSERT INTO audit_log (idx, actor, action, object, at, details, leaf_hash) \
                             VALUES {}",
                            values_list(chunk.len(), 7)
                        );
                        let mut q = sqlx::query(&sql);
                        for (entry, leaf, _) in chunk {
                            let details = serde_json::to_string(&entry.details)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            q = q
                                .bind(i64::try_from(entry.idx).unwrap_or(i64::MAX))
                                .bind(entry.actor.clone())
                                .bind(entry.action.clone())
                                .bind(entry.object.clone())
                                .bind(entry.at)
                                .bind(details)
                                .bind(leaf.to_vec());
                        }
                        q.execute(&mut **tx).await?;

                        let sql = format!(
                            "INSERT INTO report_facts ({FACT_COLUMNS}) VALUES {} \
                             ON CONFLICT (object) DO UPDATE SET period = excluded.period, \
                             received_at = excluded.received_at, country = excluded.country, \
                             process = excluded.process, emergency = excluded.emergency, \
                             accounts = excluded.accounts, outcome = excluded.outcome, \
                             disclosed = excluded.disclosed, none_reason = excluded.none_reason, \
                             ndo = excluded.ndo, notified = excluded.notified, \
                             responded_at = excluded.responded_at, audit_idx = excluded.audit_idx, \
                             leaf_hash = excluded.leaf_hash",
                            values_list(chunk.len(), 15)
                        );
                        let mut q = sqlx::query(&sql);
                        for (entry, leaf, f) in chunk {
                            q = q
                                .bind(entry.object.clone())
                                .bind(f.period().to_string())
                                .bind(f.received_at)
                                .bind(f.country.code().to_string())
                                .bind(f.process.as_str())
                                .bind(f.emergency)
                                .bind(i64::try_from(f.accounts).unwrap_or(i64::MAX))
                                .bind(f.outcome.map(|o| o.as_str()))
                                .bind(f.disclosed.map(|o| o.as_str()))
                                .bind(f.none_reason.map(|o| o.as_str()))
                                .bind(f.ndo)
                                .bind(f.notified)
                                .bind(f.responded_at)
                                .bind(i64::try_from(entry.idx).unwrap_or(i64::MAX))
                                .bind(leaf.to_vec());
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Self::report_apply(tx, deltas).await
                }

                /// Adds the deltas to the stored counters (read, add, write: the audit lock
                /// taken by `report_change` keeps other writers out meanwhile).
                async fn report_apply(tx: &mut Tx, deltas: Deltas) -> StoreResult<()> {
                    let mut touched: Vec<(CellKey, (i64, custodian_report::Acc))> =
                        deltas.0.into_iter().collect();
                    touched.sort_by(|a, b| a.0.cmp(&b.0));
                    for chunk in touched.chunks(CHUNK) {
                        let sql = format!(
                            "SELECT period, dim, key, metric, value, acc FROM report_cells \
                             WHERE (period, dim, key, metric) IN (VALUES {})",
                            values_list(chunk.len(), 4)
                        );
                        let mut q = sqlx::query(&sql);
                        for (k, _) in chunk {
                            q = q
                                .bind(k.period.clone())
                                .bind(k.dim.clone())
                                .bind(k.key.clone())
                                .bind(k.metric.clone());
                        }
                        let mut current: HashMap<CellKey, (i64, custodian_report::Acc)> =
                            HashMap::new();
                        for row in q.fetch_all(&mut **tx).await? {
                            let c = cell_row(&row)?;
                            current.insert(c.key, (c.value, c.acc));
                        }
                        let sql = format!(
                            "INSERT INTO report_cells (period, dim, key, metric, value, acc) \
                             VALUES {} ON CONFLICT (period, dim, key, metric) DO UPDATE \
                             SET value = excluded.value, acc = excluded.acc",
                            values_list(chunk.len(), 6)
                        );
                        let mut q = sqlx::query(&sql);
                        for (k, (dv, dacc)) in chunk {
                            let (mut v, mut acc) = current.remove(k).unwrap_or_default();
                            v += dv;
                            acc.merge(dacc);
                            q = q
                                .bind(k.period.clone())
                                .bind(k.dim.clone())
                                .bind(k.key.clone())
                                .bind(k.metric.clone())
                                .bind(v)
                                .bind(acc.0.to_vec());
                        }
                        q.execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                /// Hook for `insert_request`: a received request is counted at once.
                pub(crate) async fn report_received(
                    tx: &mut Tx,
                    actor: &Actor,
                    id: Uuid,
                    request: &$crate::NewRequest,
                    received_at: DateTime<Utc>,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let intake = &request.intake.intake;
                    let facts = Facts {
                        received_at,
                        country: custodian_report::counted_country(intake),
                        process: intake.process,
                        emergency: request.intake.is_emergency(),
                        accounts: intake.targets.len() as u64,
                        outcome: None,
                        disclosed: None,
                        none_reason: None,
                        ndo: intake.ndo_until.is_some(),
                        notified: false,
                        responded_at: None,
                    };
                    let object = format!("request:{id}");
                    Self::report_change(tx, actor, vec![(object, "report.counted", None, facts)], at)
                        .await
                }

                /// Hook for `transition`: a request that ends without a decision is counted as
                /// answered with nothing; closing records when it was answered.
                pub(crate) async fn report_transition(
                    tx: &mut Tx,
                    actor: &Actor,
                    id: Uuid,
                    to: RequestStatus,
                    at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let reason = match to {
                        RequestStatus::Withdrawn => Some(NoneReason::Withdrawn),
                        RequestStatus::Rejected => Some(NoneReason::Rejected),
                        RequestStatus::Redirected => Some(NoneReason::Redirected),
                        RequestStatus::Closed => None,
                        _ => return Ok(()),
                    };
                    let object = format!("request:{id}");
                    let mut old = Self::report_load(tx, std::slice::from_ref(&object)).await?;
                    let Some((facts, leaf)) = old.remove(&object) else {
                        return Ok(()); // received before reporting existed
                    };
                    let mut new = facts.clone();
                    if let Some(reason) = reason {
                        new.outcome = Some(Outcome::None);
                        new.disclosed = Some(Disclosed::None);
                        new.none_reason = Some(reason);
                    }
                    new.responded_at = new.responded_at.or(Some(at));
                    if new == facts {
                        return Ok(());
                    }
                    Self::report_change(
                        tx,
                        actor,
                        vec![(object, "report.counted", Some((facts, leaf)), new)],
                        at,
                    )
                    .await
                }
            }

            #[async_trait]
            impl ReportStore for Store {
                async fn import_rows(
                    &self,
                    actor: &Actor,
                    rows: &[ImportRow],
                ) -> StoreResult<Vec<ImportOutcome>> {
                    let at = $crate::sql::now();
                    let mut tx = self.writer().begin().await?;
                    let objects: Vec<String> =
                        rows.iter().map(|r| import_object(&r.reference)).collect();
                    let existing = Self::report_load(&mut tx, &objects).await?;
                    let mut outcomes = Vec::with_capacity(rows.len());
                    let mut changes = Vec::new();
                    for (row, object) in rows.iter().zip(objects) {
                        if existing.contains_key(&object) {
                            outcomes.push(ImportOutcome::AlreadyImported);
                        } else {
                            outcomes.push(ImportOutcome::Imported);
                            changes.push((object, "request.imported", None, row.facts.clone()));
                        }
                    }
                    Self::report_change(&mut tx, actor, changes, at).await?;
                    tx.commit().await?;
                    Ok(outcomes)
                }

                async fn set_facts(
                    &self,
                    actor: &Actor,
                    object: &str,
                    facts: &Facts,
                ) -> StoreResult<bool> {
                    let at = $crate::sql::now();
                    let mut tx = self.writer().begin().await?;
                    let object = object.to_string();
                    let mut old = Self::report_load(&mut tx, std::slice::from_ref(&object)).await?;
                    let old = old.remove(&object);
                    if old.as_ref().is_some_and(|(f, _)| f == facts) {
                        return Ok(false);
                    }
                    Self::report_change(
                        &mut tx,
                        actor,
                        vec![(object, "report.counted", old, facts.clone())],
                        at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn report_cells(&self, periods: &[Period]) -> StoreResult<Vec<CellValue>> {
                    let mut out = Vec::new();
                    for p in periods.iter().flat_map(|p| p.halves()) {
                        let rows = sqlx::query(
                            "SELECT period, dim, key, metric, value, acc FROM report_cells \
                             WHERE period = $1",
                        )
                        .bind(p.to_string())
                        .fetch_all(self.reader())
                        .await?;
                        for row in rows {
                            out.push(cell_row(&row)?);
                        }
                    }
                    Ok(out)
                }

                async fn report_periods(&self) -> StoreResult<Vec<Period>> {
                    let rows: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT period FROM report_cells WHERE value <> 0 \
                         AND dim IN ('total', 'national_security') ORDER BY period",
                    )
                    .fetch_all(self.reader())
                    .await?;
                    let mut out: Vec<Period> =
                        rows.iter().filter_map(|p| Period::parse(p).ok()).collect();
                    out.sort();
                    Ok(out)
                }

                async fn all_facts(&self) -> StoreResult<Vec<(String, Facts, [u8; 32])>> {
                    let sql = format!("SELECT {FACT_COLUMNS} FROM report_facts ORDER BY object");
                    let rows = sqlx::query(&sql).fetch_all(self.reader()).await?;
                    rows.iter().map(facts_row).collect()
                }

                async fn missing_facts(&self, objects: &[String]) -> StoreResult<Vec<String>> {
                    let mut tx = self.reader().begin().await?;
                    let found = Self::report_load(&mut tx, objects).await?;
                    tx.rollback().await?;
                    Ok(objects
                        .iter()
                        .filter(|o| !found.contains_key(*o))
                        .cloned()
                        .collect())
                }
            }
        }
    };
}
pub(crate) use impl_report_store;
