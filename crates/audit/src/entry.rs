//! One audit log entry and its canonical, hashable encoding.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::canonical::{write_string, write_value};
use crate::merkle::{self, Hash};

/// One record of the audit log: who did what to which object, when.
///
/// # Canonical encoding
///
/// The leaf hash is `SHA-256(0x00 || canonical_bytes)` (the RFC 6962 leaf
/// hash). `canonical_bytes` is the UTF-8 text of a JSON object with exactly
/// these six members, in this order (which is the sorted order), with no
/// whitespace anywhere:
///
/// ```text
/// {"action":A,"actor":B,"at":C,"details":D,"idx":I,"object":O}
/// ```
///
/// - `action`, `actor`, `object`: JSON strings of the fields.
/// - `at`: a JSON string of the timestamp in UTC, formatted as
///   `YYYY-MM-DDTHH:MM:SS.ffffffZ` (chrono `%Y-%m-%dT%H:%M:%S%.6fZ`): always
///   exactly six fraction digits, sub-microsecond digits dropped (truncated,
///   not rounded). Years outside 0000..=9999 are written with a sign and more
///   digits (`+10000`), as chrono's `%Y` does.
/// - `details`: the JSON value of `details`, canonicalised as below.
/// - `idx`: the 0-based position in the log as a decimal integer, so moving
///   an entry to another position changes its hash.
///
/// Every JSON value is written as RFC 8785 (JSON Canonicalization Scheme)
/// prescribes:
///
/// - object members sorted by their names compared as sequences of UTF-16
///   code units, at every level of nesting; array elements keep their order;
/// - strings: `"` and `\` escaped as `\"` and `\\`; U+0008, U+0009, U+000A,
///   U+000C, U+000D as `\b`, `\t`, `\n`, `\f`, `\r`; every other character
///   below U+0020 as `\u00xx` with lowercase hex; every other character
///   (including `/`, DEL and non-ASCII) written literally in UTF-8;
/// - `null`, `true`, `false` as such;
/// - numbers that are integers held as such (JSON text without fraction or
///   exponent that fits in `i64` or `u64`) in plain decimal with a leading
///   `-` if negative; every other number as ECMAScript's
///   `Number.prototype.toString` prints that IEEE 754 double (so `100.0` is
///   `100`, `-0.0` is `0`, `1e21` is `1e+21`, `0.000001` is `0.000001`).
///
/// This is exactly RFC 8785 except that integers beyond ±2^53 keep all their
/// digits where RFC 8785 would round them through a double; a JCS library
/// therefore reproduces the bytes for any entry whose integers are smaller.
/// Details should hold integers and strings rather than fractions, which
/// are hard to keep exact across languages and databases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 0-based position in the log; entries are contiguous from 0.
    pub idx: u64,
    /// Who acted: a user name or a system component.
    pub actor: String,
    /// What was done, e.g. `request.create` or `document.read`.
    pub action: String,
    /// What it was done to, e.g. a request number or document id.
    pub object: String,
    /// When, in UTC. Store it with microsecond precision; see
    /// [`AuditEntry::truncate_time`].
    pub at: DateTime<Utc>,
    /// Action-specific facts, as a JSON value.
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// Cuts a timestamp to whole microseconds, the precision of PostgreSQL
    /// `timestamptz` and of the text the SQLite store writes.
    ///
    /// Set `at` through this before hashing and storing an entry: the
    /// encoding drops sub-microsecond digits anyway, but an entry that
    /// compares equal before and after a database round trip is easier to
    /// reason about.
    pub fn truncate_time(at: DateTime<Utc>) -> DateTime<Utc> {
        at.trunc_subsecs(6)
    }

    /// The timestamp exactly as it appears in the canonical encoding.
    pub fn format_time(at: &DateTime<Utc>) -> String {
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }

    /// The deterministic encoding that is hashed into the log; see the
    /// type's documentation for the exact format.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(128);
        out.push_str("{\"action\":");
        write_string(&mut out, &self.action);
        out.push_str(",\"actor\":");
        write_string(&mut out, &self.actor);
        out.push_str(",\"at\":");
        write_string(&mut out, &Self::format_time(&self.at));
        out.push_str(",\"details\":");
        write_value(&mut out, &self.details);
        out.push_str(",\"idx\":");
        out.push_str(&self.idx.to_string());
        out.push_str(",\"object\":");
        write_string(&mut out, &self.object);
        out.push('}');
        out.into_bytes()
    }

    /// `SHA-256(0x00 || canonical_bytes)`, the entry's leaf in the tree.
    pub fn leaf_hash(&self) -> Hash {
        merkle::leaf_hash(&self.canonical_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use sha2::{Digest, Sha256};

    fn sample() -> AuditEntry {
        AuditEntry {
            idx: 7,
            actor: "alice".into(),
            action: "document.read".into(),
            object: "REQ-2025-0001/doc/3".into(),
            at: Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap()
                + chrono::Duration::nanoseconds(123_456_789),
            details: json!({"reason": "review", "bytes": 1024, "a": ["x\ny", null, true]}),
        }
    }

    #[test]
    fn canonical_bytes_are_pinned() {
        let e = sample();
        let text = String::from_utf8(e.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"action":"document.read","actor":"alice","at":"2025-03-04T05:06:07.123456Z","details":{"a":["x\ny",null,true],"bytes":1024,"reason":"review"},"idx":7,"object":"REQ-2025-0001/doc/3"}"#
        );
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(text.as_bytes());
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(e.leaf_hash(), want);
        // Pinned so that any change to the encoding is a visible decision.
        assert_eq!(
            hex::encode(e.leaf_hash()),
            "37e6fed10b55bc880edaa63954f6402f1951472f2f4d83ca2672cc883ce14178"
        );
    }

    #[test]
    fn time_truncates_to_microseconds() {
        let e = sample();
        let t = AuditEntry::truncate_time(e.at);
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(AuditEntry::format_time(&t), "2025-03-04T05:06:07.123456Z");
        let whole = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            AuditEntry::format_time(&whole),
            "2025-01-01T00:00:00.000000Z"
        );
        // Truncated and untruncated times hash alike, so truncating before
        // storage never changes a leaf.
        let mut truncated = e.clone();
        truncated.at = t;
        assert_eq!(truncated.leaf_hash(), e.leaf_hash());
    }

    #[test]
    fn survives_a_json_round_trip_of_details() {
        let e = sample();
        let stored = serde_json::to_string(&e.details).unwrap();
        let mut back = e.clone();
        back.details = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.leaf_hash(), e.leaf_hash());
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample();
        let h = base.leaf_hash();
        let mut e = base.clone();
        e.idx += 1;
        assert_ne!(e.leaf_hash(), h);
        let mut e = base.clone();
        e.actor.push('x');
        assert_ne!(e.leaf_hash(), h);
        let mut e = base.clone();
        e.action.push('x');
        assert_ne!(e.leaf_hash(), h);
        let mut e = base.clone();
        e.object.push('x');
        assert_ne!(e.leaf_hash(), h);
        let mut e = base.clone();
        e.at += chrono::Duration::microseconds(1);
        assert_ne!(e.leaf_hash(), h);
        let mut e = base.clone();
        e.details["bytes"] = json!(1025);
        assert_ne!(e.leaf_hash(), h);
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let mut a = sample();
        a.actor = "ab".into();
        a.action = "c".into();
        let mut b = sample();
        b.actor = "a".into();
        b.action = "bc".into();
        assert_ne!(a.leaf_hash(), b.leaf_hash());
        let mut c = sample();
        c.actor = "a\",\"action\":\"b".into();
        assert_ne!(c.canonical_bytes(), a.canonical_bytes());
    }
}
