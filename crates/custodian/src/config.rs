//! Where Custodian keeps its data, from the command line, `CUSTODIAN_*` variables or a TOML
//! file, in that order of precedence. Unknown keys in the file are an error.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
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
        Ok(Settings {
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

    pub fn open_blobs(&self) -> anyhow::Result<Blobs> {
        match &self.object_store {
            Some(url) if url.starts_with("s3://") => Ok(Blobs::from_url(url)?),
            Some(other) => bail!("--object-store must be an s3:// URL (got '{other}')"),
            None => Ok(Blobs::local(self.data_dir.join("objects"))),
        }
    }
}
