//! The custody part of `serve --demo` through the real binary: once the server's job runner
//! has worked, there are two active holds (one on the large account, one ending within the
//! week whose reviewer was reminded), a production the officer downloads and verifies with the
//! demo agency's age identity, a customer notice sent and one held back by an order; and
//! `custodian admin hold list` shows the holds.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use serde_json::Value;

/// The demo agency's age identity, as docs/custody.md gives it.
const DEMO_IDENTITY: &str =
    "AGE-SECRET-KEY-1UJVLQPEU3ZKK7FQCNR93R247TDJJR6SSZHCEQ34XZ0976YCU4GQS604ZDX";

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

fn token(lines: &[String], email: &str) -> String {
    lines
        .iter()
        .find(|l| l.contains(email) && l.contains("cust_"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("a token for {email}: {lines:#?}"))
        .to_string()
}

async fn get(base: &str, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_has_holds_a_production_and_notices() {
    let env = Env::sqlite();
    let mut c = env.command();
    c.env("CUSTODIAN_DEMO_CONTENT_MIB", "2")
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    for line in reader.by_ref() {
        let line = line.unwrap();
        let done = line.contains("delete an account as its customer would");
        lines.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in reader {});
    let run = Running { child, lines };
    let base = run
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("Custodian is listening on "))
        .expect("the address")
        .trim()
        .to_string();
    let reviewer = token(&run.lines, "riley.reviewer@legal.provider.example");
    let admin = token(&run.lines, "admin@legal.provider.example");
    let officer = token(&run.lines, "det.alvarez@springfieldpd.gov");

    // The runner captures the holds, builds and releases the package, sends the mails.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (holds, mails) = loop {
        let holds = get(&base, &reviewer, "/api/v1/custody/holds?status=active").await;
        let mails = get(&base, &admin, "/api/v1/admin/outbox?status=sent").await;
        let kinds: Vec<&str> = mails
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["kind"].as_str()).collect())
            .unwrap_or_default();
        if holds.as_array().is_some_and(|h| h.len() == 2)
            && kinds.contains(&"hold_reminder")
            && kinds.contains(&"customer_notice")
        {
            break (holds, mails);
        }
        assert!(
            Instant::now() < deadline,
            "the demo's custody work did not happen: {holds} {mails}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let holds = holds.as_array().unwrap();
    assert!(
        holds.iter().any(|h| h["files"].as_u64() > Some(0)),
        "{holds:?}"
    );
    assert!(mails
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["kind"] == "customer_notice"));

    // The officer's production is ready; it opens with the demo agency's identity.
    let mine = get(&base, &officer, "/api/v1/requests?per_page=100").await;
    let mut downloaded = None;
    for r in mine["items"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let p = get(
            &base,
            &officer,
            &format!("/api/v1/requests/{id}/production"),
        )
        .await;
        if p["status"] == "ready" {
            let bytes = reqwest::Client::new()
                .get(p["download_url"].as_str().unwrap())
                .bearer_auth(&officer)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            downloaded = Some(bytes);
        }
    }
    let bytes = downloaded.expect("a production ready for the officer");
    let pkg = env.data_dir.join("download.tar.age");
    std::fs::write(&pkg, &bytes).unwrap();
    let key = env.data_dir.join("demo-agency.key");
    std::fs::write(&key, format!("{DEMO_IDENTITY}\n")).unwrap();
    let out = env
        .command()
        .args(["production", "verify"])
        .arg(&pkg)
        .arg("--identity")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // One notice waits for a non-disclosure order.
    let all = get(&base, &reviewer, "/api/v1/requests?per_page=100").await;
    let mut scheduled = 0;
    for r in all["items"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let n = get(
            &base,
            &reviewer,
            &format!("/api/v1/custody/requests/{id}/notice"),
        )
        .await;
        if n["notice"] == "after_ndo" && n["status"] == "scheduled" {
            scheduled += 1;
        }
    }
    assert_eq!(scheduled, 1);

    // Device return and invoices (docs/special-routes.md, "In the demo"): the open device
    // return's serial is in the customer data, so contacting the owner finds them.
    let queue = get(
        &base,
        &reviewer,
        "/api/v1/review/queue?process=device_return&status=received&limit=500",
    )
    .await;
    let mut found = None;
    for item in queue["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let r = get(&base, &reviewer, &format!("/api/v1/requests/{id}")).await;
        if r["targets"][0]["value"] == "FX20260042" {
            found = Some(id.to_string());
        }
    }
    let id = found.expect("the demo's open device return");
    let done: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/review/requests/{id}/device-return"))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["outcome"], "owner_contacted", "{done}");
    let invoices = get(&base, &admin, "/api/v1/admin/invoices").await;
    let statuses: Vec<&str> = invoices
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["status"].as_str())
        .collect();
    for s in ["unpaid", "paid", "waived"] {
        assert!(
            statuses.contains(&s),
            "no {s} invoice in the demo: {invoices}"
        );
    }
    drop(run);

    let listed = env.run(&["admin", "hold", "list", "--status", "active"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
}
