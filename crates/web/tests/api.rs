//! The agency API driven over HTTP against a real server on port 0, on SQLite and (when
//! CUSTODIAN_TEST_POSTGRES_URL is set) PostgreSQL.

use std::sync::Arc;

use custodian_core::{AgencyKind, AgencyStatus, Country, Role};
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;
use custodian_web::{auth, AppState, WebConfig};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

struct Server {
    base: String,
    client: reqwest::Client,
    store: DynStore,
    objects: std::path::PathBuf,
    /// Officer of agency A, officer of agency B, officer of a pending agency, a reviewer.
    a: String,
    b: String,
    pending: String,
    reviewer: String,
    _dir: tempfile::TempDir,
}

async fn token_for(store: &DynStore, user: &User) -> String {
    let token = format!("{}{}", auth::TOKEN_PREFIX, uuid::Uuid::new_v4().simple());
    store
        .create_token(
            &Actor::System("test".into()),
            user.id,
            &auth::token_hash(&token),
            "t",
        )
        .await
        .unwrap();
    token
}

async fn agency_with_officer(
    store: &DynStore,
    name: &str,
    domain: &str,
    status: AgencyStatus,
) -> User {
    let sys = Actor::System("test".into());
    let a = store
        .create_agency(
            &sys,
            NewAgency {
                name: name.into(),
                country: Country::US,
                kind: AgencyKind::LocalPolice,
                status,
                phone: None,
                domains: vec![domain.into()],
            },
        )
        .await
        .unwrap();
    store
        .create_user(
            &sys,
            NewUser {
                email: format!("officer@{domain}"),
                name: "Officer".into(),
                role: Role::AgencyOfficer,
                agency_id: Some(a.id),
                password_hash: None,
            },
        )
        .await
        .unwrap()
}

async fn start(store: DynStore) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let blobs = Blobs::local(&objects);
    let config = WebConfig {
        max_document_bytes: 64 * 1024,
        ..WebConfig::default()
    };
    let ua = agency_with_officer(&store, "Agency A", "a.gov", AgencyStatus::Verified).await;
    let ub = agency_with_officer(&store, "Agency B", "b.gov", AgencyStatus::Verified).await;
    let up = agency_with_officer(&store, "Agency P", "p.gov", AgencyStatus::Pending).await;
    let reviewer = store
        .create_user(
            &Actor::System("test".into()),
            NewUser {
                email: "reviewer@provider.example".into(),
                name: "Reviewer".into(),
                role: Role::Reviewer,
                agency_id: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    let policy = custodian_core::policy::PolicyProfile::builtin("provider-default").unwrap();
    let app = custodian_web::router(AppState::new(store.clone(), blobs, config, policy));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        client: reqwest::Client::new(),
        a: token_for(&store, &ua).await,
        b: token_for(&store, &ub).await,
        pending: token_for(&store, &up).await,
        reviewer: token_for(&store, &reviewer).await,
        store,
        objects,
        _dir: dir,
    }
}

async fn servers(test: &str) -> Vec<Server> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut out = vec![start(Arc::new(sqlite)).await];
    std::mem::forget(dir); // lives as long as the test process; tempdir cleans on reboot
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = PgStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        out.push(start(Arc::new(pg)).await);
    }
    out
}

fn subpoena() -> Value {
    json!({
        "process": "subpoena",
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "case_reference": "2026-CR-0042",
        "targets": [{"type": "email", "value": "suspect@example.com"}],
        "categories": ["subscriber", "transactional"],
        "date_range": {"from": "2026-01-01", "to": "2026-06-30"},
        "return_date": "2026-12-31",
        "ndo_until": "2027-06-30"
    })
}

fn form(request: &str, docs: &[&[u8]]) -> Form {
    let mut f = Form::new().text("request", request.to_string());
    for d in docs {
        f = f.part(
            "document",
            Part::bytes(d.to_vec()).file_name("subpoena.pdf"),
        );
    }
    f
}

impl Server {
    async fn submit(
        &self,
        token: &str,
        request: &str,
        docs: &[&[u8]],
        key: Option<&str>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .client
            .post(format!("{}/api/v1/requests", self.base))
            .bearer_auth(token)
            .multipart(form(request, docs));
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, resp.json().await.unwrap_or(Value::Null), headers)
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post_json(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn total(&self) -> u64 {
        self.store
            .list_requests(
                Scope::Provider,
                &RequestFilter {
                    status: None,
                    limit: 1,
                    offset: 0,
                },
            )
            .await
            .unwrap()
            .total
    }

    fn blob_count(&self) -> usize {
        fn walk(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| {
                            if e.path().is_dir() {
                                walk(&e.path())
                            } else {
                                1
                            }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&self.objects.join("blobs"))
    }
}

#[tokio::test]
async fn health_and_openapi() {
    for s in servers("health_and_openapi").await {
        let r = s
            .client
            .get(format!("{}/healthz", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let doc: Value = s
            .client
            .get(format!("{}/api/v1/openapi.json", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/api/v1/requests",
            "/api/v1/requests/{id}",
            "/api/v1/requests/{id}/documents/{doc_id}",
            "/api/v1/requests/{id}/messages",
            "/api/v1/requests/{id}/withdraw",
        ] {
            assert!(doc["paths"][path].is_object(), "missing {path}");
        }
        let process = &doc["components"]["schemas"]["LegalProcess"]["enum"];
        assert!(process
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "search_warrant"));
    }
}

#[tokio::test]
async fn tokens_are_required() {
    for s in servers("tokens_are_required").await {
        let r = s
            .client
            .get(format!("{}/api/v1/requests", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        let (st, _) = s.get("cust_not-a-real-token", "/api/v1/requests").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn an_officer_serves_and_follows_a_subpoena() {
    for s in servers("serve_and_follow").await {
        let (st, created, headers) = s.submit(&s.a, &subpoena().to_string(), &[PDF], None).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        assert!(created["number"].as_str().unwrap().starts_with("LE-"));
        assert_eq!(created["status"], "received");
        assert!(created["respond_by"].is_string());
        assert_eq!(
            headers["location"],
            format!("/api/v1/requests/{id}").as_str()
        );
        let doc = &created["documents"][0];
        assert_eq!(doc["sha256"], sha256_hex(PDF));

        let (st, shown) = s.get(&s.a, &format!("/api/v1/requests/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(shown["targets"][0]["value"], "suspect@example.com");
        assert_eq!(shown["ndo_until"], "2027-06-30");

        let before = s.store.audit_size().await.unwrap();
        let bytes = s
            .client
            .get(format!(
                "{}/api/v1/requests/{id}/documents/{}",
                s.base,
                doc["id"].as_str().unwrap()
            ))
            .bearer_auth(&s.a)
            .send()
            .await
            .unwrap();
        assert_eq!(bytes.status(), StatusCode::OK);
        assert_eq!(bytes.headers()["content-type"], "application/pdf");
        assert_eq!(&bytes.bytes().await.unwrap()[..], PDF);
        let after = s.store.audit_size().await.unwrap();
        assert_eq!(after, before + 1, "the read is audited");
        let last = s.store.audit_entries(before, 1).await.unwrap();
        assert_eq!(last[0].entry.action, "document.read");

        let (st, m) = s
            .post_json(
                &s.a,
                &format!("/api/v1/requests/{id}/messages"),
                json!({"body": "Any update?"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        assert_eq!(m["from"], "agency");
        let (st, m) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/requests/{id}/messages"),
                json!({"body": "In review."}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(m["from"], "provider");
        let (_, msgs) = s
            .get(&s.a, &format!("/api/v1/requests/{id}/messages"))
            .await;
        assert_eq!(msgs.as_array().unwrap().len(), 2);
        let (st, _) = s
            .post_json(
                &s.a,
                &format!("/api/v1/requests/{id}/messages"),
                json!({"body": "  "}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

        let (_, list) = s.get(&s.a, "/api/v1/requests?status=received").await;
        assert_eq!(list["total"], 1);
        let (st, err) = s.get(&s.a, "/api/v1/requests?status=sleeping").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("status:"));

        let (st, w) = s
            .post_json(
                &s.a,
                &format!("/api/v1/requests/{id}/withdraw"),
                json!({"reason": "suspect charged"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{w}");
        assert_eq!(w["status"], "withdrawn");
        let (st, again) = s
            .post_json(&s.a, &format!("/api/v1/requests/{id}/withdraw"), json!({}))
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_eq!(again["error"]["code"], "illegal_transition");
    }
}

#[tokio::test]
async fn agencies_never_see_each_others_requests() {
    for s in servers("isolation").await {
        let (_, created, _) = s.submit(&s.a, &subpoena().to_string(), &[PDF], None).await;
        let id = created["id"].as_str().unwrap();
        let doc = created["documents"][0]["id"].as_str().unwrap();
        let missing = uuid::Uuid::new_v4();
        let (st_other, body_other) = s.get(&s.b, &format!("/api/v1/requests/{id}")).await;
        let (st_missing, body_missing) = s.get(&s.b, &format!("/api/v1/requests/{missing}")).await;
        assert_eq!(st_other, StatusCode::NOT_FOUND);
        assert_eq!(st_missing, StatusCode::NOT_FOUND);
        assert_eq!(
            body_other, body_missing,
            "another agency's id looks exactly like a missing one"
        );
        let (st, _) = s
            .get(&s.b, &format!("/api/v1/requests/{id}/documents/{doc}"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = s
            .get(&s.b, &format!("/api/v1/requests/{id}/messages"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = s
            .post_json(
                &s.b,
                &format!("/api/v1/requests/{id}/messages"),
                json!({"body": "hi"}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = s
            .post_json(&s.b, &format!("/api/v1/requests/{id}/withdraw"), json!({}))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (_, list) = s.get(&s.b, "/api/v1/requests").await;
        assert_eq!(list["total"], 0);
        let (st, _) = s.get(&s.b, "/api/v1/requests/not-a-uuid").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // Provider staff see every agency's requests.
        let (st, _) = s.get(&s.reviewer, &format!("/api/v1/requests/{id}")).await;
        assert_eq!(st, StatusCode::OK);
    }
}

/// What is wrong, the request part, the documents, the expected status, and the text the
/// error message must contain (the field at fault).
type BadCase<'a> = (&'a str, String, Vec<&'a [u8]>, StatusCode, &'a str);

#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    for s in servers("bad_input").await {
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = subpoena();
            f(&mut v);
            v.to_string()
        };
        let big = {
            let mut b = PDF.to_vec();
            b.splice(10..10, std::iter::repeat_n(b' ', 70 * 1024));
            b
        };
        let cases: Vec<BadCase> = vec![
            (
                "malformed JSON",
                "{\"process\": ".into(),
                vec![PDF],
                StatusCode::BAD_REQUEST,
                "request",
            ),
            (
                "unknown process",
                with(&|v| v["process"] = json!("writ")),
                vec![PDF],
                StatusCode::UNPROCESSABLE_ENTITY,
                "process:",
            ),
            (
                "no targets",
                with(&|v| v["targets"] = json!([])),
                vec![PDF],
                StatusCode::UNPROCESSABLE_ENTITY,
                "targets:",
            ),
            (
                "bad target",
                with(&|v| v["targets"] = json!([{"type": "phone", "value": "12"}])),
                vec![PDF],
                StatusCode::UNPROCESSABLE_ENTITY,
                "targets[0].value:",
            ),
            (
                "unknown country",
                with(&|v| v["issuing_country"] = json!("XX")),
                vec![PDF],
                StatusCode::UNPROCESSABLE_ENTITY,
                "issuing_country:",
            ),
            (
                "bad date",
                with(&|v| v["return_date"] = json!("2026-02-30")),
                vec![PDF],
                StatusCode::UNPROCESSABLE_ENTITY,
                "return_date:",
            ),
            (
                "unknown field",
                with(&|v| v["colour"] = json!("blue")),
                vec![PDF],
                StatusCode::UNPROCESSABLE_ENTITY,
                "colour",
            ),
            (
                "not a PDF",
                subpoena().to_string(),
                vec![b"PK\x03\x04 zip file"],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "document:",
            ),
            (
                "a PDF then a non-PDF",
                subpoena().to_string(),
                vec![PDF, b"GIF89a"],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "document:",
            ),
            (
                "oversized",
                subpoena().to_string(),
                vec![&big],
                StatusCode::PAYLOAD_TOO_LARGE,
                "document:",
            ),
            (
                "no document",
                subpoena().to_string(),
                vec![],
                StatusCode::UNPROCESSABLE_ENTITY,
                "document:",
            ),
        ];
        for (what, request, docs, status, names) in cases {
            let (st, body, _) = s.submit(&s.a, &request, &docs, None).await;
            assert_eq!(st, status, "{what}: {body}");
            let msg = body["error"]["message"].as_str().unwrap_or_default();
            assert!(msg.contains(names), "{what}: '{msg}' should name {names}");
            assert!(body["error"]["code"].is_string(), "{what}");
            assert_eq!(s.total().await, 0, "{what}: nothing stored");
            assert_eq!(s.blob_count(), 0, "{what}: no blob written");
        }
        // A body that is not multipart at all.
        let r = s
            .client
            .post(format!("{}/api/v1/requests", s.base))
            .bearer_auth(&s.a)
            .json(&subpoena())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // Only officers of verified agencies serve process.
        let (st, body, _) = s
            .submit(&s.pending, &subpoena().to_string(), &[PDF], None)
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "agency_not_verified");
        let (st, _, _) = s
            .submit(&s.reviewer, &subpoena().to_string(), &[PDF], None)
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert_eq!(s.total().await, 0);
    }
}

#[tokio::test]
async fn a_retried_submission_returns_the_first_answer() {
    for s in servers("idempotency").await {
        let body = subpoena().to_string();
        let (st1, first, h1) = s.submit(&s.a, &body, &[PDF], Some("retry-1")).await;
        let (st2, second, h2) = s.submit(&s.a, &body, &[PDF], Some("retry-1")).await;
        assert_eq!(st1, StatusCode::CREATED);
        assert_eq!(st2, StatusCode::CREATED);
        assert_eq!(first, second);
        assert!(h1.get("idempotent-replayed").is_none());
        assert_eq!(h2["idempotent-replayed"], "true");
        assert_eq!(s.total().await, 1);
        let (st, err, _) = s
            .submit(&s.a, &with_case(&body, "other"), &[PDF], Some("retry-1"))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["code"], "idempotency_key_reused");
        // Keys belong to the caller: another officer's identical key is a new request.
        let (st, other, _) = s.submit(&s.b, &body, &[PDF], Some("retry-1")).await;
        assert_eq!(st, StatusCode::CREATED);
        assert_ne!(other["id"], first["id"]);
    }
}

fn with_case(body: &str, case: &str) -> String {
    let mut v: Value = serde_json::from_str(body).unwrap();
    v["case_reference"] = json!(case);
    v.to_string()
}

#[tokio::test]
async fn the_assessment_explains_the_recommendation() {
    for s in servers("assessment").await {
        let mut req = subpoena();
        req["categories"] = json!(["subscriber", "content"]);
        let (_, created, _) = s.submit(&s.a, &req.to_string(), &[PDF], None).await;
        let id = created["id"].as_str().unwrap();
        let (st, a) = s
            .get(&s.reviewer, &format!("/api/v1/requests/{id}/assessment"))
            .await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_eq!(a["route"], "process");
        assert_eq!(a["categories"]["content"]["decision"], "withhold");
        assert_eq!(a["categories"]["subscriber"]["decision"], "disclose");
        assert!(a["categories"]["content"]["rule"]
            .as_str()
            .unwrap()
            .contains("subpoena"));
        assert!(!a["explanation"].as_array().unwrap().is_empty());
        let (st, _) = s
            .get(&s.b, &format!("/api/v1/requests/{id}/assessment"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "another agency cannot read it");

        let (st, preview) = s
            .post_json(
                &s.a,
                "/api/v1/policy/check",
                json!({
                    "process": "search_warrant", "issuing_country": "DE",
                    "categories": ["content"], "targets": 1
                }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{preview}");
        assert_eq!(preview["route"], "redirect_mlat");
        let (st, err) = s
            .post_json(
                &s.a,
                "/api/v1/policy/check",
                json!({"process": "writ", "issuing_country": "US", "categories": [], "targets": 1}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("process"),
            "{err}"
        );
        let (st, ex) = s.get(&s.a, "/api/v1/policy/explain/subpoena").await;
        assert_eq!(st, StatusCode::OK);
        assert!(ex["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("content"));
    }
}

async fn staff_token(s: &Server, email: &str, role: Role) -> String {
    let u = s
        .store
        .create_user(
            &Actor::System("test".into()),
            NewUser {
                email: email.into(),
                name: "Staff".into(),
                role,
                agency_id: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    token_for(&s.store, &u).await
}

#[tokio::test]
async fn a_warrant_for_content_needs_a_second_person() {
    for s in servers("review_flow").await {
        let approver = staff_token(&s, "approver@provider.example", Role::Approver).await;
        let mut warrant = subpoena();
        warrant["process"] = json!("search_warrant");
        warrant["categories"] = json!(["subscriber", "content"]);
        let (_, created, _) = s.submit(&s.a, &warrant.to_string(), &[PDF], None).await;
        let id = created["id"].as_str().unwrap();

        // Agencies cannot reach the review console.
        let (st, _) = s.get(&s.a, "/api/v1/review/queue").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = s
            .post_json(
                &s.a,
                &format!("/api/v1/review/requests/{id}/decide"),
                json!({"categories": {}}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        let (st, q) = s.get(&s.reviewer, "/api/v1/review/queue").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(q["items"][0]["id"], id);
        assert_eq!(q["counts"]["received"], 1);

        let (st, item) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/assign"),
                json!({"assignee": "me"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{item}");
        assert_eq!(item["status"], "in_review");

        // An incomplete decision names the missing category.
        let (st, err) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/decide"),
                json!({"categories": {"subscriber": {"decision": "disclose"}}}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("categories.content"),
            "{err}"
        );

        let (st, d) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/decide"),
                json!({"categories": {"subscriber": {"decision": "disclose"}, "content": {"decision": "disclose"}},
                       "illegal_conduct_reason": "The account was used to sell stolen cards."}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["needs_approval"], true);
        assert_eq!(d["effective"], false);

        // The reviewer may hold the approver role too, but never approves their own decision.
        let (st, err) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{err}");
        let (st, d) = s
            .post_json(
                &approver,
                &format!("/api/v1/review/requests/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["effective"], true);
        let (st, _) = s
            .post_json(
                &approver,
                &format!("/api/v1/review/requests/{id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT);

        // The agency sees the outcome, but not the provider's reason about customer notice.
        let (st, seen) = s
            .get(&s.a, &format!("/api/v1/requests/{id}/decision"))
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            seen["decision"]["categories"]["content"]["decision"],
            "disclose"
        );
        assert!(seen["decision"]["illegal_conduct_reason"].is_null());
        let (st, _) = s
            .get(&s.b, &format!("/api/v1/requests/{id}/decision"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn rejections_and_redirects_reach_the_agency_as_letters() {
    for s in servers("letters").await {
        let (_, created, _) = s.submit(&s.a, &subpoena().to_string(), &[PDF], None).await;
        let id = created["id"].as_str().unwrap();
        let (st, err) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/reject"),
                json!({"text": " "}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        let (st, letter) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/reject"),
                json!({"text": "The subpoena is unsigned."}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{letter}");
        assert_eq!(letter["kind"], "rejection");
        let (_, shown) = s.get(&s.a, &format!("/api/v1/requests/{id}")).await;
        assert_eq!(shown["status"], "rejected");
        let (_, letters) = s.get(&s.a, &format!("/api/v1/requests/{id}/letters")).await;
        assert!(letters[0]["body"]
            .as_str()
            .unwrap()
            .contains("The subpoena is unsigned."));
        // Redirecting a rejected request is refused by the lifecycle.
        let (st, err) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/redirect"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{err}");

        let mut foreign = subpoena();
        foreign["process"] = json!("foreign_direct");
        foreign["issuing_country"] = json!("DE");
        let (_, created, _) = s.submit(&s.a, &foreign.to_string(), &[PDF], None).await;
        let id = created["id"].as_str().unwrap();
        let (st, letter) = s
            .post_json(
                &s.reviewer,
                &format!("/api/v1/review/requests/{id}/redirect"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{letter}");
        assert!(letter["body"]
            .as_str()
            .unwrap()
            .contains("Office of International Affairs"));
        let (_, shown) = s.get(&s.a, &format!("/api/v1/requests/{id}")).await;
        assert_eq!(shown["status"], "redirected");
    }
}
