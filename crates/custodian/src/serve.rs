//! `custodian serve`.

use anyhow::Context;
use clap::Args;
use custodian_web::{AppState, WebConfig};

use crate::config::StoreArgs;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CUSTODIAN_LISTEN")]
    listen: Option<String>,
    /// Fill an empty data directory with a demonstration provider and print its sign-ins.
    #[arg(long)]
    demo: bool,
    /// The largest document accepted in one upload, in MiB.
    #[arg(long, env = "CUSTODIAN_MAX_DOCUMENT_MIB")]
    max_document_mib: Option<usize>,
    /// The address people reach the server at (links in e-mails; https makes cookies Secure).
    /// Default: the listening address.
    #[arg(long, env = "CUSTODIAN_PUBLIC_URL")]
    public_url: Option<String>,
    /// The policy profile: a built-in name (provider-default, notify-all) or a TOML file.
    #[arg(long, env = "CUSTODIAN_POLICY_PROFILE")]
    policy_profile: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.store.resolve()?;
    let store = settings.open_store().await?;
    let blobs = settings.open_blobs()?;
    let mut config = WebConfig::default();
    if let Some(mib) = args.max_document_mib.or(settings.max_document_mib) {
        anyhow::ensure!(mib > 0, "--max-document-mib must be at least 1");
        config.max_document_bytes = mib.saturating_mul(1024 * 1024);
    }
    let listen = args
        .listen
        .or(settings.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let public_url = args
        .public_url
        .or(settings.public_url.clone())
        .unwrap_or_else(|| url.clone());
    anyhow::ensure!(
        public_url.starts_with("http://") || public_url.starts_with("https://"),
        "--public-url must start with http:// or https://"
    );
    let config = config.with_public_url(&public_url);

    let demo = if args.demo {
        crate::demo::fill(&store, &blobs, &config).await?
    } else {
        None
    };

    let policy = crate::policy_cmd::load_profile(
        args.policy_profile
            .as_deref()
            .or(settings.policy_profile.as_deref()),
    )?;
    println!("  policy profile: {}", policy.name);
    let state = AppState::new(store.clone(), blobs, config, policy);
    let app = custodian_web::router(state);
    println!("Custodian is listening on {url}");
    println!("  database: {}", store.backend());
    println!("  OpenAPI:  {url}/api/v1/openapi.json");
    println!("  sign in:  {public_url}/signin");
    match demo {
        Some(d) => d.print(&url),
        None if args.demo => println!("  demo: the data directory was not empty; nothing added"),
        None => {}
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving HTTP")
}
