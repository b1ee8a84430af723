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

pub mod batch;
pub mod commit;
pub mod facts;
mod fx;
pub mod import;
/// The PDF writer lives in the domain crate now; this path stays for its callers.
pub use custodian_core::format::pdf;
pub mod render;
pub mod report;
pub mod verify;

use std::collections::HashMap;

pub use batch::{
    import_object, row_leaf, whole_seconds, BatchDetails, ImportBatch, BATCH_ACTION, BATCH_OBJECT,
    IMPORT_PREFIX,
};
pub use commit::Acc;
pub use facts::{
    check_category, counted_country, CellKey, Disclosed, Facts, NoneReason, Outcome, Period,
    RowRef, Unit,
};
pub use fx::{FxBuild, FxHasher};
pub use import::{ImportError, ImportReader, ImportRow, Rejected};
pub use report::{band, CellValue, Report, Verification};
pub use verify::{differences, Recount};

/// The audit actions whose entries carry a request's reporting facts in their details
/// (`request.imported` is the one-entry-per-row import of databases made before import
/// batches; see [`batch`] for what an import writes now).
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

/// What a request's counter cells depend on, but for its accounts (added up) and when it was
/// answered (the days histogram, counted apart): every field of its facts is named here, so
/// that a new one cannot be forgotten.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Profile<'a> {
    period: Period,
    country: custodian_core::Country,
    process: custodian_core::LegalProcess,
    category: Option<&'a str>,
    emergency: bool,
    outcome: Option<Outcome>,
    disclosed: Option<Disclosed>,
    none_reason: Option<NoneReason>,
    ndo: bool,
    notified: bool,
}

impl<'a> Profile<'a> {
    fn of(f: &'a Facts) -> Profile<'a> {
        let Facts {
            received_at: _,
            country,
            process,
            category,
            emergency,
            accounts: _,
            outcome,
            disclosed,
            none_reason,
            ndo,
            notified,
            responded_at: _,
        } = f;
        Profile {
            period: f.period(),
            country: *country,
            process: *process,
            category: category.as_deref(),
            emergency: *emergency,
            outcome: *outcome,
            disclosed: *disclosed,
            none_reason: *none_reason,
            ndo: *ndo,
            notified: *notified,
        }
    }
}

/// Pending changes to counter cells: per cell, the change of its count and of its
/// accumulator. Built in memory for a batch of fact changes (old -> new), then applied to the
/// stored counters in the same transaction as the facts.
#[derive(Debug, Default, Clone)]
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

    /// Counts many new requests, each recorded by its leaf: the same as [`Deltas::add`] for
    /// each, but in two steps so that an import's cost per row is two hash-map updates.
    /// First the rows are summed by what their cells depend on (see [`Profile`]): their
    /// number, accounts and leaves; then each sum is added to the cells of one of its rows
    /// ([`Facts::visit_counts`], [`Facts::visit_answer_time`]), with the cells keyed by
    /// values rather than strings and the accumulators added in 64-bit limbs.
    pub fn add_counted<'a>(&mut self, rows: impl IntoIterator<Item = (&'a Facts, &'a [u8; 32])>) {
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        enum Row {
            None,
            Process(custodian_core::LegalProcess),
            Country(custodian_core::Country),
            /// The category is an index into `categories`, plus one (0: none).
            CountryProcess(custodian_core::Country, custodian_core::LegalProcess, usize),
            Days(i64),
        }
        /// A section or column name, compared by address: `visit_cells` passes literals, so
        /// this is exact for one call site, and names spelt at two sites meet again below
        /// when the cells are keyed by their strings.
        #[derive(Clone, Copy)]
        struct Name(&'static str);
        impl PartialEq for Name {
            fn eq(&self, other: &Name) -> bool {
                std::ptr::eq(self.0, other.0)
            }
        }
        impl Eq for Name {}
        impl std::hash::Hash for Name {
            fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
                h.write_usize(self.0.as_ptr() as usize);
            }
        }
        /// Rows summed: their number, accounts and leaves, and one of them.
        struct Sum<'a> {
            facts: &'a Facts,
            rows: i64,
            accounts: i64,
            limbs: [u64; 4],
        }
        impl<'a> Sum<'a> {
            fn new(facts: &'a Facts) -> Sum<'a> {
                Sum {
                    facts,
                    rows: 0,
                    accounts: 0,
                    limbs: [0; 4],
                }
            }
            fn add(&mut self, accounts: i64, limbs: &[u64; 4]) {
                self.rows += 1;
                self.accounts = self.accounts.saturating_add(accounts);
                commit::add_limbs(&mut self.limbs, limbs);
            }
        }
        let mut profiles: HashMap<Profile<'a>, Sum<'a>, FxBuild> = HashMap::default();
        let mut answered: HashMap<(Period, custodian_core::LegalProcess, i64), Sum<'a>, FxBuild> =
            HashMap::default();
        for (f, leaf) in rows {
            let limbs = Acc(*leaf).limbs();
            let accounts = i64::try_from(f.accounts).unwrap_or(i64::MAX);
            let profile = Profile::of(f);
            let period = profile.period;
            profiles
                .entry(profile)
                .or_insert_with(|| Sum::new(f))
                .add(accounts, &limbs);
            if let Some(days) = f.days_to_respond() {
                answered
                    .entry((period, f.process, days))
                    .or_insert_with(|| Sum::new(f))
                    .add(accounts, &limbs);
            }
        }
        type Key = (Period, Name, Row, Name);
        let mut categories: Vec<&'a str> = Vec::new();
        let mut cells: HashMap<Key, (i64, [u64; 4]), FxBuild> = HashMap::default();
        let mut add = |period: Period, sum: &Sum<'a>, dim, row: RowRef<'a>, metric, unit| {
            let row = match row {
                RowRef::None => Row::None,
                RowRef::Process(p) => Row::Process(p),
                RowRef::Country(c) => Row::Country(c),
                RowRef::Days(d) => Row::Days(d),
                RowRef::CountryProcess(c, p, k) => {
                    let k = k.map_or(0, |k| {
                        1 + categories.iter().position(|x| *x == k).unwrap_or_else(|| {
                            categories.push(k);
                            categories.len() - 1
                        })
                    });
                    Row::CountryProcess(c, p, k)
                }
            };
            let e = cells
                .entry((period, Name(dim), row, Name(metric)))
                .or_default();
            e.0 = e.0.saturating_add(match unit {
                Unit::Request => sum.rows,
                Unit::Accounts => sum.accounts,
            });
            commit::add_limbs(&mut e.1, &sum.limbs);
        };
        for (profile, sum) in &profiles {
            sum.facts.visit_counts(|dim, row, metric, unit| {
                add(profile.period, sum, dim, row, metric, unit)
            });
        }
        for ((period, _, _), sum) in &answered {
            sum.facts.visit_answer_time(|dim, row, metric, unit| {
                add(*period, sum, dim, row, metric, unit)
            });
        }
        for ((period, Name(dim), row, Name(metric)), (value, limbs)) in cells {
            let row = match row {
                Row::None => RowRef::None,
                Row::Process(p) => RowRef::Process(p),
                Row::Country(c) => RowRef::Country(c),
                Row::Days(d) => RowRef::Days(d),
                Row::CountryProcess(c, p, k) => RowRef::CountryProcess(
                    c,
                    p,
                    k.checked_sub(1).and_then(|i| categories.get(i).copied()),
                ),
            };
            let key = CellKey {
                period: period.to_string(),
                dim: dim.to_string(),
                key: row.key(),
                metric: metric.to_string(),
            };
            let e = self.0.entry(key).or_default();
            e.0 += value;
            e.1.merge(&Acc::from_limbs(&limbs));
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn counting_by_profile_equals_counting_one_by_one() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let base: Facts = serde_json::from_value(serde_json::json!({
            "received_at": "2024-01-01T00:00:00Z", "country": "US", "process": "subpoena",
            "emergency": false, "accounts": 1, "outcome": "full", "disclosed": "non_content",
            "none_reason": null, "ndo": false, "notified": false, "responded_at": null
        }))
        .unwrap();
        let processes = custodian_core::LegalProcess::ALL;
        let rows: Vec<(Facts, [u8; 32])> = (0..2000)
            .map(|i| {
                let mut f = base.clone();
                f.received_at += chrono::Duration::hours(rng.gen_range(0..24 * 400));
                f.process = processes[rng.gen_range(0..processes.len())];
                f.accounts = rng.gen_range(0..4);
                f.ndo = rng.gen_bool(0.3);
                f.emergency = rng.gen_bool(0.1);
                f.category = rng.gen_bool(0.2).then(|| "opo".to_string());
                if rng.gen_bool(0.5) {
                    f.responded_at =
                        Some(f.received_at + chrono::Duration::hours(rng.gen_range(0..24 * 30)));
                }
                if rng.gen_bool(0.3) {
                    f.outcome = Some(Outcome::None);
                    f.disclosed = Some(Disclosed::None);
                    f.none_reason = Some(NoneReason::Rejected);
                }
                let leaf = row_leaf(&import_object(&format!("R{i}")), &f);
                (f, leaf)
            })
            .collect();
        let mut one = Deltas::default();
        for (f, l) in &rows {
            one.add(f, l);
        }
        let mut grouped = Deltas::default();
        grouped.add_counted(rows.iter().map(|(f, l)| (f, l)));
        assert_eq!(one.0, grouped.0);
        assert!(one.0.len() > 100, "a test with many cells");
    }
}
