//! `custodian-bench`: benchmarks for Custodian, run by hand (see bench/README.md).
//!
//! Every benchmark sends traffic to loopback addresses only, and is bounded in time.

mod bare;
mod cpu;
mod emergency;
mod intake;
mod load;
mod package;
mod pdf;
mod report;
mod server;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "custodian-bench", about = "Benchmarks for Custodian")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Submissions of legal process (POST /api/v1/requests with a PDF) against a bare
    /// write-and-fsync handler, Custodian on SQLite and Custodian on PostgreSQL.
    Intake(intake::IntakeArgs),
    /// Emergency pages: submission (POST /api/v1/emergency) to the page delivered at a
    /// webhook receiver on loopback, p50/p99/max, on SQLite and PostgreSQL.
    Emergency(emergency::EmergencyArgs),
    /// Packaging a production of content files (age and AES ZIP) beside sha256sum over the
    /// same files: throughput and peak memory.
    Package(package::PackageArgs),
    /// The transparency report at 10 million requests: custodian import beside the sqlite3
    /// shell's .import and psql's \copy, a half-year report beside the plain GROUP BY.
    Report(report::ReportArgs),
    /// The packaging child process of `package` (not run by hand).
    #[command(hide = true)]
    PackageWorker(package::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Intake(args) => intake::run(args).await,
            Command::Emergency(args) => emergency::run(args).await,
            Command::Package(args) => package::run(args).await,
            Command::Report(args) => report::run_bench(args).await,
            Command::PackageWorker(args) => package::worker(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
