//! Import batches: one audit entry commits to every request of a batch.
//!
//! An import stores each batch of rows (one transaction) in `report_imported`, numbered
//! 0, 1, 2 ... (`pos`) in the order they were stored, and appends one audit entry
//! `requests.imported` whose details are `{"root": HEX, "rows": N}`: the RFC 6962 Merkle root
//! over the batch's row leaves in `pos` order, and their number. A row's leaf is
//! `SHA-256(0x00 || row bytes)`, the row bytes being the canonical JSON (as for an audit entry,
//! RFC 8785) of `{"facts": FACTS, "object": "import:REFERENCE"}`, FACTS being the request's
//! reporting facts as the audit log would carry them. The row leaf is what the report's cell
//! accumulators add for that request, as an entry's leaf hash is for a request counted by
//! its own entry. docs/transparency-verification.md explains why this is as strong as one
//! entry per request.

use chrono::{DateTime, SecondsFormat, Utc};
use custodian_audit::{merkle, write_canonical_string, Hash};
use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::import::ImportRow;
use crate::Deltas;

/// The action of the audit entry that commits to an import batch.
pub const BATCH_ACTION: &str = "requests.imported";
/// The object of that entry (its rows name their own objects).
pub const BATCH_OBJECT: &str = "import";

/// What an imported request's audit object starts with; its reference follows.
pub const IMPORT_PREFIX: &str = "import:";

/// The audit object of an imported request.
pub fn import_object(reference: &str) -> String {
    format!("{IMPORT_PREFIX}{reference}")
}

fn time(out: &mut String, t: &DateTime<Utc>) {
    // As chrono's serde writes a DateTime<Utc>, so that the bytes equal the canonical form of
    // `serde_json::to_value(facts)` (a test holds them to it). Whole seconds, the common case
    // of an import, are written without chrono's formatter.
    match whole_second_bytes(t) {
        Some(text) => {
            out.push('"');
            out.push_str(std::str::from_utf8(&text).unwrap_or_default());
            out.push_str("Z\"");
        }
        None => write_canonical_string(out, &t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS` for a time in years 0 to 9999 with no fraction of a second.
pub fn whole_seconds(t: &DateTime<Utc>) -> Option<String> {
    whole_second_bytes(t).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

/// [`whole_seconds`] without allocating, for the row bytes of an import.
fn whole_second_bytes(t: &DateTime<Utc>) -> Option<[u8; 19]> {
    use chrono::{Datelike, Timelike};
    // The fields of the UTC time itself: a DateTime's own accessors add its (zero) offset
    // again for each.
    let t = t.naive_utc();
    if t.nanosecond() != 0 || !(0..=9999).contains(&t.year()) {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, t.year().unsigned_abs());
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    Some(b)
}

/// `n` in decimal, without the formatter's machinery (once a row of an import).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

fn opt_name(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) => write_canonical_string(out, s),
        None => out.push_str("null"),
    }
}

/// The canonical bytes of one imported row. Written out field by field (members in sorted
/// order) because an import hashes millions of them; equal to the RFC 8785 form of
/// `{"facts": facts, "object": object}`.
pub fn row_bytes(object: &str, f: &Facts) -> String {
    let mut out = String::with_capacity(320);
    write_row_facts(&mut out, f);
    write_canonical_string(&mut out, object);
    out.push('}');
    out
}

/// [`row_leaf`] of an imported row (object `import:` and its reference), written into `buf`
/// rather than a new string: an import hashes millions of rows.
fn imported_row_leaf(buf: &mut String, reference: &str, f: &Facts) -> Hash {
    buf.clear();
    write_row_facts(buf, f);
    // The prefix needs no escape, so the object's canonical string is the reference's with
    // the prefix after its opening quote.
    let at = buf.len() + 1;
    write_canonical_string(buf, reference);
    buf.insert_str(at, IMPORT_PREFIX);
    buf.push('}');
    merkle::leaf_hash(buf.as_bytes())
}

/// A row's bytes up to its object's value: the facts, then the object's member name.
fn write_row_facts(out: &mut String, f: &Facts) {
    out.push_str("{\"facts\":{\"accounts\":");
    push_decimal(out, f.accounts);
    if let Some(c) = &f.category {
        out.push_str(",\"category\":");
        write_canonical_string(out, c);
    }
    out.push_str(",\"country\":");
    write_canonical_string(out, f.country.code());
    out.push_str(",\"disclosed\":");
    opt_name(out, f.disclosed.map(|d| d.as_str()));
    out.push_str(",\"emergency\":");
    out.push_str(if f.emergency { "true" } else { "false" });
    out.push_str(",\"ndo\":");
    out.push_str(if f.ndo { "true" } else { "false" });
    out.push_str(",\"none_reason\":");
    opt_name(out, f.none_reason.map(|d| d.as_str()));
    out.push_str(",\"notified\":");
    out.push_str(if f.notified { "true" } else { "false" });
    out.push_str(",\"outcome\":");
    opt_name(out, f.outcome.map(|d| d.as_str()));
    out.push_str(",\"process\":");
    write_canonical_string(out, f.process.as_str());
    out.push_str(",\"received_at\":");
    time(out, &f.received_at);
    out.push_str(",\"responded_at\":");
    match &f.responded_at {
        Some(t) => time(out, t),
        None => out.push_str("null"),
    }
    out.push_str("},\"object\":");
}

/// `SHA-256(0x00 || row bytes)`: the row's leaf in its batch's tree and in the report's
/// accumulators.
pub fn row_leaf(object: &str, facts: &Facts) -> Hash {
    merkle::leaf_hash(row_bytes(object, facts).as_bytes())
}

/// The details of a batch entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDetails {
    /// Hex of the RFC 6962 root over the row leaves, in `pos` order.
    pub root: String,
    /// How many rows the batch stored.
    pub rows: u64,
}

impl BatchDetails {
    pub fn of(leaves: &[Hash]) -> BatchDetails {
        BatchDetails {
            root: hex::encode(merkle::root(leaves)),
            rows: leaves.len() as u64,
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"root": self.root, "rows": self.rows})
    }

    /// Checks the rows found for this batch (their leaves in `pos` order) against it.
    pub fn check(&self, leaves: &[Hash]) -> Result<(), String> {
        if leaves.len() as u64 != self.rows {
            return Err(format!(
                "the log recorded {} rows, {} are stored",
                self.rows,
                leaves.len()
            ));
        }
        if hex::encode(merkle::root(leaves)) != self.root {
            return Err(format!(
                "its {} stored rows do not hash to the root the log recorded, so one was \
                 altered or replaced",
                self.rows
            ));
        }
        Ok(())
    }
}

/// A batch of good rows as the store takes them, with their counts and their tree's root
/// computed when the batch is made (an import makes it on its reading thread) for the common
/// case that every row is new.
#[derive(Debug)]
pub struct ImportBatch {
    rows: Vec<ImportRow>,
    /// Each row's leaf ([`row_leaf`] of its object and facts), by position.
    leaves: Vec<Hash>,
    counted: Deltas,
    root: BatchDetails,
    by_reference: Vec<u32>,
}

impl ImportBatch {
    /// Hashes and counts the rows: an import makes its batches on a thread of their own,
    /// beside the one that reads the file and the one that stores the batch before.
    pub fn new(rows: Vec<ImportRow>) -> ImportBatch {
        let mut buf = String::with_capacity(512);
        let leaves: Vec<Hash> = rows
            .iter()
            .map(|r| imported_row_leaf(&mut buf, &r.reference, &r.facts))
            .collect();
        let mut counted = Deltas::default();
        counted.add_counted(rows.iter().map(|r| &r.facts).zip(&leaves));
        let mut by_reference: Vec<u32> = (0..rows.len())
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        by_reference.sort_unstable_by(|&a, &b| {
            rows[a as usize]
                .reference
                .as_bytes()
                .cmp(rows[b as usize].reference.as_bytes())
        });
        ImportBatch {
            root: BatchDetails::of(&leaves),
            rows,
            leaves,
            counted,
            by_reference,
        }
    }

    /// The positions of [`ImportBatch::rows`] in the byte order of their references: the
    /// order a store inserts them in, so that SQLite's unique index on the reference takes
    /// the batch in one pass from its first page to its last instead of at random pages. A
    /// row's position, which the batch's Merkle tree follows, is unchanged.
    pub fn by_reference(&self) -> &[u32] {
        &self.by_reference
    }

    pub fn rows(&self) -> &[ImportRow] {
        &self.rows
    }

    /// The leaf of each row, by position.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    pub fn into_rows(self) -> Vec<ImportRow> {
        self.rows
    }

    /// What storing the rows at `stored` (ascending positions in [`ImportBatch::rows`])
    /// adds to the counters, and the details of the batch's audit entry.
    pub fn stored(&self, stored: &[usize]) -> (Deltas, BatchDetails) {
        if stored.len() == self.rows.len() {
            return (self.counted.clone(), self.root.clone());
        }
        let kept: Vec<(&Facts, &Hash)> = stored
            .iter()
            .filter_map(|&p| Some((&self.rows.get(p)?.facts, self.leaves.get(p)?)))
            .collect();
        let mut counted = Deltas::default();
        counted.add_counted(kept.iter().copied());
        let leaves: Vec<Hash> = kept.iter().map(|(_, l)| **l).collect();
        (counted, BatchDetails::of(&leaves))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Disclosed, NoneReason, Outcome};

    fn facts() -> Facts {
        Facts {
            received_at: "2025-03-01T10:00:00Z".parse().unwrap(),
            country: "GB".parse().unwrap(),
            process: custodian_core::LegalProcess::CloudActOrder,
            category: Some("ipa_cdr".into()),
            emergency: false,
            accounts: 3,
            outcome: Some(Outcome::None),
            disclosed: Some(Disclosed::None),
            none_reason: Some(NoneReason::NoData),
            ndo: true,
            notified: false,
            responded_at: Some("2025-03-04T10:00:00.123456Z".parse().unwrap()),
        }
    }

    fn canonical(v: &serde_json::Value) -> String {
        let mut s = String::new();
        custodian_audit::write_canonical_value(&mut s, v);
        s
    }

    #[test]
    fn row_bytes_are_the_canonical_json_of_the_row() {
        let mut f = facts();
        let object = "import:A \"quoted\"\n";
        for accounts in [3, 0, 10, u64::MAX] {
            f.accounts = accounts;
            let v = serde_json::json!({"facts": f, "object": object});
            assert_eq!(row_bytes(object, &f), canonical(&v));
            // Every optional field absent too.
            f.category = None;
            f.responded_at = None;
            f.outcome = None;
            f.disclosed = None;
            f.none_reason = None;
            f.received_at = "2025-03-01T00:00:00.5Z".parse().unwrap();
        }
    }

    #[test]
    fn an_imported_rows_leaf_is_the_leaf_of_its_object() {
        let f = facts();
        let mut buf = String::from("left over from the row before");
        for reference in ["R1", "A \"quoted\"\n", ""] {
            assert_eq!(
                imported_row_leaf(&mut buf, reference, &f),
                row_leaf(&import_object(reference), &f)
            );
        }
    }

    #[test]
    fn whole_seconds_are_written_as_chrono_writes_them() {
        for t in [
            "2025-03-01T10:00:00Z",
            "0999-12-31T23:59:59Z",
            "2024-02-29T00:00:00Z",
        ] {
            let t: DateTime<Utc> = t.parse().unwrap();
            assert_eq!(
                format!("{}Z", whole_seconds(&t).unwrap()),
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            );
        }
        let t: DateTime<Utc> = "2025-03-01T10:00:00.5Z".parse().unwrap();
        assert_eq!(whole_seconds(&t), None);
    }

    #[test]
    fn batch_check_names_a_count_or_root_difference() {
        let f = facts();
        let leaves: Vec<Hash> = (0..5)
            .map(|i| row_leaf(&import_object(&format!("R{i}")), &f))
            .collect();
        let d = BatchDetails::of(&leaves);
        assert!(d.check(&leaves).is_ok());
        assert!(d.check(&leaves[..4]).unwrap_err().contains("5 rows, 4 are"));
        let mut swapped = leaves.clone();
        swapped.swap(0, 1);
        assert!(d.check(&swapped).unwrap_err().contains("do not hash"));
        let parsed: BatchDetails = serde_json::from_value(d.to_value()).unwrap();
        assert_eq!(parsed, d);
    }
}
