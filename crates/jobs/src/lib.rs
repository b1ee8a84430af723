//! Custodian's background work. The job table lives in the store; this crate runs it: the
//! [`JobRunner`] that every `custodian serve` process starts, the [`SendMail`] job that
//! delivers the mail outbox over SMTP (or into a Maildir when no server is configured), and
//! [`testing::SmtpSink`], a real SMTP server on loopback for the test suites.
//!
//! [`DeadlineReminders`] mails assignees before and after their requests' deadlines. Other
//! parts of Custodian add their own [`JobHandler`]s (hold expiry,
//! delayed customer notices, emergency paging) and register them with the runner.

pub mod mail;
pub mod paging;
pub mod reminders;
pub mod runner;
pub mod testing;

pub use mail::{MailError, MaildirMailer, Mailer, OutgoingMail, SendMail, SmtpMailer};
pub use reminders::{DeadlineReminders, DEADLINE_REMINDERS_JOB, DEADLINE_REMINDER_MAIL};
pub use runner::{backoff, JobError, JobHandler, JobRunner, RunReport};
