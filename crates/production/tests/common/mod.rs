//! Fixtures for the package tests: a decided request, an audit log to prove the production
//! event in, generated records, and the external programs the tests compare against.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll};

use chrono::{NaiveDate, Utc};
use custodian_audit::{public_key_text, AuditEntry, Checkpoint, SigningKey};
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, LegalProcess, RequestNumber, Target, TargetKind};
use custodian_production::{
    AuditMaterial, Finished, InclusionProof, Options, PackageBuilder, Protection, Record,
    RequestFacts, SealedPackage, SignOff, PRODUCTION_EVENT_ACTION,
};
use tokio::io::{AsyncRead, ReadBuf};

pub const ORIGIN: &str = "custodian.example.org/audit";

pub fn facts() -> RequestFacts {
    RequestFacts {
        number: RequestNumber::new(2026, 123),
        process: LegalProcess::SearchWarrant,
        agency: "Springfield Police Department".into(),
        case_reference: Some("SPD-2026-0099".into()),
        categories: vec![DataCategory::Content, DataCategory::Subscriber],
        targets: vec![Target::parse(TargetKind::Email, "jane.doe@example.com").unwrap()],
        date_range: Some(DateRange {
            from: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        }),
        decided_by: "Rita Reviewer".into(),
        approved_by: Some("Arno Approver".into()),
    }
}

pub fn sign_off() -> SignOff {
    SignOff {
        name: "Casey Custodian".into(),
        title: "Custodian of Records".into(),
        provider: "Example Cloud, Inc.".into(),
        date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        place: Some("Seattle, Washington".into()),
    }
}

/// A pseudo-random byte stream of a given length, generated as it is read (never held in
/// memory): xorshift64 words.
pub struct Generated {
    state: u64,
    remaining: u64,
    /// The current word and how many of its bytes were handed out, so that the stream does
    /// not depend on the sizes of the reads.
    word: [u8; 8],
    used: usize,
}

impl Generated {
    pub fn new(seed: u64, len: u64) -> Generated {
        Generated {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            remaining: len,
            word: [0; 8],
            used: 8,
        }
    }

    /// The whole stream, for tests that need the bytes themselves.
    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut g = Generated::new(seed, len as u64);
        let mut out = vec![0u8; len];
        g.fill(&mut out);
        out
    }

    fn fill(&mut self, mut out: &mut [u8]) {
        while !out.is_empty() {
            if self.used == 8 {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                self.word = self.state.to_le_bytes();
                self.used = 0;
            }
            let n = out.len().min(8 - self.used);
            out[..n].copy_from_slice(&self.word[self.used..self.used + n]);
            self.used += n;
            out = &mut out[n..];
        }
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // Odd-sized reads, as a network stream would give.
        let n = (buf.remaining() as u64).min(self.remaining).min(100_003) as usize;
        let dst = buf.initialize_unfilled_to(n);
        self.fill(dst);
        buf.advance(n);
        self.remaining -= n as u64;
        Poll::Ready(Ok(()))
    }
}

/// The records of the standard test production: a few large ones (streamed in many chunks),
/// many small, an empty one, one of unknown size (spooled), and paths that need PAX headers.
pub fn records() -> Vec<(Record, u64)> {
    records_scaled(40, 24 << 20)
}

/// The same kinds of record, fewer and smaller (14 records, 5 MiB), for the tests that build
/// a package only to take it apart.
pub fn few_records() -> Vec<(Record, u64)> {
    records_scaled(9, 2 << 20)
}

fn records_scaled(photos: u64, video: u64) -> Vec<(Record, u64)> {
    let mut out = vec![
        (record(DataCategory::Subscriber, "account.json", 1_234), 1),
        (
            record(DataCategory::Content, "videos/VID_0001.mp4", video),
            2,
        ),
        (
            record(DataCategory::Content, "videos/VID_0002.mp4", video / 3 + 7),
            3,
        ),
        (record(DataCategory::Content, "empty.txt", 0), 4),
        (
            record(
                DataCategory::Content,
                &format!(
                    "documents/{}/Übersicht 2025 (final).pdf",
                    "long-folder-name".repeat(8)
                ),
                70_001,
            ),
            5,
        ),
    ];
    for i in 0..photos {
        out.push((
            record(
                DataCategory::Content,
                &format!("photos/IMG_{i:04}.jpg"),
                50_000 + i * 37_501,
            ),
            100 + i,
        ));
    }
    let mut unknown = record(DataCategory::Content, "messages/export.mbox", 0);
    unknown.size = None;
    out.push((unknown, 999));
    out
}

fn record(category: DataCategory, path: &str, size: u64) -> Record {
    Record {
        category,
        path: path.into(),
        size: Some(size),
    }
}

/// The length of the stream for a record (the unknown-size record streams 3 MiB + 5).
pub fn stream_len(record: &Record) -> u64 {
    record.size.unwrap_or((3 << 20) + 5)
}

/// An audit log with some history, to which the production event is appended.
pub struct Log {
    pub key: SigningKey,
    pub entries: Vec<AuditEntry>,
}

impl Log {
    pub fn new(seed: u8) -> Log {
        let mut log = Log {
            key: SigningKey::from_bytes(&[seed; 32]),
            entries: Vec::new(),
        };
        for i in 0..37 {
            log.append(
                "system",
                "request.create",
                &format!("LE-2026-{i:06}"),
                serde_json::json!({"n": i}),
            );
        }
        log
    }

    pub fn append(
        &mut self,
        actor: &str,
        action: &str,
        object: &str,
        details: serde_json::Value,
    ) -> AuditEntry {
        let entry = AuditEntry {
            idx: self.entries.len() as u64,
            actor: actor.into(),
            action: action.into(),
            object: object.into(),
            at: AuditEntry::truncate_time(Utc::now()),
            details,
        };
        self.entries.push(entry.clone());
        entry
    }

    pub fn public_key_text(&self) -> String {
        public_key_text(ORIGIN, &self.key.verifying_key()).unwrap()
    }

    /// What the orchestrator does between seal and finish: records the production event,
    /// adds a few later entries, signs a checkpoint and proves the event in it.
    pub fn prove<W>(&mut self, sealed: &SealedPackage<W>) -> AuditMaterial
    where
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let event = self.append(
            "casey.custodian",
            PRODUCTION_EVENT_ACTION,
            "LE-2026-000123",
            sealed.audit_details(),
        );
        for i in 0..5 {
            self.append(
                "system",
                "notice.queued",
                &format!("n{i}"),
                serde_json::json!({}),
            );
        }
        let leaves: Vec<_> = self.entries.iter().map(|e| e.leaf_hash()).collect();
        let note = Checkpoint {
            origin: ORIGIN.into(),
            size: leaves.len() as u64,
            root: custodian_audit::root(&leaves),
        }
        .sign(&self.key)
        .unwrap();
        AuditMaterial {
            proof: InclusionProof::new(event, &leaves).unwrap(),
            checkpoint_note: note,
            public_key_text: self.public_key_text(),
        }
    }
}

/// Builds the standard production into `path` and returns what finishing it reported.
pub async fn build(
    path: &Path,
    protection: Protection,
    log: &mut Log,
) -> Finished<tokio::fs::File> {
    build_with(path, protection, log, records(), Options::default()).await
}

/// Builds the smaller production.
pub async fn build_few(
    path: &Path,
    protection: Protection,
    log: &mut Log,
) -> Finished<tokio::fs::File> {
    build_with(path, protection, log, few_records(), Options::default()).await
}

pub async fn build_with(
    path: &Path,
    protection: Protection,
    log: &mut Log,
    records: Vec<(Record, u64)>,
    options: Options,
) -> Finished<tokio::fs::File> {
    let sink = tokio::fs::File::create(path).await.unwrap();
    let mut builder = PackageBuilder::new(facts(), sign_off(), protection, sink, options).unwrap();
    for (record, seed) in records {
        let len = stream_len(&record);
        builder
            .add_record(record, Generated::new(seed, len))
            .await
            .unwrap();
    }
    let sealed = builder.seal().await.unwrap();
    let audit = log.prove(&sealed);
    sealed.finish(audit).await.unwrap()
}

/// An age identity file for the agency, and its recipient.
pub fn agency_key(dir: &Path, name: &str) -> (PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "# public key: {}", id.to_public()).unwrap();
    writeln!(f, "{}", id.to_string().expose_secret()).unwrap();
    (path, id.to_public().to_string())
}

/// Says something on the terminal even while the harness captures output.
pub fn announce(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The first of `names` found on PATH; None (saying the test skips) if none is, and a
/// failure if `require` names a variable that is set.
pub fn program(names: &[&str], require: &str, test: &str) -> Option<String> {
    for name in names {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if found {
            return Some(name.to_string());
        }
    }
    if std::env::var_os(require).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{require} is set but none of {names:?} is installed");
    }
    announce(&format!(
        "SKIPPED {test}: none of {names:?} is installed (set {require} to make this a failure)"
    ));
    None
}

/// Runs `sha256sum -c MANIFEST.sha256` in `dir`; returns (success, stdout + stderr).
pub fn sha256sum_check(dir: &Path) -> (bool, String) {
    let out = Command::new("sha256sum")
        .args(["-c", "MANIFEST.sha256"])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
