//! What the provider does once it has decided (issue 5; docs/custody.md): freeze the data,
//! collect it, hand it over with a chain of custody, and tell the customer when the rules say
//! so.
//!
//! - **Preservation** ([`Custody::preserve`]): a legal hold copies the named accounts' records
//!   in the requested categories into the object store, under the hold's own prefix; the copy
//!   outlives the customer deleting the account, and goes when the hold ends (expiry or
//!   release). Capture, expiry and the reviewer's reminder are jobs.
//! - **Production** ([`Custody::produce`]): for a request whose decision may be acted on, the
//!   records of exactly the categories decided "disclose", for the named targets and the date
//!   range, from the source or from the agency's hold, are streamed into a package
//!   (`custodian-production`) signed off by a custodian, with the audit proof of its
//!   production event; the package is stored, then released to the agency once customer
//!   notice allows, behind a download link that expires and works a limited number of times.
//! - **Customer notice** (the `notice.*` jobs): when a decision becomes effective the policy
//!   engine says whether and why the customer is told; [`custodian_core::notice`] says when;
//!   the mail goes through the outbox with a link to a notice page.
//!
//! The pure rules (clocks, renewal, notice timing, the release gate) live in `custodian-core`;
//! the rows in `custodian-store` (`store.custody()`). This crate orchestrates them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

mod collect;
mod error;
mod hold;
mod jobs;
mod mail;
mod notice;
mod production;

use std::path::PathBuf;
use std::sync::Arc;

use custodian_audit::SigningKey;
use custodian_core::notice::NoticeTimings;
use custodian_core::policy::PolicyProfile;
use custodian_sources::DynSource;
use custodian_store::{Blobs, DynClock, DynStore};

pub use error::{CustodyError, CustodyResult};
pub use jobs::register;
pub use notice::{NoticeView, OrderReview};
pub use production::{Download, Produced};

/// The provider's settings for custody.
#[derive(Debug, Clone)]
pub struct CustodySettings {
    /// Notice timings: the waiting period before release, the emergency delay, the yearly
    /// review of an order with no end date.
    pub notice: NoticeTimings,
    /// Days a download link works (default 14).
    pub link_days: u32,
    /// Downloads a link allows (default 5).
    pub max_downloads: u32,
    /// The provider's legal name, for the certificate and the customer's mail.
    pub provider: String,
    /// The custodian's title on the certificate.
    pub custodian_title: String,
    /// Where certificates are executed (`Seattle, Washington`), if stated.
    pub place: Option<String>,
    /// Where people reach the server, for links in mail (no trailing slash).
    pub public_url: String,
    /// Where records of unknown size are spooled while packaging.
    pub spool_dir: Option<PathBuf>,
}

impl Default for CustodySettings {
    fn default() -> Self {
        Self {
            notice: NoticeTimings::default(),
            link_days: 14,
            max_downloads: 5,
            provider: "the provider".into(),
            custodian_title: "Custodian of Records".into(),
            place: None,
            public_url: "http://127.0.0.1:8080".into(),
            spool_dir: None,
        }
    }
}

/// The audit key that signs the checkpoint a package carries.
#[derive(Clone)]
pub struct AuditSigner {
    pub key: SigningKey,
    /// The log's origin (`custodian/audit` by default), the key's name.
    pub origin: String,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner({})", self.origin)
    }
}

/// Custody's services, shared by the web layer and the job handlers.
pub struct Custody {
    store: DynStore,
    blobs: Blobs,
    source: Option<DynSource>,
    clock: DynClock,
    /// The profile the server started with; [`Custody::policy`] gives the one in force.
    policy: Arc<PolicyProfile>,
    settings: CustodySettings,
    signer: Option<AuditSigner>,
}

impl Custody {
    pub fn new(
        store: DynStore,
        blobs: Blobs,
        clock: DynClock,
        policy: Arc<PolicyProfile>,
        settings: CustodySettings,
    ) -> Custody {
        let mut settings = settings;
        settings.public_url = settings.public_url.trim_end_matches('/').to_string();
        Custody {
            store,
            blobs,
            source: None,
            clock,
            policy,
            settings,
            signer: None,
        }
    }

    /// The policy profile in force now: the admin may switch it while the server runs, and
    /// holds and notices must follow the same profile as the review API.
    async fn policy(&self) -> Arc<PolicyProfile> {
        custodian_store::policy_in_force(self.store.as_ref(), &self.policy).await
    }

    /// The notice timings, with the review interval of orders without an end date taken from
    /// the profile in force.
    fn notice_timings(&self, policy: &PolicyProfile) -> custodian_core::notice::NoticeTimings {
        let mut t = self.settings.notice;
        t.ndo_review_days = policy.notice.ndo_review_days;
        t
    }

    /// Where customer data is found. Without one, holds and productions wait (their jobs retry)
    /// and the API says so.
    pub fn with_source(mut self, source: DynSource) -> Custody {
        self.source = Some(source);
        self
    }

    /// The audit key; without it no package can carry its signed checkpoint.
    pub fn with_signer(mut self, signer: AuditSigner) -> Custody {
        self.signer = Some(signer);
        self
    }

    pub fn settings(&self) -> &CustodySettings {
        &self.settings
    }

    pub fn source(&self) -> Option<&DynSource> {
        self.source.as_ref()
    }

    fn source_or_unavailable(&self) -> CustodyResult<&DynSource> {
        self.source.as_ref().ok_or_else(|| {
            CustodyError::Unavailable(
                "no source of customer data is configured (--source); holds and productions \
                 need one"
                    .into(),
            )
        })
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// Whether `text` is an age X25519 public key (`age1...`) an agency's packages can be
/// encrypted to; why not, if it is not.
pub fn check_age_recipient(text: &str) -> Result<(), String> {
    custodian_production::AgeRecipient::parse(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
