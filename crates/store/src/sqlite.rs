//! The embedded default: one SQLite file in the data directory.
//!
//! SQLite allows one writer at a time; rather than let transactions collide and retry, all
//! writes go through a pool of one connection and reads through a separate pool (WAL mode lets
//! them run beside the writer).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use crate::migrate::{run_migrations, SQLITE};
use crate::{StoreError, StoreResult};

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    intake: crate::intake_sql::IntakeQueue,
    imported: crate::report_sql::ImportedReferences,
}

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";
    /// One writer connection serialises job claims already.
    const SKIP_LOCKED: &'static str = "";

    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Config(format!("{}: {e}", dir.display())))?;
            }
        }
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the client hears about it.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // No ping before each use of a pooled connection: a file does not drop connections,
        // and the ping was a round trip to the connection's worker thread per statement
        // (a tenth of intake's CPU in the benchmark).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            intake: Default::default(),
            imported: Default::default(),
        })
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        run_migrations!(self.writer, SQLITE, None::<&str>)
    }

    /// Appends are already serialised by the single writer connection.
    async fn lock_audit(_tx: &mut sqlx::Transaction<'static, Sqlite>) -> StoreResult<()> {
        Ok(())
    }
}

crate::sql::impl_store!(SqliteStore, Sqlite);
crate::report_sql::impl_report_store!(SqliteStore, Sqlite);
crate::account_sql::impl_account_store!(SqliteStore, Sqlite);
crate::jobs_sql::impl_jobs_store!(SqliteStore, Sqlite);
crate::custody_sql::impl_custody_store!(SqliteStore, Sqlite);
crate::console_sql::impl_console_store!(SqliteStore, Sqlite);
crate::paging_sql::impl_paging_store!(SqliteStore, Sqlite);
crate::verification_sql::impl_verification_store!(SqliteStore, Sqlite);
crate::orders_sql::impl_order_store!(SqliteStore, Sqlite);
crate::billing_sql::impl_billing_store!(SqliteStore, Sqlite);
crate::intake_sql::impl_intake!(SqliteStore, Sqlite);
