//! Recounting a report from the audit log, for `custodian audit verify-report`: the latest
//! facts entry of every counted request up to the checkpoint's size, tallied exactly as the
//! store's counters are, must give the published rows and their commitments.

use std::collections::HashMap;

use custodian_audit::AuditEntry;
use serde_json::Value;

use crate::facts::{Facts, Period};
use crate::report::Report;
use crate::{tally, FACT_ACTIONS};

/// The counted requests as the log tells them.
#[derive(Debug, Default)]
pub struct Recount {
    latest: HashMap<String, (Facts, [u8; 32])>,
}

impl Recount {
    /// Takes one log entry (in index order); entries other than facts entries are ignored.
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), String> {
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
            .insert(entry.object.clone(), (facts, entry.leaf_hash()));
        Ok(())
    }

    /// The report of `period` recomputed from the log.
    pub fn report(&self, period: Period) -> Report {
        let halves: Vec<Period> = period.halves();
        let cells = tally(
            self.latest
                .values()
                .filter(|(f, _)| halves.contains(&f.period()))
                .map(|(f, l)| (f, l)),
        );
        Report::from_cells(period, &cells)
    }

    /// The audit objects of the requests counted in `period`.
    pub fn objects_in(&self, period: Period) -> Vec<String> {
        let halves = period.halves();
        let mut v: Vec<String> = self
            .latest
            .iter()
            .filter(|(_, (f, _))| halves.contains(&f.period()))
            .map(|(o, _)| o.clone())
            .collect();
        v.sort();
        v
    }

    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
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
                        match (o.get("country"), o.get("process")) {
                            (Some(c), Some(p)) => Some(format!("{}/{}", c, p).replace('"', "")),
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
