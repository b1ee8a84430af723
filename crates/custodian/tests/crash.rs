//! Durability: kill -9 the real server while concurrent submissions are in flight, restart it,
//! and check that every request that got a 201 is there with intact documents, and that
//! nothing half-written is visible.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_requests_survive_kill_9() {
    for env in Env::all("kill9").await {
        let token = env.officer_token("Springfield PD", "springfieldpd.gov");
        let mut server = env.serve();
        let base = server.base.clone();
        let client = reqwest::Client::new();
        // id -> sha256 of the uploaded document, for every 201.
        let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let mut tasks = Vec::new();
        for worker in 0..16usize {
            let (client, base, token, acked) =
                (client.clone(), base.clone(), token.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let n = worker * 100_000 + i;
                    let doc = pdf(n, 32 * 1024);
                    let form = Form::new()
                        .text("request", subpoena_json(n))
                        .part("document", Part::bytes(doc.clone()).file_name("s.pdf"));
                    let sent = client
                        .post(format!("{base}/api/v1/requests"))
                        .bearer_auth(&token)
                        .multipart(form)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    let Ok(resp) = sent else { break };
                    if resp.status() != reqwest::StatusCode::CREATED {
                        continue;
                    }
                    let Ok(body) = resp.json::<Value>().await else {
                        break;
                    };
                    let id = body["id"].as_str().unwrap().to_string();
                    acked.lock().unwrap().insert(id, sha256(&doc));
                }
            }));
        }
        // Let submissions flow, then cut the process off mid-stream.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill9();
        for t in tasks {
            let _ = t.await;
        }
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() > 5,
            "{}: too few submissions before the kill ({})",
            env.name,
            acked.len()
        );

        let server = env.serve();
        let base = server.base.clone();
        for (id, sha) in &acked {
            let r: Value = client
                .get(format!("{base}/api/v1/requests/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                r["id"].as_str(),
                Some(id.as_str()),
                "{}: acknowledged request {id} lost",
                env.name
            );
            assert_eq!(r["documents"][0]["sha256"].as_str(), Some(sha.as_str()));
        }
        // Everything visible is whole: each request has its document, and the bytes match.
        let mut page = 1;
        let mut seen = 0;
        loop {
            let list: Value = client
                .get(format!("{base}/api/v1/requests?per_page=200&page={page}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let items = list["items"].as_array().unwrap().clone();
            if items.is_empty() {
                break;
            }
            for item in items {
                let id = item["id"].as_str().unwrap();
                let r: Value = client
                    .get(format!("{base}/api/v1/requests/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let doc = &r["documents"][0];
                assert!(
                    doc.is_object(),
                    "{}: request {id} has no document",
                    env.name
                );
                let bytes = client
                    .get(format!(
                        "{base}/api/v1/requests/{id}/documents/{}",
                        doc["id"].as_str().unwrap()
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    bytes.status(),
                    200,
                    "{}: request {id}'s blob is missing",
                    env.name
                );
                let bytes = bytes.bytes().await.unwrap();
                assert_eq!(sha256(&bytes), doc["sha256"].as_str().unwrap());
                seen += 1;
            }
            page += 1;
        }
        assert!(
            seen >= acked.len(),
            "{}: {seen} visible < {} acknowledged",
            env.name,
            acked.len()
        );
        // The audit log survived intact as well.
        drop(server);
        let verify = env.run(&["audit", "verify"]);
        assert!(verify.contains("audit log verified"), "{verify}");
    }
}
