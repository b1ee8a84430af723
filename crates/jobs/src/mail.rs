//! E-mail delivery. Everything Custodian mails (address verification, deadline reminders,
//! emergency pages, customer notices) goes into the store's outbox in the same transaction as
//! the action that caused it; the `mail.send` job then hands it to a [`Mailer`].
//!
//! Two mailers: [`SmtpMailer`] for a real mail server, and [`MaildirMailer`], the embedded
//! default when no SMTP server is configured, which files each message in a Maildir under the
//! data directory so that a demo or a single machine still has every mail to read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use custodian_store::{DynClock, DynStore, Job, MailStatus};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::runner::{JobError, JobHandler};

/// One message ready to go.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    /// Stable per outbox row (`<mail-id@host>`), so that a resend after a crash between the
    /// server's acceptance and our record of it carries the same Message-ID.
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server may take it later (4xx, a connection refused, a timeout).
    #[error("{0}")]
    Transient(String),
    /// It will never be taken as it is (5xx, a malformed address).
    #[error("{0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
    /// Where mail goes, for the start-up banner (no credentials).
    fn describe(&self) -> String;
}

fn build(mail: &OutgoingMail) -> Result<Message, MailError> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| MailError::Permanent(format!("the sender address is invalid: {e}")))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Permanent(format!("the recipient address is invalid: {e}")))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body_text.clone())
        .map_err(|e| MailError::Permanent(format!("the message cannot be built: {e}")))
}

/// Sends through an SMTP server. The URL follows lettre's forms:
/// `smtp://host:25` (plain, for a relay on loopback), `smtp://user:pass@host:587?tls=required`
/// (STARTTLS), `smtps://user:pass@host:465` (TLS from the start).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    shown: String,
}

impl SmtpMailer {
    pub fn from_url(url: &str) -> Result<SmtpMailer, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("the SMTP URL is invalid: {e}"))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(format!(
                "the SMTP URL must start with smtp:// or smtps:// (got '{}')",
                parsed.scheme()
            ));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL is invalid: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let shown = format!(
            "{}://{}:{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or("?"),
            parsed
                .port()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "default".into())
        );
        Ok(SmtpMailer { transport, shown })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }

    fn describe(&self) -> String {
        format!("SMTP {}", self.shown)
    }
}

/// Files each message in a Maildir (`tmp/`, then renamed into `new/`), for a machine without a
/// mail server: nothing is lost, and anyone with access to the data directory can read it.
pub struct MaildirMailer {
    dir: PathBuf,
}

impl MaildirMailer {
    pub fn new(dir: impl Into<PathBuf>) -> MaildirMailer {
        MaildirMailer { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for MaildirMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let bytes = build(mail)?.formatted();
        let dir = self.dir.clone();
        let name = format!(
            "{}.{}.custodian",
            chrono::Utc::now().timestamp(),
            mail.message_id.trim_matches(|c| c == '<' || c == '>')
        );
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for sub in ["tmp", "new", "cur"] {
                std::fs::create_dir_all(dir.join(sub))?;
            }
            let tmp = dir.join("tmp").join(&name);
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, dir.join("new").join(&name))
        })
        .await
        .map_err(|e| MailError::Transient(e.to_string()))?
        .map_err(|e| MailError::Transient(format!("cannot write to the maildir: {e}")))
    }

    fn describe(&self) -> String {
        format!("maildir {}", self.dir.display())
    }
}

/// The `mail.send` job: delivers one outbox mail and records the result on it.
pub struct SendMail {
    store: DynStore,
    clock: DynClock,
    mailer: Arc<dyn Mailer>,
    from: String,
    /// The host part of Message-IDs.
    host: String,
}

impl SendMail {
    pub fn new(store: DynStore, clock: DynClock, mailer: Arc<dyn Mailer>, from: &str) -> Self {
        let host = from
            .rsplit_once('@')
            .map(|(_, h)| h.trim_end_matches('>').to_string())
            .unwrap_or_else(|| "custodian.invalid".into());
        SendMail {
            store,
            clock,
            mailer,
            from: from.to_string(),
            host,
        }
    }
}

#[async_trait]
impl JobHandler for SendMail {
    fn kind(&self) -> &'static str {
        custodian_store::MAIL_SEND_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let id: uuid::Uuid = job
            .payload
            .get("mail_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| JobError::permanent("the job names no mail_id"))?;
        let mail = self.store.outbox().get(id).await?;
        if mail.status == MailStatus::Sent {
            return Ok(());
        }
        let outgoing = OutgoingMail {
            from: self.from.clone(),
            to: mail.recipient,
            subject: mail.subject,
            body_text: mail.body_text,
            message_id: format!("<{}@{}>", id, self.host),
        };
        match self.mailer.send(&outgoing).await {
            Ok(()) => {
                self.store
                    .outbox()
                    .mark_sent(id, self.clock.now(), &outgoing.message_id)
                    .await?;
                Ok(())
            }
            Err(MailError::Permanent(e)) => {
                self.store
                    .outbox()
                    .mark_attempt_failed(id, &e, true)
                    .await?;
                Err(JobError::permanent(e))
            }
            Err(MailError::Transient(e)) => {
                let last = job.attempts >= job.max_attempts;
                self.store
                    .outbox()
                    .mark_attempt_failed(id, &e, last)
                    .await?;
                Err(JobError::retry(e))
            }
        }
    }
}
