//! One conformance suite, run against SQLite always and PostgreSQL when
//! CUSTODIAN_TEST_POSTGRES_URL is set. Each test gets its own database or schema.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use custodian_core::{AgencyStatus, Country, RequestIntake, RequestStatus, Role};
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;
use uuid::Uuid;

struct Fixture {
    store: DynStore,
    /// Where the database lives, for tests that go around the store as an intruder would.
    url: String,
    _dir: Option<tempfile::TempDir>,
    name: &'static str,
}

async fn backends(test: &str) -> Vec<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let sqlite = SqliteStore::open(&path).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut out = vec![Fixture {
        store: Arc::new(sqlite),
        url: format!("sqlite://{}", path.display()),
        _dir: Some(dir),
        name: "sqlite",
    }];
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = PgStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        out.push(Fixture {
            store: Arc::new(pg),
            url,
            _dir: None,
            name: "postgres",
        });
    }
    out
}

fn admin() -> Actor {
    Actor::System("test".into())
}

async fn agency(store: &DynStore, name: &str, domain: &str) -> Agency {
    store
        .create_agency(
            &admin(),
            NewAgency {
                name: name.into(),
                country: Country::US,
                kind: custodian_core::AgencyKind::LocalPolice,
                status: AgencyStatus::Verified,
                phone: Some("+1 555 0100".into()),
                domains: vec![domain.into(), domain.into()],
            },
        )
        .await
        .unwrap()
}

async fn officer(store: &DynStore, agency: &Agency, email: &str) -> User {
    store
        .create_user(
            &admin(),
            NewUser {
                email: email.into(),
                name: "Officer".into(),
                role: Role::AgencyOfficer,
                agency_id: Some(agency.id),
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

fn intake(process: &str) -> custodian_core::NewLegalRequest {
    let r: RequestIntake = serde_json::from_value(serde_json::json!({
        "process": process,
        "issuing_authority": "Springfield PD",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": "someone@example.com"}],
        "categories": ["subscriber"],
    }))
    .unwrap();
    r.validate().unwrap()
}

fn new_request(agency: &Agency, user: &User, key: Option<(&str, &str)>) -> NewRequest {
    let now = Utc::now();
    NewRequest {
        agency_id: agency.id,
        submitted_by: user.id,
        intake: intake("subpoena"),
        received_at: now,
        respond_by: now + Duration::days(14),
        documents: vec![NewDocument {
            blob: StoredBlob {
                sha256: sha256_hex(b"doc"),
                size: 3,
            },
            file_name: "subpoena.pdf".into(),
            content_type: "application/pdf".into(),
        }],
        idempotency: key.map(|(k, f)| IdempotencyKey {
            key: k.into(),
            fingerprint: f.into(),
        }),
        risk: None,
    }
}

fn created(s: Submission) -> RequestRecord {
    match s {
        Submission::Created(r) => r,
        Submission::Replayed(_) => panic!("expected a new request"),
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_health_answers() {
    for f in backends("migrations").await {
        f.store.migrate().await.unwrap();
        f.store.ping().await.unwrap();
        assert_eq!(f.store.backend(), f.name);
    }
}

#[tokio::test]
async fn agencies_and_users() {
    for f in backends("agencies_and_users").await {
        let s = &f.store;
        let a = agency(s, "Springfield PD", "springfieldpd.gov").await;
        assert_eq!(
            a.domains,
            vec!["springfieldpd.gov".to_string()],
            "{}",
            f.name
        );
        let dup = s
            .create_agency(
                &admin(),
                NewAgency {
                    name: "Springfield PD".into(),
                    country: Country::US,
                    kind: custodian_core::AgencyKind::LocalPolice,
                    status: AgencyStatus::Pending,
                    phone: None,
                    domains: vec![],
                },
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{}", f.name);
        let suspended = s
            .set_agency_status(&admin(), a.id, AgencyStatus::Suspended)
            .await
            .unwrap();
        assert_eq!(suspended.status, AgencyStatus::Suspended);
        assert_eq!(
            s.find_agency_by_name("Springfield PD").await.unwrap().id,
            a.id
        );

        let u = officer(s, &a, "Det.Alvarez@SpringfieldPD.gov").await;
        assert_eq!(u.email, "det.alvarez@springfieldpd.gov");
        assert_eq!(
            s.find_user_by_email("DET.ALVAREZ@springfieldpd.gov")
                .await
                .unwrap()
                .id,
            u.id
        );
        let again = s
            .create_user(
                &admin(),
                NewUser {
                    email: "det.alvarez@springfieldpd.gov".into(),
                    name: "x".into(),
                    role: Role::AgencyOfficer,
                    agency_id: Some(a.id),
                    password_hash: None,
                },
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{}", f.name);

        s.create_token(&admin(), u.id, "hash-1", "cli")
            .await
            .unwrap();
        let (holder, agency) = s.user_for_token("hash-1").await.unwrap();
        assert_eq!(holder.id, u.id);
        let agency = agency.expect("the officer's agency comes with the token");
        assert_eq!(
            (agency.id, agency.status, &agency.domains),
            (a.id, AgencyStatus::Suspended, &a.domains),
            "{}",
            f.name
        );
        assert!(matches!(
            s.user_for_token("hash-2").await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn requests_are_numbered_scoped_and_listed() {
    for f in backends("requests").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let b = agency(s, "B", "b.gov").await;
        let ua = officer(s, &a, "o@a.gov").await;
        let ub = officer(s, &b, "o@b.gov").await;
        let r1 = created(
            s.submit_request(&Actor::User(ua.id), new_request(&a, &ua, None))
                .await
                .unwrap(),
        );
        let r2 = created(
            s.submit_request(&Actor::User(ua.id), new_request(&a, &ua, None))
                .await
                .unwrap(),
        );
        let rb = created(
            s.submit_request(&Actor::User(ub.id), new_request(&b, &ub, None))
                .await
                .unwrap(),
        );
        let year = chrono::Datelike::year(&Utc::now());
        assert_eq!(r1.number, format!("LE-{year}-000001"), "{}", f.name);
        assert_eq!(r2.number, format!("LE-{year}-000002"));
        assert_eq!(rb.number, format!("LE-{year}-000003"));
        assert_eq!(r1.status, RequestStatus::Received);

        let got = s.get_request(Scope::Agency(a.id), r1.id).await.unwrap();
        assert_eq!(got.documents.len(), 1);
        assert_eq!(got.documents[0].sha256, sha256_hex(b"doc"));
        assert_eq!(got.intake, r1.intake);
        assert_eq!(
            got.received_at, r1.received_at,
            "{}: times survive the round trip",
            f.name
        );
        // Another agency's request is indistinguishable from a missing one.
        assert!(matches!(
            s.get_request(Scope::Agency(b.id), r1.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.get_request(Scope::Agency(a.id), Uuid::new_v4()).await,
            Err(StoreError::NotFound)
        ));
        assert!(s.get_request(Scope::Provider, rb.id).await.is_ok());

        let page = s
            .list_requests(
                Scope::Agency(a.id),
                &RequestFilter {
                    status: None,
                    limit: 1,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.items.len(), 1);
        let all = s
            .list_requests(
                Scope::Provider,
                &RequestFilter {
                    status: Some(RequestStatus::Received),
                    limit: 50,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(all.total, 3);
        let none = s
            .list_requests(
                Scope::Agency(a.id),
                &RequestFilter {
                    status: Some(RequestStatus::Closed),
                    limit: 50,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(none.total, 0);
    }
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    for f in backends("idempotency").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let u = officer(s, &a, "o@a.gov").await;
        let first = created(
            s.submit_request(&Actor::User(u.id), new_request(&a, &u, Some(("k1", "fp1"))))
                .await
                .unwrap(),
        );
        match s
            .submit_request(&Actor::User(u.id), new_request(&a, &u, Some(("k1", "fp1"))))
            .await
            .unwrap()
        {
            Submission::Replayed(r) => assert_eq!(r, first, "{}", f.name),
            Submission::Created(_) => panic!("{}: duplicate created", f.name),
        }
        let mismatch = s
            .submit_request(
                &Actor::User(u.id),
                new_request(&a, &u, Some(("k1", "other"))),
            )
            .await;
        assert!(
            matches!(mismatch, Err(StoreError::IdempotencyMismatch)),
            "{}",
            f.name
        );

        // Racing retries with one key create exactly one request.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            let (a, u) = (a.clone(), u.clone());
            tasks.push(tokio::spawn(async move {
                s.submit_request(
                    &Actor::User(u.id),
                    new_request(&a, &u, Some(("race", "fp"))),
                )
                .await
            }));
        }
        let mut ids = HashSet::new();
        let mut creations = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Submission::Created(r) => {
                    creations += 1;
                    ids.insert(r.id);
                }
                Submission::Replayed(r) => {
                    ids.insert(r.id);
                }
            }
        }
        assert_eq!(creations, 1, "{}", f.name);
        assert_eq!(ids.len(), 1, "{}", f.name);
        let total = s
            .list_requests(
                Scope::Agency(a.id),
                &RequestFilter {
                    status: None,
                    limit: 50,
                    offset: 0,
                },
            )
            .await
            .unwrap()
            .total;
        assert_eq!(total, 2, "{}", f.name);
    }
}

#[tokio::test]
async fn the_lifecycle_is_enforced() {
    for f in backends("lifecycle").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let u = officer(s, &a, "o@a.gov").await;
        let r = created(
            s.submit_request(&Actor::User(u.id), new_request(&a, &u, None))
                .await
                .unwrap(),
        );
        let reviewer = admin();
        let bad = s
            .transition(
                &reviewer,
                Scope::Provider,
                r.id,
                RequestStatus::Delivered,
                None,
            )
            .await;
        assert!(
            matches!(bad, Err(StoreError::IllegalTransition(_))),
            "{}",
            f.name
        );
        for to in [
            RequestStatus::InReview,
            RequestStatus::ClarificationRequested,
            RequestStatus::InReview,
        ] {
            let r = s
                .transition(&reviewer, Scope::Provider, r.id, to, None)
                .await
                .unwrap();
            assert_eq!(r.status, to);
        }
        // Another agency cannot move it, and learns nothing.
        let other = agency(s, "B", "b.gov").await;
        let hidden = s
            .transition(
                &Actor::User(u.id),
                Scope::Agency(other.id),
                r.id,
                RequestStatus::Withdrawn,
                None,
            )
            .await;
        assert!(matches!(hidden, Err(StoreError::NotFound)));
        let w = s
            .transition(
                &Actor::User(u.id),
                Scope::Agency(a.id),
                r.id,
                RequestStatus::Withdrawn,
                Some("case closed"),
            )
            .await
            .unwrap();
        assert_eq!(w.status, RequestStatus::Withdrawn);
        let again = s
            .transition(
                &Actor::User(u.id),
                Scope::Agency(a.id),
                r.id,
                RequestStatus::Withdrawn,
                None,
            )
            .await;
        assert!(matches!(again, Err(StoreError::IllegalTransition(_))));
    }
}

#[tokio::test]
async fn messages_stay_with_their_agency() {
    for f in backends("messages").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let b = agency(s, "B", "b.gov").await;
        let u = officer(s, &a, "o@a.gov").await;
        let ub = officer(s, &b, "o@b.gov").await;
        let r = created(
            s.submit_request(&Actor::User(u.id), new_request(&a, &u, None))
                .await
                .unwrap(),
        );
        s.add_message(&Actor::User(u.id), Scope::Agency(a.id), r.id, true, "hello")
            .await
            .unwrap();
        let denied = s
            .add_message(&Actor::User(ub.id), Scope::Agency(b.id), r.id, true, "hi")
            .await;
        assert!(matches!(denied, Err(StoreError::NotFound)));
        let msgs = s.list_messages(Scope::Agency(a.id), r.id).await.unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].body, "hello");
        assert!(matches!(
            s.list_messages(Scope::Agency(b.id), r.id).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn the_audit_log_is_contiguous_and_append_only() {
    for f in backends("audit").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let u = officer(s, &a, "o@a.gov").await;
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let s = s.clone();
            let (a, u) = (a.clone(), u.clone());
            tasks.push(tokio::spawn(async move {
                s.submit_request(&Actor::User(u.id), new_request(&a, &u, None))
                    .await
            }));
        }
        let mut numbers = HashSet::new();
        for t in tasks {
            numbers.insert(created(t.await.unwrap().unwrap()).number);
        }
        assert_eq!(numbers.len(), 12, "{}: numbers are unique", f.name);

        let size = s.audit_size().await.unwrap();
        assert_eq!(
            size,
            2 + 12 * 2,
            "{}: agency, user and per request its receipt and the entry counting it in the transparency report",
            f.name
        );
        let entries = s.audit_entries(0, 1000).await.unwrap();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.entry.idx, i as u64);
            assert_eq!(
                e.entry.leaf_hash(),
                e.leaf_hash,
                "{}: entry {i} hashes as stored",
                f.name
            );
        }
        assert_eq!(entries[1].entry.action, "user.created");
        assert_eq!(entries.last().unwrap().entry.action, "request.received");
        let details = entries.last().unwrap().entry.details.to_string();
        assert!(
            !details.contains("someone@example.com"),
            "{}: no customer data in the log",
            f.name
        );

        // The database itself refuses to rewrite history.
        let upd = raw_execute(&f, "UPDATE audit_log SET action = 'x' WHERE idx = 0").await;
        assert!(upd.is_err(), "{}: UPDATE must be refused", f.name);
        let del = raw_execute(&f, "DELETE FROM audit_log WHERE idx = 0").await;
        assert!(del.is_err(), "{}: DELETE must be refused", f.name);
        assert_eq!(s.audit_size().await.unwrap(), size);

        s.save_checkpoint(StoredCheckpoint {
            size,
            root: [7; 32],
            note: "n".into(),
            created_at: Utc::now(),
        })
        .await
        .unwrap();
        let cps = s.checkpoints().await.unwrap();
        assert_eq!(cps.len(), 1);
        assert_eq!(cps[0].size, size);
        assert_eq!(cps[0].root, [7; 32]);
    }
}

/// Runs raw SQL against the fixture's database, as someone with direct access would.
/// Many submissions at once, from two agencies, with idempotency keys (one of them raced):
/// intake commits them in groups, and every one must still be stored whole, numbered without
/// gaps, and audited once, in order, under its own submitter.
#[tokio::test]
async fn concurrent_submissions_are_stored_numbered_and_audited_each() {
    for f in backends("intake_batch").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let b = agency(s, "B", "b.gov").await;
        let ua = officer(s, &a, "o@a.gov").await;
        let ub = officer(s, &b, "o@b.gov").await;
        let before = s.audit_size().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..60usize {
            let s = s.clone();
            let (ag, u) = if i % 2 == 0 {
                (a.clone(), ua.clone())
            } else {
                (b.clone(), ub.clone())
            };
            tasks.push(tokio::spawn(async move {
                let key = match i {
                    0..=3 => Some(("raced".to_string(), "fp".to_string())),
                    _ if i % 3 == 0 => Some((format!("k{i}"), format!("fp{i}"))),
                    _ => None,
                };
                let request =
                    new_request(&ag, &u, key.as_ref().map(|(k, p)| (k.as_str(), p.as_str())));
                (u.id, s.submit_request(&Actor::User(u.id), request).await)
            }));
        }
        let (mut created_ids, mut raced) = (Vec::new(), HashSet::new());
        let mut submitter = std::collections::HashMap::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let (user, outcome) = t.await.unwrap();
            match outcome.unwrap() {
                Submission::Created(r) => {
                    assert_eq!(r.documents.len(), 1, "{}", f.name);
                    submitter.insert(r.id, user);
                    if i <= 3 {
                        raced.insert(r.id);
                    }
                    created_ids.push(r);
                }
                Submission::Replayed(r) => {
                    assert!(i <= 3, "{}: only the raced key replays", f.name);
                    raced.insert(r.id);
                }
            }
        }
        // The four with key "raced" come from two users (0 and 2 from A, 1 and 3 from B):
        // one request per user and key.
        assert_eq!(
            raced.len(),
            2,
            "{}: one request per user for the raced key",
            f.name
        );
        assert_eq!(created_ids.len(), 58, "{}", f.name);

        // Numbers: unique and without gaps.
        let mut seqs: Vec<u32> = created_ids
            .iter()
            .map(|r| r.number.rsplit('-').next().unwrap().parse().unwrap())
            .collect();
        seqs.sort();
        assert_eq!(seqs, (1..=58).collect::<Vec<u32>>(), "{}", f.name);

        // Each is stored with its document, and visible to its own agency only.
        for r in &created_ids {
            let got = s
                .get_request(Scope::Agency(r.agency_id), r.id)
                .await
                .unwrap();
            assert_eq!(&got, r, "{}: stored as answered", f.name);
        }

        // The log: two entries per request, contiguous, the count before the receipt, each
        // under the request's submitter, and every leaf as stored.
        let entries = s.audit_entries(0, 10_000).await.unwrap();
        assert_eq!(entries.len() as u64, before + 58 * 2, "{}", f.name);
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.entry.idx, i as u64, "{}", f.name);
            assert_eq!(e.entry.leaf_hash(), e.leaf_hash, "{}: entry {i}", f.name);
        }
        for r in &created_ids {
            let object = format!("request:{}", r.id);
            let of: Vec<&StoredAuditEntry> = entries
                .iter()
                .filter(|e| e.entry.object == object)
                .collect();
            let actions: Vec<&str> = of.iter().map(|e| e.entry.action.as_str()).collect();
            assert_eq!(
                actions,
                ["report.counted", "request.received"],
                "{}",
                f.name
            );
            let actor = format!("user:{}", submitter[&r.id]);
            assert!(of.iter().all(|e| e.entry.actor == actor), "{}", f.name);
            assert_eq!(
                of[1].entry.details["number"].as_str(),
                Some(r.number.as_str()),
                "{}",
                f.name
            );
        }
        let counts = s.status_counts().await.unwrap();
        assert_eq!(counts, vec![(RequestStatus::Received, 58)], "{}", f.name);
    }
}

async fn raw_execute(f: &Fixture, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    if f.name == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&f.url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    } else {
        let mut c = sqlx::PgConnection::connect(&f.url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    }
}

async fn reviewer(store: &DynStore, email: &str, role: Role) -> User {
    store
        .create_user(
            &admin(),
            NewUser {
                email: email.into(),
                name: "Staff".into(),
                role,
                agency_id: None,
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn the_review_workflow_and_the_two_person_rule() {
    use custodian_core::policy::Decision;
    use custodian_core::review::{CategoryRuling, ReviewDecision};
    use custodian_core::DataCategory;
    for f in backends("review").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let u = officer(s, &a, "o@a.gov").await;
        let rev = reviewer(s, "rev@provider.example", Role::Reviewer).await;
        let appr = reviewer(s, "appr@provider.example", Role::Approver).await;
        let r = created(
            s.submit_request(&Actor::User(u.id), new_request(&a, &u, None))
                .await
                .unwrap(),
        );

        // Taking a request starts its review.
        let taken = s
            .assign(&Actor::User(rev.id), r.id, Some(rev.id))
            .await
            .unwrap();
        assert_eq!(taken.status, RequestStatus::InReview, "{}", f.name);
        assert_eq!(taken.assignee_id, Some(rev.id));

        // A clarification question; the agency's answer puts it back in review.
        s.send_letter(
            &Actor::User(rev.id),
            r.id,
            "clarification",
            "Which account?",
            Some(RequestStatus::ClarificationRequested),
        )
        .await
        .unwrap();
        s.add_message(
            &Actor::User(u.id),
            Scope::Agency(a.id),
            r.id,
            true,
            "acct-1",
        )
        .await
        .unwrap();
        assert_eq!(
            s.get_request(Scope::Provider, r.id).await.unwrap().status,
            RequestStatus::InReview
        );
        let letters = s.list_letters(Scope::Agency(a.id), r.id).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].kind, "clarification");

        let decision = ReviewDecision {
            categories: [(
                DataCategory::Subscriber,
                CategoryRuling {
                    decision: Decision::Disclose,
                    reason: None,
                },
            )]
            .into_iter()
            .collect(),
            illegal_conduct_reason: None,
        };
        let d = s
            .record_decision(&Actor::User(rev.id), r.id, &decision, true)
            .await
            .unwrap();
        assert!(!d.is_effective(), "{}: pending approval", f.name);
        assert_eq!(
            s.get_request(Scope::Provider, r.id).await.unwrap().status,
            RequestStatus::Decided
        );
        // The reviewer cannot approve their own decision.
        let own = s.approve_decision(&Actor::User(rev.id), r.id).await;
        assert!(
            matches!(own, Err(StoreError::Conflict(m)) if m.contains("two-person")),
            "{}",
            f.name
        );
        let ok = s
            .approve_decision(&Actor::User(appr.id), r.id)
            .await
            .unwrap();
        assert!(ok.is_effective());
        assert_eq!(ok.approved_by, Some(appr.id));
        assert!(matches!(
            s.approve_decision(&Actor::User(appr.id), r.id).await,
            Err(StoreError::Conflict(_))
        ));
        // A second decision on a decided request is refused by the lifecycle.
        let again = s
            .record_decision(&Actor::User(rev.id), r.id, &decision, false)
            .await;
        assert!(
            matches!(again, Err(StoreError::IllegalTransition(_))),
            "{}",
            f.name
        );
        // Another agency sees neither the decision nor the letters.
        let b = agency(s, "B", "b.gov").await;
        assert!(matches!(
            s.get_decision(Scope::Agency(b.id), r.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.list_letters(Scope::Agency(b.id), r.id).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn the_queue_puts_emergencies_first_then_deadlines() {
    for f in backends("queue").await {
        let s = &f.store;
        let a = agency(s, "A", "a.gov").await;
        let u = officer(s, &a, "o@a.gov").await;
        let mut late = new_request(&a, &u, None);
        late.respond_by = Utc::now() + Duration::days(30);
        let late = created(s.submit_request(&Actor::User(u.id), late).await.unwrap());
        let mut soon = new_request(&a, &u, None);
        soon.respond_by = Utc::now() + Duration::days(2);
        let soon = created(s.submit_request(&Actor::User(u.id), soon).await.unwrap());
        let mut em = new_request(&a, &u, None);
        em.intake = {
            let r: RequestIntake = serde_json::from_value(serde_json::json!({
                "process": "emergency",
                "issuing_authority": "A",
                "issuing_country": "US",
                "emergency": {"danger_of_death_or_serious_injury": true, "supervisor_name": "S", "supervisor_phone": "+1 555 0100"},
                "targets": [{"type": "phone", "value": "+1 555 010 9999"}],
                "categories": ["subscriber"],
            }))
            .unwrap();
            r.validate().unwrap()
        };
        em.respond_by = Utc::now() + Duration::days(40);
        let em = created(s.submit_request(&Actor::User(u.id), em).await.unwrap());
        let q = s
            .review_queue(&QueueFilter {
                open_only: true,
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let order: Vec<Uuid> = q.iter().map(|r| r.id).collect();
        assert_eq!(order, vec![em.id, soon.id, late.id], "{}", f.name);
        s.transition(
            &admin(),
            Scope::Provider,
            late.id,
            RequestStatus::Rejected,
            None,
        )
        .await
        .unwrap();
        let q = s
            .review_queue(&QueueFilter {
                open_only: true,
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(q.len(), 2);
        let counts = s.status_counts().await.unwrap();
        assert_eq!(
            counts,
            vec![(RequestStatus::Received, 2), (RequestStatus::Rejected, 1)],
            "{}",
            f.name
        );
    }
}
