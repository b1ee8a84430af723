//! `custodian-bench report`: the transparency report at scale (issue 7), beside the database
//! shells in the same run, on SQLite and on PostgreSQL.
//!
//! One CSV of generated requests, then per backend:
//! - import: `custodian import FILE` against the shell's own bulk load of the same file into a
//!   plain table (`.import` in the sqlite3 shell, `\copy` in psql);
//! - report: a half-year's report against the plain SQL `GROUP BY`s that give its three tables
//!   (by process, by country, by country and process) over that plain table in the shell. The
//!   report is timed in this process (`store.reports().report(period)`, the counters read and
//!   the report built, no process start) and as a whole `custodian report` run (process start,
//!   opening and migrating the database, JSON out). The GROUP BY's rows are checked against the
//!   report's, so both count the same requests.
//!
//! Every figure is recorded with the 1-minute load average before it and the machine's busy
//! share during it: other work on the machine slows every figure.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::cpu;

/// Targets of issue 7.
const MIN_IMPORT_RATIO: f64 = 0.5;
const MAX_REPORT_MS: f64 = 50.0;
const MIN_REPORT_SPEEDUP: f64 = 20.0;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Requests to generate.
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    rows: u64,
    /// The half-year to report on (the generated requests span 2020 to 2025).
    #[arg(long, default_value = "2023-H1")]
    period: String,
    /// Timed repetitions of each report and GROUP BY (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    repeat: u32,
    /// The custodian binary (a release build).
    #[arg(long, default_value = "target/release/custodian")]
    custodian: PathBuf,
    /// PostgreSQL for the second half; each run makes its own schemas and drops them.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    database_url: String,
    /// SQLite only.
    #[arg(long)]
    no_postgres: bool,
    /// Where to generate the CSV and the databases [default: the system's temporary
    /// directory]. 10 million requests take about 6 GB there during the run.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where to write the JSON results [default: bench/results/report-<UTC timestamp>.json].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the generated CSV and the SQLite databases.
    #[arg(long)]
    keep_data: bool,
}

/// One timed step.
#[derive(Debug, Clone, Serialize)]
struct Timing {
    what: String,
    /// Median of the runs, in seconds.
    seconds: f64,
    /// Every run, in seconds.
    runs: Vec<f64>,
    load_average_before: Option<f64>,
    machine_busy_pct: Option<f64>,
    /// CPU seconds (user + system) a run of the command used, on average: the figure that
    /// other work on the machine disturbs least. PostgreSQL's server processes are not the
    /// benchmark's children: their share is not in it.
    cpu_seconds: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Backend {
    backend: String,
    bulk_load: Timing,
    custodian_import: Timing,
    /// custodian import's speed as a share of the shell's bulk load.
    import_ratio: f64,
    group_by: Timing,
    report_in_process: Timing,
    report_cli: Timing,
    /// GROUP BY time over the in-process report time.
    report_speedup: f64,
    same_counts: bool,
    import_summary: String,
    verdict: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Results {
    benchmark: &'static str,
    started_at: String,
    rows: u64,
    csv_bytes: u64,
    period: String,
    requests_in_period: u64,
    cores: usize,
    custodian: String,
    targets: String,
    backends: Vec<Backend>,
}

fn timed<T>(
    what: &str,
    repeat: u32,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Timing, T)> {
    let load = cpu::load_average();
    let before = cpu::Snapshot::take(None);
    let cpu_before = total_cpu_s();
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..repeat {
        let t = Instant::now();
        last = Some(f()?);
        runs.push(t.elapsed().as_secs_f64());
    }
    let usage = cpu::Snapshot::take(None).usage_since(&before);
    let cpu = (total_cpu_s() - cpu_before) / f64::from(repeat.max(1));
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let timing = Timing {
        what: what.to_string(),
        seconds: sorted[sorted.len() / 2],
        runs,
        load_average_before: load,
        machine_busy_pct: usage.machine_busy_pct,
        cpu_seconds: Some(cpu),
    };
    eprintln!(
        "  {what}: {} ({cpu:.2} s of CPU; load average before {})",
        seconds(timing.seconds),
        load.map_or("?".into(), |l| format!("{l:.2}"))
    );
    last.map(|v| (timing, v)).context("nothing was run")
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Generates `rows` requests as an import file; returns how many fall in `period`.
fn generate(path: &Path, rows: u64, period: (i32, u32)) -> anyhow::Result<u64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let processes = [
        "subpoena",
        "search_warrant",
        "court_order_other",
        "court_order_2703d",
        "emergency",
        "preservation",
        "epoc",
        "cloud_act_order",
        "foreign_direct",
        "national_security_letter",
    ];
    let countries = [
        "US", "DE", "FR", "GB", "IN", "BR", "JP", "AU", "CA", "IT", "ES", "MX", "KR", "PL", "NL",
        "TR", "AR", "SG", "IE", "BE",
    ];
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).context("date")?;
    let mut f = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        f,
        "reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,responded_at"
    )?;
    let mut in_period = 0;
    for i in 0..rows {
        let day = start + chrono::Duration::days(rng.gen_range(0..2192));
        use chrono::Datelike;
        if (day.year(), if day.month() <= 6 { 1 } else { 2 }) == period {
            in_period += 1;
        }
        let process = processes[rng.gen_range(0..processes.len())];
        let (outcome, disclosed, reason) = match rng.gen_range(0..10) {
            0..=4 => ("full", "non_content", ""),
            5..=6 => ("partial", "content", ""),
            7 => ("none", "none", "rejected"),
            8 => ("none", "none", "no_data"),
            _ => ("none", "none", "withdrawn"),
        };
        let answered = day + chrono::Duration::days(rng.gen_range(0..30));
        writeln!(
            f,
            "R{i},{day},{},{process},{},{},{outcome},{disclosed},{reason},{},{},{answered}",
            countries[rng.gen_range(0..countries.len())],
            process == "emergency",
            rng.gen_range(1..4),
            rng.gen_bool(0.2),
            rng.gen_bool(0.3),
        )?;
    }
    f.flush()?;
    Ok(in_period)
}

/// The plain GROUP BYs that give the report's three tables, over the shell's table (every
/// column text, as the shells load a CSV). National security process is outside these
/// tables in the report, so it is here too.
fn group_by_sql(from: &str, to: &str) -> String {
    let filter = format!(
        "WHERE received_at >= '{from}' AND received_at < '{to}' \
         AND process NOT IN ('national_security_letter', 'fisa_order')"
    );
    let n = |cond: &str| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)");
    format!(
        "SELECT process, COUNT(*), {}, {}, {} FROM requests {filter} GROUP BY process ORDER BY process;\n\
         SELECT country, COUNT(*), {}, {}, {}, {} FROM requests {filter} GROUP BY country ORDER BY country;\n\
         SELECT country, process, COUNT(*), {}, SUM(CAST(accounts AS INTEGER)) FROM requests {filter} \
         GROUP BY country, process ORDER BY country, process;\n",
        n("outcome = 'full'"),
        n("outcome = 'partial'"),
        n("outcome = 'none'"),
        n("disclosed = 'content'"),
        n("disclosed = 'non_content'"),
        n("disclosed = 'none' AND none_reason <> 'rejected'"),
        n("none_reason = 'rejected'"),
        n("disclosed IN ('content', 'non_content')"),
    )
}

/// The GROUP BY's first table (process, received, full, partial, none), from the shell's CSV
/// output, against the report's `by_process`.
fn same_counts(shell_csv: &str, report: &custodian_report::Report) -> bool {
    let mut want: Vec<(String, u64, u64, u64, u64)> = report
        .by_process
        .iter()
        .map(|r| (r.process.clone(), r.received, r.full, r.partial, r.none))
        .collect();
    want.sort();
    let got: Vec<(String, u64, u64, u64, u64)> = shell_csv
        .lines()
        .map(|l| l.split(',').map(str::trim).collect::<Vec<_>>())
        .filter(|f| f.len() == 5 && f[1].parse::<u64>().is_ok())
        .map(|f| {
            let n = |i: usize| f[i].parse::<u64>().unwrap_or(u64::MAX);
            (f[0].to_string(), n(1), n(2), n(3), n(4))
        })
        .collect();
    want == got
}

pub async fn run_bench(args: ReportArgs) -> anyhow::Result<()> {
    let period: custodian_report::Period = args.period.parse().map_err(anyhow::Error::msg)?;
    let half = period
        .half
        .context("--period must be a half-year, e.g. 2023-H1")?;
    let (from, to) = period.dates();
    let to_exclusive = to + chrono::Duration::days(1);
    if !args.custodian.exists() {
        bail!(
            "{} not found: cargo build --release --bin custodian",
            args.custodian.display()
        );
    }
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("custodian-bench-report-")
        .tempdir_in(&base)?;
    let dir = work.path().to_path_buf();
    let csv = dir.join("requests.csv");
    let started_at = chrono::Utc::now();
    eprintln!("generating {} requests in {} ...", args.rows, csv.display());
    let in_period = generate(&csv, args.rows, (period.year, u32::from(half)))?;
    let csv_bytes = std::fs::metadata(&csv)?.len();
    let sql = group_by_sql(&from.to_string(), &to_exclusive.to_string());
    let mut backends = Vec::new();

    eprintln!("SQLite");
    backends.push(sqlite(&args, &dir, &csv, period, &sql).await?);
    if !args.no_postgres {
        eprintln!("PostgreSQL");
        match postgres(&args, &dir, &csv, period, &sql).await {
            Ok(b) => backends.push(b),
            Err(e) => eprintln!("  PostgreSQL skipped: {e:#}"),
        }
    }

    let results = Results {
        benchmark: "report",
        started_at: started_at.to_rfc3339(),
        rows: args.rows,
        csv_bytes,
        period: period.to_string(),
        requests_in_period: in_period,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        custodian: args.custodian.display().to_string(),
        targets: format!(
            "import at least {MIN_IMPORT_RATIO} x the shell's bulk load; a half-year report \
             under {MAX_REPORT_MS} ms and at least {MIN_REPORT_SPEEDUP} x faster than the \
             GROUP BY"
        ),
        backends,
    };
    print_table(&results);
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "bench/results/report-{}.json",
            started_at.format("%Y%m%dT%H%M%SZ")
        ))
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")?;
    eprintln!("results: {}", out.display());
    if args.keep_data {
        let kept = work.keep();
        eprintln!("kept {}", kept.display());
    }
    Ok(())
}

fn verdict(b: &mut Backend) {
    let mut v = Vec::new();
    let pass = |ok: bool| if ok { "PASS" } else { "MISS" };
    v.push(format!(
        "{} import at {:.2} x the shell's bulk load (target >= {MIN_IMPORT_RATIO})",
        pass(b.import_ratio >= MIN_IMPORT_RATIO),
        b.import_ratio
    ));
    v.push(format!(
        "{} report in {:.2} ms in process (target < {MAX_REPORT_MS} ms; whole CLI run {:.1} ms)",
        pass(b.report_in_process.seconds * 1000.0 < MAX_REPORT_MS),
        b.report_in_process.seconds * 1000.0,
        b.report_cli.seconds * 1000.0
    ));
    v.push(format!(
        "{} report {:.0} x faster than the GROUP BY (target >= {MIN_REPORT_SPEEDUP}; the whole \
         CLI run is {:.0} x faster)",
        pass(b.report_speedup >= MIN_REPORT_SPEEDUP),
        b.report_speedup,
        b.group_by.seconds / b.report_cli.seconds
    ));
    if !b.same_counts {
        v.push("MISS the GROUP BY and the report do not count the same requests".into());
    }
    b.verdict = v;
}

async fn in_process_report(
    url: &str,
    period: custodian_report::Period,
    repeat: u32,
) -> anyhow::Result<(Timing, custodian_report::Report)> {
    let store = custodian_store::connect(url).await?;
    // Once untimed, so that pools and statement caches are as a running server has them.
    store.reports().report(period).await?;
    let load = cpu::load_average();
    let before = cpu::Snapshot::take(None);
    let mut runs = Vec::new();
    let mut report = None;
    for _ in 0..repeat.max(5) {
        let t = Instant::now();
        report = Some(store.reports().report(period).await?);
        runs.push(t.elapsed().as_secs_f64());
    }
    let usage = cpu::Snapshot::take(None).usage_since(&before);
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let timing = Timing {
        what: "report, in process".into(),
        seconds: sorted[sorted.len() / 2],
        runs,
        load_average_before: load,
        machine_busy_pct: usage.machine_busy_pct,
        cpu_seconds: None,
    };
    eprintln!("  report, in process: {}", seconds(timing.seconds));
    Ok((timing, report.context("no report")?))
}

/// Untimed, before each bulk load: the dirty pages the step before left (a 10-million-row
/// load leaves about a gigabyte) are written out first, and on PostgreSQL a checkpoint is
/// taken, so that neither load pays for the other's writes.
fn settle(psql_checkpoint: Option<&dyn Fn() -> anyhow::Result<String>>) -> anyhow::Result<()> {
    if let Some(checkpoint) = psql_checkpoint {
        checkpoint()?;
    }
    run(&mut Command::new("sync"))?;
    Ok(())
}

fn custodian_import(
    args: &ReportArgs,
    csv: &Path,
    env: &[(&str, String)],
) -> anyhow::Result<(Timing, String)> {
    timed("custodian import", 1, || {
        let mut cmd = Command::new(&args.custodian);
        cmd.arg("import")
            .arg(csv)
            .env("CUSTODIAN_LOG", "error")
            .env_remove("CUSTODIAN_DATABASE_URL")
            .env_remove("CUSTODIAN_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = run(&mut cmd)?;
        let summary = out.lines().next().unwrap_or_default().to_string();
        if !summary.contains(&format!("imported {},", args.rows)) {
            bail!("custodian import did not import every row: {summary}");
        }
        Ok(summary)
    })
}

fn custodian_report_cli(
    args: &ReportArgs,
    period: custodian_report::Period,
    env: &[(&str, String)],
) -> anyhow::Result<Timing> {
    let p = period.to_string();
    let cmd = || {
        let mut cmd = Command::new(&args.custodian);
        cmd.args(["report", "--period", &p, "--unsigned"])
            .env("CUSTODIAN_LOG", "error")
            .env_remove("CUSTODIAN_DATABASE_URL")
            .env_remove("CUSTODIAN_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    };
    run(&mut cmd())?; // once untimed: the binary in the page cache
    Ok(timed("custodian report (whole CLI run)", args.repeat, || {
        run(&mut cmd())
    })?
    .0)
}

async fn sqlite(
    args: &ReportArgs,
    dir: &Path,
    csv: &Path,
    period: custodian_report::Period,
    sql: &str,
) -> anyhow::Result<Backend> {
    let plain = dir.join("plain.db");
    let data = dir.join("custodian-sqlite");
    settle(None)?;
    let (bulk_load, _) = timed("sqlite3 .import", 1, || {
        run(Command::new("sqlite3")
            .arg(&plain)
            .args([".mode csv", &format!(".import {} requests", csv.display())]))
    })?;
    let env = [("CUSTODIAN_DATA_DIR", data.display().to_string())];
    settle(None)?;
    let (import, summary) = custodian_import(args, csv, &env)?;
    let (group_by, shell_out) = timed("GROUP BY in the sqlite3 shell", args.repeat, || {
        run(Command::new("sqlite3")
            .args(["-csv", "-readonly"])
            .arg(&plain)
            .arg(sql))
    })?;
    let url = format!("sqlite://{}", data.join("custodian.db").display());
    let (in_process, report) = in_process_report(&url, period, args.repeat).await?;
    let cli = custodian_report_cli(args, period, &env)?;
    let mut b = Backend {
        backend: "sqlite".into(),
        import_ratio: bulk_load.seconds / import.seconds,
        report_speedup: group_by.seconds / in_process.seconds,
        same_counts: same_counts(&shell_out, &report),
        bulk_load,
        custodian_import: import,
        group_by,
        report_in_process: in_process,
        report_cli: cli,
        import_summary: summary,
        verdict: Vec::new(),
    };
    verdict(&mut b);
    if !args.keep_data {
        let _ = std::fs::remove_file(&plain);
        let _ = std::fs::remove_dir_all(&data);
    }
    Ok(b)
}

async fn postgres(
    args: &ReportArgs,
    dir: &Path,
    csv: &Path,
    period: custodian_report::Period,
    sql: &str,
) -> anyhow::Result<Backend> {
    let suffix = std::process::id();
    let plain = format!("bench_report_plain_{suffix}");
    let ours = format!("bench_report_custodian_{suffix}");
    let script_file = dir.join("psql.sql");
    let psql = |schema: &str, script: &str| -> anyhow::Result<String> {
        std::fs::write(&script_file, script)?;
        run(Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-F", ",", "-t"])
            .arg(&args.database_url)
            .env("PGOPTIONS", format!("-c search_path={schema}"))
            .arg("-f")
            .arg(&script_file))
    };
    let result = async {
        psql(
            "public",
            &format!("CREATE SCHEMA {plain}; CREATE SCHEMA {ours};"),
        )?;
        psql(
            &plain,
            "CREATE TABLE requests (reference text, received_at text, country text, \
             process text, emergency text, accounts text, outcome text, disclosed text, \
             none_reason text, ndo text, notified text, responded_at text)",
        )?;
        let checkpoint = || psql("public", "CHECKPOINT");
        settle(Some(&checkpoint))?;
        let (bulk_load, _) = timed("psql \\copy", 1, || {
            psql(
                &plain,
                &format!(
                    "\\copy requests FROM '{}' WITH (FORMAT csv, HEADER true)",
                    csv.display()
                ),
            )
        })?;
        psql(&plain, "ANALYZE requests")?;
        let sep = if args.database_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}options=-csearch_path%3D{ours}", args.database_url);
        let env = [
            ("CUSTODIAN_DATABASE_URL", url.clone()),
            (
                "CUSTODIAN_DATA_DIR",
                dir.join("custodian-pg").display().to_string(),
            ),
        ];
        settle(Some(&checkpoint))?;
        let (import, summary) = custodian_import(args, csv, &env)?;
        let (group_by, shell_out) = timed("GROUP BY in psql", args.repeat, || psql(&plain, sql))?;
        let (in_process, report) = in_process_report(&url, period, args.repeat).await?;
        let cli = custodian_report_cli(args, period, &env)?;
        let mut b = Backend {
            backend: "postgres".into(),
            import_ratio: bulk_load.seconds / import.seconds,
            report_speedup: group_by.seconds / in_process.seconds,
            same_counts: same_counts(&shell_out, &report),
            bulk_load,
            custodian_import: import,
            group_by,
            report_in_process: in_process,
            report_cli: cli,
            import_summary: summary,
            verdict: Vec::new(),
        };
        verdict(&mut b);
        anyhow::Ok(b)
    }
    .await;
    psql(
        "public",
        &format!("DROP SCHEMA IF EXISTS {plain} CASCADE; DROP SCHEMA IF EXISTS {ours} CASCADE;"),
    )?;
    result
}

fn print_table(r: &Results) {
    println!(
        "\n{} requests ({} MB of CSV), {} requests in {}, {} cores\n",
        r.rows,
        r.csv_bytes / 1_000_000,
        r.requests_in_period,
        r.period,
        r.cores
    );
    println!(
        "| backend | shell bulk load | custodian import | ratio | CPU s (shell / import) | GROUP BY | report (in process) | report (CLI run) | speed-up | load avg |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for b in &r.backends {
        let load = |t: &Timing| {
            t.load_average_before
                .map_or("?".into(), |l| format!("{l:.1}"))
        };
        let cpu = |t: &Timing| t.cpu_seconds.map_or("?".into(), |c| format!("{c:.1}"));
        println!(
            "| {} | {} | {} | {:.2} | {} / {} | {} | {} | {} | {:.0} x | {} / {} / {} / {} |",
            b.backend,
            seconds(b.bulk_load.seconds),
            seconds(b.custodian_import.seconds),
            b.import_ratio,
            cpu(&b.bulk_load),
            cpu(&b.custodian_import),
            seconds(b.group_by.seconds),
            seconds(b.report_in_process.seconds),
            seconds(b.report_cli.seconds),
            b.report_speedup,
            load(&b.bulk_load),
            load(&b.custodian_import),
            load(&b.group_by),
            load(&b.report_in_process),
        );
    }
    for b in &r.backends {
        for v in &b.verdict {
            println!("{}: {v}", b.backend);
        }
    }
}

/// User + system CPU seconds of every child waited for so far.
fn total_cpu_s() -> f64 {
    let (user, system) = crate::package::children_cpu_s();
    user + system
}
