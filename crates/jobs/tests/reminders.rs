//! Deadline reminders end to end, on both backends: the periodic sweep run by the job runner
//! with a clock the test moves, mail delivered to a real SMTP server on loopback, each
//! reminder once per deadline and assignee.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use custodian_core::{AgencyKind, AgencyStatus, Country, RequestIntake, Role};
use custodian_jobs::testing::SmtpSink;
use custodian_jobs::*;
use custodian_store::testing::backends;
use custodian_store::*;

fn system() -> Actor {
    Actor::System("test".into())
}

async fn user(
    store: &DynStore,
    email: &str,
    name: &str,
    role: Role,
    agency: Option<uuid::Uuid>,
) -> User {
    store
        .create_user(
            &system(),
            NewUser {
                email: email.into(),
                name: name.into(),
                role,
                agency_id: agency,
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

async fn request(
    store: &DynStore,
    officer: &User,
    received_at: chrono::DateTime<Utc>,
    respond_by: chrono::DateTime<Utc>,
) -> RequestRecord {
    let intake: RequestIntake = serde_json::from_value(serde_json::json!({
        "process": "subpoena",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": "suspect@example.com"}],
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
                received_at,
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

#[tokio::test]
async fn assignees_are_reminded_once_before_and_once_after_a_deadline() {
    let smtp = SmtpSink::start().unwrap();
    for b in backends("deadline_reminders").await {
        let s = &b.store;
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
        let clock = ManualClock::new(start);
        let agency = s
            .create_agency(
                &system(),
                NewAgency {
                    name: "Springfield Police Department".into(),
                    country: Country::US,
                    kind: AgencyKind::LocalPolice,
                    status: AgencyStatus::Verified,
                    phone: None,
                    domains: vec!["springfieldpd.gov".into()],
                },
            )
            .await
            .unwrap();
        let officer = user(
            s,
            "alvarez@springfieldpd.gov",
            "Det. Alvarez",
            Role::AgencyOfficer,
            Some(agency.id),
        )
        .await;
        let riley_email = format!("riley-{}@provider.example", b.name);
        let riley = user(s, &riley_email, "Riley Brooks", Role::Reviewer, None).await;
        let soon = request(s, &officer, start, start + Duration::hours(30)).await;
        let later = request(s, &officer, start, start + Duration::days(5)).await;
        let unassigned = request(s, &officer, start, start + Duration::hours(2)).await;
        for r in [&soon, &later] {
            s.assign(&system(), r.id, Some(riley.id)).await.unwrap();
        }

        let dyn_clock: DynClock = clock.clone();
        let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::from_url(&smtp.url()).unwrap());
        let reminders =
            DeadlineReminders::new(s.clone(), dyn_clock.clone(), "https://custodian.example/");
        reminders.schedule(clock.now()).await.unwrap();
        // A second server starting in the same hour adds no second sweep.
        reminders.schedule(clock.now()).await.unwrap();
        let runner = JobRunner::new(s.clone(), dyn_clock.clone())
            .handle(SendMail::new(
                s.clone(),
                dyn_clock.clone(),
                mailer,
                "Custodian <legal@provider.example>",
            ))
            .handle(DeadlineReminders::new(
                s.clone(),
                dyn_clock.clone(),
                "https://custodian.example",
            ));
        let sweeps = |s: &DynStore| {
            let s = s.clone();
            async move {
                s.jobs()
                    .list(&JobFilter {
                        kind: Some(DEADLINE_REMINDERS_JOB.into()),
                        limit: 100,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
            }
        };
        assert_eq!(sweeps(s).await.len(), 1, "{}", b.name);

        // The first sweep: the deadline 30 hours away is due soon.
        runner.run_due().await.unwrap();
        let got = smtp.to(&riley_email);
        assert_eq!(got.len(), 1, "{}", b.name);
        assert_eq!(
            got[0].subject(),
            format!(
                "Due soon: {} (Subpoena), answer by 2026-11-24 15:30 UTC",
                soon.number
            )
        );
        assert!(got[0].text().contains("Hello Riley Brooks"));
        assert!(
            got[0].text().contains("due in 30 hours"),
            "{}",
            got[0].text()
        );
        assert_eq!(
            got[0].link_containing("/review/requests/").as_deref(),
            Some(format!("https://custodian.example/review/requests/{}", soon.id).as_str())
        );
        assert!(
            !got[0].text().contains("suspect@example.com"),
            "no customer data in mail"
        );
        // The next sweep waits for the next hour.
        let pending: Vec<Job> = sweeps(s)
            .await
            .into_iter()
            .filter(|j| j.status == JobStatus::Queued)
            .collect();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].run_at,
            Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
        );

        // Hour after hour, nothing is mailed twice.
        for _ in 0..3 {
            clock.advance(Duration::hours(1));
            runner.run_due().await.unwrap();
        }
        assert_eq!(smtp.to(&riley_email).len(), 1, "{}", b.name);

        // Once the deadline passes: the overdue reminder, once.
        clock.advance(Duration::hours(28));
        runner.run_due().await.unwrap();
        clock.advance(Duration::hours(1));
        runner.run_due().await.unwrap();
        let got = smtp.to(&riley_email);
        assert_eq!(got.len(), 2, "{}", b.name);
        assert!(
            got[1]
                .subject()
                .starts_with(&format!("Overdue: {}", soon.number)),
            "{}",
            got[1].subject()
        );
        assert!(got[1].text().contains("1 hour ago"), "{}", got[1].text());

        // The five-day deadline comes within 48 hours three days later: its own reminder.
        clock.set(start + Duration::days(3) + Duration::hours(1));
        runner.run_due().await.unwrap();
        let got = smtp.to(&riley_email);
        assert_eq!(got.len(), 3, "{}", b.name);
        assert!(got[2].subject().contains(&later.number));
        // The unassigned request reminded no one; every reminder is in the outbox and the log.
        let all = s
            .outbox()
            .list(&MailFilter {
                kind: Some(DEADLINE_REMINDER_MAIL.into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|m| m.request_id != Some(unassigned.id)));
        assert!(all.iter().all(|m| m.status == MailStatus::Sent));
        let entries = s.audit_entries(0, 10_000).await.unwrap();
        let reminded = entries
            .iter()
            .filter(|e| e.entry.action == "request.deadline_reminder")
            .count();
        assert_eq!(reminded, 3);
        assert!(entries
            .iter()
            .all(|e| !e.entry.details.to_string().contains(&riley_email)));
    }
}
