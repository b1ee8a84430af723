//! The whole life of a log through the public API only: append, sign,
//! publish, verify, prove, and catch tampering.

use chrono::{TimeZone, Utc};
use custodian_audit::{
    consistency_proof, inclusion_proof, load_or_create_signing_key, parse_public_key_text,
    public_key_text, root, verify_consistency, verify_entries, verify_inclusion, AuditEntry,
    Checkpoint, Hash, LogVerifier, Tampered, TreeBuilder,
};
use serde_json::json;

const ORIGIN: &str = "custodian.example.org/audit";

/// What the storage layer would hold: one row per entry with its leaf hash.
fn append(rows: &mut Vec<(AuditEntry, Hash)>, actor: &str, action: &str, object: &str) {
    let base = Utc.with_ymd_and_hms(2025, 9, 1, 8, 0, 0).unwrap();
    let entry = AuditEntry {
        idx: rows.len() as u64,
        actor: actor.into(),
        action: action.into(),
        object: object.into(),
        at: AuditEntry::truncate_time(
            base + chrono::Duration::nanoseconds(rows.len() as i64 * 1_234_567_891),
        ),
        details: json!({"ip": "192.0.2.1", "seq": rows.len(), "tags": ["a", "b"]}),
    };
    let leaf = entry.leaf_hash();
    rows.push((entry, leaf));
}

#[test]
fn sign_publish_verify_prove() {
    let dir = tempfile::tempdir().unwrap();
    let key = load_or_create_signing_key(&dir.path().join("audit.key")).unwrap();
    let published = public_key_text(ORIGIN, &key.verifying_key()).unwrap();

    let mut rows = Vec::new();
    for i in 0..37 {
        append(&mut rows, "clerk", "document.read", &format!("REQ-{i}"));
    }
    let leaves: Vec<Hash> = rows.iter().map(|(_, h)| *h).collect();
    let first = Checkpoint {
        origin: ORIGIN.into(),
        size: 37,
        root: root(&leaves),
    };
    let first_note = first.sign(&key).unwrap();

    for i in 37..100 {
        append(&mut rows, "admin", "request.update", &format!("REQ-{i}"));
    }
    // The running root, as the appender would keep it between checkpoints.
    let mut tree = TreeBuilder::new();
    for (_, h) in &rows {
        tree.push(*h);
    }
    let second = Checkpoint {
        origin: ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
    };
    let second_note = second.sign(&key).unwrap();

    // An auditor holds only the published key text and the notes.
    let (name, verifying_key) = parse_public_key_text(&published).unwrap();
    assert_eq!(name, ORIGIN);
    let cp1 = Checkpoint::verify_note(&first_note, &verifying_key).unwrap();
    let cp2 = Checkpoint::verify_note(&second_note, &verifying_key).unwrap();
    assert_eq!((cp1.size, cp2.size), (37, 100));

    let verified = verify_entries(rows.clone(), &[cp1.clone(), cp2.clone()]).unwrap();
    assert_eq!(verified.size, 100);
    assert_eq!(verified.root, cp2.root);
    assert_eq!(verified.signed_size, 100);

    // Proofs from the server side, checked on the auditor's side.
    let leaves: Vec<Hash> = rows.iter().map(|(_, h)| *h).collect();
    let proof = inclusion_proof(&leaves, 42).unwrap();
    assert!(verify_inclusion(
        &rows[42].0.leaf_hash(),
        42,
        cp2.size,
        &proof,
        &cp2.root
    ));
    let consistency = consistency_proof(&leaves, cp1.size).unwrap();
    assert!(verify_consistency(
        cp1.size,
        cp2.size,
        &cp1.root,
        &cp2.root,
        &consistency
    ));

    // Rewriting an old entry and its stored hash is caught by the
    // checkpoints, and the report names the range that holds it.
    let mut forged = rows.clone();
    forged[40].0.details["ip"] = json!("203.0.113.9");
    forged[40].1 = forged[40].0.leaf_hash();
    let err = verify_entries(forged, &[cp1.clone(), cp2.clone()]).unwrap_err();
    assert_eq!(
        err,
        Tampered::CheckpointMismatch {
            from: 37,
            size: 100
        }
    );

    // The same through the push interface an async cursor would use.
    let mut v = LogVerifier::new(&[cp1, cp2]);
    let mut edited = rows[10].0.clone();
    edited.details["seq"] = json!(11);
    for (entry, stored) in &rows[..10] {
        v.push(entry, stored).unwrap();
    }
    let err = v.push(&edited, &rows[10].1).unwrap_err();
    assert_eq!(err.first_bad_idx(), 10);
    assert_eq!(
        err.to_string(),
        "entry 10: leaf hash does not match the entry's contents"
    );
}

#[test]
fn entries_survive_a_storage_round_trip() {
    let mut rows = Vec::new();
    append(&mut rows, "a", "b", "c");
    let (entry, leaf) = &rows[0];
    // Roughly what a store does: timestamp as text, details as JSON text.
    let at_text = AuditEntry::format_time(&entry.at);
    let details_text = entry.details.to_string();
    let back = AuditEntry {
        at: chrono::DateTime::parse_from_rfc3339(&at_text)
            .unwrap()
            .with_timezone(&Utc),
        details: serde_json::from_str(&details_text).unwrap(),
        ..entry.clone()
    };
    assert_eq!(&back, entry);
    assert_eq!(back.leaf_hash(), *leaf);
}
