//! Customer data, the provider's side of a production: the demo store that `serve --demo`
//! generates (holding every account the demo requests name), and `custodian admin customer`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Subcommand;
use custodian_core::{DataCategory, LegalProcess, RequestStatus, Target, TargetKind};
use custodian_sources::{AccountId, DemoSize, DemoStore, DemoSummary};
use custodian_store::{DynStore, RequestFilter, RequestRecord, Scope};

use crate::config::{Settings, SourceSettings};

/// The large demo account's content, unless `--demo-content-mib` says otherwise.
pub const DEFAULT_DEMO_CONTENT_MIB: u64 = 320;
const MIB: u64 = 1024 * 1024;

#[derive(Subcommand)]
pub enum CustomerCommand {
    /// List the accounts an identifier names (as a demand would name them).
    Find {
        /// email, phone, account_id, device_serial, order_id or ip_address.
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        value: String,
    },
    /// Delete an account as its customer would ("delete my account"): its records and files
    /// go from the demo store. A legal hold's copy is not touched.
    Delete {
        #[arg(long)]
        account: String,
    },
    /// Serve the configured source over custodian-source/1 (docs/data-sources.md), to see the
    /// protocol run or to point another Custodian at it with --source http.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// A file holding the bearer token callers must present (at least 16 characters).
        #[arg(long)]
        token_file: PathBuf,
    },
}

pub async fn run(settings: &Settings, command: CustomerCommand) -> anyhow::Result<()> {
    match command {
        CustomerCommand::Find { kind, value } => {
            let kind: TargetKind = kind.parse().map_err(|e| anyhow::anyhow!("--type: {e}"))?;
            let target = Target::parse(kind, &value).map_err(|e| anyhow::anyhow!("--{e}"))?;
            let source = settings.open_source().await?;
            for account in source.find_accounts(&target).await? {
                crate::emit(account.as_str());
            }
            Ok(())
        }
        CustomerCommand::Delete { account } => {
            let SourceSettings::Demo { dir } = &settings.source else {
                bail!(
                    "accounts are deleted in the provider's own systems; Custodian reads \
                     customer data through a source and never deletes it"
                );
            };
            if !DemoStore::exists(dir) {
                bail!("no demo customer data in {}", dir.display());
            }
            let account = AccountId::parse(&account).map_err(|e| anyhow::anyhow!("--{e}"))?;
            let deleted = DemoStore::open(dir).await?.delete_account(&account).await?;
            println!(
                "deleted account {}: its records and {} files ({} bytes)",
                deleted.account_id, deleted.files, deleted.bytes
            );
            Ok(())
        }
        CustomerCommand::Serve { listen, token_file } => {
            let token = std::fs::read_to_string(&token_file)
                .with_context(|| format!("reading {}", token_file.display()))?;
            let source = settings.open_source().await?;
            let identity = source.identity();
            let app = custodian_sources::http::server::router(source, &token)?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            println!(
                "custodian-source/1 endpoint for {identity} on http://{}/",
                listener.local_addr()?
            );
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .context("serving the connector endpoint")
        }
    }
}

/// The demo store as `serve --demo` reports it.
pub struct DemoCustomerData {
    pub dir: PathBuf,
    pub summary: DemoSummary,
    pub generated: bool,
    /// The demo request whose content production is the large one.
    pub large_request: Option<String>,
}

impl DemoCustomerData {
    pub fn print(&self) {
        println!();
        println!(
            "Demo customer data{}: {}",
            if self.generated { " generated" } else { "" },
            self.dir.display()
        );
        let s = &self.summary;
        println!(
            "  {} accounts, {} stored files ({} MiB); account {} holds {} MiB of content{}",
            s.accounts,
            s.files,
            s.content_bytes / MIB,
            s.large_account,
            s.large_account_bytes / MIB,
            self.large_request
                .as_ref()
                .map(|n| format!(" (named in {n}, within its date range)"))
                .unwrap_or_default()
        );
        println!(
            "  delete an account as its customer would: custodian admin customer delete --account {}",
            s.large_account
        );
    }
}

/// Every request, for the identifiers they name.
async fn all_requests(store: &DynStore) -> anyhow::Result<Vec<RequestRecord>> {
    let mut out = Vec::new();
    loop {
        let page = store
            .list_requests(
                Scope::Provider,
                &RequestFilter {
                    status: None,
                    limit: 500,
                    offset: out.len() as u32,
                },
            )
            .await?;
        let n = page.items.len();
        out.extend(page.items);
        if n < 500 {
            return Ok(out);
        }
    }
}

/// The request a content production would answer first: one that reaches content, furthest
/// along towards production, a search warrant before other process.
pub(crate) fn large_request(requests: &[RequestRecord]) -> Option<&RequestRecord> {
    let stage = |s: RequestStatus| match s {
        RequestStatus::Decided => 0,
        RequestStatus::Producing => 1,
        RequestStatus::InReview => 2,
        RequestStatus::Received => 3,
        _ => 4,
    };
    let process = |p: LegalProcess| match p {
        LegalProcess::SearchWarrant => 0,
        LegalProcess::CloudActOrder => 1,
        _ => 2,
    };
    requests
        .iter()
        .filter(|r| r.intake.categories.contains(&DataCategory::Content))
        .filter(|r| !r.intake.targets.is_empty())
        .min_by_key(|r| (stage(r.status), process(r.process), r.number.clone()))
}

/// Opens the demo store in `dir`, generating it first (with an account for every identifier
/// the stored requests name) when there is none.
pub async fn prepare_demo(
    store: &DynStore,
    dir: &Path,
    content_mib: u64,
) -> anyhow::Result<DemoCustomerData> {
    let requests = all_requests(store).await?;
    let large = large_request(&requests);
    let large_request = large.map(|r| r.number.clone());
    if DemoStore::exists(dir) {
        let demo = DemoStore::open(dir).await?;
        return Ok(DemoCustomerData {
            dir: dir.to_path_buf(),
            summary: demo.summary().await?,
            generated: false,
            large_request: None,
        });
    }
    let mut size = DemoSize::full(Utc::now().date_naive());
    size.large_account_content = content_mib.saturating_mul(MIB);
    size.named = requests
        .iter()
        .flat_map(|r| r.intake.targets.iter().cloned())
        .collect();
    if let Some(r) = large {
        size.large_account = r.intake.targets.first().cloned();
        size.large_account_period = r.intake.date_range;
    }
    let demo = DemoStore::generate(dir, &size)
        .await
        .with_context(|| format!("generating demo customer data in {}", dir.display()))?;
    Ok(DemoCustomerData {
        dir: dir.to_path_buf(),
        summary: demo.summary().await?,
        generated: true,
        large_request,
    })
}

/// One line on where customer data comes from, checking that it answers.
pub async fn describe_source(settings: &Settings) -> String {
    match &settings.source {
        SourceSettings::Demo { dir } if DemoStore::exists(dir) => {
            format!("  customer data: demo store at {}", dir.display())
        }
        SourceSettings::Demo { dir } => format!(
            "  customer data: none yet ({}; `serve --demo` generates a demo store)",
            dir.display()
        ),
        SourceSettings::Http { url, token_file } => {
            let described = match settings.http_source(url, token_file) {
                Ok(source) => source.describe().await.map_err(anyhow::Error::from),
                Err(e) => Err(e),
            };
            match described {
                Ok(info) => format!(
                    "  customer data: {} over {} at {url}",
                    info.name, info.protocol
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "the customer-data source does not answer");
                    format!("  customer data: {url} (not answering yet: {e:#})")
                }
            }
        }
    }
}
