//! What can go wrong when Custodian asks a source. Messages name ids and fields, never customer
//! data (an e-mail address, a name), because they end up in logs and API errors.

use custodian_core::TargetKind;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No such account or file (or, over HTTP, the source said 404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The source cannot search by this kind of identifier.
    #[error("this source cannot find accounts by {kind}: {reason}")]
    Unsupported { kind: TargetKind, reason: String },
    /// The question was malformed (a reversed date range, a bad account id).
    #[error("{0}")]
    Invalid(String),
    /// The source refused our credentials.
    #[error("the source refused the credentials: {0}")]
    Unauthorized(String),
    /// The source could not be reached, or did not answer in time.
    #[error("the source is unavailable: {0}")]
    Unavailable(String),
    /// The source failed on its side.
    #[error("the source failed (HTTP {status}): {message}")]
    Remote { status: u16, message: String },
    /// The source answered something that does not follow the protocol, or a file stream
    /// delivered a different number of bytes than announced.
    #[error("the source broke the protocol: {0}")]
    Protocol(String),
    /// The source's own storage failed (the demo store's database or files).
    #[error("the source's storage failed: {0}")]
    Storage(String),
}

impl From<sqlx::Error> for SourceError {
    fn from(e: sqlx::Error) -> Self {
        SourceError::Storage(format!("database: {e}"))
    }
}

impl From<std::io::Error> for SourceError {
    fn from(e: std::io::Error) -> Self {
        SourceError::Storage(format!("files: {e}"))
    }
}

pub type SourceResult<T> = Result<T, SourceError>;
