//! Custody in the binary: building [`Custody`] from the settings (for `serve` and the CLI), and
//! `custodian admin hold` (list, show, renew, release legal holds).

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use custodian_core::notice::NoticeTimings;
use custodian_core::policy::PolicyProfile;
use custodian_core::preservation::HoldStatus;
use custodian_custody::{AuditSigner, Custody, CustodySettings};
use custodian_store::custody::HoldFilter;
use custodian_store::{Actor, Blobs, DynClock, DynStore, SystemClock};
use uuid::Uuid;

use crate::config::{Settings, SourceSettings};

/// Custody as this server runs it: its settings, the data source if one can be opened, the
/// audit key that signs the checkpoints packages carry.
pub async fn build(
    settings: &Settings,
    store: &DynStore,
    blobs: &Blobs,
    clock: DynClock,
    policy: &PolicyProfile,
    public_url: &str,
) -> anyhow::Result<Custody> {
    let c = &settings.custody;
    let defaults = CustodySettings::default();
    let timings = NoticeTimings {
        wait_days: c.notice_wait_days.unwrap_or(defaults.notice.wait_days),
        emergency_days: c
            .emergency_notice_days
            .unwrap_or(defaults.notice.emergency_days),
        // The profile in force decides this one, when it is used (Custody::notice_timings).
        ndo_review_days: defaults.notice.ndo_review_days,
    };
    let custody_settings = CustodySettings {
        notice: timings,
        link_days: c.download_link_days.unwrap_or(defaults.link_days),
        max_downloads: c.download_limit.unwrap_or(defaults.max_downloads),
        provider: c.provider_name.clone().unwrap_or(defaults.provider),
        custodian_title: defaults.custodian_title,
        place: c.certificate_place.clone(),
        public_url: public_url.to_string(),
        spool_dir: None,
    };
    anyhow::ensure!(
        (1..=90).contains(&custody_settings.link_days),
        "download_link_days must be 1 to 90"
    );
    anyhow::ensure!(
        (1..=100).contains(&custody_settings.max_downloads),
        "download_limit must be 1 to 100"
    );
    anyhow::ensure!(
        custody_settings.notice.wait_days <= 90 && custody_settings.notice.emergency_days <= 365,
        "notice_wait_days must be at most 90 and emergency_notice_days at most 365"
    );
    if let Some(dir) = settings.audit_key_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = custodian_audit::load_or_create_signing_key(&settings.audit_key_file)
        .with_context(|| format!("audit key {}", settings.audit_key_file.display()))?;
    let mut custody = Custody::new(
        store.clone(),
        blobs.clone(),
        clock,
        Arc::new(policy.clone()),
        custody_settings,
    )
    .with_signer(AuditSigner {
        key,
        origin: settings.audit_origin.clone(),
    });
    let source = match &settings.source {
        // No demo store yet (`serve --demo` makes one): holds and productions answer 503.
        SourceSettings::Demo { dir } if !custodian_sources::DemoStore::exists(dir) => None,
        _ => Some(settings.open_source().await?),
    };
    if let Some(s) = source {
        custody = custody.with_source(s);
    }
    Ok(custody)
}

#[derive(Subcommand)]
pub enum HoldCommand {
    /// Legal holds, the soonest to expire first.
    List {
        /// capturing, active, released or failed (default: all).
        #[arg(long)]
        status: Option<String>,
        /// Only the holds of this request (its id).
        #[arg(long)]
        request: Option<Uuid>,
    },
    /// Renew an active hold once (90 days; 30 for an EU preservation order).
    Renew { hold: Uuid },
    /// Release a hold before its expiry; its copy of the customer data is deleted.
    Release {
        hold: Uuid,
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(settings: &Settings, command: HoldCommand) -> anyhow::Result<()> {
    let store = settings.open_store().await?;
    match command {
        HoldCommand::List { status, request } => {
            let status = status
                .map(|s| s.parse::<HoldStatus>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--status: {e}"))?;
            let holds = store
                .custody()
                .list_holds(&HoldFilter {
                    request_id: request,
                    status,
                    limit: 1000,
                })
                .await?;
            println!(
                "{:<36}  {:<14}  {:<10}  {:<20}  {:>8}  {:>6}  {:>12}",
                "hold", "request", "status", "expires", "renewals", "files", "bytes"
            );
            for h in holds {
                let number = store
                    .get_request(custodian_store::Scope::Provider, h.request_id)
                    .await
                    .map(|r| r.number)
                    .unwrap_or_default();
                println!(
                    "{:<36}  {:<14}  {:<10}  {:<20}  {:>5}/{:<2}  {:>6}  {:>12}",
                    h.id,
                    number,
                    h.status.as_str(),
                    h.expires_at.format("%Y-%m-%d %H:%M UTC"),
                    h.renewals,
                    h.terms.max_renewals,
                    h.files,
                    h.bytes
                );
            }
            Ok(())
        }
        HoldCommand::Renew { hold } => {
            let custody = cli_custody(settings, &store).await?;
            let h = custody
                .renew_hold(&Actor::System("cli".into()), hold)
                .await?;
            println!("hold {} now expires {}", h.id, h.expires_at.to_rfc3339());
            Ok(())
        }
        HoldCommand::Release { hold, reason } => {
            if reason.trim().is_empty() {
                bail!("--reason: say why the hold ends early");
            }
            let custody = cli_custody(settings, &store).await?;
            let h = custody
                .release_hold(&Actor::System("cli".into()), hold, reason.trim())
                .await?;
            println!("hold {} released; its copy is deleted", h.id);
            Ok(())
        }
    }
}

async fn cli_custody(settings: &Settings, store: &DynStore) -> anyhow::Result<Custody> {
    let policy = crate::policy_cmd::load_profile(settings.policy_profile.as_deref())?;
    let blobs = settings.open_blobs()?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    build(
        settings,
        store,
        &blobs,
        Arc::new(SystemClock),
        &policy,
        &public_url,
    )
    .await
}
