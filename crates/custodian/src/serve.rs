//! `custodian serve`.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use custodian_jobs::{DeadlineReminders, JobRunner, SendMail};
use custodian_store::{DynClock, SystemClock};
use custodian_web::{AppState, WebConfig};

use crate::config::{SourceSettings, StoreArgs};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CUSTODIAN_LISTEN")]
    listen: Option<String>,
    /// Fill an empty data directory with a demonstration provider and print its sign-ins;
    /// generate demo customer data in DATA_DIR/customer-data if there is none.
    #[arg(long)]
    demo: bool,
    /// The content of the demo's largest account, in MiB.
    #[arg(long, env = "CUSTODIAN_DEMO_CONTENT_MIB", default_value_t = crate::customer_data::DEFAULT_DEMO_CONTENT_MIB)]
    demo_content_mib: u64,
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
    /// Do not run background jobs in this process (another instance runs them).
    #[arg(long, env = "CUSTODIAN_NO_JOBS")]
    no_jobs: bool,
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
    let customer_data = match (&settings.source, args.demo) {
        (SourceSettings::Demo { dir }, true) => {
            Some(crate::customer_data::prepare_demo(&store, dir, args.demo_content_mib).await?)
        }
        _ => None,
    };

    let policy = crate::policy_cmd::load_profile(
        args.policy_profile
            .as_deref()
            .or(settings.policy_profile.as_deref()),
    )?;
    println!("  policy profile: {}", policy.name);
    let clock: DynClock = Arc::new(SystemClock);
    let mailer = settings.mailer()?;
    let custody = Arc::new(
        crate::custody_cmd::build(
            &settings,
            &store,
            &blobs,
            clock.clone(),
            &policy,
            &public_url,
        )
        .await?,
    );
    let reminders = DeadlineReminders::new(store.clone(), clock.clone(), &config.public_url);
    reminders.schedule(clock.now()).await?;
    let runner = JobRunner::new(store.clone(), clock.clone())
        .handle(SendMail::new(
            store.clone(),
            clock.clone(),
            mailer.clone(),
            &settings.mail_from,
        ))
        .handle(reminders);
    let runner = custodian_custody::register(runner, custody.clone());
    let runner =
        custodian_jobs::paging::register(runner, store.clone(), clock.clone(), &config.public_url);
    let state = AppState::new(store.clone(), blobs, config, policy)
        .with_clock(clock)
        .with_jobs_waker(runner.waker())
        .with_custody(custody);
    let app = custodian_web::router(state);
    println!("Custodian is listening on {url}");
    println!("  database: {}", store.backend());
    println!("  mail:     {}", mailer.describe());
    println!("{}", crate::customer_data::describe_source(&settings).await);
    println!("  OpenAPI:  {url}/api/v1/openapi.json");
    println!("  sign in:  {public_url}/signin");
    match demo {
        Some(d) => d.print(&url),
        None if args.demo => println!("  demo: the data directory was not empty; nothing added"),
        None => {}
    }
    if let Some(c) = customer_data {
        c.print();
    }
    let (stop_jobs, jobs_stopped) = tokio::sync::oneshot::channel::<()>();
    let jobs = if args.no_jobs {
        println!("  jobs:     not run here (--no-jobs)");
        None
    } else {
        Some(tokio::spawn(runner.run(async move {
            let _ = jobs_stopped.await;
        })))
    };
    // The peer's address reaches the handlers (ConnectInfo): verification of the requester
    // records the network each officer calls from (docs/verification.md).
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving HTTP");
    let _ = stop_jobs.send(());
    if let Some(jobs) = jobs {
        let _ = jobs.await;
    }
    served
}
