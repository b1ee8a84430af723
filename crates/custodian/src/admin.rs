//! `custodian admin`: agencies, users and API tokens, for the provider's administrator.

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use custodian_core::agency::parse_domain;
use custodian_core::{AgencyKind, AgencyStatus, Country, Role};
use custodian_store::{Actor, Agency, DynStore, NewAgency, NewUser, StoreError};
use rand::RngCore;

use crate::config::Settings;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Agencies that may serve legal process.
    Agency {
        #[command(subcommand)]
        command: AgencyCommand,
    },
    /// Users: agency officers and the provider's staff.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Customer data in the configured source: find accounts, delete a demo account as its
    /// customer would, serve the source over the connector protocol.
    Customer {
        #[command(subcommand)]
        command: crate::customer_data::CustomerCommand,
    },
    /// Legal holds: list, renew, release (docs/custody.md).
    Hold {
        #[command(subcommand)]
        command: crate::custody_cmd::HoldCommand,
    },
}

#[derive(Subcommand)]
pub enum AgencyCommand {
    /// Register an agency.
    Create {
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 code.
        #[arg(long)]
        country: String,
        /// local_police, state_police, federal_agency, prosecutor, court,
        /// foreign_law_enforcement, foreign_authority, regulator, other.
        #[arg(long)]
        kind: String,
        /// An e-mail domain verified as the agency's own (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// The switchboard number from an independent directory, for call-backs.
        #[arg(long)]
        phone: Option<String>,
        /// Mark it verified at once (after checking it against an independent source).
        #[arg(long)]
        verified: bool,
    },
    /// List agencies.
    List,
    /// Mark an agency verified (after checking it against an independent source).
    Verify { agency: String },
    /// Suspend an agency: its officers can no longer serve process.
    Suspend { agency: String },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// agency_officer, agency_supervisor, reviewer, approver, custodian, admin, auditor.
        #[arg(long)]
        role: String,
        /// The agency (name or id), for agency roles.
        #[arg(long)]
        agency: Option<String>,
        /// Read a password for web sign-in from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue an API token; it is printed once and only its hash is kept.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

fn cli_actor() -> Actor {
    Actor::System("cli".into())
}

pub async fn run(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Agency { command } => agency(&settings.open_store().await?, command).await,
        AdminCommand::User { command } => user(&settings.open_store().await?, command).await,
        AdminCommand::Token { command } => match command {
            TokenCommand::Create { user, label } => {
                let store = settings.open_store().await?;
                let token = issue_token(&store, &cli_actor(), &user, &label).await?;
                println!("{token}");
                Ok(())
            }
        },
        // Customer data lives in the provider's systems, not in Custodian's database.
        AdminCommand::Customer { command } => crate::customer_data::run(&settings, command).await,
        AdminCommand::Hold { command } => crate::custody_cmd::run(&settings, command).await,
    }
}

/// Finds an agency by id or by exact name.
pub async fn find_agency(store: &DynStore, key: &str) -> anyhow::Result<Agency> {
    let found = match uuid::Uuid::parse_str(key) {
        Ok(id) => store.get_agency(id).await,
        Err(_) => store.find_agency_by_name(key).await,
    };
    match found {
        Err(StoreError::NotFound) => bail!("no agency '{key}'"),
        other => Ok(other?),
    }
}

async fn agency(store: &DynStore, command: AgencyCommand) -> anyhow::Result<()> {
    match command {
        AgencyCommand::Create {
            name,
            country,
            kind,
            domains,
            phone,
            verified,
        } => {
            let new = new_agency(&name, &country, &kind, &domains, phone, verified)?;
            let a = store.create_agency(&cli_actor(), new).await?;
            println!("{}", a.id);
        }
        AgencyCommand::List => {
            for a in store.list_agencies().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    a.id,
                    a.status,
                    a.country,
                    a.kind,
                    a.name,
                    a.domains.join(",")
                );
            }
        }
        AgencyCommand::Verify { agency } => {
            let a = find_agency(store, &agency).await?;
            store
                .set_agency_status(&cli_actor(), a.id, AgencyStatus::Verified)
                .await?;
            println!("{} is verified", a.name);
        }
        AgencyCommand::Suspend { agency } => {
            let a = find_agency(store, &agency).await?;
            store
                .set_agency_status(&cli_actor(), a.id, AgencyStatus::Suspended)
                .await?;
            println!("{} is suspended", a.name);
        }
    }
    Ok(())
}

pub fn new_agency(
    name: &str,
    country: &str,
    kind: &str,
    domains: &[String],
    phone: Option<String>,
    verified: bool,
) -> anyhow::Result<NewAgency> {
    let name = name.trim();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    let country = Country::parse(country).map_err(|e| anyhow!("--country: {e}"))?;
    let kind: AgencyKind = kind.parse().map_err(|e| anyhow!("--kind: {e}"))?;
    let domains = domains
        .iter()
        .map(|d| parse_domain(d).map_err(|e| anyhow!("--domain: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(NewAgency {
        name: name.to_string(),
        country,
        kind,
        status: if verified {
            AgencyStatus::Verified
        } else {
            AgencyStatus::Pending
        },
        phone,
        domains,
    })
}

async fn user(store: &DynStore, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            name,
            role,
            agency,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password")?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let agency = match agency {
                Some(a) => Some(find_agency(store, &a).await?),
                None => None,
            };
            let new = new_user(&email, &name, &role, agency.as_ref(), password.as_deref())?;
            let u = store.create_user(&cli_actor(), new).await?;
            println!("{}", u.id);
        }
        UserCommand::List => {
            for u in store.list_users().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.id,
                    u.role,
                    u.email,
                    u.agency_id.map(|a| a.to_string()).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

/// Checks a new user: agency roles need an agency whose verified domains hold the e-mail
/// address; provider roles belong to no agency.
pub fn new_user(
    email: &str,
    name: &str,
    role: &str,
    agency: Option<&Agency>,
    password: Option<&str>,
) -> anyhow::Result<NewUser> {
    let email = email.trim().to_ascii_lowercase();
    let target = custodian_core::Target::parse(custodian_core::TargetKind::Email, &email)
        .map_err(|e| anyhow!("--email: {}", e.message))?;
    let role: Role = role.parse().map_err(|e| anyhow!("--role: {e}"))?;
    let agency_id = match (role.is_agency_side(), agency) {
        (true, Some(a)) => {
            if !custodian_core::agency::email_on_domains(&target.value, &a.domains) {
                bail!(
                    "--email: {} is not on one of {}'s verified domains ({})",
                    target.value,
                    a.name,
                    a.domains.join(", ")
                );
            }
            Some(a.id)
        }
        (true, None) => bail!("--agency: an {role} belongs to an agency"),
        (false, Some(_)) => bail!("--agency: provider staff ({role}) belong to no agency"),
        (false, None) => None,
    };
    let password_hash = match password {
        Some(p) => Some(custodian_web::account::password::hash(p).map_err(|e| anyhow!("{e}"))?),
        None => None,
    };
    Ok(NewUser {
        email: target.value,
        name: name.trim().to_string(),
        role,
        agency_id,
        password_hash,
    })
}

/// Issues a new token for the user with this e-mail address and stores only its hash.
pub async fn issue_token(
    store: &DynStore,
    actor: &Actor,
    email: &str,
    label: &str,
) -> anyhow::Result<String> {
    let user = match store.find_user_by_email(email).await {
        Err(StoreError::NotFound) => bail!("--user: no user with the e-mail address {email}"),
        other => other?,
    };
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{}{}",
        custodian_web::auth::TOKEN_PREFIX,
        hex::encode(secret)
    );
    store
        .create_token(
            actor,
            user.id,
            &custodian_web::auth::token_hash(&token),
            label,
        )
        .await?;
    Ok(token)
}
