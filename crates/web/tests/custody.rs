//! Holds, productions and customer notice over HTTP, against a real server on port 0 with a
//! demo customer-data store, on SQLite and (when CUSTODIAN_TEST_POSTGRES_URL is set)
//! PostgreSQL: who may do what, the officer's download (link expiry, use limit, another
//! agency's 404), the notice page behind the mailed link, the agency's age key.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use common::custody::{custody_servers, Custodial, JORDAN};
use common::{token_for, PASSWORD};
use custodian_core::{RequestIntake, Role};
use custodian_store::*;
use custodian_web::account::{password, totp};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;

struct Server {
    base: String,
    client: reqwest::Client,
    store: DynStore,
    clock: Arc<ManualClock>,
    agency_a: Agency,
    agency_b: Agency,
    officer_a: User,
    /// Bearer tokens by name: officer_a, officer_b, supervisor_a, supervisor_b, reviewer,
    /// approver, custodian, admin.
    tokens: BTreeMap<&'static str, String>,
    /// The custody server (common/custody.rs): its mail sink, its data.
    c: Custodial,
}

async fn user(store: &DynStore, email: &str, role: Role, agency: Option<uuid::Uuid>) -> User {
    store
        .create_user(
            &Actor::System("test".into()),
            NewUser {
                email: email.into(),
                name: format!("{role} user"),
                role,
                agency_id: agency,
                password_hash: Some(password::hash(PASSWORD).unwrap()),
            },
        )
        .await
        .unwrap()
}

/// The custody server with the people these tests call by name, each with a token.
async fn start(c: Custodial) -> Server {
    let store = c.s.store.clone();
    let (a, b) = (c.s.agency_a.clone(), c.s.agency_b.clone());
    let mut tokens = BTreeMap::new();
    let officer_a = user(
        &store,
        "det.alvarez@springfieldpd.gov",
        Role::AgencyOfficer,
        Some(a.id),
    )
    .await;
    tokens.insert("officer_a", token_for(&store, &officer_a).await);
    for (name, email, role, agency) in [
        (
            "officer_b",
            "det.wiggum@shelbyvillepd.gov",
            Role::AgencyOfficer,
            Some(b.id),
        ),
        (
            "supervisor_a",
            "sgt.okafor@springfieldpd.gov",
            Role::AgencySupervisor,
            Some(a.id),
        ),
        (
            "supervisor_b",
            "sgt.lou@shelbyvillepd.gov",
            Role::AgencySupervisor,
            Some(b.id),
        ),
        (
            "reviewer",
            "riley@legal.provider.example",
            Role::Reviewer,
            None,
        ),
        (
            "approver",
            "alex@legal.provider.example",
            Role::Approver,
            None,
        ),
        (
            "custodian",
            "morgan@legal.provider.example",
            Role::Custodian,
            None,
        ),
        ("admin", "pat@legal.provider.example", Role::Admin, None),
    ] {
        let u = user(&store, email, role, agency).await;
        tokens.insert(name, token_for(&store, &u).await);
    }
    Server {
        base: c.s.base.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        clock: c.clock.clone(),
        agency_a: a,
        agency_b: b,
        officer_a,
        tokens,
        c,
    }
}

async fn servers(test: &str) -> Vec<Server> {
    let mut out = Vec::new();
    for c in custody_servers(test).await {
        out.push(start(c).await);
    }
    out
}

impl Server {
    async fn run_jobs(&self) {
        self.c.run_jobs().await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        who: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[who]);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, who: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, who, body).await
    }

    async fn get(&self, path: &str, who: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, who, None).await
    }

    /// A request the first agency's officer served.
    async fn serve(&self, intake: Value) -> RequestRecord {
        let intake: RequestIntake = serde_json::from_value(intake).unwrap();
        let now = self.clock.now();
        match self
            .store
            .submit_request(
                &Actor::User(self.officer_a.id),
                NewRequest {
                    agency_id: self.agency_a.id,
                    submitted_by: self.officer_a.id,
                    intake: intake.validate().unwrap(),
                    received_at: now,
                    respond_by: now + Duration::days(10),
                    documents: Vec::new(),
                    idempotency: None,
                    risk: None,
                },
            )
            .await
            .unwrap()
        {
            Submission::Created(r) | Submission::Replayed(r) => r,
        }
    }

    /// The reviewer takes the request and decides through the API; the approver approves.
    async fn decide(&self, id: uuid::Uuid, categories: Value, approve: bool) {
        let (s, _) = self
            .post(
                &format!("/api/v1/review/requests/{id}/assign"),
                "reviewer",
                Some(json!({"assignee": "me"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, body) = self
            .post(
                &format!("/api/v1/review/requests/{id}/decide"),
                "reviewer",
                Some(json!({"categories": categories})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if approve {
            let (s, body) = self
                .post(
                    &format!("/api/v1/review/requests/{id}/approve"),
                    "approver",
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
        }
    }

    async fn download(
        &self,
        id: uuid::Uuid,
        who: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let resp = self
            .client
            .get(format!(
                "{}/api/v1/requests/{id}/production/download",
                self.base
            ))
            .bearer_auth(&self.tokens[who])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.unwrap().to_vec())
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn subpoena() -> Value {
    json!({
        "process": "subpoena",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "targets": [{"type": "email", "value": JORDAN}],
        "date_range": {"from": "2025-09-01", "to": "2025-12-31"},
        "categories": ["subscriber", "transactional"]
    })
}

#[tokio::test]
async fn staff_preserve_renew_and_release_holds() {
    for s in servers("staff_preserve_renew_and_release_holds").await {
        let mut intake = subpoena();
        intake["process"] = "preservation".into();
        let r = s.serve(intake).await;
        let path = format!("/api/v1/custody/requests/{}/preserve", r.id);
        let (st, body) = s.post(&path, "officer_a", None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
        let (st, body) = s
            .post(&path, "reviewer", Some(json!({"categories": ["content"]})))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("categories:"));
        let (st, hold) = s.post(&path, "reviewer", None).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{hold}");
        assert_eq!(hold["status"], "capturing");
        assert_eq!(hold["terms"]["days"], 90);
        s.run_jobs().await;
        let id = hold["id"].as_str().unwrap();
        let (st, detail) = s
            .get(&format!("/api/v1/custody/holds/{id}"), "custodian")
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(detail["status"], "active", "{detail}");
        assert_eq!(detail["held_accounts"][0]["found_by"], "email");
        let (st, list) = s
            .get("/api/v1/custody/holds?status=active", "custodian")
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (st, _) = s
            .get("/api/v1/custody/holds?status=frozen", "custodian")
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, _) = s.get("/api/v1/custody/holds", "officer_a").await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        let renew = format!("/api/v1/custody/holds/{id}/renew");
        let (st, renewed) = s.post(&renew, "custodian", None).await;
        assert_eq!(st, StatusCode::OK, "{renewed}");
        assert_eq!(renewed["renewals_left"], 0);
        let (st, body) = s.post(&renew, "custodian", None).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_eq!(code(&body), "conflict");
        let release = format!("/api/v1/custody/holds/{id}/release");
        let (st, body) = s
            .post(&release, "reviewer", Some(json!({"reason": " "})))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (st, released) = s
            .post(
                &release,
                "reviewer",
                Some(json!({"reason": "the subpoena was answered"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{released}");
        assert_eq!(released["status"], "released");
        let (st, holds) = s
            .get(
                &format!("/api/v1/custody/requests/{}/holds", r.id),
                "approver",
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(holds[0]["status"], "released");
    }
}

#[tokio::test]
async fn an_officer_downloads_a_production_a_limited_number_of_times() {
    for s in servers("an_officer_downloads_a_production").await {
        let r = s.serve(subpoena()).await;
        let produce = format!("/api/v1/custody/requests/{}/produce", r.id);
        let (st, body) = s.post(&produce, "custodian", None).await;
        assert_eq!(st, StatusCode::CONFLICT, "not decided yet: {body}");
        s.decide(
            r.id,
            json!({"subscriber": {"decision": "disclose"}, "transactional": {"decision": "disclose"}}),
            false,
        )
        .await;
        let (st, _) = s.post(&produce, "reviewer", None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "only a custodian signs");
        let (st, produced) = s.post(&produce, "custodian", None).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{produced}");
        let passphrase = produced["passphrase"].as_str().unwrap().to_string();
        assert_eq!(passphrase.len(), 34, "seven groups of four");
        assert_eq!(produced["production"]["status"], "building");
        let prod = format!("/api/v1/requests/{}/production", r.id);
        let (st, p) = s.get(&prod, "officer_a").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(p["status"], "being_prepared");

        s.run_jobs().await;
        // Non-content only, no notice needed: released at once.
        let (st, p) = s.get(&prod, "officer_a").await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert_eq!(p["status"], "ready", "{p}");
        assert_eq!(p["downloads_left"], 2);
        assert_eq!(p["file_name"], format!("{}.zip", r.number));
        // Another agency: exactly as for a missing request.
        let (st, body) = s.get(&prod, "officer_b").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(code(&body), "not_found");
        let (st, _, _) = s.download(r.id, "officer_b").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = s.download(uuid::Uuid::new_v4(), "officer_a").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = s.download(r.id, "reviewer").await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        let (st, headers, bytes) = s.download(r.id, "officer_a").await;
        assert_eq!(st, StatusCode::OK);
        assert!(bytes.starts_with(b"PK\x03\x04"), "a ZIP");
        let digest = hex::encode(sha2::Sha256::digest(&bytes));
        assert_eq!(headers["x-content-sha256"], digest.as_str());
        assert_eq!(p["package_sha256"], digest.as_str());
        assert!(headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("{}.zip", r.number)));
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("p.zip");
        std::fs::write(&pkg, &bytes).unwrap();
        custodian_production_verify(&pkg, &passphrase);

        // The portal's request page offers the download to a signed-in officer.
        let page = portal_page(&s, r.id).await;
        assert!(page.contains("id=\"download\""), "{page}");
        assert!(page.contains(&digest));

        let (st, _, _) = s.download(r.id, "officer_a").await;
        assert_eq!(st, StatusCode::OK);
        let (st, _, body) = s.download(r.id, "officer_a").await;
        assert_eq!(st, StatusCode::GONE);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(code(&body), "download_limit_reached");

        // A new link from the custodian; it expires after 14 days.
        let (st, staff) = s
            .get(
                &format!("/api/v1/custody/requests/{}/productions", r.id),
                "custodian",
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let pid = staff[0]["id"].as_str().unwrap();
        assert_eq!(staff[0]["downloads"], 2);
        let link = format!("/api/v1/custody/productions/{pid}/link");
        let (st, _) = s.post(&link, "officer_a", None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, body) = s.post(&link, "custodian", Some(json!({"days": 0}))).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (st, renewed) = s.post(&link, "custodian", None).await;
        assert_eq!(st, StatusCode::OK, "{renewed}");
        assert_eq!(renewed["downloads"], 0);
        s.clock.advance(Duration::days(14) + Duration::minutes(10));
        let (st, _, body) = s.download(r.id, "officer_a").await;
        assert_eq!(st, StatusCode::GONE);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(code(&body), "link_expired");

        let actions: Vec<String> = s
            .store
            .audit_entries(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.entry.action)
            .collect();
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "production.downloaded")
                .count(),
            2
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "production.download_refused")
                .count(),
            2
        );
    }
}

/// Opens the downloaded ZIP with its passphrase and checks it as the agency would.
fn custodian_production_verify(pkg: &std::path::Path, passphrase: &str) {
    let verified = custodian_production::verify(
        pkg,
        &custodian_production::VerifyOptions {
            unlock: custodian_production::Unlock::Passphrase(
                custodian_production::Passphrase::new(passphrase),
            ),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(verified
        .manifest
        .files
        .iter()
        .any(|f| f.path.ends_with("/subscriber.json")));
}

/// Signs the first agency's officer in with a browser session and reads the request's page.
async fn portal_page(s: &Server, id: uuid::Uuid) -> String {
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    async fn send(
        s: &Server,
        cookies: &mut BTreeMap<String, String>,
        req: reqwest::RequestBuilder,
    ) -> (StatusCode, String) {
        let header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = req.header(COOKIE, header).send().await.unwrap();
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                cookies.remove(k);
            } else {
                cookies.insert(k.into(), v.into());
            }
        }
        let _ = s;
        (resp.status(), resp.text().await.unwrap())
    }
    fn input(body: &str, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = body.find(&marker).unwrap() + marker.len();
        body[start..][..body[start..].find('"').unwrap()].to_string()
    }
    let url = |p: &str| format!("{}{p}", s.base);
    let (_, form) = send(s, &mut cookies, s.client.get(url("/signin"))).await;
    let csrf = input(&form, "csrf");
    let (st, _) = send(
        s,
        &mut cookies,
        s.client.post(url("/signin")).form(&[
            ("csrf", csrf.as_str()),
            ("email", s.officer_a.email.as_str()),
            ("password", PASSWORD),
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, enrol) = send(s, &mut cookies, s.client.get(url("/signin/enrol"))).await;
    let marker = "id=\"totp-secret\"";
    let at = enrol.find(marker).unwrap();
    let start = enrol[at..].find('>').unwrap() + at + 1;
    let secret_text = &enrol[start..start + enrol[start..].find('<').unwrap()];
    let secret = totp::base32_decode(secret_text).unwrap();
    let code = totp::code_at(&secret, s.clock.now());
    let (st, _) = send(
        s,
        &mut cookies,
        s.client.post(url("/signin/enrol")).form(&[
            ("csrf", input(&enrol, "csrf").as_str()),
            ("code", code.as_str()),
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, page) = send(
        s,
        &mut cookies,
        s.client.get(url(&format!("/portal/requests/{id}"))),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn the_notice_page_tells_the_customer_who_asked_for_what() {
    for s in servers("the_notice_page_tells_the_customer").await {
        let mut intake = subpoena();
        intake["process"] = "search_warrant".into();
        intake["categories"] = json!(["subscriber", "content"]);
        let r = s.serve(intake).await;
        s.decide(
            r.id,
            json!({"subscriber": {"decision": "disclose"}, "content": {"decision": "disclose"}}),
            true,
        )
        .await;
        let notice = format!("/api/v1/custody/requests/{}/notice", r.id);
        let (st, body) = s.get(&notice, "reviewer").await;
        assert_eq!(
            st,
            StatusCode::NOT_FOUND,
            "not decided by the runner yet: {body}"
        );
        s.run_jobs().await;
        let (st, n) = s.get(&notice, "reviewer").await;
        assert_eq!(st, StatusCode::OK, "{n}");
        assert_eq!(n["notice"], "before_disclosure");
        assert_eq!(n["status"], "sent");
        assert_eq!(n["recipients"][0]["mail_status"], "sent");
        assert!(!n.to_string().contains(JORDAN), "no address in the view");
        let (st, _) = s.get(&notice, "officer_a").await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        let mails = s.c.smtp.to(JORDAN);
        assert_eq!(mails.len(), 1);
        let link = mails[0].link_containing("/notice/").unwrap();
        assert!(link.starts_with(&s.base));
        let html = s.client.get(&link).send().await.unwrap();
        assert_eq!(html.status(), StatusCode::OK);
        let html = html.text().await.unwrap();
        assert!(html.contains("Springfield Police Department"), "{html}");
        assert!(html.contains("Search warrant"));
        assert!(html.contains("Nothing will be disclosed before"));
        let token = link.rsplit('/').next().unwrap();
        let json: Value = s
            .client
            .get(format!("{}/api/v1/notices/{token}", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json["agency"], "Springfield Police Department");
        assert_eq!(json["disclosed"], json!(["subscriber", "content"]));
        let missing = s
            .client
            .get(format!("{}/notice/{}", s.base, "x".repeat(43)))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        // Sending early is for an emergency's notice only.
        let (st, body) = s
            .post(
                &format!("/api/v1/custody/requests/{}/notice/send", r.id),
                "reviewer",
                None,
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{body}");
        let (st, body) = s
            .post(
                &format!("/api/v1/custody/requests/{}/notice/order", r.id),
                "reviewer",
                Some(json!({"order": "ends"})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("last_day:"));
    }
}

#[tokio::test]
async fn an_agency_key_is_set_by_the_admin_or_the_agencys_supervisor() {
    for s in servers("an_agency_key_is_set").await {
        let key = age::x25519::Identity::generate().to_public().to_string();
        let a = format!("/api/v1/agencies/{}/age-recipient", s.agency_a.id);
        let b = format!("/api/v1/agencies/{}/age-recipient", s.agency_b.id);
        let s = &s;
        let put = |path: &str, who: &'static str, body: Value| {
            let path = path.to_string();
            async move { s.call(reqwest::Method::PUT, &path, who, Some(body)).await }
        };
        let (st, body) = put(&a, "supervisor_a", json!({"recipient": key})).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let (st, _) = put(&a, "officer_a", json!({"recipient": key})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = put(&a, "supervisor_b", json!({"recipient": key})).await;
        assert_eq!(
            st,
            StatusCode::NOT_FOUND,
            "another agency's key is not even found"
        );
        let (st, body) = put(&b, "admin", json!({"recipient": "age1notakey"})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("recipient:"));
        let (st, got) = s.get(&a, "officer_a").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(got["recipient"], key.as_str());
        let (st, _) = s.get(&a, "officer_b").await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // With the key, a production is an age file and comes with no passphrase.
        let r = s.serve(subpoena()).await;
        s.decide(r.id, json!({"subscriber": {"decision": "disclose"}, "transactional": {"decision": "withhold", "reason": "not needed"}}), false).await;
        let (st, produced) = s
            .post(
                &format!("/api/v1/custody/requests/{}/produce", r.id),
                "custodian",
                None,
            )
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{produced}");
        assert!(produced["passphrase"].is_null());
        assert_eq!(produced["production"]["protection"], "age-x25519");
        s.run_jobs().await;
        let (st, _, bytes) = s.download(r.id, "officer_a").await;
        assert_eq!(st, StatusCode::OK);
        assert!(bytes.starts_with(b"age-encryption.org/v1\n"));

        let doc: Value = s
            .client
            .get(format!("{}/api/v1/openapi.json", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for p in [
            "/api/v1/custody/requests/{id}/preserve",
            "/api/v1/custody/requests/{id}/produce",
            "/api/v1/requests/{id}/production/download",
            "/api/v1/notices/{token}",
        ] {
            assert!(
                doc["paths"][p].is_object(),
                "{p} is in the OpenAPI document"
            );
        }
    }
}
