//! Where Custodian keeps its data, from the command line, `CUSTODIAN_*` variables or a TOML
//! file, in that order of precedence. Unknown keys in the file are an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use custodian_sources::{DemoStore, DynSource, HttpSource, HttpSourceConfig};
use custodian_store::{Blobs, DynStore};
use serde::Deserialize;

#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// A TOML configuration file.
    #[arg(long, env = "CUSTODIAN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory holding the SQLite database, the local object store and the audit key.
    #[arg(long, env = "CUSTODIAN_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite: postgres://user@host/db.
    #[arg(long, env = "CUSTODIAN_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Keep documents in an S3-compatible bucket: s3://bucket?endpoint=http://host:port.
    #[arg(long, env = "CUSTODIAN_OBJECT_STORE", global = true)]
    pub object_store: Option<String>,
    /// Where customer data is found: `demo` (the demo store in DATA_DIR/customer-data) or
    /// `http` (the provider's endpoint at --source-url).
    #[arg(long, env = "CUSTODIAN_SOURCE", global = true)]
    pub source: Option<String>,
    /// The base URL of the provider's custodian-source/1 endpoint.
    #[arg(long, env = "CUSTODIAN_SOURCE_URL", global = true)]
    pub source_url: Option<String>,
    /// A file holding the endpoint's bearer token.
    #[arg(long, env = "CUSTODIAN_SOURCE_TOKEN_FILE", global = true)]
    pub source_token_file: Option<PathBuf>,
}

/// The configuration file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// A file holding the database URL (for URLs with passwords).
    pub database_url_file: Option<PathBuf>,
    pub object_store: Option<String>,
    pub max_document_mib: Option<usize>,
    /// The Ed25519 key that signs audit checkpoints (default: DATA_DIR/audit-signing.key).
    pub audit_key_file: Option<PathBuf>,
    /// The name checkpoints are signed under.
    pub audit_origin: Option<String>,
    /// The policy profile: a built-in name or the path of a TOML file.
    pub policy_profile: Option<String>,
    /// Where mail goes: smtp://host:25, smtp://user:pass@host:587?tls=required or
    /// smtps://user:pass@host:465. Without it, mail is filed in DATA_DIR/maildir.
    pub smtp_url: Option<String>,
    /// A file holding the SMTP URL (for URLs with passwords).
    pub smtp_url_file: Option<PathBuf>,
    /// The sender of Custodian's mail, e.g. "Legal Process <legal@provider.example>".
    pub mail_from: Option<String>,
    /// Where people reach this server, for links in mail (https://custodian.provider.example).
    pub public_url: Option<String>,
    /// Where customer data is found: `demo` (default) or `http`.
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub source_token_file: Option<PathBuf>,
    /// Custody (docs/custody.md): the provider's legal name on certificates and notices,
    /// the days a production waits after the customer's notice (10), the days after an
    /// emergency disclosure that the customer is told (30), a download link's days (14) and
    /// downloads (5), and where certificates are executed.
    pub provider_name: Option<String>,
    pub notice_wait_days: Option<u32>,
    pub emergency_notice_days: Option<u32>,
    pub download_link_days: Option<u32>,
    pub download_limit: Option<u32>,
    pub certificate_place: Option<String>,
}

/// Custody's settings as configured (defaults are custody's own).
#[derive(Debug, Clone, Default)]
pub struct CustodyConfig {
    pub provider_name: Option<String>,
    pub notice_wait_days: Option<u32>,
    pub emergency_notice_days: Option<u32>,
    pub download_link_days: Option<u32>,
    pub download_limit: Option<u32>,
    pub certificate_place: Option<String>,
}

/// A number from a `CUSTODIAN_*` variable, else the file's.
fn number_setting(var: &str, file: Option<u32>) -> anyhow::Result<Option<u32>> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{var} must be a whole number")),
        _ => Ok(file),
    }
}

/// Where customer data is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSettings {
    /// The demo customer-data store (`serve --demo` generates it).
    Demo { dir: PathBuf },
    /// A provider's endpoint speaking custodian-source/1.
    Http { url: String, token_file: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub object_store: Option<String>,
    pub listen: Option<String>,
    pub max_document_mib: Option<usize>,
    pub audit_key_file: PathBuf,
    pub audit_origin: String,
    pub policy_profile: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub public_url: Option<String>,
    pub source: SourceSettings,
    pub custody: CustodyConfig,
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(s.trim().to_string())
}

impl StoreArgs {
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let file: FileConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let database_url = match (
            &self.database_url,
            &file.database_url,
            &file.database_url_file,
        ) {
            (Some(u), _, _) => Some(u.clone()),
            (None, Some(u), _) => Some(u.clone()),
            (None, None, Some(f)) => Some(read_secret_file(f)?),
            _ => match std::env::var_os("CUSTODIAN_DATABASE_URL_FILE") {
                Some(f) => Some(read_secret_file(Path::new(&f))?),
                None => None,
            },
        };
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("custodian-data"));
        let audit_key_file = file
            .audit_key_file
            .or_else(|| std::env::var_os("CUSTODIAN_AUDIT_KEY_FILE").map(PathBuf::from))
            .unwrap_or_else(|| data_dir.join("audit-signing.key"));
        let source = match self
            .source
            .clone()
            .or(file.source)
            .as_deref()
            .unwrap_or("demo")
        {
            "demo" => SourceSettings::Demo {
                dir: data_dir.join("customer-data"),
            },
            "http" => SourceSettings::Http {
                url: self
                    .source_url
                    .clone()
                    .or(file.source_url)
                    .context("--source http needs --source-url (source_url in the file)")?,
                token_file: self
                    .source_token_file
                    .clone()
                    .or(file.source_token_file)
                    .context(
                        "--source http needs --source-token-file (source_token_file in the file)",
                    )?,
            },
            other => bail!("--source must be demo or http (got '{other}')"),
        };
        let custody = CustodyConfig {
            provider_name: std::env::var("CUSTODIAN_PROVIDER_NAME")
                .ok()
                .filter(|v| !v.is_empty())
                .or(file.provider_name),
            notice_wait_days: number_setting("CUSTODIAN_NOTICE_WAIT_DAYS", file.notice_wait_days)?,
            emergency_notice_days: number_setting(
                "CUSTODIAN_EMERGENCY_NOTICE_DAYS",
                file.emergency_notice_days,
            )?,
            download_link_days: number_setting(
                "CUSTODIAN_DOWNLOAD_LINK_DAYS",
                file.download_link_days,
            )?,
            download_limit: number_setting("CUSTODIAN_DOWNLOAD_LIMIT", file.download_limit)?,
            certificate_place: file.certificate_place,
        };
        Ok(Settings {
            custody,
            source,
            database_url,
            object_store: self.object_store.clone().or(file.object_store),
            listen: file.listen,
            max_document_mib: file.max_document_mib,
            audit_key_file,
            audit_origin: file
                .audit_origin
                .or_else(|| std::env::var("CUSTODIAN_AUDIT_ORIGIN").ok())
                .unwrap_or_else(|| "custodian/audit".to_string()),
            policy_profile: file.policy_profile,
            smtp_url: match (
                std::env::var("CUSTODIAN_SMTP_URL").ok(),
                file.smtp_url,
                file.smtp_url_file,
            ) {
                (Some(u), _, _) => Some(u),
                (None, Some(u), _) => Some(u),
                (None, None, Some(f)) => Some(read_secret_file(&f)?),
                _ => match std::env::var_os("CUSTODIAN_SMTP_URL_FILE") {
                    Some(f) => Some(read_secret_file(Path::new(&f))?),
                    None => None,
                },
            }
            .filter(|u| !u.is_empty()),
            mail_from: std::env::var("CUSTODIAN_MAIL_FROM")
                .ok()
                .or(file.mail_from)
                .unwrap_or_else(|| "Custodian <custodian@localhost>".to_string()),
            public_url: std::env::var("CUSTODIAN_PUBLIC_URL")
                .ok()
                .or(file.public_url),
            data_dir,
        })
    }
}

impl Settings {
    /// Opens the database (SQLite in the data dir unless a PostgreSQL URL is given) and brings
    /// its schema up to date.
    pub async fn open_store(&self) -> anyhow::Result<DynStore> {
        let url = match &self.database_url {
            Some(u) => u.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                format!("sqlite://{}", self.data_dir.join("custodian.db").display())
            }
        };
        let store = custodian_store::connect(&url)
            .await
            .context("opening the database")?;
        store.migrate().await.context("migrating the database")?;
        Ok(store)
    }

    /// The mail server, or the data directory's Maildir when none is configured.
    pub fn mailer(&self) -> anyhow::Result<std::sync::Arc<dyn custodian_jobs::Mailer>> {
        Ok(match &self.smtp_url {
            Some(url) => std::sync::Arc::new(
                custodian_jobs::SmtpMailer::from_url(url).map_err(anyhow::Error::msg)?,
            ),
            None => std::sync::Arc::new(custodian_jobs::MaildirMailer::new(
                self.data_dir.join("maildir"),
            )),
        })
    }

    /// Opens the configured source of customer data.
    pub async fn open_source(&self) -> anyhow::Result<DynSource> {
        match &self.source {
            SourceSettings::Demo { dir } => {
                if !DemoStore::exists(dir) {
                    bail!(
                        "no demo customer data in {} (`custodian serve --demo` generates it)",
                        dir.display()
                    );
                }
                Ok(Arc::new(DemoStore::open(dir).await?))
            }
            SourceSettings::Http { url, token_file } => {
                Ok(Arc::new(self.http_source(url, token_file)?))
            }
        }
    }

    pub fn http_source(&self, url: &str, token_file: &Path) -> anyhow::Result<HttpSource> {
        let token = read_secret_file(token_file)?;
        Ok(HttpSource::new(HttpSourceConfig::new(url, token))?)
    }

    pub fn open_blobs(&self) -> anyhow::Result<Blobs> {
        match &self.object_store {
            Some(url) if url.starts_with("s3://") => Ok(Blobs::from_url(url)?),
            Some(other) => bail!("--object-store must be an s3:// URL (got '{other}')"),
            None => Ok(Blobs::local(self.data_dir.join("objects"))),
        }
    }
}
