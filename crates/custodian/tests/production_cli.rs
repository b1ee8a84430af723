//! `custodian production verify` as an agency runs it on a package it downloaded.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use age::secrecy::ExposeSecret;
use chrono::{NaiveDate, Utc};
use custodian_audit::{public_key_text, root, AuditEntry, Checkpoint, SigningKey};
use custodian_core::{DataCategory, LegalProcess, RequestNumber, Target, TargetKind};
use custodian_production::{
    AgeRecipient, AuditMaterial, InclusionProof, Options, PackageBuilder, Passphrase, Protection,
    Record, RequestFacts, SignOff, PRODUCTION_EVENT_ACTION,
};

const BIN: &str = env!("CARGO_BIN_EXE_custodian");
const ORIGIN: &str = "custodian.example.org/audit";

/// Builds a two-record package signed by `key`'s log into `path`.
async fn build(path: &Path, protection: Protection, key: &SigningKey) {
    let facts = RequestFacts {
        number: RequestNumber::new(2026, 7),
        process: LegalProcess::SearchWarrant,
        agency: "Springfield Police Department".into(),
        case_reference: None,
        categories: vec![DataCategory::Content, DataCategory::Subscriber],
        targets: vec![Target::parse(TargetKind::Email, "jane@example.com").unwrap()],
        date_range: None,
        decided_by: "Rita Reviewer".into(),
        approved_by: Some("Arno Approver".into()),
    };
    let sign_off = SignOff {
        name: "Casey Custodian".into(),
        title: "Custodian of Records".into(),
        provider: "Example Cloud, Inc.".into(),
        date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        place: None,
    };
    let sink = tokio::fs::File::create(path).await.unwrap();
    let mut b = PackageBuilder::new(facts, sign_off, protection, sink, Options::default()).unwrap();
    let photo = vec![0x5au8; 300_000];
    for (category, name, bytes) in [
        (
            DataCategory::Subscriber,
            "account.json",
            &b"{\"name\":\"Jane\"}"[..],
        ),
        (DataCategory::Content, "photos/IMG_0001.jpg", &photo[..]),
    ] {
        let record = Record {
            category,
            path: name.into(),
            size: Some(bytes.len() as u64),
        };
        b.add_record(record, bytes).await.unwrap();
    }
    let sealed = b.seal().await.unwrap();
    let event = AuditEntry {
        idx: 0,
        actor: "casey".into(),
        action: PRODUCTION_EVENT_ACTION.into(),
        object: "LE-2026-000007".into(),
        at: AuditEntry::truncate_time(Utc::now()),
        details: sealed.audit_details(),
    };
    let leaves = vec![event.leaf_hash()];
    let note = Checkpoint {
        origin: ORIGIN.into(),
        size: 1,
        root: root(&leaves),
    }
    .sign(key)
    .unwrap();
    let audit = AuditMaterial {
        proof: InclusionProof::new(event, &leaves).unwrap(),
        checkpoint_note: note,
        public_key_text: public_key_text(ORIGIN, &key.verifying_key()).unwrap(),
    };
    sealed.finish(audit).await.unwrap();
}

fn verify(args: &[&dyn AsRef<std::ffi::OsStr>], env: Option<(&str, &str)>) -> (i32, String) {
    let mut c = Command::new(BIN);
    c.args(["production", "verify"])
        .env("CUSTODIAN_LOG", "warn");
    c.env_remove("CUSTODIAN_PRODUCTION_PASSPHRASE");
    for a in args {
        c.arg(a);
    }
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    )
}

fn identity_file(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let id = age::x25519::Identity::generate();
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{}", id.to_string().expose_secret()).unwrap();
    (path, id.to_public().to_string())
}

#[tokio::test]
async fn an_agency_verifies_extracts_and_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[3; 32]);
    let key_file = dir.path().join("audit-key.txt");
    std::fs::write(
        &key_file,
        public_key_text(ORIGIN, &key.verifying_key()).unwrap(),
    )
    .unwrap();
    let (identity, recipient) = identity_file(dir.path(), "agency.key");
    let pkg = dir.path().join("LE-2026-000007.tar.age");
    build(
        &pkg,
        Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
        &key,
    )
    .await;

    let x = dir.path().join("extracted");
    let (code, out) = verify(
        &[
            &pkg,
            &"--identity",
            &identity,
            &"--audit-key",
            &key_file,
            &"--extract",
            &x,
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "PACKAGE VERIFIED: LE-2026-000007 (search_warrant, Springfield Police Department)"
        ),
        "{out}"
    );
    assert!(out.contains("2 file(s), 300015 bytes"), "{out}");
    assert!(out.contains("by the audit key in"), "{out}");
    assert!(x.join("records/content/photos/IMG_0001.jpg").is_file());

    // Without --audit-key it says what the check is worth.
    let (code, out) = verify(&[&x], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("by the key inside the package only"), "{out}");

    // One byte of a record.
    let photo = x.join("records/content/photos/IMG_0001.jpg");
    let mut bytes = std::fs::read(&photo).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&photo, bytes).unwrap();
    let (code, out) = verify(&[&x, &"--audit-key", &key_file], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PACKAGE NOT VERIFIED: records/content/photos/IMG_0001.jpg has been altered"),
        "{out}"
    );

    // The wrong identity, and a missing one.
    let (other, _) = identity_file(dir.path(), "other.key");
    let (code, out) = verify(&[&pkg, &"--identity", &other], None);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("error: none of the given identities can decrypt this package"),
        "{out}"
    );
    let (code, out) = verify(&[&pkg], None);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("give the agency's age identity file"), "{out}");

    // A damaged download.
    let mut bytes = std::fs::read(&pkg).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 1;
    std::fs::write(&pkg, bytes).unwrap();
    let (code, out) = verify(&[&pkg, &"--identity", &identity], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PACKAGE NOT VERIFIED: the package is damaged or was altered"),
        "{out}"
    );
}

#[tokio::test]
async fn a_zip_package_takes_its_passphrase_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[4; 32]);
    let pkg = dir.path().join("LE-2026-000007.zip");
    let passphrase = Passphrase::generate();
    build(&pkg, Protection::ZipAes(passphrase.clone()), &key).await;
    let (code, out) = verify(
        &[&pkg],
        Some(("CUSTODIAN_PRODUCTION_PASSPHRASE", passphrase.expose())),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("AES-encrypted ZIP"), "{out}");
    let (code, out) = verify(&[&pkg, &"--passphrase", &"WRONG-WRONG"], None);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error: the passphrase is wrong"), "{out}");
    // The passphrase never appears in what the command prints.
    let (_, out) = verify(&[&pkg, &"--passphrase", &passphrase.expose()], None);
    assert!(!out.contains(passphrase.expose()), "{out}");
}
