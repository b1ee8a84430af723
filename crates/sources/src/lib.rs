//! Where a provider's customer data lives, as Custodian sees it: the [`DataSource`] trait finds
//! the accounts a demand names and hands over their records per data category (subscriber,
//! transactional, content), the content as files that are streamed, never loaded whole.
//!
//! Two sources ship: [`DemoStore`], a demonstration customer-data store (its own SQLite database
//! plus a directory of files) that `custodian serve --demo` fills, and [`HttpSource`], a
//! connector that calls a provider's own endpoint over a small JSON-over-HTTP protocol whose
//! server side ([`http::server::router`]) exposes any `DataSource`. docs/data-sources.md
//! describes the protocol and how to write a connector.
//!
//! A source only reads: Custodian never changes or deletes customer data through it.
//! ([`DemoStore::delete_account`] is the demo customer's own "delete my account", not part of
//! the trait.)

pub mod demo;
mod error;
pub mod http;
mod period;
pub mod records;
mod stream;

use std::fmt;

use async_trait::async_trait;
use custodian_core::request::DateRange;
use custodian_core::Target;
use serde::{Deserialize, Serialize};

pub use demo::{DeletedAccount, DemoSize, DemoStore, DemoSummary};
pub use error::{SourceError, SourceResult};
pub use http::client::{HttpSource, HttpSourceConfig};
pub use period::Period;
pub use records::{
    ContentFile, DeviceRecord, OrderItem, OrderRecord, PaymentMethod, PostalAddress, Service,
    SignInRecord, SubscriberRecord, TransactionalRecords,
};
pub use stream::{ByteStream, FileStream, CHUNK_SIZE};

/// Which source a record came from, for the manifest of a production or a hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIdentity {
    /// The kind of source: `demo` or `http`.
    pub kind: String,
    /// The name the provider gave the system the records come from.
    pub name: String,
    /// Where it is: a directory for the demo store, the base URL for an HTTP source.
    pub location: String,
}

impl fmt::Display for SourceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} at {})", self.name, self.kind, self.location)
    }
}

/// A provider's own identifier of a customer account: a letter or digit, then letters, digits
/// and `- _ . : #`, so that it is safe in a URL path, a file name and a log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(raw: &str) -> SourceResult<AccountId> {
        let ok = raw.len() <= 128
            && raw.starts_with(|c: char| c.is_ascii_alphanumeric())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:#".contains(c));
        if ok {
            Ok(AccountId(raw.to_string()))
        } else {
            Err(SourceError::Invalid(
                "account: an account id is 1 to 128 letters, digits and - _ . : #, starting with a letter or digit".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = SourceError;
    fn try_from(s: String) -> SourceResult<AccountId> {
        AccountId::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A system that holds customer data. Every method only reads.
///
/// Date ranges are a demand's `date_range`: both days included, in UTC; `None` means the whole
/// history. Records come back in a stable order (by time, then id) so that the same query gives
/// the same JSON and CSV bytes.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// Which source this is, for manifests and logs.
    fn identity(&self) -> SourceIdentity;

    /// The accounts an identifier names (none is an empty list, not an error), in id order. A
    /// source that cannot search by the target's kind answers [`SourceError::Unsupported`].
    async fn find_accounts(&self, target: &Target) -> SourceResult<Vec<AccountId>>;

    /// Who the customer is: name, contact details, addresses, payment methods as a provider
    /// discloses them (masked), when the account was opened and the services it uses.
    async fn subscriber(&self, account: &AccountId) -> SourceResult<SubscriberRecord>;

    /// What the customer did within the range: orders, devices, sign-ins with IP addresses.
    async fn transactional(
        &self,
        account: &AccountId,
        range: Option<DateRange>,
    ) -> SourceResult<TransactionalRecords>;

    /// The files stored in the account and created within the range (without their bytes).
    async fn content(
        &self,
        account: &AccountId,
        range: Option<DateRange>,
    ) -> SourceResult<Vec<ContentFile>>;

    /// One file's bytes as a stream of chunks of at most [`CHUNK_SIZE`] bytes. The stream fails
    /// rather than end early or run long: it yields exactly `FileStream::size` bytes or an error.
    async fn open_file(&self, account: &AccountId, file_id: &str) -> SourceResult<FileStream>;
}

/// A source shared between tasks.
pub type DynSource = std::sync::Arc<dyn DataSource>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_safe_in_paths_and_urls() {
        for ok in ["acct-123456", "A1", "u:42#x_y.z"] {
            assert!(AccountId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "..", ".hidden", "a/b", "a b", "-x", &"x".repeat(129)] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        let parsed: Result<AccountId, _> = serde_json::from_str("\"../etc\"");
        assert!(parsed.is_err());
    }
}
