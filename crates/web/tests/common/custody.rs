//! A server with custody set up (a demo customer-data store, an audit signing key, a mail
//! sink on loopback and a clock the test drives), for the tests of the custody pages.

use std::sync::Arc;

use chrono::{Duration, Utc};
use custodian_core::policy::{Decision, PolicyProfile};
use custodian_core::review::{CategoryRuling, ReviewDecision};
use custodian_core::{DataCategory, RequestIntake, Target, TargetKind};
use custodian_custody::{AuditSigner, Custody, CustodySettings};
use custodian_jobs::testing::SmtpSink;
use custodian_jobs::{JobRunner, Mailer, SendMail, SmtpMailer};
use custodian_sources::{DemoSize, DemoStore, DynSource};
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;

use super::Server;

/// The demo store's named account every test demand points at.
pub const JORDAN: &str = "jordan.smith42@example.com";

pub struct Custodial {
    pub s: Server,
    pub clock: Arc<ManualClock>,
    pub custody: Arc<Custody>,
    pub smtp: SmtpSink,
    _data: tempfile::TempDir,
}

async fn start(store: DynStore) -> Custodial {
    let data = tempfile::tempdir().unwrap();
    let mut size = DemoSize::small("2026-03-31".parse().unwrap());
    size.named = vec![Target::parse(TargetKind::Email, JORDAN).unwrap()];
    size.large_account = size.named.first().cloned();
    let source: DynSource = Arc::new(
        DemoStore::generate(&data.path().join("customer-data"), &size)
            .await
            .unwrap(),
    );
    let key = custodian_audit::load_or_create_signing_key(&data.path().join("audit.key")).unwrap();
    // Some work is stamped with the system's time by the store (a decision's `notice.plan`);
    // the test's clock runs a little ahead so that such work is due when the test runs jobs.
    // Browsers compute their sign-in codes at this clock's time.
    let clock = ManualClock::new(Utc::now() + Duration::minutes(5));
    let mut custody = None;
    let s = {
        let clock = clock.clone();
        let custody = &mut custody;
        super::start_with(store, Some(clock.clone()), move |state, base| {
            let c = Arc::new(
                Custody::new(
                    state.store.clone(),
                    state.blobs.clone(),
                    clock,
                    Arc::new(PolicyProfile::builtin("provider-default").unwrap()),
                    CustodySettings {
                        provider: "Example Provider, Inc.".into(),
                        public_url: base.to_string(),
                        max_downloads: 2,
                        ..CustodySettings::default()
                    },
                )
                .with_source(source)
                .with_signer(AuditSigner {
                    key,
                    origin: "custodian.test/audit".into(),
                }),
            );
            *custody = Some(c.clone());
            state.with_custody(c)
        })
        .await
    };
    Custodial {
        s,
        clock,
        custody: custody.expect("custody was set up"),
        smtp: SmtpSink::start().unwrap(),
        _data: data,
    }
}

/// A custody server on SQLite and, when CUSTODIAN_TEST_POSTGRES_URL is set, on PostgreSQL.
pub async fn custody_servers(test: &str) -> Vec<Custodial> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut out = vec![start(Arc::new(sqlite)).await];
    std::mem::forget(dir);
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = PgStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        out.push(start(Arc::new(pg)).await);
    }
    out
}

/// A demand on the demo account: `process` for `categories`, with the JSON intake's extras.
pub fn demand_on_jordan(process: &str, categories: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "process": process,
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": JORDAN}],
        "date_range": {"from": "2025-09-01", "to": "2025-12-31"},
        "categories": categories,
    })
}

impl Custodial {
    /// Runs every job due now at the test's clock: captures, packages, releases, notices and
    /// their mails (to the loopback SMTP sink).
    pub async fn run_jobs(&self) {
        let clock: DynClock = self.clock.clone();
        let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::from_url(&self.smtp.url()).unwrap());
        custodian_custody::register(
            JobRunner::new(self.s.store.clone(), clock.clone()).handle(SendMail::new(
                self.s.store.clone(),
                clock,
                mailer,
                "Legal Process <legal@provider.example>",
            )),
            self.custody.clone(),
        )
        .run_due()
        .await
        .unwrap();
    }

    /// A request `officer` served `days_ago` (by the test's clock), stored as the portal would.
    pub async fn serve(
        &self,
        officer: &User,
        intake: serde_json::Value,
        days_ago: i64,
    ) -> RequestRecord {
        let intake: RequestIntake = serde_json::from_value(intake).unwrap();
        let at = self.clock.now() - Duration::days(days_ago);
        match self
            .s
            .store
            .submit_request(
                &Actor::User(officer.id),
                NewRequest {
                    agency_id: officer.agency_id.unwrap(),
                    submitted_by: officer.id,
                    intake: intake.validate().unwrap(),
                    received_at: at,
                    respond_by: at + Duration::days(10),
                    documents: Vec::new(),
                    idempotency: None,
                    risk: None,
                },
            )
            .await
            .unwrap()
        {
            Submission::Created(r) | Submission::Replayed(r) => r,
        }
    }

    /// `reviewer` takes the request and decides it, disclosing `disclose` and withholding the
    /// rest; a decision that needs a second person is approved by `approver` when given.
    pub async fn decide(
        &self,
        r: &RequestRecord,
        reviewer: &User,
        disclose: &[DataCategory],
        approver: Option<&User>,
    ) {
        let store = &self.s.store;
        store
            .assign(&Actor::User(reviewer.id), r.id, Some(reviewer.id))
            .await
            .unwrap();
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
                            reason: Some("Not needed for the investigation.".into()),
                        }
                    };
                    (*c, ruling)
                })
                .collect(),
            illegal_conduct_reason: None,
        }
        .validate(r.process, &r.intake.categories)
        .unwrap();
        let needs = decision.needs_approval(r.emergency);
        store
            .record_decision(&Actor::User(reviewer.id), r.id, &decision, needs)
            .await
            .unwrap();
        if let (true, Some(a)) = (needs, approver) {
            store
                .approve_decision(&Actor::User(a.id), r.id)
                .await
                .unwrap();
        }
    }
}
