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

/// Set to make a missing S3-compatible test server a failure instead of a skip (CI sets it).
pub const REQUIRE_S3: &str = "CUSTODIAN_REQUIRE_S3";

/// A real S3-compatible server on loopback for tests: moto's `moto_server` (from PyPI), started
/// on a free port with one bucket. Dropping it stops the server.
pub struct S3Server {
    child: std::process::Child,
    /// `s3://bucket?endpoint=http://127.0.0.1:PORT&region=us-east-1`
    pub url: String,
    pub endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The credentials the test server accepts; pass them to any process that talks to it.
pub const S3_TEST_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

/// Starts the test S3 server, or returns None (saying so) when `moto_server` is not installed.
/// Panics when CI requires it and it cannot be started.
pub async fn start_s3(test: &str) -> Option<S3Server> {
    let required = std::env::var_os(REQUIRE_S3).is_some_and(|v| v != "0" && !v.is_empty());
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("no free port: {e}"),
    };
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            if required {
                panic!("{REQUIRE_S3} is set but moto_server cannot start: {e}");
            }
            announce(&format!(
                "SKIPPED S3 run of '{test}': install moto_server (pip install 'moto[server]')"
            ));
            return None;
        }
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let bucket = format!("custodian-{}", uuid::Uuid::new_v4().simple());
    let mut server = S3Server {
        child,
        url: format!("s3://{bucket}?endpoint={endpoint}&region=us-east-1"),
        endpoint: endpoint.clone(),
    };
    // Wait for it to listen, then create the bucket (moto accepts an unsigned PUT).
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            let created = create_bucket(port, &bucket).await;
            if created {
                return Some(server);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = server.child.kill();
    panic!("moto_server on port {port} did not come up");
}

async fn create_bucket(port: u16, bucket: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200")
}

/// A migrated store for one test, on one backend. Keep it alive for the test's length: the
/// SQLite file lives in a temporary directory that goes with it.
pub struct TestStore {
    pub store: crate::DynStore,
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    /// The database URL, for tests that go around the store as an intruder would.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite store always, and a fresh PostgreSQL schema when one is configured: the
/// fixture every two-backend suite starts from.
pub async fn backends(test: &str) -> Vec<TestStore> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("t.db");
    let sqlite = crate::SqliteStore::open(&path).await.expect("SQLite opens");
    crate::Store::migrate(&sqlite)
        .await
        .expect("SQLite migrates");
    let mut out = vec![TestStore {
        store: std::sync::Arc::new(sqlite),
        name: "sqlite",
        url: format!("sqlite://{}", path.display()),
        _dir: Some(dir),
    }];
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = crate::PgStore::connect(&url)
            .await
            .expect("PostgreSQL connects");
        crate::Store::migrate(&pg)
            .await
            .expect("PostgreSQL migrates");
        out.push(TestStore {
            store: std::sync::Arc::new(pg),
            name: "postgres",
            url,
            _dir: None,
        });
    }
    out
}
