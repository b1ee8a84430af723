//! `custodian-bench intake`: how many demands with a 200 KiB PDF Custodian takes in per second,
//! against the floor of the machine (a bare handler that only writes and fsyncs the upload).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use crate::bare::Bare;
use crate::cpu;
use crate::load::{self, Endpoint, Report, Settings};
use crate::pdf::Template;
use crate::server::{self, PgSchema, Server, Store};

/// The target each Custodian backend is held to.
const MIN_RATIO: f64 = 0.5;
const MAX_P99_MS: f64 = 100.0;
const RULE: &str = "PASS: at least half the bare handler's submissions/s, p99 under 100 ms, \
                    no errors, and the server still running at the end";

#[derive(Args, Debug)]
pub struct IntakeArgs {
    /// The `custodian` binary to start (build it with `cargo build --release -p custodian`).
    #[arg(long, default_value = "target/release/custodian")]
    custodian: PathBuf,
    /// Concurrent clients, each with one submission in flight at a time.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    clients: u32,
    /// Length of the measured phase per target, in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Length of the warm-up per target (not counted), in seconds.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup: u64,
    /// Size of each submitted PDF, in KiB.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=20_480))]
    pdf_kib: u64,
    /// A submission taking longer than this many seconds counts as an error.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=600))]
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
    /// Skip Custodian on SQLite.
    #[arg(long)]
    no_sqlite: bool,
    /// Where to write the JSON results [default: bench/results/intake-<UTC timestamp>.json].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the temporary data directories, the server logs and the PostgreSQL schema instead
    /// of deleting them.
    #[arg(long)]
    keep_data: bool,
}

#[derive(Debug, Serialize)]
struct ServerReport {
    /// Set when the server had exited by itself before the end.
    died: Option<String>,
    log_warnings: usize,
    first_log_warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TargetResult {
    name: String,
    backend: String,
    /// `ok`, `skipped` or `failed`.
    status: String,
    note: Option<String>,
    warmup: Option<Report>,
    result: Option<Report>,
    /// CPU use during the measured phase.
    cpu: Option<cpu::Usage>,
    /// Submissions/s relative to the bare handler's.
    ratio_to_bare: Option<f64>,
    /// `baseline`, `PASS` or `MISS`.
    verdict: Option<String>,
    server: Option<ServerReport>,
}

impl TargetResult {
    fn not_run(name: &str, backend: &str, status: &str, note: String) -> TargetResult {
        TargetResult {
            name: name.into(),
            backend: backend.into(),
            status: status.into(),
            note: Some(note),
            warmup: None,
            result: None,
            cpu: None,
            ratio_to_bare: None,
            verdict: None,
            server: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct Machine {
    cores: usize,
    /// The 1-minute load average before the run (it lags: a run just before counts too).
    load_average_before: Option<f64>,
    /// How busy the machine was in the second before the run, in %: well above zero, something
    /// else was running.
    busy_pct_before: Option<f64>,
    cpu: Option<String>,
    os: Option<String>,
    note: &'static str,
}

#[derive(Debug, Serialize)]
struct Output {
    benchmark: &'static str,
    started_at: String,
    finished_at: String,
    machine: Machine,
    custodian: String,
    custodian_version: Option<String>,
    clients: u32,
    seconds: u64,
    warmup_seconds: u64,
    pdf_bytes: usize,
    timeout_seconds: u64,
    rule: &'static str,
    targets: Vec<TargetResult>,
}

pub async fn run(args: IntakeArgs) -> anyhow::Result<()> {
    tokio::select! {
        r = run_all(args) => r,
        _ = tokio::signal::ctrl_c() => {
            // Dropping run_all kills the servers, drops the schema and removes the data.
            bail!("interrupted")
        }
    }
}

async fn run_all(args: IntakeArgs) -> anyhow::Result<()> {
    let started = chrono::Utc::now();
    if !args.custodian.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p custodian` or pass --custodian",
            args.custodian.display()
        );
    }
    let custodian = std::fs::canonicalize(&args.custodian)?;
    let out_path = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "bench/results/intake-{}.json",
            started.format("%Y%m%dT%H%M%SZ")
        ))
    });
    let version = tokio::process::Command::new(&custodian)
        .arg("--version")
        .output()
        .await
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());

    let work = tempfile::Builder::new()
        .prefix("custodian-bench-")
        .tempdir()
        .context("creating a temporary directory")?;
    let work_path = work.path().to_path_buf();
    let nonce =
        started.timestamp_nanos_opt().unwrap_or_default() as u64 ^ u64::from(std::process::id());
    let pdf_bytes = usize::try_from(args.pdf_kib * 1024)?;
    let settings = Settings {
        clients: args.clients as usize,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.seconds),
        timeout: Duration::from_secs(args.timeout),
        pdf: Arc::new(Template::new(pdf_bytes, nonce)),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "intake: {} clients, {} s warm-up + {} s per target, {} KiB PDFs, {} cores (shared by \
         the servers and the load generator); data under {}",
        args.clients,
        args.warmup,
        args.seconds,
        args.pdf_kib,
        cores,
        work_path.display()
    );

    let load_average_before = cpu::load_average();
    let idle_probe = cpu::Snapshot::take(None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy_before = cpu::Snapshot::take(None)
        .usage_since(&idle_probe)
        .machine_busy_pct;
    if let Some(busy) = busy_before.filter(|b| *b > 10.0) {
        println!(
            "warning: the machine was {busy:.0}% busy in the second before the run: something \
             else is using the CPU, and the figures will be lower and noisier than on a quiet \
             machine"
        );
    }

    let mut targets = Vec::new();

    // 1. The floor.
    println!("\n== bare: axum handler, write + fsync, in this process");
    let bare = Bare::start(work_path.join("bare")).await?;
    let bare_result = measure(
        "bare",
        "file+fsync",
        &settings,
        &Endpoint {
            submit_url: format!("{}/api/v1/requests", bare.url),
            token: None,
        },
        None,
    )
    .await;
    bare.stop().await;
    let bare_rate = bare_result
        .result
        .as_ref()
        .map(|r| r.per_second)
        .filter(|r| *r > 0.0);
    targets.push(bare_result);
    settle().await;

    // 2. Custodian on SQLite.
    if args.no_sqlite {
        println!("\n== custodian-sqlite: skipped (--no-sqlite)");
        targets.push(TargetResult::not_run(
            "custodian-sqlite",
            "sqlite",
            "skipped",
            "--no-sqlite".into(),
        ));
    } else {
        println!("\n== custodian-sqlite: custodian serve, SQLite in a fresh data dir");
        let store = Store {
            data_dir: work_path.join("sqlite"),
            database_url: None,
        };
        targets.push(
            custodian_target("custodian-sqlite", "sqlite", &custodian, &store, &settings).await,
        );
        settle().await;
    }

    // 3. Custodian on PostgreSQL.
    if args.no_postgres {
        println!("\n== custodian-postgres: skipped (--no-postgres)");
        targets.push(TargetResult::not_run(
            "custodian-postgres",
            "postgres",
            "skipped",
            "--no-postgres".into(),
        ));
    } else {
        println!("\n== custodian-postgres: custodian serve, PostgreSQL schema of its own");
        match PgSchema::create(&args.database_url).await {
            Err(e) => {
                let note = format!("PostgreSQL at {} is unreachable: {e:#}", args.database_url);
                println!("skipped: {note}");
                targets.push(TargetResult::not_run(
                    "custodian-postgres",
                    "postgres",
                    "skipped",
                    note,
                ));
            }
            Ok(schema) => {
                println!("schema {}", schema.name());
                let store = Store {
                    data_dir: work_path.join("postgres"),
                    database_url: Some(schema.url()),
                };
                targets.push(
                    custodian_target(
                        "custodian-postgres",
                        "postgres",
                        &custodian,
                        &store,
                        &settings,
                    )
                    .await,
                );
                if args.keep_data {
                    println!("schema {} kept", schema.keep());
                }
            }
        }
    }

    for t in &mut targets {
        let Some(r) = &t.result else { continue };
        if t.name == "bare" {
            t.ratio_to_bare = bare_rate.map(|_| 1.0);
            t.verdict = Some("baseline".into());
            continue;
        }
        t.ratio_to_bare = bare_rate.map(|b| r.per_second / b);
        let alive = !matches!(&t.server, Some(s) if s.died.is_some());
        let pass = t.ratio_to_bare.is_some_and(|x| x >= MIN_RATIO)
            && r.latency.p99_ms < MAX_P99_MS
            && r.submissions > 0
            && r.errors == 0
            && alive;
        t.verdict = Some(if pass { "PASS" } else { "MISS" }.into());
    }

    let finished = chrono::Utc::now();
    println!("\n{}", table(&targets));
    println!("{RULE}.");
    for t in &targets {
        if let Some(v) = &t.verdict {
            if v != "baseline" {
                println!("{}: {v}", t.name);
            }
        }
    }

    let output = Output {
        benchmark: "intake",
        started_at: started.to_rfc3339(),
        finished_at: finished.to_rfc3339(),
        machine: Machine {
            cores,
            load_average_before,
            busy_pct_before: busy_before,
            cpu: cpu_model(),
            os: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|s| format!("Linux {}", s.trim())),
            note: "the servers and the load generator share these cores",
        },
        custodian: custodian.display().to_string(),
        custodian_version: version,
        clients: args.clients,
        seconds: args.seconds,
        warmup_seconds: args.warmup,
        pdf_bytes: settings.pdf.len(),
        timeout_seconds: args.timeout,
        rule: RULE,
        targets,
    };
    if let Some(dir) = out_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out_path, serde_json::to_string_pretty(&output)? + "\n")
        .with_context(|| format!("writing {}", out_path.display()))?;
    println!("results: {}", out_path.display());

    if args.keep_data {
        let kept = work.keep();
        println!("data kept in {}", kept.display());
    }
    if output.targets.iter().any(|t| t.status == "failed") {
        bail!("a target failed to run (see above)");
    }
    Ok(())
}

/// Flush what the previous target left in the page cache, so it does not slow the next one.
/// (Nothing is deleted between targets: on a file system mounted with `discard`, deleting
/// gigabytes of uploads issues discards that slow the next target's first seconds.)
async fn settle() {
    let _ = tokio::process::Command::new("sync").status().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn measure(
    name: &str,
    backend: &str,
    settings: &Settings,
    endpoint: &Endpoint,
    server_pid: Option<u32>,
) -> TargetResult {
    let client = match load::http_client(settings) {
        Ok(c) => c,
        Err(e) => {
            return TargetResult::not_run(name, backend, "failed", format!("HTTP client: {e}"))
        }
    };
    let warmup = load::run(&client, endpoint, settings, settings.warmup).await;
    let before = cpu::Snapshot::take(server_pid);
    let result = load::run(&client, endpoint, settings, settings.duration).await;
    let cpu = cpu::Snapshot::take(server_pid).usage_since(&before);
    println!(
        "warm-up: {} submissions in {:.1} s ({:.1}/s), {} errors",
        warmup.submissions, warmup.elapsed_s, warmup.per_second, warmup.errors
    );
    print_report(&result);
    print_cpu(&cpu);
    TargetResult {
        name: name.into(),
        backend: backend.into(),
        status: "ok".into(),
        note: None,
        warmup: Some(warmup),
        result: Some(result),
        cpu: Some(cpu),
        ratio_to_bare: None,
        verdict: None,
        server: None,
    }
}

async fn custodian_target(
    name: &str,
    backend: &str,
    bin: &Path,
    store: &Store,
    settings: &Settings,
) -> TargetResult {
    match custodian_target_inner(name, backend, bin, store, settings).await {
        Ok(r) => r,
        Err(e) => {
            println!("FAILED: {e:#}");
            TargetResult::not_run(name, backend, "failed", format!("{e:#}"))
        }
    }
}

async fn custodian_target_inner(
    name: &str,
    backend: &str,
    bin: &Path,
    store: &Store,
    settings: &Settings,
) -> anyhow::Result<TargetResult> {
    std::fs::create_dir_all(&store.data_dir)?;
    let token = server::provision(bin, store)
        .await
        .context("setting up the agency, officer and token")?;
    let log = store.data_dir.join("serve.log");
    let server = Server::start(bin, store, log).await?;
    println!("{} (log: {})", server.url, server.log.display());
    let endpoint = Endpoint {
        submit_url: format!("{}/api/v1/requests", server.url),
        token: Some(token),
    };
    let mut result = measure(name, backend, settings, &endpoint, server.pid()).await;
    let ended = server.stop().await;
    if let Some(status) = &ended.died {
        println!("the server had exited by itself: {status}");
    }
    if !ended.warnings.is_empty() {
        println!(
            "{} WARN/ERROR lines in the server log, first:",
            ended.warnings.len()
        );
        for w in ended.warnings.iter().take(5) {
            println!("  {w}");
        }
    }
    result.server = Some(ServerReport {
        died: ended.died,
        log_warnings: ended.warnings.len(),
        first_log_warnings: ended.warnings.into_iter().take(20).collect(),
    });
    Ok(result)
}

fn print_report(r: &Report) {
    println!(
        "measured: {} submissions in {:.1} s = {:.1}/s; p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, \
         p99.9 {:.1} ms, max {:.1} ms; {} errors",
        r.submissions,
        r.elapsed_s,
        r.per_second,
        r.latency.p50_ms,
        r.latency.p90_ms,
        r.latency.p99_ms,
        r.latency.p999_ms,
        r.latency.max_ms,
        r.errors
    );
    for (kind, n) in &r.error_kinds {
        println!("  {n} × {kind}");
    }
    for s in &r.error_samples {
        println!("  e.g. {s}");
    }
    // Whole seconds with nothing completed, except the last (partial) one.
    let full = r.timeline_ok.len().saturating_sub(1);
    let stalls: Vec<usize> = (0..full).filter(|&i| r.timeline_ok[i] == 0).collect();
    if !stalls.is_empty() {
        println!("  seconds with no submission completed: {stalls:?}");
    }
    let slow: Vec<String> = r
        .slowest
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{:.0} ms at {:.1} s ({})",
                s.latency_ms, s.sent_at_s, s.outcome
            )
        })
        .collect();
    if !slow.is_empty() {
        println!("  slowest: {}", slow.join(", "));
    }
}

fn print_cpu(u: &cpu::Usage) {
    let pct = |x: Option<f64>| x.map_or_else(|| "?".to_string(), |v| format!("{v:.0}%"));
    let cores = |x: Option<f64>| x.map_or_else(|| "?".to_string(), |v| format!("{v:.2}"));
    let mut line = format!(
        "  cpu: machine {} busy, {} iowait, {} steal; load generator process {} cores",
        pct(u.machine_busy_pct),
        pct(u.machine_iowait_pct),
        pct(u.machine_steal_pct),
        cores(u.bench_process_cores)
    );
    if u.server_process_cores.is_some() {
        let _ = write!(line, ", custodian {} cores", cores(u.server_process_cores));
    }
    let _ = write!(line, ", everything else {} cores", cores(u.other_cores));
    println!("{line}");
}

fn table(targets: &[TargetResult]) -> String {
    let mut s = String::from(
        "| target | submissions/s | vs bare | p50 ms | p99 ms | max ms | submissions | errors | verdict |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for t in targets {
        match &t.result {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "| {} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
                    t.name,
                    r.per_second,
                    t.ratio_to_bare
                        .map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}")),
                    r.latency.p50_ms,
                    r.latency.p99_ms,
                    r.latency.max_ms,
                    r.submissions,
                    r.errors,
                    t.verdict.as_deref().unwrap_or("")
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | {} | | | | | | | {} |",
                    t.name,
                    t.status,
                    t.note.as_deref().unwrap_or("").replace('|', "/")
                );
            }
        }
    }
    s
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_string())
}
