//! Drives the real `custodian` binary: set-up through its CLI, the server on a free port.
#![allow(dead_code)]

pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_custodian");

/// Where one test's data lives: a data dir, and the database URL when on PostgreSQL.
pub struct Env {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub name: &'static str,
    _dir: tempfile::TempDir,
}

impl Env {
    pub fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env {
            data_dir: dir.path().join("data"),
            database_url: None,
            name: "sqlite",
            _dir: dir,
        }
    }

    pub async fn all(test: &str) -> Vec<Env> {
        let mut out = vec![Env::sqlite()];
        if let Some(url) = custodian_store::testing::fresh_postgres_url(test).await {
            let mut pg = Env::sqlite();
            pg.database_url = Some(url);
            pg.name = "postgres";
            out.push(pg);
        }
        out
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_remove("CUSTODIAN_DATABASE_URL")
            .env("CUSTODIAN_DATA_DIR", &self.data_dir)
            .env("CUSTODIAN_LOG", "warn");
        if let Some(url) = &self.database_url {
            c.env("CUSTODIAN_DATABASE_URL", url);
        }
        c
    }

    /// Runs a CLI command and returns its standard output; panics with stderr on failure.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "custodian {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// An agency with one officer; returns the officer's token.
    pub fn officer_token(&self, agency: &str, domain: &str) -> String {
        self.run(&[
            "admin",
            "agency",
            "create",
            "--name",
            agency,
            "--country",
            "US",
            "--kind",
            "local_police",
            "--domain",
            domain,
            "--verified",
        ]);
        let email = format!("officer@{domain}");
        self.run(&[
            "admin",
            "user",
            "create",
            "--email",
            &email,
            "--name",
            "Officer",
            "--role",
            "agency_officer",
            "--agency",
            agency,
        ]);
        self.run(&["admin", "token", "create", "--user", &email])
            .trim()
            .to_string()
    }

    /// Starts `custodian serve` on a free port and waits until it answers.
    pub fn serve(&self) -> Server {
        Server::start(self.command())
    }
}

impl Server {
    /// Starts `custodian serve` from a prepared command and waits for its URL.
    pub fn start(mut command: Command) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("Custodian is listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }
}

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// SIGKILL: no shutdown handlers, no flushing, exactly like a power cut to the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A small valid PDF whose bytes differ by `n`.
pub fn pdf(n: usize, size: usize) -> Vec<u8> {
    let mut b = format!("%PDF-1.4\n% document {n}\n").into_bytes();
    let filler = format!("{n:08} ");
    while b.len() + filler.len() < size {
        b.extend_from_slice(filler.as_bytes());
    }
    b.extend_from_slice(b"\n%%EOF\n");
    b
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn subpoena_json(n: usize) -> String {
    serde_json::json!({
        "process": "subpoena",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "case_reference": format!("CASE-{n}"),
        "targets": [{"type": "account_id", "value": format!("acct-{n}")}],
        "categories": ["subscriber"]
    })
    .to_string()
}

pub fn path_exists(p: &Path) -> bool {
    p.exists()
}
