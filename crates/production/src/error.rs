//! Why a package could not be built. Messages name records by their path in the package and
//! never quote their contents.

use std::io;

use crate::verify::Discrepancy;

/// Why building a package failed. After any error other than [`PackageError::InvalidFacts`],
/// [`PackageError::InvalidRecipient`] and the checks on a record made before it is read
/// ([`PackageError::InvalidPath`], [`PackageError::DuplicatePath`],
/// [`PackageError::CategoryNotDisclosed`]), what was written to the sink is an incomplete
/// package: discard it.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The request's facts cannot head a package.
    #[error("{field}: {message}")]
    InvalidFacts {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The agency's age recipient is not an X25519 public key.
    #[error("recipient: not an age X25519 public key (age1...): {0}")]
    InvalidRecipient(String),
    /// A record's path cannot be a path in the package.
    #[error("path '{path}': {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Two records would extract to the same file (paths are compared ignoring case, as the
    /// agency's file system may).
    #[error("path '{0}': another record already has this path")]
    DuplicatePath(String),
    /// A record's category was not decided 'disclose' for this request.
    #[error("path '{path}': category {category} was not decided for disclosure")]
    CategoryNotDisclosed {
        /// The record's path in the package.
        path: String,
        /// Its category.
        category: custodian_core::DataCategory,
    },
    /// A record's stream gave a different number of bytes than it declared.
    #[error("record '{path}' declared {declared} bytes but its stream gave {actual}")]
    SizeMismatch {
        /// The record's path in the package.
        path: String,
        /// The size given with the record.
        declared: u64,
        /// The bytes read (at least; reading stops once the declared size is passed).
        actual: u64,
    },
    /// Reading a record's stream failed.
    #[error("reading record '{path}': {source}")]
    ReadRecord {
        /// The record's path in the package.
        path: String,
        /// The stream's error.
        source: io::Error,
    },
    /// A record of unknown size could not be spooled to a temporary file.
    #[error("spooling record '{path}' of unknown size: {source}")]
    Spool {
        /// The record's path in the package.
        path: String,
        /// The file system's error.
        source: io::Error,
    },
    /// Writing the package to its sink failed.
    #[error("writing the package: {0}")]
    Write(io::Error),
    /// Encrypting or archiving failed.
    #[error("archiving the package: {0}")]
    Archive(String),
    /// The audit material does not prove this package's production event.
    #[error("the audit material does not fit this package: {0}")]
    AuditMaterial(Discrepancy),
    /// There is no Tokio runtime to run the package's writer on.
    #[error("a package can only be built inside a Tokio runtime")]
    NoRuntime,
    /// An earlier error left the package incomplete; nothing more can be added.
    #[error("an earlier error left this package incomplete")]
    Failed,
}
