//! Emergency paging over HTTP, against a real server on port 0 with its job runner running,
//! a real SMTP server and a real webhook receiver on loopback, on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL: the signed page without customer data, the
//! page mail, a failing webhook retried, escalation to the secondary after 15 minutes of the
//! test's clock, acknowledgement, the first answer, the follow-up process and its reminders,
//! validation of `POST /api/v1/emergency`, and another agency seeing nothing.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use chrono::{Duration, Utc};
use common::{api, staff, staff_signed_in, token_for, Browser, Server, PDF};
use custodian_core::policy::Decision;
use custodian_core::review::{CategoryRuling, ReviewDecision};
use custodian_core::{DataCategory, Role};
use custodian_jobs::testing::SmtpSink;
use custodian_jobs::{JobRunner, Mailer, SendMail, SmtpMailer};
use custodian_store::paging::job_kinds;
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;

const SECRET: &str = "whsec-test-0123456789abcdef";
const TARGET: &str = "victim.target@example.com";
const NARRATIVE: &str = "Hostage taken at the riverside warehouse";
const SUPERVISOR: &str = "Sgt. Okafor";
const SUPERVISOR_PHONE: &str = "+1 217 555 0100";

/// One delivery the webhook receiver got.
#[derive(Clone)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

/// A webhook receiver on loopback that answers 500 while `fail` is above zero.
#[derive(Clone, Default)]
struct Hook {
    got: Arc<Mutex<Vec<Delivery>>>,
    fail: Arc<AtomicUsize>,
}

impl Hook {
    async fn start(&self) -> String {
        let hook = self.clone();
        let app = axum::Router::new().route(
            "/page",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let hook = hook.clone();
                async move {
                    let at = Instant::now();
                    hook.got
                        .lock()
                        .unwrap()
                        .push(Delivery { headers, body, at });
                    let failing = hook
                        .fail
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        AxumStatus::INTERNAL_SERVER_ERROR
                    } else {
                        AxumStatus::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/page", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }
}

struct Paged {
    s: Server,
    clock: Arc<ManualClock>,
    smtp: SmtpSink,
    hook: Hook,
    hook_url: String,
    waker: Arc<Notify>,
    admin: String,
    officer_a: User,
    officer_a_token: String,
    officer_b_token: String,
    primary: User,
    primary_token: String,
    secondary: User,
}

async fn start(store: DynStore) -> Paged {
    // The store stamps an emergency's first page with the system's time; the test's clock runs
    // a little ahead so that it is due when the runner looks.
    let clock = ManualClock::new(Utc::now() + Duration::minutes(5));
    let smtp = SmtpSink::start().unwrap();
    let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::from_url(&smtp.url()).unwrap());
    let mut waker = None;
    let s = {
        let clock = clock.clone();
        let waker = &mut waker;
        common::start_with(store, Some(clock.clone()), move |state, base| {
            let dyn_clock: DynClock = clock;
            let runner = JobRunner::new(state.store.clone(), dyn_clock.clone())
                .poll_every(std::time::Duration::from_millis(250))
                .handle(SendMail::new(
                    state.store.clone(),
                    dyn_clock.clone(),
                    mailer,
                    "Legal Process <legal@provider.example>",
                ));
            let runner =
                custodian_jobs::paging::register(runner, state.store.clone(), dyn_clock, base);
            let w = runner.waker();
            *waker = Some(w.clone());
            tokio::spawn(runner.run(std::future::pending()));
            state.with_jobs_waker(w)
        })
        .await
    };
    let hook = Hook::default();
    let hook_url = hook.start().await;
    let admin_user = staff(&s, "ada", Role::Admin).await;
    let admin = token_for(&s.store, &admin_user).await;
    let primary = staff(&s, "pat", Role::Reviewer).await;
    let secondary = staff(&s, "sam", Role::Reviewer).await;
    staff(&s, "avery", Role::Approver).await;
    let officer_a = common::officer(&s, &s.agency_a, "kim").await;
    let officer_b = common::officer(&s, &s.agency_b, "lee").await;
    Paged {
        officer_a_token: token_for(&s.store, &officer_a).await,
        officer_b_token: token_for(&s.store, &officer_b).await,
        primary_token: token_for(&s.store, &primary).await,
        officer_a,
        primary,
        secondary,
        admin,
        s,
        clock,
        smtp,
        hook,
        hook_url,
        waker: waker.expect("the runner was built"),
    }
}

async fn servers(test: &str) -> Vec<Paged> {
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

/// Waits (up to 20 s) until `check` holds; panics naming `what` otherwise.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn emergency_intake() -> Value {
    json!({
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "case_reference": "2026-EM-42",
        "targets": [{"type": "email", "value": TARGET}],
        "categories": ["subscriber"],
        "emergency": {
            "danger_of_death_or_serious_injury": true,
            "supervisor_name": SUPERVISOR,
            "supervisor_phone": SUPERVISOR_PHONE,
            "narrative": NARRATIVE,
        },
    })
}

async fn post_multipart(
    p: &Paged,
    path: &str,
    token: &str,
    request: &Value,
    pdf: bool,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new().text("request", request.to_string());
    if pdf {
        form = form.part(
            "document",
            reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("emergency.pdf"),
        );
    }
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", p.s.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

impl Paged {
    async fn set_up_paging(&self) {
        let (st, rota) = api(
            &self.s.base,
            &self.admin,
            Method::PUT,
            "/api/v1/admin/on-call",
            Some(json!({"entries": [
                {"tier": "primary", "user": self.primary.email},
                {"tier": "secondary", "user": self.secondary.email},
            ]})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{rota}");
        assert_eq!(rota["entries"].as_array().unwrap().len(), 2);
        let (st, settings) = api(
            &self.s.base,
            &self.admin,
            Method::PUT,
            "/api/v1/admin/on-call/settings",
            Some(json!({"webhook_url": self.hook_url, "webhook_secret": SECRET})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{settings}");
        assert_eq!(settings["webhook_secret_set"], true);
        assert_eq!(settings["escalate_minutes"], 15);
        let (_, shown) = api(
            &self.s.base,
            &self.admin,
            Method::GET,
            "/api/v1/admin/on-call",
            None,
        )
        .await;
        assert!(
            !shown.to_string().contains(SECRET),
            "the secret is never shown again"
        );
    }

    async fn emergency(&self, id: &str, token: &str) -> (StatusCode, Value) {
        api(
            &self.s.base,
            token,
            Method::GET,
            &format!("/api/v1/requests/{id}/emergency"),
            None,
        )
        .await
    }

    /// Moves the test's clock and wakes the runner, as time passing would.
    fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.waker.notify_one();
    }

    fn mails_to(&self, user: &User) -> usize {
        self.smtp.to(&user.email).len()
    }
}

fn verify_signature(d: &Delivery) {
    let header = d
        .headers
        .get("custodian-signature")
        .expect("the page is signed")
        .to_str()
        .unwrap()
        .to_string();
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&d.body);
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature is HMAC-SHA256 over timestamp.body with the secret");
    let age = Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!(age.abs() < 300, "the timestamp is now");
}

fn assert_no_customer_data(text: &str) {
    for secret in [
        TARGET,
        NARRATIVE,
        SUPERVISOR,
        SUPERVISOR_PHONE,
        "2026-EM-42",
    ] {
        assert!(!text.contains(secret), "'{secret}' must not be in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emergency_pages_the_primary_at_once_signed_and_without_customer_data() {
    for p in servers("emergency_pages_at_once").await {
        p.set_up_paging().await;
        let started = Instant::now();
        let (st, r) = post_multipart(
            &p,
            "/api/v1/emergency",
            &p.officer_a_token,
            &emergency_intake(),
            true,
        )
        .await;
        let answered = started.elapsed();
        assert_eq!(st, StatusCode::CREATED, "{r}");
        assert_eq!(r["process"], "emergency");
        let id = r["id"].as_str().unwrap().to_string();
        until("the webhook page", || !p.hook.deliveries().is_empty()).await;
        let d = p.hook.deliveries()[0].clone();
        println!(
            "[{}] submission -> webhook delivered: {:.1} ms (HTTP answer after {:.1} ms)",
            p.s.store.backend(),
            (d.at - started).as_secs_f64() * 1000.0,
            answered.as_secs_f64() * 1000.0
        );
        verify_signature(&d);
        assert_eq!(d.headers.get("custodian-event").unwrap(), "emergency.page");
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["request_id"], id.as_str());
        assert_eq!(body["number"], r["number"]);
        assert_eq!(body["agency"], p.s.agency_a.name.as_str());
        assert_eq!(body["round"], 1);
        assert_eq!(body["escalated"], false);
        assert_eq!(
            body["link"].as_str().unwrap(),
            format!("{}/review/requests/{id}", p.s.base)
        );
        assert!(body.get("received_at").is_some() && body.get("respond_by").is_some());
        assert_no_customer_data(&String::from_utf8_lossy(&d.body));

        // The primary's page mail, through the outbox; the secondary is not paged yet.
        until("the page mail", || p.mails_to(&p.primary) >= 1).await;
        let mail = p.smtp.to(&p.primary.email).remove(0);
        assert!(mail.subject().contains(r["number"].as_str().unwrap()));
        assert!(mail.text().contains(&format!("/review/requests/{id}")));
        assert_no_customer_data(&mail.text());
        assert_eq!(p.mails_to(&p.secondary), 0);

        // The attempts as the review console reads them.
        let (st, e) = p.emergency(&id, &p.primary_token).await;
        assert_eq!(st, StatusCode::OK, "{e}");
        assert_eq!(e["status"], "paging");
        let attempts = e["paging"]["attempts"].as_array().unwrap();
        assert!(attempts
            .iter()
            .any(|a| a["channel"] == "webhook" && a["result"] == "delivered"));
        assert!(attempts.iter().any(|a| a["channel"] == "email"
            && a["user_id"] == p.primary.id.to_string().as_str()
            && a["tier"] == "primary"));
        // The officer sees the emergency without the provider's paging details.
        let (st, mine) = p.emergency(&id, &p.officer_a_token).await;
        assert_eq!(st, StatusCode::OK);
        assert!(mine.get("paging").is_none());
        // No target, narrative or secret in the audit log.
        let log = serde_json::to_string(
            &p.s.store
                .audit_entries(0, 10_000)
                .await
                .unwrap()
                .iter()
                .map(|e| e.entry.details.clone())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_no_customer_data(&log);
        assert!(!log.contains(SECRET));
        assert!(common::audit_actions(&p.s.store)
            .await
            .contains(&"emergency.paged".to_string()));

        // The portal's emergency form pages the same way.
        let mut officer = Browser::for_server(&p.s);
        officer.enrol(&p.officer_a.email).await;
        let form = officer.get("/portal/emergency").await;
        assert_eq!(form.status, StatusCode::OK);
        let posted = officer
            .post_multipart(
                "/portal/serve",
                common::serve_form(&form.csrf(), "emergency", TARGET)
                    .text("emergency_form", "1")
                    .text("danger", "1")
                    .text("supervisor_name", SUPERVISOR)
                    .text("supervisor_phone", SUPERVISOR_PHONE),
            )
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let portal_id = posted
            .location
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        until("the portal emergency's page", || {
            p.hook.deliveries().iter().any(|d| {
                serde_json::from_slice::<Value>(&d.body).unwrap()["request_id"]
                    == portal_id.as_str()
            })
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_webhook_is_retried_paging_escalates_and_acknowledgement_stops_it() {
    for p in servers("emergency_retry_escalate_ack").await {
        p.set_up_paging().await;
        p.hook.fail.store(1, Ordering::SeqCst);
        // Through the general endpoint this time: every emergency intake pages.
        let mut intake = emergency_intake();
        intake["process"] = json!("emergency");
        let (st, r) =
            post_multipart(&p, "/api/v1/requests", &p.officer_a_token, &intake, true).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        let id = r["id"].as_str().unwrap().to_string();
        until("the first (failing) delivery", || {
            p.hook.deliveries().len() == 1
        })
        .await;
        // The retry waits 10 s of the clock (once the handler has scheduled it).
        for _ in 0..500 {
            let queued =
                p.s.store
                    .jobs()
                    .list(&JobFilter {
                        status: Some(JobStatus::Queued),
                        kind: Some(job_kinds::WEBHOOK.into()),
                        limit: 5,
                    })
                    .await
                    .unwrap();
            if !queued.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        p.advance(Duration::seconds(11));
        until("the retried delivery", || p.hook.deliveries().len() == 2).await;
        verify_signature(&p.hook.deliveries()[1]);
        let mut webhook_results = Vec::new();
        for _ in 0..200 {
            let (_, e) = p.emergency(&id, &p.primary_token).await;
            webhook_results = e["paging"]["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["channel"] == "webhook")
                .map(|a| {
                    (
                        a["result"].as_str().unwrap().to_string(),
                        a["detail"].clone(),
                    )
                })
                .collect::<Vec<_>>();
            if webhook_results.len() == 2 && webhook_results[1].0 == "delivered" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(webhook_results[0].0, "failed");
        assert_eq!(webhook_results[0].1, "HTTP 500");
        assert_eq!(webhook_results[1].0, "delivered");

        // Fifteen minutes without acknowledgement: the secondary is paged too.
        until("the primary's first page", || p.mails_to(&p.primary) >= 1).await;
        assert_eq!(p.mails_to(&p.secondary), 0);
        p.advance(Duration::minutes(15));
        until("the escalated page", || p.mails_to(&p.secondary) >= 1).await;
        for _ in 0..1000 {
            if p.mails_to(&p.primary) >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if p.mails_to(&p.primary) < 2 {
            let (_, e) = p.emergency(&id, &p.primary_token).await;
            let mails: Vec<_> = p
                .smtp
                .messages()
                .iter()
                .map(|m| (m.to.clone(), m.subject()))
                .collect();
            let outbox =
                p.s.store
                    .outbox()
                    .list(&MailFilter {
                        limit: 50,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            let outbox: Vec<_> = outbox
                .iter()
                .map(|m| {
                    (
                        m.recipient.clone(),
                        m.status,
                        m.attempts,
                        m.last_error.clone(),
                    )
                })
                .collect();
            panic!(
                "the primary's second page: mails {mails:?}\noutbox {outbox:?}\nemergency {e:#}"
            );
        }
        assert!(p.smtp.to(&p.secondary.email)[0]
            .subject()
            .contains("escalated"));
        let (_, e) = p.emergency(&id, &p.primary_token).await;
        assert_eq!(e["paging"]["rounds"], 2);
        assert!(e["paging"]["escalated_at"].is_string());

        // No agency acknowledges or sees another's emergency; its own officer cannot ack.
        let ack = format!("/api/v1/review/requests/{id}/acknowledge");
        let (st, _) = api(&p.s.base, &p.officer_b_token, Method::POST, &ack, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = api(&p.s.base, &p.officer_a_token, Method::POST, &ack, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = p.emergency(&id, &p.officer_b_token).await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // The primary acknowledges: paging stops, the time is recorded.
        let (st, e) = api(&p.s.base, &p.primary_token, Method::POST, &ack, None).await;
        assert_eq!(st, StatusCode::OK, "{e}");
        assert_eq!(e["status"], "acknowledged");
        assert_eq!(
            e["paging"]["acknowledged_by"],
            p.primary.id.to_string().as_str()
        );
        let secs = e["seconds_to_ack"].as_i64().unwrap();
        assert!(
            secs >= 15 * 60,
            "the test's clock moved 15 minutes before the ack: {secs}"
        );
        let queued =
            p.s.store
                .jobs()
                .list(&JobFilter {
                    status: Some(JobStatus::Queued),
                    kind: Some(job_kinds::PAGE.into()),
                    limit: 10,
                })
                .await
                .unwrap();
        assert!(queued.is_empty(), "no round is left to run: {queued:?}");
        // Mails are counted in the outbox, where a page is queued, not at the SMTP server,
        // which may still be receiving (at least once) a page queued before the ack.
        let request_id: uuid::Uuid = id.parse().unwrap();
        let outbox_mails = || async {
            p.s.store
                .outbox()
                .list(&MailFilter {
                    request_id: Some(request_id),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
                .len()
        };
        let (hooks, mails) = (p.hook.deliveries().len(), outbox_mails().await);
        p.advance(Duration::minutes(30));
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert_eq!(
            p.hook.deliveries().len(),
            hooks,
            "no page after the acknowledgement"
        );
        assert_eq!(
            outbox_mails().await,
            mails,
            "no page mail after the acknowledgement"
        );
        // Acknowledging again changes nothing.
        let (st, again) = api(&p.s.base, &p.primary_token, Method::POST, &ack, None).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(again["acknowledged_at"], e["acknowledged_at"]);
        assert!(common::audit_actions(&p.s.store)
            .await
            .contains(&"emergency.acknowledged".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn post_emergency_names_the_missing_field() {
    for p in servers("emergency_validation").await {
        let cases: Vec<(Value, &str)> = vec![
            (
                {
                    let mut j = emergency_intake();
                    j.as_object_mut().unwrap().remove("emergency");
                    j
                },
                "emergency",
            ),
            (
                {
                    let mut j = emergency_intake();
                    j["emergency"]["supervisor_name"] = json!(" ");
                    j
                },
                "emergency.supervisor_name",
            ),
            (
                {
                    let mut j = emergency_intake();
                    j["emergency"]
                        .as_object_mut()
                        .unwrap()
                        .remove("supervisor_phone");
                    j
                },
                "emergency.supervisor_phone",
            ),
            (
                {
                    let mut j = emergency_intake();
                    j["emergency"]["danger_of_death_or_serious_injury"] = json!(false);
                    j
                },
                "emergency.danger_of_death_or_serious_injury",
            ),
            (
                {
                    let mut j = emergency_intake();
                    j["process"] = json!("subpoena");
                    j
                },
                "process",
            ),
            (
                {
                    let mut j = emergency_intake();
                    j["targets"] = json!([]);
                    j
                },
                "targets",
            ),
        ];
        for (intake, field) in cases {
            let (st, body) =
                post_multipart(&p, "/api/v1/emergency", &p.officer_a_token, &intake, true).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("{field}:")),
                "{field}: {message}"
            );
        }
        let (st, body) = post_multipart(
            &p,
            "/api/v1/emergency",
            &p.officer_a_token,
            &emergency_intake(),
            false,
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("document:"));
        // Provider staff do not serve process.
        let (st, _) = post_multipart(
            &p,
            "/api/v1/emergency",
            &p.primary_token,
            &emergency_intake(),
            true,
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Nothing was stored: nothing pages.
        let (_, list) = api(
            &p.s.base,
            &p.officer_a_token,
            Method::GET,
            "/api/v1/requests",
            None,
        )
        .await;
        assert_eq!(list["total"], 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_answer_reminders_and_the_legal_process_that_follows() {
    for p in servers("emergency_follow_up").await {
        p.set_up_paging().await;
        let (st, r) = post_multipart(
            &p,
            "/api/v1/emergency",
            &p.officer_a_token,
            &emergency_intake(),
            true,
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let id = r["id"].as_str().unwrap().to_string();
        let rid: uuid::Uuid = id.parse().unwrap();

        // The reviewer acknowledges from the review page (the button, with CSRF).
        let (mut browser, _) = staff_signed_in(&p.s, "rory", Role::Reviewer).await;
        let page = browser.get(&format!("/review/requests/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("id=\"acknowledge\""),
            "the Acknowledge button"
        );
        let csrf = page.csrf();
        let done = browser
            .post(
                &format!("/review/requests/{id}/acknowledge"),
                &[("csrf", csrf.as_str())],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = browser.get(&format!("/review/requests/{id}")).await;
        assert!(page.by_id("time-to-ack").is_some(), "{}", page.body);
        assert!(!page.body.contains("id=\"acknowledge\""));
        assert!(page.body.contains("Staff rory"));

        // The first answer: the reviewer's message to the agency.
        let (st, _) = api(
            &p.s.base,
            &p.primary_token,
            Method::POST,
            &format!("/api/v1/requests/{id}/messages"),
            Some(json!({"body": "We are on it."})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let (_, e) = p.emergency(&id, &p.officer_a_token).await;
        assert_eq!(e["first_answer_kind"], "message");
        assert!(e["seconds_to_first_answer"].is_i64());
        assert_eq!(e["follow_up"]["served"], false);

        // The disclosure decision (approved: emergencies need a second person) starts the
        // reminders that legal process must follow; the first answer is stamped once.
        disclose(&p, rid).await;
        let (_, e) = p.emergency(&id, &p.officer_a_token).await;
        assert_eq!(
            e["first_answer_kind"], "message",
            "the first answer is stamped once"
        );
        // A second emergency, disclosed and never followed, to be reminded about.
        let (_, r2) = post_multipart(
            &p,
            "/api/v1/emergency",
            &p.officer_a_token,
            &emergency_intake(),
            true,
        )
        .await;
        let id2 = r2["id"].as_str().unwrap().to_string();
        let number2 = r2["number"].as_str().unwrap().to_string();
        disclose(&p, id2.parse().unwrap()).await;
        let (_, e2) = p.emergency(&id2, &p.primary_token).await;
        assert_eq!(e2["first_answer_kind"], "decision");

        // Another agency cannot claim to follow the first; the agency's own subpoena does.
        let mut sub = common::demand("subpoena", &["subscriber"]);
        sub["follows_emergency"] = r["number"].clone();
        let (st, body) =
            post_multipart(&p, "/api/v1/requests", &p.officer_b_token, &sub, true).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("follows_emergency:"));
        let (st, follow) =
            post_multipart(&p, "/api/v1/requests", &p.officer_a_token, &sub, true).await;
        assert_eq!(st, StatusCode::CREATED, "{follow}");
        let (_, e) = p.emergency(&id, &p.officer_a_token).await;
        assert_eq!(e["follow_up"]["served"], true);
        assert_eq!(e["follow_up"]["number"], follow["number"]);

        // The officer's request page shows it; the review page too.
        let mut officer = Browser::for_server(&p.s);
        officer.enrol(&p.officer_a.email).await;
        let page = officer.get(&format!("/portal/requests/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains(follow["number"].as_str().unwrap()),
            "{}",
            page.body
        );
        let page = officer.get(&format!("/portal/requests/{id2}")).await;
        assert!(page
            .by_id("emergency-followup")
            .unwrap()
            .contains("Not served yet"));
        let page = browser.get(&format!("/review/requests/{id}")).await;
        assert!(page.by_id("first-answer").unwrap().contains("message"));
        assert!(page.body.contains(follow["number"].as_str().unwrap()));

        // Two days later the officer is reminded of the second emergency only.
        p.advance(Duration::days(2) + Duration::minutes(1));
        until("the follow-up reminder", || {
            p.smtp
                .to(&p.officer_a.email)
                .iter()
                .any(|m| m.subject().contains(&number2))
        })
        .await;
        let reminder = p
            .smtp
            .to(&p.officer_a.email)
            .into_iter()
            .find(|m| m.subject().contains(&number2))
            .unwrap();
        assert!(reminder.text().contains("follows_emergency"));
        assert_no_customer_data(&reminder.text());
        // And again at seven days; never for the one whose process was served.
        p.advance(Duration::days(5));
        until("the second reminder", || {
            p.smtp
                .to(&p.officer_a.email)
                .iter()
                .filter(|m| m.subject().contains(&number2))
                .count()
                == 2
        })
        .await;
        let done = done_jobs(&p, job_kinds::FOLLOWUP_REMINDER, 4).await;
        assert_eq!(done, 4, "both reminders of both emergencies ran");
        let number1 = r["number"].as_str().unwrap();
        assert!(!p
            .smtp
            .messages()
            .iter()
            .any(|m| m.subject().contains(number1) && m.subject().contains("Serve")));
        let (_, e) = p.emergency(&id, &p.officer_a_token).await;
        assert_eq!(e["follow_up"]["reminders_sent"], 0);
        let (_, e2) = p.emergency(&id2, &p.officer_a_token).await;
        assert_eq!(e2["follow_up"]["reminders_sent"], 2);
    }
}

/// The reviewer decides to disclose the subscriber record; the approver approves.
async fn disclose(p: &Paged, rid: uuid::Uuid) {
    let store = &p.s.store;
    store
        .assign(&Actor::User(p.primary.id), rid, Some(p.primary.id))
        .await
        .unwrap();
    let record = store.get_request(Scope::Provider, rid).await.unwrap();
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
    }
    .validate(record.process, &record.intake.categories)
    .unwrap();
    store
        .record_decision(&Actor::User(p.primary.id), rid, &decision, true)
        .await
        .unwrap();
    let approver = store
        .find_user_by_email("avery@provider.example")
        .await
        .unwrap();
    store
        .approve_decision(&Actor::User(approver.id), rid)
        .await
        .unwrap();
}

/// Waits (up to 10 s) for `n` finished jobs of `kind`; returns how many there were.
async fn done_jobs(p: &Paged, kind: &str, n: usize) -> usize {
    let mut found = 0;
    for _ in 0..500 {
        let jobs =
            p.s.store
                .jobs()
                .list(&JobFilter {
                    status: Some(JobStatus::Done),
                    kind: Some(kind.into()),
                    limit: 50,
                })
                .await
                .unwrap();
        found = jobs.len();
        if found >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_page_keeps_the_rota_and_never_shows_the_secret() {
    for p in servers("emergency_admin_page").await {
        let (mut admin, _) = staff_signed_in(&p.s, "root", Role::Admin).await;
        let page = admin.get("/admin/on-call").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("id=\"no-rota\""));
        let csrf = page.csrf();
        let added = admin
            .post(
                "/admin/on-call/add",
                &[
                    ("csrf", csrf.as_str()),
                    ("tier", "primary"),
                    ("user", p.primary.email.as_str()),
                    ("from", "08:00"),
                    ("until", "20:00"),
                ],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        let bad = admin
            .post(
                "/admin/on-call/add",
                &[
                    ("csrf", csrf.as_str()),
                    ("tier", "primary"),
                    ("user", p.officer_a.email.as_str()),
                ],
            )
            .await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "an officer is not on call"
        );
        let saved = admin
            .post(
                "/admin/on-call/settings",
                &[
                    ("csrf", csrf.as_str()),
                    ("webhook_url", p.hook_url.as_str()),
                    ("webhook_secret", SECRET),
                    ("repage_minutes", "3"),
                    ("escalate_minutes", "10"),
                    ("followup_reminder_days", "2, 7"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let no_csrf = admin
            .post("/admin/on-call/settings", &[("webhook_url", "")])
            .await;
        assert_ne!(no_csrf.status, StatusCode::SEE_OTHER, "CSRF is checked");
        let page = admin.get("/admin/on-call").await;
        assert!(page.body.contains("08:00–20:00 UTC"));
        assert!(page.body.contains("never shown again"));
        assert!(!page.body.contains(SECRET));
        let (_, view) = api(
            &p.s.base,
            &p.admin,
            Method::GET,
            "/api/v1/admin/on-call",
            None,
        )
        .await;
        assert_eq!(view["entries"][0]["from"], "08:00");
        assert_eq!(view["settings"]["repage_minutes"], 3);
        assert_eq!(view["settings"]["escalate_minutes"], 10);
        // Only admins change it.
        let (st, _) = api(
            &p.s.base,
            &p.primary_token,
            Method::PUT,
            "/api/v1/admin/on-call",
            Some(json!({"entries": []})),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let actions = common::audit_actions(&p.s.store).await;
        assert!(actions.contains(&"on_call.rota_set".to_string()));
        assert!(actions.contains(&"paging.settings_changed".to_string()));
    }
}
