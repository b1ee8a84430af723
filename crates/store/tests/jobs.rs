//! The job table and the mail outbox on both backends: due jobs are claimed once, leases run
//! out, retries give up, pending keys are unique, and a queued mail schedules its delivery.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use custodian_store::testing::backends;
use custodian_store::*;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().into()
}

fn system() -> Actor {
    Actor::System("test".into())
}

#[tokio::test]
async fn due_jobs_are_claimed_once_in_time_order() {
    for b in backends("due_jobs_are_claimed_once_in_time_order").await {
        let jobs = b.store.jobs();
        let now = t("2026-03-02T10:00:00Z");
        let late = jobs
            .enqueue(NewJob::new(
                "x",
                json!({"n": 2}),
                now - Duration::minutes(1),
            ))
            .await
            .unwrap();
        let early = jobs
            .enqueue(NewJob::new("x", json!({"n": 1}), now - Duration::hours(1)))
            .await
            .unwrap();
        let future = jobs
            .enqueue(NewJob::new("x", json!({"n": 3}), now + Duration::days(1)))
            .await
            .unwrap();

        let claimed = jobs
            .claim("w1", now, Duration::minutes(5), 10)
            .await
            .unwrap();
        let ids: Vec<_> = claimed.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![early, late], "{}: due jobs, oldest first", b.name);
        assert!(claimed
            .iter()
            .all(|j| j.status == JobStatus::Running && j.attempts == 1));
        assert_eq!(claimed[0].payload, json!({"n": 1}));

        // Nobody else gets them while the lease runs.
        let again = jobs
            .claim("w2", now, Duration::minutes(5), 10)
            .await
            .unwrap();
        assert!(again.is_empty(), "{}: claimed twice", b.name);
        assert_eq!(
            jobs.next_due().await.unwrap(),
            Some(now + Duration::days(1))
        );

        jobs.complete(early, now).await.unwrap();
        assert_eq!(jobs.get(early).await.unwrap().status, JobStatus::Done);

        // The worker holding `late` died: after the lease, another worker takes it again.
        let after_lease = now + Duration::minutes(6);
        let retaken = jobs
            .claim("w2", after_lease, Duration::minutes(5), 10)
            .await
            .unwrap();
        assert_eq!(retaken.iter().map(|j| j.id).collect::<Vec<_>>(), vec![late]);
        assert_eq!(retaken[0].attempts, 2);

        // The future job waits for its day.
        let tomorrow = now + Duration::days(1);
        let next = jobs
            .claim("w1", tomorrow, Duration::minutes(5), 10)
            .await
            .unwrap();
        assert!(next.iter().any(|j| j.id == future), "{}", b.name);
    }
}

#[tokio::test]
async fn retries_back_off_and_then_give_up() {
    for b in backends("retries_back_off_and_then_give_up").await {
        let jobs = b.store.jobs();
        let now = t("2026-03-02T10:00:00Z");
        let id = jobs
            .enqueue(NewJob::new("flaky", json!({}), now).attempts(2))
            .await
            .unwrap();
        let first = jobs.claim("w", now, Duration::minutes(1), 1).await.unwrap();
        assert_eq!(first[0].id, id);
        let status = jobs
            .retry(id, now + Duration::minutes(2), "connection refused")
            .await
            .unwrap();
        assert_eq!(status, JobStatus::Queued);
        assert!(jobs
            .claim("w", now, Duration::minutes(1), 1)
            .await
            .unwrap()
            .is_empty());
        let second = jobs
            .claim("w", now + Duration::minutes(2), Duration::minutes(1), 1)
            .await
            .unwrap();
        assert_eq!(second[0].attempts, 2);
        let status = jobs
            .retry(id, now + Duration::minutes(5), "again")
            .await
            .unwrap();
        assert_eq!(status, JobStatus::Failed, "{}: out of attempts", b.name);
        let job = jobs.get(id).await.unwrap();
        assert_eq!(job.last_error.as_deref(), Some("again"));
        assert!(job.finished_at.is_some());
        let failed = jobs
            .list(&JobFilter {
                status: Some(JobStatus::Failed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
    }
}

#[tokio::test]
async fn a_pending_key_exists_once() {
    for b in backends("a_pending_key_exists_once").await {
        let jobs = b.store.jobs();
        let now = t("2026-03-02T10:00:00Z");
        let job = || NewJob::new("hold.expire", json!({"hold": 1}), now).once("hold-expiry:1");
        let a = jobs.enqueue(job()).await.unwrap();
        let b2 = jobs.enqueue(job()).await.unwrap();
        assert_eq!(a, b2, "{}: the same pending key is one job", b.name);
        assert!(jobs.cancel("hold-expiry:1", now).await.unwrap());
        assert_eq!(jobs.get(a).await.unwrap().status, JobStatus::Cancelled);
        // Once the first is no longer pending, the key may be scheduled again.
        let c = jobs.enqueue(job()).await.unwrap();
        assert_ne!(a, c);
        assert!(!jobs.cancel("no-such-key", now).await.unwrap());
    }
}

#[tokio::test]
async fn claims_from_many_workers_never_overlap() {
    for b in backends("claims_from_many_workers_never_overlap").await {
        let now = t("2026-03-02T10:00:00Z");
        for n in 0..60 {
            b.store
                .jobs()
                .enqueue(NewJob::new("x", json!({ "n": n }), now))
                .await
                .unwrap();
        }
        let mut tasks = Vec::new();
        for w in 0..6 {
            let store = b.store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .jobs()
                        .claim(&format!("w{w}"), now, Duration::minutes(5), 3)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|j| j.id));
                }
            }));
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        for task in tasks {
            for id in task.await.unwrap() {
                total += 1;
                assert!(seen.insert(id), "{}: job {id} claimed twice", b.name);
            }
        }
        assert_eq!(total, 60, "{}", b.name);
    }
}

#[tokio::test]
async fn a_queued_mail_schedules_its_delivery_and_is_audited_without_its_recipient() {
    for b in backends("a_queued_mail_schedules_its_delivery").await {
        let now = t("2026-03-02T10:00:00Z");
        let id = b
            .store
            .outbox()
            .queue(
                &system(),
                NewMail {
                    kind: "email_verification".into(),
                    recipient: "officer@springfield-pd.gov".into(),
                    subject: "Confirm your address".into(),
                    body_text: "Open https://example.test/verify/abc".into(),
                    request_id: None,
                    send_after: None,
                },
                now,
            )
            .await
            .unwrap();
        let mail = b.store.outbox().get(id).await.unwrap();
        assert_eq!(mail.status, MailStatus::Queued);
        assert_eq!(mail.recipient, "officer@springfield-pd.gov");

        let due = b
            .store
            .jobs()
            .claim("w", now, Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{}", b.name);
        assert_eq!(due[0].kind, MAIL_SEND_JOB);
        assert_eq!(due[0].payload, json!({ "mail_id": id }));

        b.store
            .outbox()
            .mark_attempt_failed(id, "421 try later", false)
            .await
            .unwrap();
        let mail = b.store.outbox().get(id).await.unwrap();
        assert_eq!((mail.status, mail.attempts), (MailStatus::Queued, 1));
        b.store
            .outbox()
            .mark_sent(id, now, "<m1@custodian>")
            .await
            .unwrap();
        let mail = b.store.outbox().get(id).await.unwrap();
        assert_eq!(mail.status, MailStatus::Sent);
        assert_eq!(mail.message_id.as_deref(), Some("<m1@custodian>"));
        assert_eq!(mail.sent_at, Some(now));
        // A sent mail is never marked failed afterwards, nor resent.
        b.store
            .outbox()
            .mark_attempt_failed(id, "late", true)
            .await
            .unwrap();
        assert_eq!(
            b.store.outbox().get(id).await.unwrap().status,
            MailStatus::Sent
        );
        assert!(matches!(
            b.store.outbox().resend(&system(), id, now).await,
            Err(StoreError::Conflict(_))
        ));

        let log = b.store.audit_entries(0, 100).await.unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.entry.action.as_str()).collect();
        assert_eq!(actions, vec!["mail.queued", "mail.sent"], "{}", b.name);
        for e in &log {
            let text = serde_json::to_string(&e.entry.details).unwrap();
            assert!(
                !text.contains("springfield"),
                "{}: recipient in the log",
                b.name
            );
            assert!(!text.contains("verify/abc"), "{}: body in the log", b.name);
        }
    }
}

#[tokio::test]
async fn an_admin_resends_a_failed_mail() {
    for b in backends("an_admin_resends_a_failed_mail").await {
        let now = t("2026-03-02T10:00:00Z");
        let outbox = b.store.outbox();
        let id = outbox
            .queue(
                &system(),
                NewMail {
                    kind: "deadline_reminder".into(),
                    recipient: "reviewer@provider.example".into(),
                    subject: "Due tomorrow".into(),
                    body_text: "LE-2026-000001 is due tomorrow".into(),
                    request_id: None,
                    send_after: Some(now + Duration::hours(1)),
                },
                now,
            )
            .await
            .unwrap();
        // Not before its time.
        assert!(b
            .store
            .jobs()
            .claim("w", now, Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty());
        outbox
            .mark_attempt_failed(id, "550 no such user", true)
            .await
            .unwrap();
        let failed = outbox
            .list(&MailFilter {
                status: Some(MailStatus::Failed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
        assert_eq!(failed[0].last_error.as_deref(), Some("550 no such user"));
        outbox.resend(&system(), id, now).await.unwrap();
        assert_eq!(outbox.get(id).await.unwrap().status, MailStatus::Queued);
        let due = b
            .store
            .jobs()
            .claim("w", now, Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{}: the resend is due now", b.name);
        assert!(matches!(
            outbox.resend(&system(), uuid::Uuid::new_v4(), now).await,
            Err(StoreError::NotFound)
        ));
    }
}
