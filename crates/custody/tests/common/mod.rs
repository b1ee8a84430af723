//! A provider for the custody tests: a store (SQLite, and PostgreSQL when configured), a local
//! object store, a small demo customer-data store, the legal team, two agencies, a clock the
//! test drives, and a job runner that delivers mail to a real SMTP server on loopback.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::Duration;
use custodian_core::policy::{Decision, PolicyProfile};
use custodian_core::request::DateRange;
use custodian_core::review::{CategoryRuling, ReviewDecision};
use custodian_core::{
    AgencyKind, AgencyStatus, Country, DataCategory, RequestIntake, RequestStatus, Role, Target,
    TargetKind,
};
use custodian_custody::{AuditSigner, Custody, CustodySettings};
use custodian_jobs::testing::SmtpSink;
use custodian_jobs::{JobRunner, Mailer, SendMail, SmtpMailer};
use custodian_sources::{DemoSize, DemoStore, DynSource};
use custodian_store::testing::TestStore;
use custodian_store::*;

pub const AS_OF: &str = "2026-03-31";
/// The large account's e-mail, and the period its files were created in.
pub const JORDAN: &str = "jordan.smith42@example.com";

pub fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

pub fn large_period() -> DateRange {
    DateRange {
        from: day("2025-09-01"),
        to: day("2025-12-31"),
    }
}

pub fn email_target(value: &str) -> Target {
    Target::parse(TargetKind::Email, value).unwrap()
}

pub fn system() -> Actor {
    Actor::System("test".into())
}

pub struct World {
    pub name: &'static str,
    pub store: DynStore,
    pub blobs: Blobs,
    pub clock: Arc<ManualClock>,
    pub demo: Arc<DemoStore>,
    pub custody: Arc<Custody>,
    pub smtp: SmtpSink,
    pub agency: Agency,
    pub officer: User,
    pub other_officer: User,
    pub reviewer: User,
    pub approver: User,
    pub custodian: User,
    pub key: custodian_audit::SigningKey,
    pub dir: tempfile::TempDir,
    /// The local object store's directory, when the test uses one.
    pub objects: Option<tempfile::TempDir>,
    _test_store: TestStore,
}

async fn user(store: &DynStore, email: &str, role: Role, agency: Option<uuid::Uuid>) -> User {
    store
        .create_user(
            &system(),
            NewUser {
                email: email.into(),
                name: format!("{role} {}", &email[..email.find('@').unwrap()]),
                role,
                agency_id: agency,
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

async fn agency(store: &DynStore, name: &str, domain: &str) -> Agency {
    store
        .create_agency(
            &system(),
            NewAgency {
                name: name.into(),
                country: Country::US,
                kind: AgencyKind::LocalPolice,
                status: AgencyStatus::Verified,
                phone: None,
                domains: vec![domain.into()],
            },
        )
        .await
        .unwrap()
}

pub fn settings() -> CustodySettings {
    CustodySettings {
        provider: "Example Provider, Inc.".into(),
        public_url: "https://custodian.provider.example".into(),
        max_downloads: 2,
        ..CustodySettings::default()
    }
}

impl World {
    pub async fn new(t: TestStore, blobs: Blobs) -> World {
        World::sized(t, blobs, None).await
    }

    /// A world whose large account holds `content` bytes (default: the small store's 3 MiB).
    pub async fn sized(t: TestStore, blobs: Blobs, content: Option<u64>) -> World {
        let smtp = SmtpSink::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = t.store.clone();
        // Jobs the store schedules at the system's time must be due at the test's start.
        let clock = ManualClock::new(chrono::Utc::now() + Duration::minutes(5));
        let mut size = DemoSize::small(day(AS_OF));
        size.named = vec![
            email_target(JORDAN),
            email_target("casey.weber7@example.com"),
        ];
        size.large_account = Some(email_target(JORDAN));
        size.large_account_period = Some(large_period());
        if let Some(bytes) = content {
            size.large_account_content = bytes;
        }
        let demo = Arc::new(
            DemoStore::generate(&dir.path().join("customer-data"), &size)
                .await
                .unwrap(),
        );
        let a = agency(&store, "Springfield Police Department", "springfieldpd.gov").await;
        let b = agency(&store, "Shelbyville Police Department", "shelbyvillepd.gov").await;
        let officer = user(
            &store,
            "det.alvarez@springfieldpd.gov",
            Role::AgencyOfficer,
            Some(a.id),
        )
        .await;
        let other_officer = user(
            &store,
            "det.wiggum@shelbyvillepd.gov",
            Role::AgencyOfficer,
            Some(b.id),
        )
        .await;
        let reviewer = user(&store, "riley@legal.provider.example", Role::Reviewer, None).await;
        let approver = user(&store, "alex@legal.provider.example", Role::Approver, None).await;
        let custodian = user(
            &store,
            "morgan@legal.provider.example",
            Role::Custodian,
            None,
        )
        .await;
        let key =
            custodian_audit::load_or_create_signing_key(&dir.path().join("audit.key")).unwrap();
        let policy = Arc::new(PolicyProfile::builtin(PolicyProfile::DEFAULT).unwrap());
        let source: DynSource = demo.clone();
        let custody = Arc::new(
            Custody::new(
                store.clone(),
                blobs.clone(),
                clock.clone(),
                policy,
                settings(),
            )
            .with_source(source)
            .with_signer(AuditSigner {
                key: key.clone(),
                origin: "custodian.test/audit".into(),
            }),
        );
        World {
            name: t.name,
            store,
            blobs,
            clock,
            demo,
            custody,
            smtp,
            agency: a,
            officer,
            other_officer,
            reviewer,
            approver,
            custodian,
            key,
            dir,
            objects: None,
            _test_store: t,
        }
    }

    /// A job runner as a (re)started server would have: it knows nothing but the store.
    pub fn runner(&self) -> JobRunner {
        let clock: DynClock = self.clock.clone();
        let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::from_url(&self.smtp.url()).unwrap());
        custodian_custody::register(
            JobRunner::new(self.store.clone(), clock.clone()).handle(SendMail::new(
                self.store.clone(),
                clock,
                mailer,
                "Legal Process <legal@provider.example>",
            )),
            self.custody.clone(),
        )
    }

    pub async fn run(&self) {
        self.runner().run_due().await.unwrap();
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A request served by the officer of the first agency, then put in review.
    pub async fn serve(&self, intake: serde_json::Value) -> RequestRecord {
        let intake: RequestIntake = serde_json::from_value(intake).unwrap();
        let validated = intake.validate().unwrap();
        let now = self.clock.now();
        let r = match self
            .store
            .submit_request(
                &Actor::User(self.officer.id),
                NewRequest {
                    agency_id: self.agency.id,
                    submitted_by: self.officer.id,
                    intake: validated,
                    received_at: now,
                    respond_by: now + Duration::days(10),
                    documents: Vec::new(),
                    idempotency: None,
                    risk: None,
                },
            )
            .await
            .unwrap()
        {
            Submission::Created(r) | Submission::Replayed(r) => r,
        };
        self.store
            .assign(&Actor::User(self.reviewer.id), r.id, Some(self.reviewer.id))
            .await
            .unwrap()
    }

    /// The reviewer decides (disclosing `disclose`, withholding the rest of what was asked),
    /// and the approver approves where the two-person rule asks.
    pub async fn decide(
        &self,
        r: &RequestRecord,
        disclose: &[DataCategory],
        conduct: Option<&str>,
    ) {
        let decision = ReviewDecision {
            categories: r
                .intake
                .categories
                .iter()
                .map(|c| {
                    let ruling = if disclose.contains(c) {
                        CategoryRuling {
                            decision: Decision::Disclose,
                            reason: None,
                        }
                    } else {
                        CategoryRuling {
                            decision: Decision::Withhold,
                            reason: Some("not needed".into()),
                        }
                    };
                    (*c, ruling)
                })
                .collect(),
            illegal_conduct_reason: conduct.map(str::to_string),
        }
        .validate(r.process, &r.intake.categories)
        .unwrap();
        let needs = decision.needs_approval(r.emergency);
        self.store
            .record_decision(&Actor::User(self.reviewer.id), r.id, &decision, needs)
            .await
            .unwrap();
        if needs {
            self.store
                .approve_decision(&Actor::User(self.approver.id), r.id)
                .await
                .unwrap();
        }
    }

    pub async fn status(&self, id: uuid::Uuid) -> RequestStatus {
        self.store
            .get_request(Scope::Provider, id)
            .await
            .unwrap()
            .status
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        self.store
            .audit_entries(0, 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.entry.action)
            .collect()
    }

    pub fn public_key_text(&self) -> String {
        custodian_audit::public_key_text("custodian.test/audit", &self.key.verifying_key()).unwrap()
    }
}

pub fn warrant(extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({
        "process": "search_warrant",
        "issuing_authority": "Circuit Court of Sangamon County",
        "issuing_country": "US",
        "case_reference": "SPD-2026-0099",
        "targets": [{"type": "email", "value": JORDAN}],
        "date_range": {"from": "2025-09-01", "to": "2025-12-31"},
        "categories": ["subscriber", "transactional", "content"]
    });
    if let (Some(o), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        o.extend(more);
    }
    v
}

/// Says something on the terminal even while the harness captures output.
pub fn announce(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Whether a program is on PATH; a skip is announced, and a failure when `require` is set.
pub fn have(program: &str, require: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var_os(require).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{require} is set but {program} is not installed");
    }
    announce(&format!(
        "SKIPPED {test}: {program} is not installed (set {require} to make this a failure)"
    ));
    false
}

/// Runs `sha256sum -c MANIFEST.sha256` in `dir`.
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

/// Reads a whole object back and hashes it.
pub async fn object_sha256(blobs: &Blobs, key: &str) -> Result<String, StoreError> {
    use futures::TryStreamExt;
    use sha2::Digest;
    let read = blobs.open_key(key).await?;
    let chunks: Vec<bytes::Bytes> = read
        .stream
        .try_collect()
        .await
        .map_err(|e| StoreError::Blob(e.to_string()))?;
    let mut h = sha2::Sha256::new();
    for c in chunks {
        h.update(&c);
    }
    Ok(hex::encode(h.finalize()))
}

/// The worlds of a test: one per backend.
pub async fn worlds(test: &str) -> Vec<World> {
    let mut out = Vec::new();
    for t in custodian_store::testing::backends(test).await {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path().join("objects"));
        let mut w = World::new(t, blobs).await;
        w.objects = Some(dir);
        out.push(w);
    }
    out
}
