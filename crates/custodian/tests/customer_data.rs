//! Demo customer data through the real binary: `serve --demo` generates a store in which every
//! demo request finds its customers, `admin customer` finds and deletes accounts, and the
//! store served over custodian-source/1 is used again as `--source http`. On SQLite and,
//! when configured, PostgreSQL (the requests whose targets the store is built from live there).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::Env;
use custodian_core::TargetKind;
use custodian_sources::{DataSource, DemoStore};
use custodian_store::{RequestFilter, Scope};

struct Running {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary and reads its output up to the line that contains `until`.
fn start(mut command: Command, until: &str) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout).lines();
    let mut lines = Vec::new();
    loop {
        let line = reader
            .next()
            .unwrap_or_else(|| panic!("exited before printing '{until}': {lines:#?}"))
            .unwrap();
        let done = line.contains(until);
        lines.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in reader {});
    Running { child, lines }
}

fn serve_demo(env: &Env) -> Running {
    let mut c = env.command();
    c.env("CUSTODIAN_DEMO_CONTENT_MIB", "2")
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"]);
    start(c, "delete an account as its customer would")
}

fn large_account(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.split("customer delete --account ").nth(1))
        .expect("the large account is named")
        .trim()
        .to_string()
}

#[tokio::test]
async fn every_demo_request_finds_its_customers() {
    for env in Env::all("every_demo_request_finds_its_customers").await {
        let run = serve_demo(&env);
        let generated = run
            .lines
            .iter()
            .find(|l| l.starts_with("Demo customer data generated: "))
            .unwrap_or_else(|| panic!("[{}] {:#?}", env.name, run.lines));
        assert!(generated.ends_with("customer-data"), "{generated}");
        let large = large_account(&run.lines);
        drop(run);

        let store = match &env.database_url {
            Some(url) => custodian_store::connect(url).await.unwrap(),
            None => custodian_store::connect(&format!(
                "sqlite://{}",
                env.data_dir.join("custodian.db").display()
            ))
            .await
            .unwrap(),
        };
        let requests = store
            .list_requests(
                Scope::Provider,
                &RequestFilter {
                    status: None,
                    limit: 1000,
                    offset: 0,
                },
            )
            .await
            .unwrap()
            .items;
        assert!(requests.len() > 40);
        let demo = DemoStore::open(&env.data_dir.join("customer-data"))
            .await
            .unwrap();
        let mut kinds = std::collections::HashSet::new();
        for r in &requests {
            for t in &r.intake.targets {
                let found = demo.find_accounts(t).await.unwrap();
                assert!(!found.is_empty(), "[{}] {} names {t:?}", env.name, r.number);
                kinds.insert(t.kind);
            }
        }
        // e-mail, phone, account id and order id (this demo has no device return).
        assert!(
            kinds.len() >= 4 && kinds.contains(&TargetKind::OrderId),
            "{kinds:?}"
        );

        // The large account is the one a content demand names, and its files fall in the
        // demand's period.
        let summary = demo.summary().await.unwrap();
        assert_eq!(summary.large_account.as_str(), large);
        let wanted = 2 * 1024 * 1024;
        assert!(summary.large_account_bytes > wanted / 2, "{summary:?}");
        let mut named_in = None;
        for r in &requests {
            let Some(first) = r.intake.targets.first() else {
                continue;
            };
            let content = r
                .intake
                .categories
                .contains(&custodian_core::DataCategory::Content);
            if content
                && demo
                    .find_accounts(first)
                    .await
                    .unwrap()
                    .contains(&summary.large_account)
            {
                named_in = Some(r);
                break;
            }
        }
        let named_in = named_in.expect("a content request names the large account");
        let in_range = demo
            .content(&summary.large_account, named_in.intake.date_range)
            .await
            .unwrap();
        let total: u64 = in_range.iter().map(|f| f.size).sum();
        assert_eq!(total, summary.large_account_bytes);

        // A second start reuses the store.
        let again = serve_demo(&env);
        assert!(
            again
                .lines
                .iter()
                .any(|l| l.starts_with("Demo customer data: ")),
            "{:#?}",
            again.lines
        );
    }
}

#[test]
fn customers_are_found_deleted_and_served_over_the_connector() {
    let env = Env::sqlite();
    let run = serve_demo(&env);
    let account = large_account(&run.lines);
    drop(run);

    let found = env.run(&[
        "admin",
        "customer",
        "find",
        "--type",
        "account_id",
        "--value",
        &account,
    ]);
    assert_eq!(found.trim(), account);

    // The same store over custodian-source/1, used as an HTTP source.
    let token_file = env.data_dir.join("source.token");
    std::fs::write(&token_file, "a-connector-token-for-the-test\n").unwrap();
    let mut c = env.command();
    c.args([
        "admin",
        "customer",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--token-file",
    ])
    .arg(&token_file);
    let connector = start(c, "custodian-source/1 endpoint");
    let url = connector
        .lines
        .last()
        .and_then(|l| l.split(" on ").last())
        .unwrap()
        .trim()
        .to_string();
    let http_command = |token: &std::path::Path| {
        let mut c = env.command();
        c.env("CUSTODIAN_SOURCE", "http")
            .env("CUSTODIAN_SOURCE_URL", &url)
            .env("CUSTODIAN_SOURCE_TOKEN_FILE", token);
        c
    };
    let over_http = |args: &[&str]| http_command(&token_file).args(args).output().unwrap();
    let out = over_http(&[
        "admin",
        "customer",
        "find",
        "--type",
        "account_id",
        "--value",
        &account,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), account);
    let out = over_http(&["admin", "customer", "delete", "--account", &account]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never deletes"));
    let out = over_http(&[
        "admin",
        "customer",
        "find",
        "--type",
        "ip_address",
        "--value",
        "192.0.2.1",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot find accounts by ip_address"));
    let bad_token = env.data_dir.join("wrong.token");
    std::fs::write(&bad_token, "not-the-connector-token").unwrap();
    let out = http_command(&bad_token)
        .args([
            "admin",
            "customer",
            "find",
            "--type",
            "account_id",
            "--value",
            &account,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the credentials"));

    // A server configured with the HTTP source says what answers it.
    let mut c = http_command(&token_file);
    c.args(["serve", "--listen", "127.0.0.1:0"]);
    let server = start(c, "customer data:");
    let line = server.lines.last().unwrap();
    assert!(
        line.contains("demo customer data over custodian-source/1"),
        "{line}"
    );
    drop(server);
    drop(connector);

    // The customer deletes their account.
    let out = env.run(&["admin", "customer", "delete", "--account", &account]);
    assert!(
        out.starts_with(&format!("deleted account {account}: ")),
        "{out}"
    );
    let found = env.run(&[
        "admin",
        "customer",
        "find",
        "--type",
        "account_id",
        "--value",
        &account,
    ]);
    assert!(found.trim().is_empty());
    assert!(!env
        .data_dir
        .join("customer-data/files")
        .join(&account)
        .exists());
    let out = env
        .command()
        .args(["admin", "customer", "delete", "--account", &account])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}
