//! `custodian import FILE.csv`: loads historical requests into the transparency counters.
//! Idempotent on `reference`; every bad row is reported with its line number and reason and
//! nothing of it is stored; the rest of the file goes on.
//!
//! One thread parses and checks the rows, another hashes and counts them, while the store
//! writes the batch before (one transaction and one audit entry a batch), so the two cores a
//! small server has both work.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use custodian_report::{ImportBatch, ImportReader, Rejected};
use custodian_store::{Actor, ImportOutcome};

use crate::config::StoreArgs;

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The CSV file: a header row naming the columns (any order), then one request a row.
    /// Columns: reference, received_at (RFC 3339 or YYYY-MM-DD), country (ISO 3166-1
    /// alpha-2), process, emergency, accounts, outcome (full|partial|none), disclosed
    /// (content|non_content|none), none_reason (rejected|no_data|withdrawn|redirected, when
    /// disclosed is none), ndo, notified, and optionally responded_at and category (a finer
    /// row within the process, e.g. ipa_cdr: a-z, 0-9, '_', '-').
    pub file: PathBuf,
    /// Rows stored per transaction (and committed to by one audit entry). Each batch also
    /// rewrites the counter cells it touches, so larger batches import faster; a batch takes
    /// about 200 bytes of memory a row, three batches at a time, and the import keeps about
    /// 30 bytes per row of the file besides (10 million rows: about 1.2 GB in all).
    #[arg(long, default_value_t = 500_000)]
    pub batch: usize,
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub imported: u64,
    pub skipped: Vec<(u64, String)>,
    pub rejected: Vec<Rejected>,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let settings = args.store.resolve()?;
    let store = settings.open_store().await?;
    let file =
        File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let input = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            read: read.clone(),
        },
    );
    let mut reader = ImportReader::new(input)
        .with_context(|| format!("in {}", args.file.display()))?
        .with_size(total);
    let show_progress = std::io::stderr().is_terminal();
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let actor = Actor::System("import".into());
    let mut summary = Summary::default();
    let batch = args.batch.clamp(1, 1_000_000);
    // Three stages, each a chunk ahead at most: a thread reads and checks the rows, one
    // hashes and counts them into a batch, and this one stores the batch before. Reading and
    // hashing each took longer than PostgreSQL takes to store a batch.
    let (read_send, read_chunks) = std::sync::mpsc::sync_channel(1);
    let reading = std::thread::Builder::new()
        .name("import-reader".into())
        .spawn(move || loop {
            let chunk = reader
                .next_chunk(batch)
                .map(|chunk| (chunk, reader.lines()));
            let end = match &chunk {
                Ok(((good, bad), _)) => good.is_empty() && bad.is_empty(),
                Err(_) => true,
            };
            if read_send.send(chunk).is_err() || end {
                return;
            }
        })?;
    let (send, mut chunks) = tokio::sync::mpsc::channel(1);
    let hashing = std::thread::Builder::new()
        .name("import-hasher".into())
        .spawn(move || {
            for chunk in read_chunks {
                let chunk =
                    chunk.map(|((good, bad), lines)| ((ImportBatch::new(good), bad), lines));
                if send.blocking_send(chunk).is_err() {
                    return;
                }
            }
        })?;
    let mut lines = 0;
    while let Some(chunk) = chunks.recv().await {
        let ((good, bad), read_lines) =
            chunk.with_context(|| format!("reading {}", args.file.display()))?;
        lines = read_lines;
        if good.rows().is_empty() && bad.is_empty() {
            break;
        }
        summary.rejected.extend(bad);
        if !good.rows().is_empty() {
            let outcomes = store
                .reports()
                .import_rows(&actor, &good)
                .await
                .with_context(|| {
                    format!(
                        "storing lines {}-{} (the rows before them are stored; run the import \
                         again to go on: imported rows are skipped)",
                        good.rows().first().map(|r| r.line).unwrap_or(0),
                        good.rows().last().map(|r| r.line).unwrap_or(0)
                    )
                })?;
            for (row, outcome) in good.into_rows().into_iter().zip(outcomes) {
                match (outcome, row.earlier) {
                    (ImportOutcome::Imported, _) => summary.imported += 1,
                    // Taken, and by an earlier line of this file: a duplicate in the file.
                    (ImportOutcome::AlreadyImported, Some(first)) => {
                        summary.rejected.push(Rejected {
                            line: row.line,
                            reason: format!(
                                "reference '{}' already used on line {first}",
                                row.reference
                            ),
                        })
                    }
                    (ImportOutcome::AlreadyImported, None) => {
                        summary.skipped.push((row.line, row.reference))
                    }
                }
            }
        }
        if show_progress && last_draw.elapsed() > Duration::from_millis(200) {
            draw(read.load(Ordering::Relaxed), total, lines);
            last_draw = Instant::now();
        }
    }
    drop(chunks);
    if reading.join().is_err() || hashing.join().is_err() {
        anyhow::bail!("the reading thread failed");
    }
    summary.rejected.sort_by_key(|r| r.line);
    if show_progress {
        draw(total, total, lines);
        eprintln!();
    }
    print_summary(&summary);
    Ok(if summary.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn draw(done: u64, total: u64, lines: u64) {
    let frac = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    };
    let width = 30;
    let filled = (frac * width as f64) as usize;
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r[{}{}] {:>3.0}%  {} lines",
        "#".repeat(filled),
        " ".repeat(width - filled),
        frac * 100.0,
        lines
    );
    let _ = err.flush();
}

const SHOW_SKIPPED: usize = 20;

fn print_summary(s: &Summary) {
    println!(
        "imported {}, skipped {} (already imported), rejected {}",
        s.imported,
        s.skipped.len(),
        s.rejected.len()
    );
    for (line, reference) in s.skipped.iter().take(SHOW_SKIPPED) {
        println!("skipped line {line}: reference '{reference}' was imported before");
    }
    if s.skipped.len() > SHOW_SKIPPED {
        println!("... and {} more skipped", s.skipped.len() - SHOW_SKIPPED);
    }
    for r in &s.rejected {
        println!("rejected line {}: {}", r.line, r.reason);
    }
}
