//! `custodian audit`: recompute the audit log's Merkle tree, check it against every signed
//! checkpoint, and sign new checkpoints.

use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use custodian_audit::{load_or_create_signing_key, public_key_text, Checkpoint, LogVerifier};
use custodian_store::{DynStore, StoredCheckpoint};

use crate::config::Settings;

const BATCH: u32 = 5_000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the tree from every entry; name the first tampered entry, if any.
    Verify,
    /// Verify the log, then sign and store a checkpoint (tree head) and print it.
    Checkpoint,
    /// Print the public key that checkpoints are signed with.
    PublicKey,
    /// Check a transparency report against the log (docs/transparency-verification.md).
    VerifyReport(crate::report_cmd::VerifyReportArgs),
}

pub async fn run(settings: Settings, command: AuditCommand) -> anyhow::Result<ExitCode> {
    if let Some(dir) = settings.audit_key_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = load_or_create_signing_key(&settings.audit_key_file)
        .with_context(|| format!("audit key {}", settings.audit_key_file.display()))?;
    let origin = settings.audit_origin.as_str();
    match command {
        AuditCommand::VerifyReport(args) => crate::report_cmd::verify_report(settings, args).await,
        AuditCommand::PublicKey => {
            println!("{}", public_key_text(origin, &key.verifying_key())?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let store = settings.open_store().await?;
            match verify(&store, origin, &key.verifying_key()).await? {
                Ok((size, root, signed)) => {
                    println!(
                        "audit log verified: {size} entries, root {}, consistent with {signed} signed checkpoint(s)",
                        hex::encode(root)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(problem) => {
                    println!("AUDIT LOG TAMPERED: {problem}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::Checkpoint => {
            let store = settings.open_store().await?;
            let (size, root, _) = verify(&store, origin, &key.verifying_key())
                .await?
                .map_err(|p| anyhow!("refusing to sign a tampered log: {p}"))?;
            let checkpoint = Checkpoint {
                origin: origin.to_string(),
                size,
                root,
            };
            let note = checkpoint.sign(&key)?;
            store
                .save_checkpoint(StoredCheckpoint {
                    size,
                    root,
                    note: note.clone(),
                    created_at: chrono::Utc::now(),
                })
                .await?;
            print!("{note}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Streams the whole log through the verifier. The outer error is an operational failure;
/// the inner one says what was tampered with.
async fn verify(
    store: &DynStore,
    origin: &str,
    key: &custodian_audit::VerifyingKey,
) -> anyhow::Result<Result<(u64, custodian_audit::Hash, usize), String>> {
    let mut signed = Vec::new();
    for stored in store.checkpoints().await? {
        match Checkpoint::verify_note(&stored.note, key) {
            Ok(cp) if cp.origin == origin && cp.size == stored.size && cp.root == stored.root => {
                signed.push(cp)
            }
            Ok(_) => {
                return Ok(Err(format!(
                    "the stored checkpoint at size {} does not match its signed note",
                    stored.size
                )))
            }
            Err(e) => {
                return Ok(Err(format!(
                    "the stored checkpoint at size {} is not validly signed: {e}",
                    stored.size
                )))
            }
        }
    }
    let mut verifier = LogVerifier::new(&signed);
    let mut from = 0u64;
    loop {
        let batch = store.audit_entries(from, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            if let Err(t) = verifier.push(&e.entry, &e.leaf_hash) {
                return Ok(Err(t.to_string()));
            }
        }
        from = batch.last().map(|e| e.entry.idx + 1).unwrap_or(from);
    }
    match verifier.finish() {
        Ok(log) => Ok(Ok((log.size, log.root, signed.len()))),
        Err(t) => Ok(Err(t.to_string())),
    }
}
