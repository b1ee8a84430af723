//! Custodian's half-yearly transparency report (LEGAL.md, "Transparency report").
//!
//! - [`Facts`]: what the report needs to know about one request; [`Facts::cells`] lists the
//!   counters it adds to. The store keeps the counters up to date as facts change, so a report
//!   costs its number of cells.
//! - [`Report::from_cells`]: the published shape, with a commitment per row
//!   ([`commit`]) that ties each row to the audit-log entries counted in it.
//! - [`tally`]: the same cells computed directly from facts, for checks and for
//!   `custodian audit verify-report`, which recomputes them from the audit log.
//! - [`render`]: JSON, CSV tables with a Frictionless `datapackage.json`, HTML with inline
//!   SVG charts, and PDF.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

pub mod commit;
pub mod facts;
pub mod import;
/// The PDF writer lives in the domain crate now; this path stays for its callers.
pub use custodian_core::format::pdf;
pub mod render;
pub mod report;
pub mod verify;

use std::collections::HashMap;

pub use commit::Acc;
pub use facts::{counted_country, CellKey, Disclosed, Facts, NoneReason, Outcome, Period};
pub use import::{ImportError, ImportReader, ImportRow, Rejected};
pub use report::{band, CellValue, Report, Verification};
pub use verify::{differences, Recount};

/// The audit actions whose entries carry a request's reporting facts in their details.
pub const FACT_ACTIONS: &[&str] = &["request.imported", "report.counted"];

/// Counter cells computed from scratch: each request's facts with the leaf hash of the audit
/// entry that recorded them. The store's counters must always equal this.
pub fn tally<'a>(facts: impl IntoIterator<Item = (&'a Facts, &'a [u8; 32])>) -> Vec<CellValue> {
    let mut cells: HashMap<CellKey, (i64, Acc)> = HashMap::new();
    for (f, leaf) in facts {
        for (key, n) in f.cells() {
            let e = cells.entry(key).or_default();
            e.0 += n;
            e.1.add(leaf);
        }
    }
    let mut out: Vec<CellValue> = cells
        .into_iter()
        .map(|(key, (value, acc))| CellValue { key, value, acc })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Pending changes to counter cells: per cell, the change of its count and of its
/// accumulator. Built in memory for a batch of fact changes (old -> new), then applied to the
/// stored counters in the same transaction as the facts.
#[derive(Debug, Default)]
pub struct Deltas(pub HashMap<CellKey, (i64, Acc)>);

impl Deltas {
    /// Counts `facts`, recorded by the audit leaf `leaf`.
    pub fn add(&mut self, facts: &Facts, leaf: &[u8; 32]) {
        for (key, n) in facts.cells() {
            let e = self.0.entry(key).or_default();
            e.0 += n;
            e.1.add(leaf);
        }
    }

    /// Uncounts `facts`, previously recorded by `leaf`.
    pub fn remove(&mut self, facts: &Facts, leaf: &[u8; 32]) {
        for (key, n) in facts.cells() {
            let e = self.0.entry(key).or_default();
            e.0 -= n;
            e.1.sub(leaf);
        }
    }

    /// A change of facts from `old` to `new`; either may be absent.
    pub fn change(&mut self, old: Option<(&Facts, &[u8; 32])>, new: Option<(&Facts, &[u8; 32])>) {
        if let Some((f, leaf)) = old {
            self.remove(f, leaf);
        }
        if let Some((f, leaf)) = new {
            self.add(f, leaf);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
