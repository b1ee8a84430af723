//! `custodian report`: the transparency report of a half-year or a year, and
//! `custodian audit verify-report`: checks a published report against the audit log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use custodian_audit::{
    load_signing_key, parse_public_key_text, public_key_text, Checkpoint, LogVerifier, SigningKey,
    VerifyingKey,
};
use custodian_report::{render, Period, Recount, Report, Verification};
use custodian_store::{DynStore, StoredCheckpoint};

use crate::config::{Settings, StoreArgs};

const BATCH: u32 = 5_000;
/// The verification scheme of docs/transparency-verification.md. v2 added import batches;
/// a v1 report (no batches could exist then) verifies by the same checks.
pub const SCHEME: &str = "custodian-report-v2";
const SCHEMES: &[&str] = &["custodian-report-v1", SCHEME];

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Html,
    Pdf,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A half-year (2025-H1, 2025-H2) or a whole year (2025).
    #[arg(long)]
    pub period: Period,
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Write here instead of standard output. With --format csv and an existing directory,
    /// writes one file per table and a datapackage.json describing them.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --format csv: print only this table (by_process, by_country,
    /// by_country_process, summary).
    #[arg(long)]
    pub table: Option<String>,
    /// Leave out the signed checkpoint (the report cannot be verified then).
    #[arg(long)]
    pub unsigned: bool,
}

#[derive(Args)]
pub struct VerifyReportArgs {
    /// The report, as `custodian report --format json` wrote it.
    pub report: PathBuf,
    /// The log's public key in signed-note form (`custodian audit public-key`); default: the
    /// key of the configured signing key file.
    #[arg(long)]
    pub public_key: Option<String>,
}

pub async fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let settings = args.store.resolve()?;
    let store = settings.open_store().await?;
    let key = if args.unsigned {
        None
    } else {
        Some(
            custodian_audit::load_or_create_signing_key(&settings.audit_key_file)
                .with_context(|| format!("audit key {}", settings.audit_key_file.display()))?,
        )
    };
    let report = build(&store, args.period, key.as_ref(), &settings.audit_origin).await?;
    let bytes: Vec<u8> = match args.format {
        Format::Json => (render::json(&report) + "\n").into_bytes(),
        Format::Pdf => render::pdf(&report),
        Format::Html => {
            let mut history = Vec::new();
            for p in store.reports().report_periods().await? {
                history.push(store.reports().report(p).await?);
            }
            render::html::page(&report, &history, ".").into_bytes()
        }
        Format::Csv => {
            if let Some(dir) = args.out.as_deref().filter(|p| p.is_dir()) {
                write_package(&report, dir)?;
                return Ok(ExitCode::SUCCESS);
            }
            render::csv(&report, args.table.as_deref())
                .map_err(|e| anyhow!(e))?
                .into_bytes()
        }
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_package(report: &Report, dir: &Path) -> anyhow::Result<()> {
    for t in render::tables(report) {
        let path = dir.join(t.file_name());
        std::fs::write(&path, t.to_csv()).with_context(|| format!("writing {}", path.display()))?;
    }
    let path = dir.join("datapackage.json");
    let text = serde_json::to_string_pretty(&render::datapackage(report, ""))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The report of `period` from the counters, with a signed checkpoint of the log the
/// counters were taken at when a key is given.
pub async fn build(
    store: &DynStore,
    period: Period,
    key: Option<&SigningKey>,
    origin: &str,
) -> anyhow::Result<Report> {
    let Some(key) = key else {
        return Ok(store.reports().report(period).await?);
    };
    // The counters and the log size must be read at the same moment: retry if a write
    // slipped in between.
    for _ in 0..20 {
        let before = store.audit_size().await?;
        let mut report = store.reports().report(period).await?;
        let after = store.audit_size().await?;
        if before != after {
            continue;
        }
        let note = checkpoint_at(store, before, key, origin).await?;
        report.verification = Some(Verification {
            scheme: SCHEME.to_string(),
            checkpoint: note,
            log_size: before,
            public_key: public_key_text(origin, &key.verifying_key())?,
        });
        return Ok(report);
    }
    bail!("the log kept changing while the report was taken; try again")
}

/// A signed checkpoint of the first `size` entries: a stored one if there is one, else the
/// log is verified up to `size` and a new checkpoint is signed and stored.
async fn checkpoint_at(
    store: &DynStore,
    size: u64,
    key: &SigningKey,
    origin: &str,
) -> anyhow::Result<String> {
    let vk = key.verifying_key();
    let mut signed = Vec::new();
    for stored in store.checkpoints().await? {
        let cp = Checkpoint::verify_note(&stored.note, &vk)
            .map_err(|e| anyhow!("stored checkpoint at size {}: {e}", stored.size))?;
        if cp.size == size && cp.origin == origin {
            return Ok(stored.note);
        }
        if cp.size <= size {
            signed.push(cp);
        }
    }
    let mut verifier = LogVerifier::new(&signed);
    let mut from = 0u64;
    while from < size {
        let batch = store.audit_entries(from, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch.iter().take_while(|e| e.entry.idx < size) {
            verifier
                .push(&e.entry, &e.leaf_hash)
                .map_err(|t| anyhow!("refusing to sign a tampered log: {t}"))?;
        }
        from = batch.last().map(|e| e.entry.idx + 1).unwrap_or(size);
    }
    let log = verifier
        .finish()
        .map_err(|t| anyhow!("refusing to sign a tampered log: {t}"))?;
    let checkpoint = Checkpoint {
        origin: origin.to_string(),
        size: log.size,
        root: log.root,
    };
    let note = checkpoint.sign(key)?;
    store
        .save_checkpoint(StoredCheckpoint {
            size: log.size,
            root: log.root,
            note: note.clone(),
            created_at: chrono::Utc::now(),
        })
        .await?;
    Ok(note)
}

/// The verifying key: given on the command line, else the configured signing key's.
fn verifying_key(settings: &Settings, given: Option<&str>) -> anyhow::Result<VerifyingKey> {
    match given {
        Some(text) => Ok(parse_public_key_text(text.trim())
            .map_err(|e| anyhow!("--public-key: {e}"))?
            .1),
        None => Ok(load_signing_key(&settings.audit_key_file)
            .with_context(|| {
                format!(
                    "no --public-key given and the signing key {} cannot be read",
                    settings.audit_key_file.display()
                )
            })?
            .verifying_key()),
    }
}

/// `custodian audit verify-report REPORT.json`.
pub async fn verify_report(settings: Settings, args: VerifyReportArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("reading {}", args.report.display()))?;
    let report: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a report", args.report.display()))?;
    let key = verifying_key(&settings, args.public_key.as_deref())?;
    let store = settings.open_store().await?;
    match check(&store, &report, &key).await? {
        Ok(message) => {
            println!("report verified: {message}");
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            println!("REPORT DOES NOT VERIFY:");
            for p in problems {
                println!("- {p}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The checks of docs/transparency-verification.md. The outer error is an operational
/// failure; the inner one lists what does not verify.
pub async fn check(
    store: &DynStore,
    report: &Report,
    key: &VerifyingKey,
) -> anyhow::Result<Result<String, Vec<String>>> {
    let Some(v) = &report.verification else {
        return Ok(Err(vec![
            "the report carries no signed checkpoint".to_string()
        ]));
    };
    if !SCHEMES.contains(&v.scheme.as_str()) {
        return Ok(Err(vec![format!("unknown scheme '{}'", v.scheme)]));
    }
    // 1. The checkpoint is signed by the log's key and is the one the report names.
    let cp = match Checkpoint::verify_note(&v.checkpoint, key) {
        Ok(cp) => cp,
        Err(e) => return Ok(Err(vec![format!("the checkpoint's signature: {e}")])),
    };
    if cp.size != v.log_size {
        return Ok(Err(vec![format!(
            "the report says log size {} but its checkpoint is of size {}",
            v.log_size, cp.size
        )]));
    }
    // 2. The log today still has those entries, unchanged: every leaf recomputes and the
    //    tree of the first `size` entries has the signed root (LogVerifier), so nothing
    //    counted has been removed, edited or reordered since. Meanwhile the facts entries and
    //    import batch entries up to the checkpoint are collected.
    let mut verifier = LogVerifier::new(std::slice::from_ref(&cp));
    let mut recount = Recount::default();
    let mut from = 0u64;
    loop {
        let batch = store.audit_entries(from, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            if let Err(t) = verifier.push(&e.entry, &e.leaf_hash) {
                return Ok(Err(vec![format!("the audit log: {t}")]));
            }
            if e.entry.idx < cp.size {
                if let Err(problem) = recount.push(&e.entry) {
                    return Ok(Err(vec![problem]));
                }
            }
        }
        from = batch.last().map(|e| e.entry.idx + 1).unwrap_or(from);
    }
    let log = match verifier.finish() {
        Ok(log) => log,
        Err(t) => return Ok(Err(vec![format!("the audit log: {t}")])),
    };
    // 3. The stored rows of every import batch hash to the root its entry recorded, so no
    //    imported request has been removed or altered since.
    let mut problems = Vec::new();
    for idx in recount.batches() {
        let rows = store.reports().imported_batch(idx).await?;
        if let Err(p) = recount.push_batch(idx, &rows) {
            problems.push(p);
        }
    }
    // 4. The rows, recounted from the log's facts entries and the batches' rows, are the
    //    published rows, with the same commitments.
    let recomputed = recount.report(report.period);
    problems.extend(custodian_report::differences(report, &recomputed));
    // 5. Every request counted in the period by an entry of its own still has those facts
    //    in the database.
    let recorded = recount.entries_in(report.period);
    let missing = store.reports().check_recorded(&recorded).await?;
    problems.extend(missing.into_iter().take(20));
    if problems.is_empty() {
        Ok(Ok(format!(
            "{} counted requests in {}, every row recomputed from the log at size {} (signed), \
             the log now has {} entries and extends it",
            recount.counted_in(report.period),
            report.period,
            cp.size,
            log.size
        )))
    } else {
        Ok(Err(problems))
    }
}
