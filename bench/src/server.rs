//! The real `custodian serve` as a child process, its set-up through `custodian admin`, and a
//! throw-away PostgreSQL schema.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long `custodian serve` may take to migrate and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a Custodian instance keeps its data.
#[derive(Clone)]
pub struct Store {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl Store {
    fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--data-dir".to_string(),
            self.data_dir.display().to_string(),
        ];
        if let Some(url) = &self.database_url {
            a.push("--database-url".into());
            a.push(url.clone());
        }
        a
    }
}

/// Runs `custodian <args> <store flags>` to completion and returns its standard output.
pub async fn custodian(bin: &Path, store: &Store, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(args)
        .args(store.args())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "`custodian {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates a verified agency, one of its officers and a token for them; returns the token.
pub async fn provision(bin: &Path, store: &Store) -> anyhow::Result<String> {
    custodian(
        bin,
        store,
        &[
            "admin",
            "agency",
            "create",
            "--name",
            "Bench PD",
            "--country",
            "US",
            "--kind",
            "local_police",
            "--domain",
            "bench.gov",
            "--verified",
        ],
    )
    .await?;
    custodian(
        bin,
        store,
        &[
            "admin",
            "user",
            "create",
            "--email",
            "officer@bench.gov",
            "--name",
            "Officer",
            "--role",
            "agency_officer",
            "--agency",
            "Bench PD",
        ],
    )
    .await?;
    let out = custodian(
        bin,
        store,
        &["admin", "token", "create", "--user", "officer@bench.gov"],
    )
    .await?;
    let token = out
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .context("`custodian admin token create` printed no token")?;
    Ok(token.to_string())
}

/// A running `custodian serve`. Dropping it kills the process.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

/// How the server ended.
pub struct Ended {
    /// Set when the server had already exited before it was told to stop.
    pub died: Option<String>,
    /// Log lines at WARN or ERROR level.
    pub warnings: Vec<String>,
}

impl Server {
    /// Starts `custodian serve` on a free loopback port and waits for it to listen and to
    /// answer /healthz. Its standard error goes to `log`.
    pub async fn start(bin: &Path, store: &Store, log: PathBuf) -> anyhow::Result<Server> {
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(store.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.trim().strip_prefix("Custodian is listening on ") {
                    return Ok(rest.trim().to_string());
                }
            }
            anyhow::Ok(String::new())
        })
        .await
        .context("`custodian serve` did not say it was listening in time")??;
        if url.is_empty() {
            let _ = child.start_kill();
            let status = child.wait().await.ok();
            bail!(
                "`custodian serve` exited ({}) before listening; see {}:\n{}",
                status.map(|s| s.to_string()).unwrap_or_default(),
                log.display(),
                tail(&log, 20)
            );
        }
        // Keep reading standard output so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let server = Server { child, url, log };
        server.wait_healthy().await?;
        Ok(server)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        let url = format!("{}/healthz", self.url);
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if tokio::time::Instant::now() > deadline => {
                    bail!("{url} answered {}", r.status())
                }
                Err(e) if tokio::time::Instant::now() > deadline => {
                    bail!("{url} did not answer: {e}")
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Kills the server and reports whether it had died on its own and what it warned about.
    pub async fn stop(mut self) -> Ended {
        let died = match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        };
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let warnings = std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(strip_ansi)
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("panicked"))
            .collect();
        Ended { died, warnings }
    }
}

/// The line without terminal colour codes (ESC `[` ... letter).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A schema of its own in a PostgreSQL database, dropped when this is dropped.
pub struct PgSchema {
    admin_url: String,
    schema: String,
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

impl PgSchema {
    /// Checks that `url` answers and creates a fresh schema there.
    pub async fn create(url: &str) -> anyhow::Result<PgSchema> {
        let schema = format!(
            "bench_{}_{}",
            std::process::id(),
            chrono::Utc::now().format("%Y%m%d%H%M%S")
        );
        let admin_url = url.to_string();
        let sql = format!("CREATE SCHEMA {schema}");
        let u = admin_url.clone();
        tokio::task::spawn_blocking(move || psql(&u, &sql)).await??;
        Ok(PgSchema { admin_url, schema })
    }

    /// Leaves the schema in place (for inspection) and returns its name.
    pub fn keep(self) -> String {
        let name = self.schema.clone();
        std::mem::forget(self);
        name
    }

    pub fn name(&self) -> &str {
        &self.schema
    }

    /// The database URL with the schema as the search path.
    pub fn url(&self) -> String {
        let sep = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}options=-csearch_path%3D{}",
            self.admin_url, self.schema
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        if let Err(e) = psql(&self.admin_url, &sql) {
            eprintln!("warning: could not drop schema {}: {e:#}", self.schema);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m x"),
            "2026  WARN x"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn schema_url_keeps_existing_parameters() {
        let s = PgSchema {
            admin_url: "postgres://u@h/db?sslmode=disable".into(),
            schema: "bench_1".into(),
        };
        assert_eq!(
            s.url(),
            "postgres://u@h/db?sslmode=disable&options=-csearch_path%3Dbench_1"
        );
        let plain = PgSchema {
            admin_url: "postgres://u@h/db".into(),
            schema: "bench_2".into(),
        };
        assert_eq!(
            plain.url(),
            "postgres://u@h/db?options=-csearch_path%3Dbench_2"
        );
        // Both were never created: keep Drop from running psql in a unit test.
        std::mem::forget(s);
        std::mem::forget(plain);
    }
}
