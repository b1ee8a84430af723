//! The review console's storage (migration 0007) on SQLite and, when
//! CUSTODIAN_TEST_POSTGRES_URL is set, PostgreSQL: agency and staff administration, settings,
//! holiday calendars, deadline reminders queued once, and the queue's filters.

use chrono::{Duration, NaiveDate, Utc};
use custodian_core::deadline::{CalendarBase, ReminderKind};
use custodian_core::{AgencyStatus, Country, RequestIntake, RequestStatus, Role};
use custodian_store::testing::backends;
use custodian_store::*;

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
                kind: custodian_core::AgencyKind::LocalPolice,
                status: AgencyStatus::Verified,
                phone: None,
                domains: vec![domain.into()],
            },
        )
        .await
        .unwrap()
}

async fn user(store: &DynStore, email: &str, role: Role, agency: Option<&Agency>) -> User {
    store
        .create_user(
            &sys(),
            NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                role,
                agency_id: agency.map(|a| a.id),
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

async fn request(
    store: &DynStore,
    officer: &User,
    process: &str,
    respond_by: chrono::DateTime<Utc>,
) -> RequestRecord {
    let intake: RequestIntake = serde_json::from_value(serde_json::json!({
        "process": process,
        "issuing_authority": "A",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": "x@example.com"}],
        "categories": ["subscriber"],
    }))
    .unwrap();
    match store
        .submit_request(
            &Actor::User(officer.id),
            NewRequest {
                agency_id: officer.agency_id.unwrap(),
                submitted_by: officer.id,
                intake: intake.validate().unwrap(),
                received_at: Utc::now(),
                respond_by,
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

async fn actions(store: &DynStore) -> Vec<String> {
    store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect()
}

#[tokio::test]
async fn agencies_and_staff_are_administered_and_audited() {
    for b in backends("console_admin").await {
        let (s, name) = (&b.store, b.name);
        let a = agency(s, "Springfield PD", "springfieldpd.gov").await;
        let b = agency(s, "Shelbyville PD", "shelbyvillepd.gov").await;
        let admin = s.admin();
        let a2 = admin
            .set_agency_phone(&sys(), a.id, Some("+1 217 555 0100"))
            .await
            .unwrap();
        assert_eq!(a2.phone.as_deref(), Some("+1 217 555 0100"), "{name}");
        let a2 = admin
            .add_agency_domain(&sys(), a.id, "pd.springfield.gov")
            .await
            .unwrap();
        assert_eq!(a2.domains, vec!["pd.springfield.gov", "springfieldpd.gov"]);
        let taken = admin
            .add_agency_domain(&sys(), a.id, "shelbyvillepd.gov")
            .await
            .unwrap_err();
        assert!(
            matches!(&taken, StoreError::Conflict(m) if m.contains("another agency")),
            "{taken}"
        );
        let a2 = admin
            .remove_agency_domain(&sys(), a.id, "springfieldpd.gov")
            .await
            .unwrap();
        assert_eq!(a2.domains, vec!["pd.springfield.gov"]);
        assert!(matches!(
            admin
                .remove_agency_domain(&sys(), b.id, "nope.gov")
                .await
                .unwrap_err(),
            StoreError::NotFound
        ));
        assert!(matches!(
            admin
                .set_agency_phone(&sys(), uuid::Uuid::new_v4(), None)
                .await
                .unwrap_err(),
            StoreError::NotFound
        ));

        let staff = user(s, "riley@provider.example", Role::Reviewer, None).await;
        let officer = user(s, "o@springfieldpd.gov", Role::AgencyOfficer, Some(&a)).await;
        let changed = admin
            .set_user_role(&sys(), staff.id, Role::Approver)
            .await
            .unwrap();
        assert_eq!(changed.role, Role::Approver);
        let refused = admin
            .set_user_role(&sys(), officer.id, Role::Admin)
            .await
            .unwrap_err();
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
        assert_eq!(
            admin
                .set_user_role(&sys(), officer.id, Role::AgencySupervisor)
                .await
                .unwrap()
                .role,
            Role::AgencySupervisor
        );

        // Deactivation ends the sessions in the same transaction.
        s.accounts()
            .create_session(
                &sys(),
                NewSession {
                    id_hash: "h1".into(),
                    user_id: staff.id,
                    stage: SessionStage::Full,
                    csrf: "c".into(),
                    user_agent: "t".into(),
                    expires_at: Utc::now() + Duration::hours(1),
                },
            )
            .await
            .unwrap();
        let off = admin
            .set_user_active(&sys(), staff.id, false)
            .await
            .unwrap();
        assert!(!off.active);
        let session = s.accounts().session("h1").await.unwrap().unwrap();
        assert!(session.ended_at.is_some(), "{name}");
        assert!(
            admin
                .set_user_active(&sys(), staff.id, true)
                .await
                .unwrap()
                .active
        );

        // Settings.
        assert_eq!(admin.setting(POLICY_PROFILE_SETTING).await.unwrap(), None);
        admin
            .set_setting(&sys(), POLICY_PROFILE_SETTING, Some("notify-all"))
            .await
            .unwrap();
        admin
            .set_setting(&sys(), POLICY_PROFILE_SETTING, Some("provider-default"))
            .await
            .unwrap();
        assert_eq!(
            admin
                .setting(POLICY_PROFILE_SETTING)
                .await
                .unwrap()
                .as_deref(),
            Some("provider-default")
        );
        admin
            .set_setting(&sys(), POLICY_PROFILE_SETTING, None)
            .await
            .unwrap();
        assert_eq!(admin.setting(POLICY_PROFILE_SETTING).await.unwrap(), None);

        let log = actions(s).await;
        for a in [
            "agency.phone_changed",
            "agency.domain_added",
            "agency.domain_removed",
            "user.role_changed",
            "user.deactivated",
            "user.reactivated",
            "setting.changed",
        ] {
            assert!(log.iter().any(|x| x == a), "{a} audited ({name})");
        }
        // The log never holds the phone number itself.
        let entries = s.audit_entries(0, 10_000).await.unwrap();
        assert!(entries
            .iter()
            .all(|e| !e.entry.details.to_string().contains("555 0100")));
    }
}

#[tokio::test]
async fn holiday_calendars_extend_or_replace_the_federal_one() {
    for b in backends("console_calendars").await {
        let (s, name) = (&b.store, b.name);
        let d = s.deadlines();
        let day = |m, dd| NaiveDate::from_ymd_opt(2026, m, dd).unwrap();
        assert!(d.calendar("US").await.unwrap().is_none());
        let us = d
            .create_calendar(&sys(), "US", "United States", CalendarBase::UsFederal)
            .await
            .unwrap();
        assert_eq!(us.spec.holidays(2026).len(), 11, "{name}");
        assert!(matches!(
            d.create_calendar(&sys(), "US", "Again", CalendarBase::Empty)
                .await
                .unwrap_err(),
            StoreError::Conflict(_)
        ));
        let us = d
            .add_holiday(&sys(), "US", day(11, 27), "Day after Thanksgiving")
            .await
            .unwrap();
        assert_eq!(
            us.spec.added.get(&day(11, 27)).map(String::as_str),
            Some("Day after Thanksgiving")
        );
        let us = d.remove_holiday(&sys(), "US", day(10, 12)).await.unwrap();
        assert!(us.spec.worked.contains(&day(10, 12)));
        assert_eq!(us.spec.holidays(2026).len(), 11);
        // Refusals come from the calendar's own rules, inside the transaction.
        assert!(matches!(
            d.add_holiday(&sys(), "US", day(11, 26), "Turkey").await.unwrap_err(),
            StoreError::Conflict(m) if m.contains("Thanksgiving Day")
        ));
        assert!(matches!(
            d.remove_holiday(&sys(), "US", day(3, 3)).await.unwrap_err(),
            StoreError::NotFound
        ));
        assert!(matches!(
            d.add_holiday(&sys(), "GB", day(12, 28), "Boxing Day")
                .await
                .unwrap_err(),
            StoreError::NotFound
        ));
        let us = d
            .add_holiday(&sys(), "US", day(10, 12), "Columbus Day")
            .await
            .unwrap();
        assert!(us.spec.worked.is_empty());

        d.create_calendar(&sys(), "GB", "United Kingdom", CalendarBase::Empty)
            .await
            .unwrap();
        d.add_holiday(&sys(), "GB", day(12, 28), "Boxing Day (substitute)")
            .await
            .unwrap();
        let all = d.calendars().await.unwrap();
        assert_eq!(
            all.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
            ["GB", "US"]
        );
        assert_eq!(all[0].spec.holidays(2026).len(), 1);
        let log = actions(s).await;
        assert_eq!(
            log.iter().filter(|a| a.starts_with("calendar.")).count(),
            6,
            "{name}: {log:?}"
        );
    }
}

#[tokio::test]
async fn a_deadline_reminder_is_queued_once_per_deadline_and_assignee() {
    for b in backends("console_reminders").await {
        let (s, name) = (&b.store, b.name);
        let a = agency(s, "Springfield PD", "springfieldpd.gov").await;
        let o = user(s, "o@springfieldpd.gov", Role::AgencyOfficer, Some(&a)).await;
        let riley = user(s, "riley@provider.example", Role::Reviewer, None).await;
        let sam = user(s, "sam@provider.example", Role::Reviewer, None).await;
        let now = Utc::now();
        let soon = request(s, &o, "subpoena", now + Duration::hours(30)).await;
        let late = request(s, &o, "subpoena", now - Duration::hours(2)).await;
        let far = request(s, &o, "subpoena", now + Duration::days(8)).await;
        let nobody = request(s, &o, "subpoena", now + Duration::hours(3)).await;
        for r in [&soon, &late, &far] {
            s.assign(&sys(), r.id, Some(riley.id)).await.unwrap();
        }
        let window = Duration::hours(48);
        let due = s.deadlines().reminders_due(now, window, 100).await.unwrap();
        let mut found: Vec<(uuid::Uuid, ReminderKind)> =
            due.iter().map(|d| (d.request.id, d.kind)).collect();
        found.sort();
        let mut want = vec![
            (soon.id, ReminderKind::DueSoon),
            (late.id, ReminderKind::Overdue),
        ];
        want.sort();
        assert_eq!(found, want, "{name}: the far and the unassigned ones wait");
        assert!(!due
            .iter()
            .any(|d| d.request.id == nobody.id || d.request.id == far.id));
        assert_eq!(due[0].assignee.email, "riley@provider.example");

        let mail = |d: &ReminderDue| NewMail {
            kind: "deadline_reminder".into(),
            recipient: d.assignee.email.clone(),
            subject: format!("{} is {}", d.request.number, d.kind),
            body_text: "remember".into(),
            request_id: Some(d.request.id),
            send_after: None,
        };
        for d in &due {
            assert!(s
                .deadlines()
                .record_reminder(&sys(), d, mail(d), now)
                .await
                .unwrap());
            // The same reminder again (a second worker, a retried job) queues nothing.
            assert!(!s
                .deadlines()
                .record_reminder(&sys(), d, mail(d), now)
                .await
                .unwrap());
        }
        assert!(s
            .deadlines()
            .reminders_due(now, window, 100)
            .await
            .unwrap()
            .is_empty());
        let queued = s
            .outbox()
            .list(&MailFilter {
                kind: Some("deadline_reminder".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(queued.len(), 2, "{name}");

        // Later the due-soon one is overdue: a second, different reminder. A new assignee
        // hears about a deadline too; a request waiting for the agency does not remind.
        let later = now + Duration::hours(31);
        s.assign(&sys(), late.id, Some(sam.id)).await.unwrap();
        let due = s
            .deadlines()
            .reminders_due(later, window, 100)
            .await
            .unwrap();
        let mut found: Vec<(uuid::Uuid, ReminderKind, String)> = due
            .iter()
            .map(|d| (d.request.id, d.kind, d.assignee.email.clone()))
            .collect();
        found.sort();
        let mut want = vec![
            (
                soon.id,
                ReminderKind::Overdue,
                "riley@provider.example".to_string(),
            ),
            (
                late.id,
                ReminderKind::Overdue,
                "sam@provider.example".to_string(),
            ),
        ];
        want.sort();
        assert_eq!(found, want, "{name}");
        s.transition(
            &sys(),
            Scope::Provider,
            soon.id,
            RequestStatus::ClarificationRequested,
            None,
        )
        .await
        .unwrap();
        let due = s
            .deadlines()
            .reminders_due(later, window, 100)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{name}");
        assert!(actions(s)
            .await
            .iter()
            .any(|a| a == "request.deadline_reminder"));
    }
}

#[tokio::test]
async fn the_queue_filters_by_deadline_process_and_assignment() {
    for b in backends("console_queue_filters").await {
        let (s, name) = (&b.store, b.name);
        let a = agency(s, "Springfield PD", "springfieldpd.gov").await;
        let o = user(s, "o@springfieldpd.gov", Role::AgencyOfficer, Some(&a)).await;
        let riley = user(s, "riley@provider.example", Role::Reviewer, None).await;
        let now = Utc::now();
        let late = request(s, &o, "subpoena", now - Duration::hours(1)).await;
        let soon = request(s, &o, "court_order_2703d", now + Duration::hours(5)).await;
        let far = request(s, &o, "subpoena", now + Duration::days(5)).await;
        s.assign(&sys(), far.id, Some(riley.id)).await.unwrap();
        let ids = |v: Vec<RequestRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let base = QueueFilter {
            open_only: true,
            limit: 50,
            ..Default::default()
        };
        let q = |f: QueueFilter| {
            let s = s.clone();
            async move { ids(s.review_queue(&f).await.unwrap()) }
        };
        assert_eq!(
            q(QueueFilter {
                due_by: Some(now),
                ..base.clone()
            })
            .await,
            vec![late.id],
            "{name}"
        );
        assert_eq!(
            q(QueueFilter {
                due_after: Some(now),
                due_by: Some(now + Duration::hours(48)),
                ..base.clone()
            })
            .await,
            vec![soon.id]
        );
        assert_eq!(
            q(QueueFilter {
                process: Some(custodian_core::LegalProcess::Subpoena),
                ..base.clone()
            })
            .await,
            vec![late.id, far.id]
        );
        assert_eq!(
            q(QueueFilter {
                unassigned: true,
                ..base.clone()
            })
            .await,
            vec![late.id, soon.id]
        );
        assert_eq!(
            q(QueueFilter {
                assignee: Some(riley.id),
                unassigned: true,
                ..base.clone()
            })
            .await,
            vec![far.id],
            "a named assignee wins over 'unassigned'"
        );
    }
}
