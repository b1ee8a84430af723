//! `custodian`: one binary for the server and every administrative command.

mod admin;
mod audit_cmd;
mod billing_demo;
mod config;
mod custody_cmd;
mod custody_demo;
mod customer_data;
mod demo;
mod demo_console;
mod demo_emergency;
mod import_cmd;
mod policy_cmd;
mod production_cmd;
mod report_cmd;
mod routes_demo;
mod serve;
mod verification_demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use config::StoreArgs;

#[derive(Parser)]
#[command(
    name = "custodian",
    version,
    about = "Receive, check, answer and account for government demands for customer data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (migrations run first).
    Serve(serve::ServeArgs),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage agencies, users and API tokens.
    Admin {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Apply the policy engine: check a case, explain a process.
    Policy {
        /// A built-in profile (provider-default, notify-all) or a TOML file.
        #[arg(long, env = "CUSTODIAN_POLICY_PROFILE")]
        profile: Option<String>,
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Check the audit log and publish signed tree heads.
    Audit {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Build the transparency report of a half-year (2025-H1) or a year (2025).
    Report(report_cmd::ReportArgs),
    /// Load historical requests from a CSV file into the transparency counters.
    Import(import_cmd::ImportArgs),
    /// Check a production package as the agency receives it.
    Production {
        #[command(subcommand)]
        command: production_cmd::ProductionCommand,
    },
}

/// Prints a line of output; a reader that went away (`| head`) is not an error worth a panic.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CUSTODIAN_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate { store } => {
            let settings = store.resolve()?;
            let db = settings.open_store().await?;
            println!("migrations applied ({})", db.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { store, command } => admin::run(store.resolve()?, command)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Audit { store, command } => audit_cmd::run(store.resolve()?, command).await,
        Command::Policy { profile, command } => policy_cmd::run(profile.as_deref(), command),
        Command::Report(args) => report_cmd::run(args).await,
        Command::Import(args) => import_cmd::run(args).await,
        Command::Production { command } => Ok(production_cmd::run(command)),
    }
}
