//! Custodian's HTTP front end: the agency API under `/api/v1`, described by an OpenAPI 3.1
//! document generated from these handlers, the server-rendered pages (`ui`, see
//! docs/web-ui.md), and the health check.

pub mod account;
pub mod api;
pub mod auth;
pub mod error;
pub mod fresh;
mod json;
pub mod session;
mod static_files;
pub mod transparency;
pub mod ui;
pub mod verification;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use custodian_core::deadline::BusinessCalendar;
use custodian_core::policy::PolicyProfile;
use custodian_store::{Blobs, DynClock, DynStore, SystemClock};
use tower_http::trace::TraceLayer;

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The largest document accepted in one upload, in bytes.
    pub max_document_bytes: usize,
    /// The most documents one submission may carry.
    pub max_documents: usize,
    /// Working days for deadlines.
    pub calendar: BusinessCalendar,
    /// The address people reach this server at, for links in e-mails (no trailing slash).
    pub public_url: String,
    /// Mark cookies `Secure` (and `__Host-`): on when the public URL is https.
    pub cookie_secure: bool,
    /// Idle and absolute session lifetimes.
    pub sessions: session::SessionPolicy,
    /// Failed sign-ins before a temporary lock, and its length.
    pub throttle: custodian_store::ThrottlePolicy,
    /// How long an e-mail verification link works.
    pub verification_ttl: chrono::Duration,
}

impl WebConfig {
    /// Sets the public URL and, from its scheme, whether cookies are `Secure`.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = url.trim_end_matches('/').to_string();
        self.cookie_secure = self.public_url.starts_with("https://");
        self
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        let year = chrono::Datelike::year(&chrono::Utc::now());
        Self {
            max_document_bytes: 25 * 1024 * 1024,
            max_documents: 10,
            calendar: BusinessCalendar::us_federal(year - 2..=year + 2),
            public_url: "http://127.0.0.1:8080".into(),
            cookie_secure: false,
            sessions: session::SessionPolicy::default(),
            throttle: custodian_store::ThrottlePolicy::default(),
            verification_ttl: chrono::Duration::hours(24),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub blobs: Blobs,
    pub config: Arc<WebConfig>,
    /// The rules the policy engine applies, as the admin selected them.
    pub policy: Arc<PolicyProfile>,
    /// What time it is (tests move it).
    pub clock: DynClock,
    /// Wakes this process's job runner after urgent work is scheduled.
    pub jobs_waker: Arc<tokio::sync::Notify>,
    /// Where customer data is found (`--source`), when one is configured.
    pub source: Option<custodian_sources::DynSource>,
    /// Holds, productions and customer notice; without it their endpoints answer 503.
    pub custody: Option<Arc<custodian_custody::Custody>>,
    /// The risk policy and the deadline calendars as recently read (see [`fresh`]).
    pub risk_policy: Arc<fresh::Fresh<(), custodian_core::verification::RiskPolicy>>,
    pub calendars:
        Arc<fresh::Fresh<(String, i32), Arc<custodian_core::deadline::BusinessCalendar>>>,
}

impl AppState {
    pub fn new(store: DynStore, blobs: Blobs, config: WebConfig, policy: PolicyProfile) -> Self {
        Self {
            store,
            blobs,
            config: Arc::new(config),
            policy: Arc::new(policy),
            clock: Arc::new(SystemClock),
            jobs_waker: Arc::new(tokio::sync::Notify::new()),
            source: None,
            custody: None,
            risk_policy: Default::default(),
            calendars: Default::default(),
        }
    }

    /// Custody (and the data source it reads) for the holds, productions and notices.
    pub fn with_custody(mut self, custody: Arc<custodian_custody::Custody>) -> Self {
        self.source = custody.source().cloned();
        self.custody = Some(custody);
        self
    }

    pub fn with_clock(mut self, clock: DynClock) -> Self {
        self.clock = clock;
        self
    }

    /// The policy profile in force (see [`custodian_store::policy_in_force`]).
    pub async fn active_policy(&self) -> Arc<PolicyProfile> {
        custodian_store::policy_in_force(self.store.as_ref(), &self.policy).await
    }

    /// Shares the job runner's waker, so that scheduling urgent work starts it at once.
    pub fn with_jobs_waker(mut self, waker: Arc<tokio::sync::Notify>) -> Self {
        self.jobs_waker = waker;
        self
    }
}

/// The whole application: API, OpenAPI document and health check.
pub fn router(state: AppState) -> Router {
    // Room for the largest allowed set of documents plus the JSON part and multipart framing;
    // each document is checked against its own limit as it streams in.
    let body_limit = state
        .config
        .max_document_bytes
        .saturating_mul(state.config.max_documents)
        .saturating_add(1024 * 1024);
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api::routes())
        .merge(transparency::routes())
        .merge(ui::routes())
        .merge(static_files::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}
