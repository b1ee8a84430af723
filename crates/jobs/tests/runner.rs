//! The job runner and mail delivery against a real SMTP server on loopback, on both backends,
//! with the clock driven by the test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use custodian_jobs::testing::SmtpSink;
use custodian_jobs::*;
use custodian_store::testing::backends;
use custodian_store::*;
use serde_json::json;

fn system() -> Actor {
    Actor::System("test".into())
}

fn mail(to: &str) -> NewMail {
    NewMail {
        kind: "email_verification".into(),
        recipient: to.into(),
        subject: "Confirm your e-mail address".into(),
        body_text: "Open this link to confirm: https://custodian.example/verify/tok123\n".into(),
        request_id: None,
        send_after: None,
    }
}

fn runner(store: &DynStore, clock: &Arc<ManualClock>, smtp: &SmtpSink) -> JobRunner {
    let clock: DynClock = clock.clone();
    let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::from_url(&smtp.url()).unwrap());
    JobRunner::new(store.clone(), clock.clone()).handle(SendMail::new(
        store.clone(),
        clock,
        mailer,
        "Custodian <legal@provider.example>",
    ))
}

#[tokio::test]
async fn a_queued_mail_arrives_over_smtp_and_is_marked_sent() {
    let smtp = SmtpSink::start().unwrap();
    for b in backends("a_queued_mail_arrives_over_smtp").await {
        let clock = ManualClock::starting_now();
        let to = format!("officer-{}@springfield-pd.gov", b.name);
        let id = b
            .store
            .outbox()
            .queue(&system(), mail(&to), clock.now())
            .await
            .unwrap();
        let report = runner(&b.store, &clock, &smtp).run_due().await.unwrap();
        assert_eq!(report.done, 1, "{}", b.name);

        let got = smtp.to(&to);
        assert_eq!(got.len(), 1, "{}", b.name);
        assert_eq!(got[0].subject(), "Confirm your e-mail address");
        assert_eq!(got[0].from, "legal@provider.example");
        assert_eq!(
            got[0].link_containing("/verify/").as_deref(),
            Some("https://custodian.example/verify/tok123")
        );
        let record = b.store.outbox().get(id).await.unwrap();
        assert_eq!(record.status, MailStatus::Sent);
        assert_eq!(
            got[0].header("Message-ID").as_deref(),
            record.message_id.as_deref(),
            "{}: the outbox records the Message-ID the server saw",
            b.name
        );
        // Nothing is left to do, and running again sends nothing twice.
        assert_eq!(
            runner(&b.store, &clock, &smtp)
                .run_due()
                .await
                .unwrap()
                .ran(),
            0
        );
        assert_eq!(smtp.to(&to).len(), 1);
    }
}

#[tokio::test]
async fn a_refusing_server_is_retried_after_a_backoff() {
    let smtp = SmtpSink::start().unwrap();
    for b in backends("a_refusing_server_is_retried").await {
        let clock = ManualClock::starting_now();
        let to = format!("retry-{}@springfield-pd.gov", b.name);
        let id = b
            .store
            .outbox()
            .queue(&system(), mail(&to), clock.now())
            .await
            .unwrap();
        smtp.refuse_next(1);
        let r = runner(&b.store, &clock, &smtp);
        assert_eq!(r.run_due().await.unwrap().retried, 1, "{}", b.name);
        let record = b.store.outbox().get(id).await.unwrap();
        assert_eq!((record.status, record.attempts), (MailStatus::Queued, 1));
        assert!(record.last_error.unwrap_or_default().contains("451"));
        // Not before the backoff has passed.
        assert_eq!(r.run_due().await.unwrap().ran(), 0);
        clock.advance(backoff(1) + Duration::seconds(1));
        assert_eq!(r.run_due().await.unwrap().done, 1, "{}", b.name);
        assert_eq!(smtp.to(&to).len(), 1);
        assert_eq!(
            b.store.outbox().get(id).await.unwrap().status,
            MailStatus::Sent
        );
    }
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_mail_until_an_admin_resends_it() {
    let smtp = SmtpSink::start().unwrap();
    for b in backends("a_permanent_refusal_fails_the_mail").await {
        let clock = ManualClock::starting_now();
        let to = format!("gone-{}@closed-pd.gov", b.name);
        smtp.refuse_recipients(&format!("gone-{}", b.name));
        let id = b
            .store
            .outbox()
            .queue(&system(), mail(&to), clock.now())
            .await
            .unwrap();
        let r = runner(&b.store, &clock, &smtp);
        assert_eq!(r.run_due().await.unwrap().failed, 1, "{}", b.name);
        let record = b.store.outbox().get(id).await.unwrap();
        assert_eq!(record.status, MailStatus::Failed);
        assert!(record.last_error.unwrap_or_default().contains("550"));
        // Days later nothing has been retried.
        clock.advance(Duration::days(3));
        assert_eq!(r.run_due().await.unwrap().ran(), 0);
        assert!(smtp.to(&to).is_empty());

        smtp.refuse_recipients("nobody-at-all");
        b.store
            .outbox()
            .resend(&system(), id, clock.now())
            .await
            .unwrap();
        assert_eq!(r.run_due().await.unwrap().done, 1, "{}", b.name);
        assert_eq!(smtp.to(&to).len(), 1);
    }
}

/// Counts its runs; panics on the first when told to.
struct Flaky {
    runs: Arc<AtomicUsize>,
    panic_first: bool,
}

#[async_trait]
impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        "test.flaky"
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if self.panic_first && n == 0 {
            panic!("a bug in a handler");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_costs_an_attempt_not_the_runner_and_unknown_kinds_fail() {
    for b in backends("a_panicking_handler_costs_an_attempt").await {
        let clock = ManualClock::starting_now();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = JobRunner::new(b.store.clone(), clock.clone()).handle(Flaky {
            runs: runs.clone(),
            panic_first: true,
        });
        let id = b
            .store
            .jobs()
            .enqueue(NewJob::new("test.flaky", json!({}), clock.now()))
            .await
            .unwrap();
        let unknown = b
            .store
            .jobs()
            .enqueue(NewJob::new("test.nobody", json!({}), clock.now()))
            .await
            .unwrap();
        let report = r.run_due().await.unwrap();
        assert_eq!((report.retried, report.failed), (1, 1), "{}", b.name);
        assert_eq!(
            b.store.jobs().get(unknown).await.unwrap().status,
            JobStatus::Failed
        );
        clock.advance(Duration::minutes(5));
        assert_eq!(r.run_due().await.unwrap().done, 1);
        assert_eq!(
            b.store.jobs().get(id).await.unwrap().status,
            JobStatus::Done
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn the_running_loop_takes_work_when_woken() {
    let smtp = SmtpSink::start().unwrap();
    for b in backends("the_running_loop_takes_work_when_woken").await {
        let clock: DynClock = Arc::new(SystemClock);
        let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::from_url(&smtp.url()).unwrap());
        let r = JobRunner::new(b.store.clone(), clock.clone())
            // A poll long enough that only the wake-up can explain a prompt delivery.
            .poll_every(StdDuration::from_secs(3600))
            .handle(SendMail::new(
                b.store.clone(),
                clock.clone(),
                mailer,
                "legal@provider.example",
            ));
        let wake = r.waker();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(r.run(async move {
            let _ = stopped.await;
        }));
        let to = format!("loop-{}@springfield-pd.gov", b.name);
        b.store
            .outbox()
            .queue(&system(), mail(&to), clock.now())
            .await
            .unwrap();
        wake.notify_one();
        // Bounded wait for the delivery (not a timing assertion: the hour-long poll is).
        let mut delivered = false;
        for _ in 0..300 {
            if !smtp.to(&to).is_empty() {
                delivered = true;
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        assert!(delivered, "{}: not delivered", b.name);
        let _ = stop.send(());
        task.await.unwrap();
    }
}

#[tokio::test]
async fn the_maildir_mailer_files_each_message() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = MaildirMailer::new(dir.path().join("maildir"));
    mailer
        .send(&OutgoingMail {
            from: "legal@provider.example".into(),
            to: "officer@springfield-pd.gov".into(),
            subject: "Hello".into(),
            body_text: "Body".into(),
            message_id: "<abc@provider.example>".into(),
        })
        .await
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("maildir/new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("Subject: Hello"));
    assert!(text.contains("Message-ID: <abc@provider.example>"));
    let bad = mailer
        .send(&OutgoingMail {
            from: "legal@provider.example".into(),
            to: "not an address".into(),
            subject: "x".into(),
            body_text: "x".into(),
            message_id: "<x@y>".into(),
        })
        .await;
    assert!(matches!(bad, Err(MailError::Permanent(_))));
}
