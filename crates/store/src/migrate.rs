//! A small migration runner: numbered SQL files per backend, compiled into the binary, each
//! applied once in its own transaction and recorded in `schema_migrations`.

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/sqlite/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "transparency",
        sql: include_str!("../migrations/sqlite/0002_transparency.sql"),
    },
    Migration {
        version: 3,
        name: "review",
        sql: include_str!("../migrations/sqlite/0003_review.sql"),
    },
    Migration {
        version: 4,
        name: "jobs_mail",
        sql: include_str!("../migrations/sqlite/0004_jobs_mail.sql"),
    },
    Migration {
        version: 5,
        name: "accounts",
        sql: include_str!("../migrations/sqlite/0005_accounts.sql"),
    },
    Migration {
        version: 6,
        name: "custody",
        sql: include_str!("../migrations/sqlite/0006_custody.sql"),
    },
    Migration {
        version: 7,
        name: "console",
        sql: include_str!("../migrations/sqlite/0007_console.sql"),
    },
    Migration {
        version: 9,
        name: "import_batches",
        sql: include_str!("../migrations/sqlite/0009_import_batches.sql"),
    },
    Migration {
        version: 10,
        name: "paging",
        sql: include_str!("../migrations/sqlite/0010_paging.sql"),
    },
    Migration {
        version: 11,
        name: "verification",
        sql: include_str!("../migrations/sqlite/0011_verification.sql"),
    },
    Migration {
        version: 12,
        name: "special_routes",
        sql: include_str!("../migrations/sqlite/0012_special_routes.sql"),
    },
    Migration {
        version: 13,
        name: "billing",
        sql: include_str!("../migrations/sqlite/0013_billing.sql"),
    },
    Migration {
        version: 14,
        name: "officer_requests",
        sql: include_str!("../migrations/sqlite/0014_officer_requests.sql"),
    },
    Migration {
        version: 15,
        name: "target_agency",
        sql: include_str!("../migrations/sqlite/0015_target_agency.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "transparency",
        sql: include_str!("../migrations/postgres/0002_transparency.sql"),
    },
    Migration {
        version: 3,
        name: "review",
        sql: include_str!("../migrations/postgres/0003_review.sql"),
    },
    Migration {
        version: 4,
        name: "jobs_mail",
        sql: include_str!("../migrations/postgres/0004_jobs_mail.sql"),
    },
    Migration {
        version: 5,
        name: "accounts",
        sql: include_str!("../migrations/postgres/0005_accounts.sql"),
    },
    Migration {
        version: 6,
        name: "custody",
        sql: include_str!("../migrations/postgres/0006_custody.sql"),
    },
    Migration {
        version: 7,
        name: "console",
        sql: include_str!("../migrations/postgres/0007_console.sql"),
    },
    Migration {
        version: 9,
        name: "import_batches",
        sql: include_str!("../migrations/postgres/0009_import_batches.sql"),
    },
    Migration {
        version: 10,
        name: "paging",
        sql: include_str!("../migrations/postgres/0010_paging.sql"),
    },
    Migration {
        version: 11,
        name: "verification",
        sql: include_str!("../migrations/postgres/0011_verification.sql"),
    },
    Migration {
        version: 12,
        name: "special_routes",
        sql: include_str!("../migrations/postgres/0012_special_routes.sql"),
    },
    Migration {
        version: 13,
        name: "billing",
        sql: include_str!("../migrations/postgres/0013_billing.sql"),
    },
    Migration {
        version: 14,
        name: "officer_requests",
        sql: include_str!("../migrations/postgres/0014_officer_requests.sql"),
    },
    Migration {
        version: 15,
        name: "target_agency",
        sql: include_str!("../migrations/postgres/0015_target_agency.sql"),
    },
    Migration {
        version: 16,
        name: "import_references",
        sql: include_str!("../migrations/postgres/0016_import_references.sql"),
    },
    Migration {
        version: 17,
        name: "report_cells_in_place",
        sql: include_str!("../migrations/postgres/0017_report_cells_in_place.sql"),
    },
];

pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

/// Applies the pending migrations with one database's executor types.
macro_rules! run_migrations {
    ($pool:expr, $list:expr, $lock:expr) => {{
        sqlx::query($crate::migrate::CREATE_TABLE)
            .execute(&$pool)
            .await?;
        for m in $list {
            let mut tx = $pool.begin().await?;
            if let Some(lock) = $lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let seen: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if seen.is_some() {
                continue;
            }
            let applied = sqlx::Executor::execute(&mut *tx, m.sql).await;
            if let Err(e) = applied {
                return Err($crate::StoreError::Migration(format!(
                    "{} ({}): {e}",
                    m.version, m.name
                )));
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(chrono::Utc::now().to_rfc3339())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok::<(), $crate::StoreError>(())
    }};
}
pub(crate) use run_migrations;
