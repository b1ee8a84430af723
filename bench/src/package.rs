//! `custodian-bench package`: packaging a production of content files (issue 5), beside
//! `sha256sum` over the same files in the same run.
//!
//! The files are generated once (pseudo-random, so nothing compresses or deduplicates) and
//! flushed to disk; every measured phase starts with the files read once more (page cache
//! warm for all) and no dirty pages left from the phase before (`sync`), and its output is
//! deleted once measured (so that no phase writes while another's output fills the page
//! cache). Each phase runs in a child process, whose CPU time comes from
//! `getrusage(RUSAGE_CHILDREN)` and whose peak resident memory the packaging child reads from
//! its own /proc/self/status (VmHWM). Rounds alternate sha256sum, cat, age and ZIP so that a
//! change in the machine's load hits all of them; on a shared machine `--high-priority` gives
//! every phase precedence over other sessions' work.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::cpu;

/// The targets: packaging at no less than this share of sha256sum's throughput, in less than
/// this much memory.
const MIN_RATIO: f64 = 0.8;
const MAX_RSS_MIB: f64 = 64.0;

#[derive(Args, Debug)]
pub struct PackageArgs {
    /// Total size of the generated content, in MiB.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(16..=65_536))]
    total_mib: u64,
    /// Rounds of (sha256sum, age, ZIP).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Where to generate the files and write the packages [default: the system's temporary
    /// directory]; the same disk for both.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where to write the JSON results [default: bench/results/package-<UTC timestamp>.json].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the generated files and the last round's outputs (that round's later phases then
    /// write while the earlier outputs still fill the page cache).
    #[arg(long)]
    keep_data: bool,
    /// Keep the generated files in this directory and use them again on the next run (they
    /// are regenerated if their names or sizes differ from what --total-mib plans).
    #[arg(long)]
    content: Option<PathBuf>,
    /// Run every measured phase in a session of its own at the highest priority (autogroup
    /// and nice -20; needs root or CAP_SYS_NICE), so that other work on a shared machine takes
    /// less from it. Recorded in the results. Not needed on a quiet machine.
    #[arg(long)]
    high_priority: bool,
}

/// The phases of a round: the baseline, the floor of writing as many bytes to the same disk
/// (`cat` of every file into one new file), and the two packagings.
const TARGETS: [&str; 4] = ["sha256sum", "cat", "age", "zip"];

/// The hidden subcommand the benchmark runs as its packaging child.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The directory of generated files.
    #[arg(long)]
    input: PathBuf,
    /// The package to write.
    #[arg(long)]
    output: PathBuf,
    /// `age` (to the recipient in CUSTODIAN_BENCH_AGE_RECIPIENT) or `zip` (passphrase in
    /// CUSTODIAN_BENCH_PASSPHRASE).
    #[arg(long)]
    protection: String,
    /// `Options::chunk_size` in KiB [default: the builder's].
    #[arg(long)]
    chunk_kib: Option<usize>,
}

/// What the packaging child reports on stdout.
#[derive(Debug, Serialize, Deserialize)]
struct WorkerReport {
    vm_hwm_kib: u64,
    package_bytes: u64,
    files: u64,
    record_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Phase {
    round: u32,
    target: String,
    wall_s: f64,
    mib_per_s: f64,
    /// User + system CPU seconds of the child process.
    cpu_s: f64,
    /// Of which in the kernel (reading the files, writing the package).
    system_s: f64,
    /// Throughput per CPU second: what the phase would do alone on one core.
    mib_per_cpu_s: f64,
    /// Wall-clock throughput over sha256sum's in the same round.
    ratio_to_sha256sum: Option<f64>,
    peak_rss_mib: Option<f64>,
    package_bytes: Option<u64>,
    machine: cpu::Usage,
    load_average_before: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Summary {
    target: String,
    median_mib_per_s: f64,
    median_ratio_to_sha256sum: Option<f64>,
    median_mib_per_cpu_s: f64,
    max_peak_rss_mib: Option<f64>,
    verdict: Option<String>,
}

#[derive(Debug, Serialize)]
struct Results {
    benchmark: &'static str,
    started: String,
    finished: String,
    rule: String,
    machine: Machine,
    files: FileSet,
    phases: Vec<Phase>,
    summary: Vec<Summary>,
    verified: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    /// Whether the phases ran with --high-priority.
    high_priority: bool,
    cpu_model: Option<String>,
    sha_ni: bool,
    kernel: Option<String>,
    sha256sum_version: Option<String>,
    custodian_commit: Option<String>,
}

#[derive(Debug, Serialize)]
struct FileSet {
    files: usize,
    bytes: u64,
    videos: usize,
    photos: usize,
    documents: usize,
    generate_s: f64,
}

pub async fn run(args: PackageArgs) -> anyhow::Result<()> {
    let started = chrono::Utc::now();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("custodian-bench-package-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a directory in {}", base.display()))?;
    let input = args
        .content
        .clone()
        .unwrap_or_else(|| work.path().join("content"));
    if args.high_priority {
        check_high_priority()?;
    }
    let total = args.total_mib << 20;
    let t = Instant::now();
    let (plan, mut files) = plan(total);
    let sorted = |mut list: Vec<(String, u64)>| {
        list.sort();
        list
    };
    let present = list_files(&input).ok().map(sorted);
    if present == Some(sorted(plan.clone())) {
        println!("using the content files in {}", input.display());
    } else {
        println!(
            "generating {} MiB of content files in {}",
            args.total_mib,
            input.display()
        );
        let _ = std::fs::remove_dir_all(&input);
        tokio::task::spawn_blocking({
            let input = input.clone();
            let plan = plan.clone();
            move || generate(&input, &plan)
        })
        .await??;
        files.generate_s = t.elapsed().as_secs_f64();
    }
    println!(
        "  {} files ({} videos, {} photos, {} documents), {} bytes",
        files.files, files.videos, files.photos, files.documents, files.bytes
    );
    let list = list_files(&input)?;

    let identity = age_identity();
    let recipient = identity_recipient(&identity)?;
    let passphrase = custodian_production::Passphrase::generate();
    let exe = std::env::current_exe().context("locating this executable")?;
    let mut phases = Vec::new();
    let mut verified = Vec::new();
    for round in 1..=args.rounds {
        let mut sha_wall = None;
        for target in TARGETS {
            settle(&input, &list)?;
            let load = cpu::load_average();
            let output = work.path().join(format!("package-{round}.{target}"));
            let before_cpu = children_cpu_s();
            let snap = cpu::Snapshot::take(None);
            let favour = args.high_priority;
            let t = Instant::now();
            let (report, ok) = match target {
                "sha256sum" => (None, sha256sum(&input, &list, favour)?),
                "cat" => (None, cat(&input, &list, &output, favour)?),
                _ => {
                    let mut c = Command::new(&exe);
                    if favour {
                        high_priority(&mut c);
                    }
                    c.arg("package-worker")
                        .arg("--input")
                        .arg(&input)
                        .arg("--output")
                        .arg(&output)
                        .arg("--protection")
                        .arg(target)
                        .env("CUSTODIAN_BENCH_AGE_RECIPIENT", &recipient)
                        .env("CUSTODIAN_BENCH_PASSPHRASE", passphrase.expose());
                    let out = c.output().context("running the packaging child")?;
                    if !out.status.success() {
                        bail!(
                            "packaging ({target}) failed: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                    let report: WorkerReport = serde_json::from_slice(&out.stdout)
                        .context("reading the packaging child's report")?;
                    (Some(report), true)
                }
            };
            let wall = t.elapsed().as_secs_f64();
            let machine = cpu::Snapshot::take(None).usage_since(&snap);
            let after_cpu = children_cpu_s();
            let (cpu_s, system_s) = (
                after_cpu.0 + after_cpu.1 - before_cpu.0 - before_cpu.1,
                after_cpu.1 - before_cpu.1,
            );
            if !ok {
                bail!("sha256sum failed");
            }
            let mib = files.bytes as f64 / (1 << 20) as f64;
            if target == "sha256sum" {
                sha_wall = Some(wall);
            }
            let phase = Phase {
                round,
                target: target.to_string(),
                wall_s: wall,
                mib_per_s: mib / wall,
                cpu_s,
                system_s,
                mib_per_cpu_s: mib / cpu_s.max(1e-9),
                ratio_to_sha256sum: sha_wall.filter(|_| target != "sha256sum").map(|s| s / wall),
                peak_rss_mib: report.as_ref().map(|r| r.vm_hwm_kib as f64 / 1024.0),
                package_bytes: report.as_ref().map(|r| r.package_bytes),
                machine,
                load_average_before: load,
            };
            println!(
                "round {round} {target:>9}: {:7.1} MiB/s  ({:5.2} s wall, {:5.2} s CPU of which \
                 {:4.2} s system{}{}){}",
                phase.mib_per_s,
                wall,
                cpu_s,
                system_s,
                phase
                    .ratio_to_sha256sum
                    .map(|r| format!(", {r:.2}x sha256sum"))
                    .unwrap_or_default(),
                phase
                    .peak_rss_mib
                    .map(|m| format!(", peak RSS {m:.1} MiB"))
                    .unwrap_or_default(),
                load.map(|l| format!("  [load {l:.1}]")).unwrap_or_default(),
            );
            phases.push(phase);
            // Not measured: the last round's packages must verify, or the figures mean
            // nothing.
            if round == args.rounds && (target == "age" || target == "zip") {
                let (count, bytes) = verify_blocking(&output, target, &identity, &passphrase)?;
                if count as usize != files.files || bytes != files.bytes {
                    bail!("the {target} package holds {count} files of {bytes} bytes");
                }
                verified.push(format!("{target}: {count} files, {bytes} bytes verified"));
                println!(
                    "{}",
                    verified.last().map(String::as_str).unwrap_or_default()
                );
            }
            // Every phase writes into the memory the one before freed: a phase that found
            // the page cache full of its predecessor's output would pay for reclaiming it
            // (2-5 times the system time of writing the package, measured).
            if !(args.keep_data && round == args.rounds) {
                let _ = std::fs::remove_file(&output);
            }
        }
    }

    let summary = summarise(&phases);
    for s in &summary {
        println!(
            "{:>9}: median {:7.1} MiB/s{}, {:7.1} MiB per CPU second{}{}",
            s.target,
            s.median_mib_per_s,
            s.median_ratio_to_sha256sum
                .map(|r| format!(" ({r:.2}x sha256sum)"))
                .unwrap_or_default(),
            s.median_mib_per_cpu_s,
            s.max_peak_rss_mib
                .map(|m| format!(", peak RSS {m:.1} MiB"))
                .unwrap_or_default(),
            s.verdict
                .as_ref()
                .map(|v| format!("  {v}"))
                .unwrap_or_default(),
        );
    }
    let results = Results {
        benchmark: "package",
        started: started.to_rfc3339(),
        finished: chrono::Utc::now().to_rfc3339(),
        rule: format!(
            "PASS: median wall-clock throughput at least {MIN_RATIO} of sha256sum's in the same \
             rounds, and peak RSS under {MAX_RSS_MIB} MiB"
        ),
        machine: machine(args.high_priority),
        files,
        phases,
        summary,
        verified,
    };
    let out_path = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "bench/results/package-{}.json",
            started.format("%Y%m%dT%H%M%SZ")
        ))
    });
    if let Some(parent) = out_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out_path, serde_json::to_string_pretty(&results)?)?;
    println!("results: {}", out_path.display());
    if args.keep_data {
        let kept = work.keep();
        println!("kept: {}", kept.display());
    } else if let Some(content) = &args.content {
        println!("content kept in {}", content.display());
    }
    Ok(())
}

fn verify_blocking(
    path: &Path,
    target: &str,
    identity: &str,
    passphrase: &custodian_production::Passphrase,
) -> anyhow::Result<(u64, u64)> {
    let unlock = match target {
        "age" => custodian_production::Unlock::age_identity_file(identity)
            .map_err(|e| anyhow::anyhow!(e))?,
        _ => custodian_production::Unlock::Passphrase(passphrase.clone()),
    };
    let v = custodian_production::verify(
        path,
        &custodian_production::VerifyOptions {
            unlock,
            ..Default::default()
        },
    )
    .with_context(|| format!("verifying the {target} package"))?;
    Ok((
        v.manifest.package.file_count,
        v.manifest.package.total_bytes,
    ))
}

fn summarise(phases: &[Phase]) -> Vec<Summary> {
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        if v.is_empty() {
            0.0
        } else if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        }
    };
    TARGETS
        .iter()
        .map(|target| {
            let mine: Vec<&Phase> = phases.iter().filter(|p| p.target == *target).collect();
            let ratios: Vec<f64> = mine.iter().filter_map(|p| p.ratio_to_sha256sum).collect();
            let ratio = (!ratios.is_empty()).then(|| median(ratios));
            let rss = mine
                .iter()
                .filter_map(|p| p.peak_rss_mib)
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            let verdict = match (ratio, rss) {
                (Some(r), Some(m)) if r >= MIN_RATIO && m < MAX_RSS_MIB => Some("PASS".to_string()),
                (Some(_), Some(_)) => Some("MISS".to_string()),
                _ => None,
            };
            Summary {
                target: target.to_string(),
                median_mib_per_s: median(mine.iter().map(|p| p.mib_per_s).collect()),
                median_ratio_to_sha256sum: ratio,
                median_mib_per_cpu_s: median(mine.iter().map(|p| p.mib_per_cpu_s).collect()),
                max_peak_rss_mib: rss,
                verdict,
            }
        })
        .collect()
}

/// The packaging child: every generated file as a content record, to `--output`.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    use custodian_production::{
        AgeRecipient, Options, PackageBuilder, Passphrase, Protection, Record,
    };
    let protection = match args.protection.as_str() {
        "age" => Protection::Age(AgeRecipient::parse(
            &std::env::var("CUSTODIAN_BENCH_AGE_RECIPIENT")
                .context("CUSTODIAN_BENCH_AGE_RECIPIENT")?,
        )?),
        "zip" => Protection::ZipAes(Passphrase::new(
            std::env::var("CUSTODIAN_BENCH_PASSPHRASE").context("CUSTODIAN_BENCH_PASSPHRASE")?,
        )),
        other => bail!("unknown protection {other}"),
    };
    let sink = tokio::fs::File::create(&args.output)
        .await
        .with_context(|| format!("creating {}", args.output.display()))?;
    let mut builder =
        PackageBuilder::new(facts(), sign_off(), protection, sink, Options::default())?;
    for (rel, size) in list_files(&args.input)? {
        let file = tokio::fs::File::open(args.input.join(&rel)).await?;
        let record = Record {
            category: custodian_core::DataCategory::Content,
            path: rel,
            size: Some(size),
        };
        builder.add_record(record, file).await?;
    }
    let sealed = builder.seal().await?;
    let audit = audit_material(&sealed)?;
    let done = sealed.finish(audit).await?;
    let report = WorkerReport {
        vm_hwm_kib: vm_hwm_kib().unwrap_or(0),
        package_bytes: done.package_bytes,
        files: done.file_count,
        record_bytes: done.total_bytes,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn facts() -> custodian_production::RequestFacts {
    use custodian_core::{DataCategory, LegalProcess, RequestNumber, Target, TargetKind};
    custodian_production::RequestFacts {
        number: RequestNumber::new(2026, 1),
        process: LegalProcess::SearchWarrant,
        agency: "Bench Police Department".into(),
        case_reference: None,
        categories: vec![DataCategory::Content],
        targets: Target::parse(TargetKind::Email, "someone@example.com")
            .map(|t| vec![t])
            .unwrap_or_default(),
        date_range: None,
        decided_by: "Bench Reviewer".into(),
        approved_by: Some("Bench Approver".into()),
    }
}

fn sign_off() -> custodian_production::SignOff {
    custodian_production::SignOff {
        name: "Bench Custodian".into(),
        title: "Custodian of Records".into(),
        provider: "Bench Provider".into(),
        date: chrono::Utc::now().date_naive(),
        place: None,
    }
}

/// A one-entry audit log holding the production event, with a checkpoint signed by a fresh
/// key: the cost of the real thing is the store's, not the package's.
fn audit_material<W>(
    sealed: &custodian_production::SealedPackage<W>,
) -> anyhow::Result<custodian_production::AuditMaterial>
where
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use custodian_audit::{public_key_text, root, AuditEntry, Checkpoint, SigningKey};
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let origin = "bench.example/audit";
    let entry = AuditEntry {
        idx: 0,
        actor: "bench".into(),
        action: custodian_production::PRODUCTION_EVENT_ACTION.into(),
        object: "LE-2026-000001".into(),
        at: AuditEntry::truncate_time(chrono::Utc::now()),
        details: sealed.audit_details(),
    };
    let leaves = vec![entry.leaf_hash()];
    let note = Checkpoint {
        origin: origin.into(),
        size: 1,
        root: root(&leaves),
    }
    .sign(&key)?;
    Ok(custodian_production::AuditMaterial {
        proof: custodian_production::InclusionProof::new(entry, &leaves)?,
        checkpoint_note: note,
        public_key_text: public_key_text(origin, &key.verifying_key())?,
    })
}

fn vm_hwm_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// User and system CPU seconds of every child waited for so far.
pub(crate) fn children_cpu_s() -> (f64, f64) {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(usage.ru_utime), t(usage.ru_stime))
}

/// Makes `cmd` run in a session of its own (Linux schedules each session as a group, so a
/// lower nice value alone would only count against the benchmark's own processes), with
/// that group and the process at nice -20. Failures leave the normal priority;
/// [`check_high_priority`] finds them out before anything is measured.
fn high_priority(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure makes system calls only: no allocation, no
    // lock.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            let fd = libc::open(c"/proc/self/autogroup".as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                libc::write(fd, b"-20".as_ptr().cast(), 3);
                libc::close(fd);
            }
            libc::setpriority(libc::PRIO_PROCESS, 0, -20);
            Ok(())
        });
    }
}

/// Fails unless a child started with [`high_priority`] really runs at nice -20, in a group at
/// nice -20.
fn check_high_priority() -> anyhow::Result<()> {
    let mut c = Command::new("sh");
    c.args(["-c", "cat /proc/self/autogroup; ps -o ni= -p $$"]);
    high_priority(&mut c);
    let out = c.output().context("checking --high-priority")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let group = lines.next().unwrap_or_default();
    let nice = lines.next().unwrap_or_default().trim();
    if !group.ends_with("nice -20") || nice != "-20" {
        bail!(
            "--high-priority needs root or CAP_SYS_NICE (and autogroups): a child ran with \
             '{group}', nice '{nice}'"
        );
    }
    Ok(())
}

/// Flushes dirty pages (so no phase pays for the previous one's writeback), then reads every
/// file once (so every phase finds them in the page cache).
fn settle(input: &Path, list: &[(String, u64)]) -> anyhow::Result<()> {
    use std::io::Read;
    Command::new("sync").status().context("running sync")?;
    let mut buf = vec![0u8; 1 << 20];
    for (rel, _) in list {
        let mut f = std::fs::File::open(input.join(rel))?;
        while f.read(&mut buf)? > 0 {}
    }
    Ok(())
}

/// sha256sum over every file, in one process, from the content directory.
fn sha256sum(input: &Path, list: &[(String, u64)], favour: bool) -> anyhow::Result<bool> {
    let mut c = Command::new("sha256sum");
    if favour {
        high_priority(&mut c);
    }
    let out = c
        .args(list.iter().map(|(p, _)| p))
        .current_dir(input)
        .output()
        .context("running sha256sum (coreutils)")?;
    let lines = out.stdout.iter().filter(|b| **b == b'\n').count();
    Ok(out.status.success() && lines == list.len())
}

/// `cat` of every file into one new file on the same disk: reading and writing the bytes with
/// nothing else, the floor under any packaging.
fn cat(input: &Path, list: &[(String, u64)], output: &Path, favour: bool) -> anyhow::Result<bool> {
    let out = std::fs::File::create(output)?;
    let mut c = Command::new("cat");
    if favour {
        high_priority(&mut c);
    }
    let status = c
        .args(list.iter().map(|(p, _)| p))
        .current_dir(input)
        .stdout(out)
        .status()
        .context("running cat")?;
    Ok(status.success())
}

/// Every file under `dir` as (relative path, size), sorted.
fn list_files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for sub in ["videos", "photos", "documents"] {
        let mut names: Vec<_> =
            std::fs::read_dir(dir.join(sub))?.collect::<std::io::Result<Vec<_>>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().into_owned();
            out.push((format!("{sub}/{name}"), e.metadata()?.len()));
        }
    }
    Ok(out)
}

/// xorshift64*: fast enough to generate gigabytes, and the same for every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A production's worth of content: about half in four long videos, a third in photos of
/// 1.5-6 MiB, the rest in documents of 20 KiB-1 MiB. The files as (relative path, size), and
/// their counts.
fn plan(total: u64) -> (Vec<(String, u64)>, FileSet) {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut plan: Vec<(String, u64)> = Vec::new();
    let video_total = total * 54 / 100;
    for (i, share) in [20u64, 24, 27, 29].iter().enumerate() {
        plan.push((
            format!("videos/VID_{:04}.mp4", i + 1),
            video_total * share / 100,
        ));
    }
    let photo_total = total * 36 / 100;
    let mut planned: u64 = plan.iter().map(|(_, s)| s).sum();
    let mut i = 0;
    while planned < video_total + photo_total {
        let size = rng
            .range(1_500_000, 6_000_000)
            .min(video_total + photo_total - planned);
        i += 1;
        plan.push((format!("photos/IMG_{i:04}.jpg"), size));
        planned += size;
    }
    let mut d = 0;
    while planned < total {
        let size = rng.range(20_000, 1_000_000).min(total - planned);
        d += 1;
        plan.push((format!("documents/DOC_{d:04}.pdf"), size));
        planned += size;
    }
    let set = FileSet {
        files: plan.len(),
        bytes: planned,
        videos: 4,
        photos: i,
        documents: d,
        generate_s: 0.0,
    };
    (plan, set)
}

/// Writes the planned files: pseudo-random bytes (nothing compresses or deduplicates), from
/// a fixed seed, flushed to disk.
fn generate(dir: &Path, plan: &[(String, u64)]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for sub in ["videos", "photos", "documents"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let mut buf = vec![0u8; 1 << 20];
    for (rel, size) in plan {
        let mut f = std::fs::File::create(dir.join(rel))?;
        let mut left = *size;
        while left > 0 {
            for word in buf.chunks_exact_mut(8) {
                word.copy_from_slice(&rng.next().to_le_bytes());
            }
            let n = left.min(buf.len() as u64) as usize;
            f.write_all(&buf[..n])?;
            left -= n as u64;
        }
    }
    Command::new("sync").status().context("running sync")?;
    Ok(())
}

fn age_identity() -> String {
    use age::secrecy::ExposeSecret;
    age::x25519::Identity::generate()
        .to_string()
        .expose_secret()
        .to_string()
}

fn identity_recipient(identity: &str) -> anyhow::Result<String> {
    let id: age::x25519::Identity = identity
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("age identity: {e}"))?;
    Ok(id.to_public().to_string())
}

fn machine(high_priority: bool) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let sha_ni = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "sha_ni"));
    let run = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(str::to_string))
    };
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        high_priority,
        cpu_model,
        sha_ni,
        kernel: run("uname", &["-sr"]),
        sha256sum_version: run("sha256sum", &["--version"]),
        custodian_commit: run("git", &["rev-parse", "--short", "HEAD"]),
    }
}
