use custodian_core::IllegalTransition;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist, or the caller may not see it: the two are indistinguishable
    /// on purpose, so that an agency cannot probe for another agency's requests.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("the Idempotency-Key was used before for a different submission")]
    IdempotencyMismatch,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("object store error: {0}")]
    Blob(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("configuration error: {0}")]
    Config(String),
}

impl StoreError {
    /// Whether a database error is a unique-constraint violation (the same on both backends).
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
