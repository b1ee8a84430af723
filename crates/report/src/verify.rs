//! Recounting a report from the audit log, for `custodian audit verify-report`: the latest
//! facts of every counted request up to the checkpoint's size, tallied exactly as the store's
//! counters are, must give the published rows and their commitments.
//!
//! A request is recorded either by an entry of its own (`report.counted`, or the older
//! per-row `request.imported`) whose details are its facts, or as a row of an import batch
//! whose entry (`requests.imported`) commits to the batch's rows by their Merkle root
//! ([`crate::batch`]). Entries are pushed in log order ([`Recount::push`]); then each batch's
//! stored rows are pushed ([`Recount::push_batch`]), checked against the root and counted
//! unless a later entry of their own superseded them. Batch rows are tallied as they come,
//! so a recount holds the requests recorded by their own entries, not the millions imported.

use std::collections::HashMap;

use custodian_audit::AuditEntry;
use serde_json::Value;

use crate::batch::{row_leaf, BatchDetails, BATCH_ACTION};
use crate::commit::Acc;
use crate::facts::{CellKey, Facts, Period};
use crate::report::{CellValue, Report};
use crate::{Deltas, FACT_ACTIONS};

/// The counted requests as the log tells them.
#[derive(Debug, Default)]
pub struct Recount {
    /// Requests recorded by an entry of their own: the latest facts, leaf and entry index.
    latest: HashMap<String, (Facts, [u8; 32], u64)>,
    /// Import batches seen in the log, by entry index, and whether their rows were pushed.
    batches: Vec<(u64, BatchDetails, bool)>,
    /// Cells of the batch rows counted so far.
    batch_cells: Deltas,
    /// Batch rows counted so far, per half-year.
    batch_rows: HashMap<Period, u64>,
}

impl Recount {
    /// Takes one log entry (in index order); entries that record no facts are ignored.
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), String> {
        if entry.action == BATCH_ACTION {
            let details: BatchDetails =
                serde_json::from_value(entry.details.clone()).map_err(|e| {
                    format!(
                        "audit entry {} ({}) is not an import batch: {e}",
                        entry.idx, entry.action
                    )
                })?;
            self.batches.push((entry.idx, details, false));
            return Ok(());
        }
        if !FACT_ACTIONS.contains(&entry.action.as_str()) {
            return Ok(());
        }
        let facts: Facts = serde_json::from_value(entry.details.clone()).map_err(|e| {
            format!(
                "audit entry {} ({}) does not hold reporting facts: {e}",
                entry.idx, entry.action
            )
        })?;
        self.latest
            .insert(entry.object.clone(), (facts, entry.leaf_hash(), entry.idx));
        Ok(())
    }

    /// The entry indices of the import batches seen so far, in log order.
    pub fn batches(&self) -> Vec<u64> {
        self.batches.iter().map(|(idx, _, _)| *idx).collect()
    }

    /// Takes the stored rows (object and facts, in `pos` order) of the batch recorded by
    /// entry `idx`: they must hash to the root the log recorded. Call it after every entry
    /// up to the checkpoint has been pushed, so that superseded rows are known.
    pub fn push_batch(&mut self, idx: u64, rows: &[(String, Facts)]) -> Result<(), String> {
        let Some(batch) = self.batches.iter_mut().find(|(i, _, _)| *i == idx) else {
            return Err(format!("audit entry {idx} is not an import batch"));
        };
        if batch.2 {
            return Err(format!("the rows of import batch {idx} were given twice"));
        }
        let leaves: Vec<[u8; 32]> = rows.iter().map(|(o, f)| row_leaf(o, f)).collect();
        batch
            .1
            .check(&leaves)
            .map_err(|e| format!("import batch at audit entry {idx}: {e}"))?;
        batch.2 = true;
        let counted = rows.iter().zip(&leaves).filter(|((object, _), _)| {
            // A later entry of the request's own supersedes its imported row.
            match self.latest.get(object) {
                Some((_, _, at)) => *at <= idx,
                None => true,
            }
        });
        let counted: Vec<(&Facts, &[u8; 32])> = counted.map(|((_, f), l)| (f, l)).collect();
        for (f, _) in &counted {
            *self.batch_rows.entry(f.period()).or_default() += 1;
        }
        self.batch_cells.add_counted(counted);
        Ok(())
    }

    /// Import batches whose rows were not pushed.
    pub fn batches_missing(&self) -> Vec<u64> {
        self.batches
            .iter()
            .filter(|(_, _, done)| !done)
            .map(|(idx, _, _)| *idx)
            .collect()
    }

    /// The report of `period` recomputed from the log.
    pub fn report(&self, period: Period) -> Report {
        let halves: Vec<Period> = period.halves();
        let mut cells = Deltas::default();
        for (f, leaf, _) in self.latest.values() {
            if halves.contains(&f.period()) {
                cells.add(f, leaf);
            }
        }
        for (key, (value, acc)) in &self.batch_cells.0 {
            let e = cells.0.entry(key.clone()).or_default();
            e.0 += value;
            e.1.merge(acc);
        }
        let cells: Vec<CellValue> = cells
            .0
            .into_iter()
            .map(|(key, (value, acc)): (CellKey, (i64, Acc))| CellValue { key, value, acc })
            .collect();
        Report::from_cells(period, &cells)
    }

    /// The requests counted in `period` that are recorded by an entry of their own, with the
    /// leaf of that entry, by object (requests in import batches are proven by their roots).
    pub fn entries_in(&self, period: Period) -> Vec<(String, [u8; 32])> {
        let halves = period.halves();
        let mut v: Vec<(String, [u8; 32])> = self
            .latest
            .iter()
            .filter(|(_, (f, _, _))| halves.contains(&f.period()))
            .map(|(o, (_, leaf, _))| (o.clone(), *leaf))
            .collect();
        v.sort();
        v
    }

    /// How many requests are counted in `period`.
    pub fn counted_in(&self, period: Period) -> u64 {
        let halves = period.halves();
        let from_batches: u64 = halves
            .iter()
            .map(|h| self.batch_rows.get(h).copied().unwrap_or(0))
            .sum();
        from_batches + self.entries_in(period).len() as u64
    }

    /// Requests recorded by entries of their own.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty() && self.batches.is_empty()
    }
}

/// Where two reports differ (verification blocks aside), as readable paths; empty if equal.
pub fn differences(published: &Report, recomputed: &Report) -> Vec<String> {
    let a = serde_json::to_value(published.without_verification()).unwrap_or(Value::Null);
    let b = serde_json::to_value(recomputed.without_verification()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    diff("", &a, &b, &mut out);
    out
}

fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() >= 50 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            // Rows are matched by their first field (process, country, ...).
            let name = |v: &Value| -> String {
                v.as_object()
                    .and_then(|o| {
                        let first = o.get("process").or(o.get("country"));
                        match (o.get("country"), o.get("process"), o.get("category")) {
                            (Some(c), Some(p), Some(k)) => {
                                Some(format!("{c}/{p}/{k}").replace('"', ""))
                            }
                            (Some(c), Some(p), None) => Some(format!("{c}/{p}").replace('"', "")),
                            _ => first.map(|f| f.to_string().replace('"', "")),
                        }
                    })
                    .unwrap_or_default()
            };
            let ya: HashMap<String, &Value> = y.iter().map(|v| (name(v), v)).collect();
            let xa: HashMap<String, &Value> = x.iter().map(|v| (name(v), v)).collect();
            for v in x {
                let n = name(v);
                match ya.get(&n) {
                    Some(w) => diff(&format!("{path}[{n}]"), v, w, out),
                    None => out.push(format!("{path}[{n}]: published, but not in the log")),
                }
            }
            for w in y {
                let n = name(w);
                if !xa.contains_key(&n) {
                    out.push(format!("{path}[{n}]: in the log, but not published"));
                }
            }
        }
        _ => out.push(format!("{path}: published {a}, from the log {b}")),
    }
}
