//! `custodian-bench emergency`: how long from an officer's emergency submission
//! (`POST /api/v1/emergency` with a PDF) to the page arriving at the paging webhook, against
//! the real `custodian serve` (release build) with a webhook receiver on loopback.
//!
//! Emergencies are sent one after another (each waits for its page), as they arrive in life:
//! rarely, and each one urgent. The clock starts before the HTTP request is sent and stops
//! when the receiver has read the page's body.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Bytes;
use clap::Args;
use serde::Serialize;
use tokio::sync::Notify;

use crate::cpu;
use crate::server::{self, PgSchema, Server, Store};
use crate::stats::Latency;

const TARGET_MS: f64 = 1000.0;
const RULE: &str = "PASS: every page delivered, max (submission -> webhook delivered) under 1 s";

#[derive(Args, Debug)]
pub struct EmergencyArgs {
    /// The `custodian` binary to start (build it with `cargo build --release -p custodian`).
    #[arg(long, default_value = "target/release/custodian")]
    custodian: PathBuf,
    /// Emergencies per backend.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
    /// A page not delivered within this many seconds counts as lost.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// The PostgreSQL database to make a throw-away schema in.
    #[arg(
        long,
        env = "CUSTODIAN_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    database_url: String,
    /// Skip Custodian on PostgreSQL.
    #[arg(long)]
    no_postgres: bool,
    /// Where to write the JSON results [default: bench/results/emergency-<UTC timestamp>.json].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct BackendResult {
    backend: String,
    status: String,
    note: Option<String>,
    sent: u32,
    delivered: u32,
    /// Submission -> page delivered at the webhook.
    page: Option<Latency>,
    /// Submission -> the 201 answer (the request stored).
    answer: Option<Latency>,
    verdict: Option<String>,
    server_warnings: usize,
}

#[derive(Debug, Serialize)]
struct Output {
    benchmark: &'static str,
    started_at: String,
    finished_at: String,
    cores: usize,
    load_average_before: Option<f64>,
    load_average_after: Option<f64>,
    note: &'static str,
    custodian: String,
    count: u32,
    rule: &'static str,
    backends: Vec<BackendResult>,
}

/// The receiver: the time each request id's first page arrived.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    async fn start(&self) -> anyhow::Result<String> {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/page",
            axum::routing::post(move |body: Bytes| {
                let me = me.clone();
                async move {
                    let at = Instant::now();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                        if let Some(id) = v.get("request_id").and_then(|i| i.as_str()) {
                            me.seen
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .entry(id.to_string())
                                .or_insert(at);
                            me.arrived.notify_waiters();
                        }
                    }
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/page", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }

    fn arrival(&self, id: &str) -> Option<Instant> {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
    }
}

/// A PDF small enough not to matter: the page's latency is the subject.
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

async fn admin_token(bin: &Path, store: &Store) -> anyhow::Result<String> {
    for (email, role) in [
        ("admin@provider.example", "admin"),
        ("oncall@provider.example", "reviewer"),
    ] {
        server::custodian(
            bin,
            store,
            &[
                "admin", "user", "create", "--email", email, "--name", role, "--role", role,
            ],
        )
        .await?;
    }
    let out = server::custodian(
        bin,
        store,
        &[
            "admin",
            "token",
            "create",
            "--user",
            "admin@provider.example",
        ],
    )
    .await?;
    out.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
        .context("no admin token printed")
}

async fn one_backend(
    args: &EmergencyArgs,
    backend: &str,
    database_url: Option<String>,
) -> anyhow::Result<BackendResult> {
    let dir = tempfile::tempdir()?;
    let store = Store {
        data_dir: dir.path().join("data"),
        database_url,
    };
    let officer = server::provision(&args.custodian, &store).await?;
    let admin = admin_token(&args.custodian, &store).await?;
    let srv = Server::start(&args.custodian, &store, dir.path().join("serve.log")).await?;
    let receiver = Receiver::default();
    let hook = receiver.start().await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    for (path, body) in [
        (
            "/api/v1/admin/on-call",
            serde_json::json!({"entries": [{"tier": "primary", "user": "oncall@provider.example"}]}),
        ),
        (
            "/api/v1/admin/on-call/settings",
            serde_json::json!({"webhook_url": hook, "webhook_secret": "bench-secret-0123456789"}),
        ),
    ] {
        let r = client
            .put(format!("{}{path}", srv.url))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{path}: {}", r.text().await.unwrap_or_default());
        }
    }
    let intake = serde_json::json!({
        "issuing_authority": "Bench PD",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": "someone@example.com"}],
        "categories": ["subscriber"],
        "emergency": {
            "danger_of_death_or_serious_injury": true,
            "supervisor_name": "Sgt. Bench",
            "supervisor_phone": "+1 555 0100",
        },
    })
    .to_string();
    let mut page_us = Vec::new();
    let mut answer_us = Vec::new();
    let mut lost = 0u32;
    for _ in 0..args.count {
        let form = reqwest::multipart::Form::new()
            .text("request", intake.clone())
            .part(
                "document",
                reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("emergency.pdf"),
            );
        let started = Instant::now();
        let resp = client
            .post(format!("{}/api/v1/emergency", srv.url))
            .bearer_auth(&officer)
            .multipart(form)
            .send()
            .await?;
        let answered = started.elapsed();
        if resp.status() != reqwest::StatusCode::CREATED {
            bail!("POST /api/v1/emergency answered {}", resp.status());
        }
        let v: serde_json::Value = resp.json().await?;
        let id = v["id"].as_str().context("no id")?.to_string();
        answer_us.push(answered.as_micros() as u64);
        let deadline = started + Duration::from_secs(args.timeout);
        loop {
            let notified = receiver.arrived.notified();
            if let Some(at) = receiver.arrival(&id) {
                page_us.push((at - started).as_micros() as u64);
                break;
            }
            if Instant::now() > deadline {
                lost += 1;
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }
    let ended = srv.stop().await;
    let page = Latency::from_micros(page_us.clone());
    let pass = lost == 0 && page.max_ms < TARGET_MS;
    Ok(BackendResult {
        backend: backend.into(),
        status: "ok".into(),
        note: ended.died.map(|d| format!("the server died: {d}")),
        sent: args.count,
        delivered: args.count - lost,
        page: Some(page),
        answer: Some(Latency::from_micros(answer_us)),
        verdict: Some(if pass { "PASS" } else { "MISS" }.into()),
        server_warnings: ended.warnings.len(),
    })
}

pub async fn run(args: EmergencyArgs) -> anyhow::Result<()> {
    if !args.custodian.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p custodian`",
            args.custodian.display()
        );
    }
    let started_at = chrono::Utc::now();
    let load_before = cpu::load_average();
    let mut backends = Vec::new();
    println!("emergency pages: {} per backend, one at a time", args.count);
    let sqlite = one_backend(&args, "sqlite", None).await;
    backends.push(sqlite.unwrap_or_else(|e| failed("sqlite", e)));
    if !args.no_postgres {
        match PgSchema::create(&args.database_url).await {
            Ok(schema) => {
                let r = one_backend(&args, "postgres", Some(schema.url())).await;
                backends.push(r.unwrap_or_else(|e| failed("postgres", e)));
            }
            Err(e) => backends.push(BackendResult {
                status: "skipped".into(),
                ..failed("postgres", e)
            }),
        }
    }
    for b in &backends {
        match &b.page {
            Some(p) => println!(
                "  {:<8} delivered {}/{}  page p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (201 answer p50 {:.1} ms)  {}",
                b.backend,
                b.delivered,
                b.sent,
                p.p50_ms,
                p.p99_ms,
                p.max_ms,
                b.answer.map(|a| a.p50_ms).unwrap_or_default(),
                b.verdict.as_deref().unwrap_or("")
            ),
            None => println!("  {:<8} {}: {}", b.backend, b.status, b.note.as_deref().unwrap_or("")),
        }
    }
    let out = Output {
        benchmark: "emergency",
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average_before: load_before,
        load_average_after: cpu::load_average(),
        note: "loopback only; the machine may be shared: see the load averages",
        custodian: args.custodian.display().to_string(),
        count: args.count,
        rule: RULE,
        backends,
    };
    let path = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "bench/results/emergency-{}.json",
            started_at.format("%Y%m%dT%H%M%SZ")
        ))
    });
    std::fs::write(&path, serde_json::to_string_pretty(&out)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("results: {}", path.display());
    Ok(())
}

fn failed(backend: &str, e: anyhow::Error) -> BackendResult {
    BackendResult {
        backend: backend.into(),
        status: "failed".into(),
        note: Some(format!("{e:#}")),
        sent: 0,
        delivered: 0,
        page: None,
        answer: None,
        verdict: None,
        server_warnings: 0,
    }
}
