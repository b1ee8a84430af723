//! Support for test suites that run against both backends: a fresh SQLite file or a fresh
//! PostgreSQL schema per test, so that tests never see each other's rows.

use std::io::Write;

/// Set to make a missing or unreachable PostgreSQL a failure instead of a skip (CI sets it).
pub const REQUIRE_POSTGRES: &str = "CUSTODIAN_REQUIRE_POSTGRES";
/// The server the PostgreSQL suite runs against, e.g. postgres://postgres@127.0.0.1:5432/test.
pub const POSTGRES_URL: &str = "CUSTODIAN_TEST_POSTGRES_URL";

/// Says something on the terminal even while the test harness captures output.
pub fn announce(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A URL for a new, empty schema on the test PostgreSQL server, or None when no server is
/// configured (the suite is then skipped, and says so). Panics when CI requires PostgreSQL
/// and it cannot be reached.
pub async fn fresh_postgres_url(test: &str) -> Option<String> {
    let required = std::env::var_os(REQUIRE_POSTGRES).is_some_and(|v| v != "0" && !v.is_empty());
    let Some(base) = std::env::var(POSTGRES_URL).ok().filter(|u| !u.is_empty()) else {
        if required {
            panic!("{REQUIRE_POSTGRES} is set but {POSTGRES_URL} is not");
        }
        announce(&format!(
            "SKIPPED PostgreSQL run of '{test}': set {POSTGRES_URL} to run it"
        ));
        return None;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let created = async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    if let Err(e) = created {
        if required {
            panic!("PostgreSQL at {POSTGRES_URL} is required but unreachable: {e}");
        }
        announce(&format!(
            "SKIPPED PostgreSQL run of '{test}': the server is unreachable ({e})"
        ));
        return None;
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}
