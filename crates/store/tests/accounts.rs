//! The account store (migration 0005) on SQLite and, when CUSTODIAN_TEST_POSTGRES_URL is set,
//! PostgreSQL: sessions, throttling, the second factor, registrations and followers.

use std::sync::Arc;

use chrono::{Duration, Utc};
use custodian_core::{AgencyKind, AgencyStatus, Country, Role};
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;

async fn stores(test: &str) -> Vec<DynStore> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    sqlite.migrate().await.unwrap();
    std::mem::forget(dir);
    let mut out: Vec<DynStore> = vec![Arc::new(sqlite)];
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = PgStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        out.push(Arc::new(pg));
    }
    out
}

fn sys() -> Actor {
    Actor::System("test".into())
}

async fn agency(store: &DynStore, name: &str, domain: &str) -> Agency {
    store
        .create_agency(
            &sys(),
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

async fn user(store: &DynStore, email: &str, agency: Option<&Agency>) -> User {
    store
        .create_user(
            &sys(),
            NewUser {
                email: email.into(),
                name: "Someone".into(),
                role: if agency.is_some() {
                    Role::AgencyOfficer
                } else {
                    Role::Reviewer
                },
                agency_id: agency.map(|a| a.id),
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn failures_lock_an_account_and_expire_by_time() {
    for store in stores("failures_lock_an_account").await {
        let a = store.accounts();
        let policy = ThrottlePolicy::default();
        let t0 = Utc::now();
        for i in 1..=4 {
            let f = a
                .record_failure("acct", None, "password", t0, policy)
                .await
                .unwrap();
            assert_eq!(f.failures, i);
            assert_eq!(f.locked_until, None);
        }
        let f = a
            .record_failure("acct", None, "password", t0, policy)
            .await
            .unwrap();
        let until = f.locked_until.expect("the fifth failure locks");
        assert!(a.locked_until("acct", t0).await.unwrap().is_some());
        assert_eq!(
            a.locked_until("acct", until + Duration::seconds(1))
                .await
                .unwrap(),
            None
        );
        // After the lock, counting starts afresh; failures older than the window are forgotten.
        let later = until + Duration::seconds(1);
        let f = a
            .record_failure("acct", None, "password", later, policy)
            .await
            .unwrap();
        assert_eq!((f.failures, f.locked_until), (1, None));
        let much_later = later + policy.window + Duration::seconds(1);
        let f = a
            .record_failure("acct", None, "password", much_later, policy)
            .await
            .unwrap();
        assert_eq!(f.failures, 1, "an old failure does not count");
        a.clear_failures("acct").await.unwrap();
        assert_eq!(a.locked_until("acct", much_later).await.unwrap(), None);
    }
}

#[tokio::test]
async fn sessions_expire_and_end_everywhere() {
    for store in stores("sessions_expire_and_end").await {
        let u = user(&store, "r@provider.example", None).await;
        let a = store.accounts();
        let now = Utc::now();
        for id in ["s1", "s2"] {
            a.create_session(
                &Actor::User(u.id),
                NewSession {
                    id_hash: id.into(),
                    user_id: u.id,
                    stage: SessionStage::Full,
                    csrf: format!("csrf-{id}"),
                    user_agent: "test".into(),
                    expires_at: now + Duration::hours(12),
                },
            )
            .await
            .unwrap();
        }
        let s = a.session("s1").await.unwrap().unwrap();
        assert_eq!(s.csrf, "csrf-s1");
        assert!(s.is_live(now, Duration::minutes(30)));
        assert!(
            !s.is_live(now + Duration::minutes(31), Duration::minutes(30)),
            "idle"
        );
        assert!(
            !s.is_live(now + Duration::hours(13), Duration::days(1)),
            "absolute"
        );
        a.touch_session("s1", now + Duration::minutes(20))
            .await
            .unwrap();
        let s = a.session("s1").await.unwrap().unwrap();
        assert!(s.is_live(now + Duration::minutes(45), Duration::minutes(30)));
        a.set_flash("s1", Some("hello")).await.unwrap();
        assert_eq!(
            a.session("s1").await.unwrap().unwrap().flash.as_deref(),
            Some("hello")
        );
        assert_eq!(a.list_sessions(u.id, now).await.unwrap().len(), 2);
        assert_eq!(
            a.end_all_sessions(&Actor::User(u.id), u.id).await.unwrap(),
            2
        );
        assert!(a.list_sessions(u.id, now).await.unwrap().is_empty());
        let s = a.session("s2").await.unwrap().unwrap();
        assert!(!s.is_live(now, Duration::minutes(30)));
    }
}

#[tokio::test]
async fn totp_steps_and_recovery_codes_are_single_use() {
    for store in stores("totp_steps_and_recovery_codes").await {
        let u = user(&store, "r@provider.example", None).await;
        let a = store.accounts();
        let me = Actor::User(u.id);
        a.begin_totp(&me, u.id, b"secret-1").await.unwrap();
        a.begin_totp(&me, u.id, b"secret-2").await.unwrap();
        let t = a.totp(u.id).await.unwrap().unwrap();
        assert_eq!(
            (t.secret.as_slice(), t.confirmed),
            (&b"secret-2"[..], false)
        );
        assert!(
            !a.accept_totp_step(u.id, 100).await.unwrap(),
            "not before confirmation"
        );
        a.confirm_totp(&me, u.id, 100, &["h1".into(), "h2".into()])
            .await
            .unwrap();
        assert!(
            a.begin_totp(&me, u.id, b"other").await.is_err(),
            "no silent re-enrolment"
        );
        assert!(
            !a.accept_totp_step(u.id, 100).await.unwrap(),
            "the enrolment's step is used"
        );
        assert!(a.accept_totp_step(u.id, 101).await.unwrap());
        assert!(
            !a.accept_totp_step(u.id, 101).await.unwrap(),
            "a code works once"
        );
        assert!(
            !a.accept_totp_step(u.id, 99).await.unwrap(),
            "nor an older one"
        );
        assert!(a.use_recovery_code(&me, u.id, "h1").await.unwrap());
        assert!(!a.use_recovery_code(&me, u.id, "h1").await.unwrap());
        assert_eq!(a.recovery_codes_left(u.id).await.unwrap(), 1);
        a.replace_recovery_codes(&me, u.id, &["h3".into()])
            .await
            .unwrap();
        assert!(
            !a.use_recovery_code(&me, u.id, "h2").await.unwrap(),
            "old codes die"
        );
        assert_eq!(a.recovery_codes_left(u.id).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn registrations_become_accounts_once() {
    for store in stores("registrations_become_accounts").await {
        let known = agency(&store, "Springfield PD", "springfieldpd.gov").await;
        let a = store.accounts();
        let now = Utc::now();
        let new = |email: &str, agency: Option<uuid::Uuid>, token: &str| NewRegistration {
            email: email.into(),
            name: "Det. Someone".into(),
            password_hash: Some("$argon2id$stub".into()),
            agency_id: agency,
            claimed: agency.is_none().then(|| ClaimedAgency {
                name: "Ogdenville Police".into(),
                country: Country::US,
                kind: AgencyKind::LocalPolice,
                phone: Some("+1 555 0100".into()),
            }),
            status: RegistrationStatus::AwaitingApproval,
            lookalike_of: None,
            lookalike_reasons: vec![],
            token_hash: Some(token.into()),
            token_expires_at: Some(now + Duration::hours(24)),
        };
        // Without the mail (that path is tested with the outbox) the registration waits
        // for approval directly.
        let r = a
            .create_registration(&sys(), new("o@ogdenvillepd.gov", None, "t1"), None, now)
            .await
            .unwrap();
        assert_eq!(r.status, RegistrationStatus::AwaitingApproval);
        let r = a.approve_registration(&sys(), r.id, None).await.unwrap();
        assert_eq!(r.status, RegistrationStatus::Approved);
        let u = store
            .find_user_by_email("o@ogdenvillepd.gov")
            .await
            .unwrap();
        assert_eq!(u.role, Role::AgencyOfficer);
        let created = store.get_agency(u.agency_id.unwrap()).await.unwrap();
        assert_eq!(created.domains, vec!["ogdenvillepd.gov".to_string()]);
        assert_eq!(created.status, AgencyStatus::Verified);
        assert!(
            a.approve_registration(&sys(), r.id, None).await.is_err(),
            "once"
        );
        // Into an existing agency; a taken address is refused at approval.
        let r = a
            .create_registration(&sys(), new("p@springfieldpd.gov", None, "t2"), None, now)
            .await
            .unwrap();
        let r = a
            .approve_registration(&sys(), r.id, Some(known.id))
            .await
            .unwrap();
        assert_eq!(r.agency_id, Some(known.id));
        let refused = a
            .create_registration(&sys(), new("p@springfieldpd.gov", None, "t3"), None, now)
            .await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))));
        let open = a
            .create_registration(&sys(), new("q@springfieldpd.gov", None, "t4"), None, now)
            .await
            .unwrap();
        let r = a.refuse_registration(&sys(), open.id).await.unwrap();
        assert_eq!(r.status, RegistrationStatus::Refused);
        assert_eq!(
            a.list_registrations(Some(RegistrationStatus::Approved))
                .await
                .unwrap()
                .len(),
            2
        );
    }
}
