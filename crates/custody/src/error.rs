//! What can go wrong in custody, in words the API can pass on: messages name ids and fields,
//! never customer data.

use custodian_production::PackageError;
use custodian_sources::SourceError;
use custodian_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// No such thing, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// Not possible in the current state; the message says why.
    #[error("{0}")]
    Conflict(String),
    /// A field of the caller's input is wrong: `field: message`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A download link that no longer works (`code`: `link_expired`, `download_limit_reached`).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// Something custody needs is not configured (no data source, no audit key).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("the data source: {0}")]
    Source(#[from] SourceError),
    #[error("the package: {0}")]
    Package(#[from] PackageError),
}

impl From<StoreError> for CustodyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CustodyError::NotFound,
            StoreError::Conflict(m) => CustodyError::Conflict(m),
            StoreError::IllegalTransition(t) => CustodyError::Conflict(t.to_string()),
            other => CustodyError::Store(other),
        }
    }
}

impl CustodyError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CustodyError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether trying again later may work (a source or store that did not answer).
    pub fn is_transient(&self) -> bool {
        match self {
            CustodyError::Source(e) => matches!(
                e,
                SourceError::Unavailable(_) | SourceError::Remote { .. } | SourceError::Storage(_)
            ),
            CustodyError::Store(_) => true,
            CustodyError::Package(PackageError::ReadRecord { .. }) => true,
            _ => false,
        }
    }
}

pub type CustodyResult<T> = Result<T, CustodyError>;

impl From<CustodyError> for custodian_jobs::JobError {
    fn from(e: CustodyError) -> Self {
        if e.is_transient() {
            custodian_jobs::JobError::retry(e.to_string())
        } else {
            custodian_jobs::JobError::permanent(e.to_string())
        }
    }
}
