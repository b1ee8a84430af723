//! `custodian production verify`: what an agency (or a court) runs on a production package to
//! check it against the provider's audit log, without any access to the provider.
//!
//! Exit status: 0 verified; 1 not verified (the first discrepancy is named); 2 the package
//! could not be checked (unreadable, wrong identity or passphrase, unusable audit key).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use custodian_production::{verify, Passphrase, Unlock, VerifyError, VerifyOptions};

use crate::emit;

#[derive(Subcommand)]
pub enum ProductionCommand {
    /// Decrypt a production package, check every file against the manifest, the manifest
    /// against the certificate and the audit log's signed checkpoint, and name the first
    /// discrepancy.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The package: the .tar.age or .zip file as downloaded, a decrypted .tar, or a directory
    /// it was extracted into.
    package: PathBuf,
    /// The agency's age identity file (AGE-SECRET-KEY-1... lines), for an age package.
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// The passphrase of a ZIP package, received separately from the package.
    #[arg(long, env = "CUSTODIAN_PRODUCTION_PASSPHRASE", hide_env_values = true)]
    passphrase: Option<String>,
    /// The provider's audit public key (the output of `custodian audit public-key`), obtained
    /// from the provider independently of the package. Without it the package's own copy is
    /// used, which shows only that the package is consistent with itself.
    #[arg(long, value_name = "FILE")]
    audit_key: Option<PathBuf>,
    /// Also extract the files into this directory (new, or empty) while verifying.
    #[arg(long, value_name = "DIR")]
    extract: Option<PathBuf>,
}

pub fn run(command: ProductionCommand) -> ExitCode {
    match command {
        ProductionCommand::Verify(args) => run_verify(args),
    }
}

fn cannot_check(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn run_verify(args: VerifyArgs) -> ExitCode {
    let unlock = match (&args.identity, &args.passphrase) {
        (Some(_), Some(_)) => {
            return cannot_check("give either --identity (age) or --passphrase (ZIP), not both")
        }
        (Some(path), None) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => return cannot_check(format!("reading {}: {e}", path.display())),
            };
            match Unlock::age_identity_file(&text) {
                Ok(u) => u,
                Err(e) => return cannot_check(format!("{}: {e}", path.display())),
            }
        }
        (None, Some(p)) => Unlock::Passphrase(Passphrase::new(p.trim())),
        (None, None) => Unlock::Nothing,
    };
    let audit_key = match &args.audit_key {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => Some(t),
            Err(e) => return cannot_check(format!("reading {}: {e}", path.display())),
        },
        None => None,
    };
    let options = VerifyOptions {
        unlock,
        audit_key,
        extract_to: args.extract.clone(),
    };
    match verify(&args.package, &options) {
        Ok(v) => {
            let m = &v.manifest;
            let categories: Vec<&str> = m.request.categories.iter().map(|c| c.as_str()).collect();
            emit(&format!(
                "PACKAGE VERIFIED: {} ({}, {})",
                m.request.number, m.request.process, m.request.agency
            ));
            emit(&format!("  read as:      {}", v.form));
            emit(&format!(
                "  records:      {} file(s), {} bytes; categories {}",
                m.package.file_count,
                m.package.total_bytes,
                categories.join(", ")
            ));
            emit(&format!(
                "  manifest:     MANIFEST.sha256 SHA-256 {}, as certified in certificate.pdf",
                hex::encode(v.manifest_sha256)
            ));
            emit(&format!(
                "  audit log:    entry {} ({} by {} at {}) is in the checkpoint of {} at {} entries",
                v.audit.index,
                custodian_production::PRODUCTION_EVENT_ACTION,
                v.audit.actor,
                v.audit.at.format("%Y-%m-%d %H:%M:%S UTC"),
                v.audit.origin,
                v.audit.tree_size
            ));
            match &args.audit_key {
                Some(path) => emit(&format!(
                    "  signature:    by the audit key in {}",
                    path.display()
                )),
                None => emit(
                    "  signature:    by the key inside the package only: give --audit-key with \
                     the provider's published key to rely on it",
                ),
            }
            if let Some(dir) = &args.extract {
                emit(&format!("  extracted to: {}", dir.display()));
            }
            ExitCode::SUCCESS
        }
        Err(e @ (VerifyError::Discrepancy(_) | VerifyError::Damaged(_))) => {
            emit(&format!("PACKAGE NOT VERIFIED: {e}"));
            if let Some(dir) = &args.extract {
                emit(&format!(
                    "  the files extracted to {} are not verified: do not rely on them",
                    dir.display()
                ));
            }
            ExitCode::from(1)
        }
        Err(e) => cannot_check(e),
    }
}
