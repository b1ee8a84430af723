//! `custodian policy`: check a case against the rules before serving it, or read what a process
//! can obtain. Other programs call `check`; its JSON fields are a stable contract.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use custodian_core::policy::{check_json, explain, PolicyProfile};
use custodian_core::LegalProcess;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Read one JSON case (or an array) on stdin; write the assessment(s) on stdout.
    /// Exit status 2 with a message naming the field when the input is invalid.
    Check,
    /// Explain in plain words what a process can and cannot obtain, and why.
    Explain { process: String },
    /// List the built-in profiles.
    List,
    /// Print the selected profile as TOML.
    Show,
}

/// A built-in profile by name, or a TOML file by path.
pub fn load_profile(selector: Option<&str>) -> anyhow::Result<PolicyProfile> {
    let selector = selector.unwrap_or(PolicyProfile::DEFAULT);
    if PolicyProfile::builtin_names().contains(&selector) {
        return Ok(PolicyProfile::builtin(selector)?);
    }
    let path = Path::new(selector);
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {selector}"))?;
        return PolicyProfile::from_toml(&text).map_err(|e| anyhow!("{selector}: {e}"));
    }
    Err(anyhow!(
        "no policy profile '{selector}': use a built-in ({}) or the path of a TOML file",
        PolicyProfile::builtin_names().join(", ")
    ))
}

pub fn run(profile: Option<&str>, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    let profile = load_profile(profile)?;
    match command {
        PolicyCommand::Check => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading standard input")?;
            match check_json(&profile, &input, chrono::Utc::now()) {
                Ok(answer) => {
                    crate::emit(&answer);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("invalid input: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        PolicyCommand::Explain { process } => {
            let process: LegalProcess = match process.parse() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            crate::emit(&explain(&profile, process));
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::List => {
            for name in PolicyProfile::builtin_names() {
                println!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Show => {
            print!("{}", profile.to_toml()?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
