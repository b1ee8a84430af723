//! PostgreSQL, for several `custodian serve` processes sharing one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::migrate::{run_migrations, POSTGRES};
use crate::StoreResult;

/// Advisory lock keys: one for migrations, one that serialises audit appends so that the
/// log's indices stay contiguous whichever server writes.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7273001)";
const AUDIT_LOCK: &str = "SELECT pg_advisory_xact_lock(7273002)";

pub struct PgStore {
    pool: PgPool,
    intake: crate::intake_sql::IntakeQueue,
    imported: crate::report_sql::ImportedReferences,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";
    /// Several servers claim jobs at once; each skips the rows another is taking.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    /// Connects to `postgres://...`. A `?options=-csearch_path%3Dname` parameter selects a
    /// schema, which the test suite uses to keep tests apart.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            // No ping before each use of a pooled connection: it doubled the round trips of
            // every statement. A connection the server has dropped fails its next statement
            // with an error and is discarded; connections are renewed every half hour.
            .test_before_acquire(false)
            .max_lifetime(Duration::from_secs(30 * 60))
            .connect_with(options)
            .await?;
        Ok(PgStore {
            pool,
            intake: Default::default(),
            imported: Default::default(),
        })
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        run_migrations!(self.pool, POSTGRES, Some(MIGRATION_LOCK))
    }

    async fn lock_audit(tx: &mut sqlx::Transaction<'static, Postgres>) -> StoreResult<()> {
        sqlx::query(AUDIT_LOCK).execute(&mut **tx).await?;
        Ok(())
    }
}

crate::sql::impl_store!(PgStore, Postgres);
crate::report_sql::impl_report_store!(PgStore, Postgres);
crate::account_sql::impl_account_store!(PgStore, Postgres);
crate::jobs_sql::impl_jobs_store!(PgStore, Postgres);
crate::custody_sql::impl_custody_store!(PgStore, Postgres);
crate::console_sql::impl_console_store!(PgStore, Postgres);
crate::paging_sql::impl_paging_store!(PgStore, Postgres);
crate::verification_sql::impl_verification_store!(PgStore, Postgres);
crate::orders_sql::impl_order_store!(PgStore, Postgres);
crate::billing_sql::impl_billing_store!(PgStore, Postgres);
crate::intake_sql::impl_intake!(PgStore, Postgres);
