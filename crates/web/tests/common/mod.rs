//! What the page tests share: a server on port 0 per backend, a browser without JavaScript
//! (a cookie jar, forms, CSRF tokens, TOTP enrolment), officers and their agencies.
#![allow(dead_code)]

pub mod custody;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use custodian_core::{AgencyKind, AgencyStatus, Country, Role};
use custodian_store::testing::fresh_postgres_url;
use custodian_store::*;
use custodian_web::account::{password, totp};
use custodian_web::{AppState, WebConfig};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
pub const PASSWORD: &str = "a long enough password";

pub struct Server {
    pub base: String,
    pub store: DynStore,
    pub agency_a: Agency,
    pub agency_b: Agency,
    /// The server's clock when a test drives it (sign-in codes are computed at its time).
    pub clock: Option<Arc<ManualClock>>,
    pub _dir: tempfile::TempDir,
}

pub async fn agency(store: &DynStore, name: &str, domain: &str) -> Agency {
    store
        .create_agency(
            &Actor::System("test".into()),
            NewAgency {
                name: name.into(),
                country: Country::US,
                kind: AgencyKind::LocalPolice,
                status: AgencyStatus::Verified,
                phone: None,
                domains: vec![domain.into()],
            },
        )
        .await
        .unwrap()
}

pub async fn start(store: DynStore) -> Server {
    start_with(store, None, |state, _| state).await
}

/// A server whose state `configure` completes (custody, a clock) once its address is known.
pub async fn start_with(
    store: DynStore,
    clock: Option<Arc<ManualClock>>,
    configure: impl FnOnce(AppState, &str) -> AppState,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(dir.path().join("objects"));
    let config = WebConfig::default();
    let agency_a = agency(&store, "Springfield Police Department", "springfieldpd.gov").await;
    let agency_b = agency(&store, "Shelbyville Police Department", "shelbyvillepd.gov").await;
    let policy = custodian_core::policy::PolicyProfile::builtin("provider-default").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = config.with_public_url(&base);
    let mut state = AppState::new(store.clone(), blobs, config, policy);
    if let Some(c) = &clock {
        state = state.with_clock(c.clone());
    }
    let app = custodian_web::router(configure(state, &base));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        store,
        agency_a,
        agency_b,
        clock,
        _dir: dir,
    }
}

pub async fn servers(test: &str) -> Vec<Server> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut out = vec![start(Arc::new(sqlite)).await];
    std::mem::forget(dir);
    if let Some(url) = fresh_postgres_url(test).await {
        let pg = PgStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        out.push(start(Arc::new(pg)).await);
    }
    out
}

/// A browser without JavaScript: a cookie jar, no automatic redirects.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// The server's clock, if a test drives it: TOTP codes are computed at its time.
    pub clock: Option<Arc<ManualClock>>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `<input ... name="NAME" value="...">`.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }

    pub fn csrf(&self) -> String {
        self.input("csrf").expect("the page has a CSRF field")
    }

    /// The text inside the element with this id.
    pub fn by_id(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let at = self.body.find(&marker)?;
        let start = self.body[at..].find('>')? + at + 1;
        let end = self.body[start..].find('<')? + start;
        Some(self.body[start..end].to_string())
    }
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            clock: None,
        }
    }

    /// A browser for `s`, whose codes follow the server's clock.
    pub fn for_server(s: &Server) -> Browser {
        let mut b = Browser::new(&s.base);
        b.clock = s.clock.clone();
        b
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn take(&mut self, resp: reqwest::Response) -> Page {
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            assert!(attrs.contains("HttpOnly"), "cookie {k} must be HttpOnly");
            assert!(
                attrs.contains("SameSite=Lax"),
                "cookie {k} must be SameSite"
            );
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.take(resp).await
    }

    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.take(resp).await
    }

    /// Signs in with the password; returns the page the sign-in redirected to.
    pub async fn password(&mut self, email: &str, pw: &str) -> Page {
        let form = self.get("/signin").await;
        let csrf = form.csrf();
        self.post(
            "/signin",
            &[("csrf", &csrf), ("email", email), ("password", pw)],
        )
        .await
    }

    /// Enrols an authenticator on the first sign-in; returns the secret and recovery codes.
    pub async fn enrol(&mut self, email: &str) -> (Vec<u8>, Vec<String>) {
        let p = self.password(email, PASSWORD).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(p.location.as_deref(), Some("/signin/enrol"));
        let page = self.get("/signin/enrol").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("<svg"), "the QR code is shown");
        let secret =
            totp::base32_decode(&page.by_id("totp-secret").expect("secret shown")).unwrap();
        let now = self.clock.as_ref().map_or_else(Utc::now, |c| c.now());
        let code = totp::code_at(&secret, now);
        let done = self
            .post("/signin/enrol", &[("csrf", &page.csrf()), ("code", &code)])
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let codes: Vec<String> = done
            .body
            .split("<li><code>")
            .skip(1)
            .map(|s| s.split('<').next().unwrap().to_string())
            .collect();
        assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
        (secret, codes)
    }

    /// The CSRF token of the signed-in session, from any page's forms.
    pub async fn session_csrf(&mut self) -> String {
        self.get("/account").await.csrf()
    }
}

pub async fn officer(s: &Server, agency: &Agency, local: &str) -> User {
    let domain = &agency.domains[0];
    s.store
        .create_user(
            &Actor::System("test".into()),
            NewUser {
                email: format!("{local}@{domain}"),
                name: format!("Officer {local}"),
                role: Role::AgencyOfficer,
                agency_id: Some(agency.id),
                password_hash: Some(password::hash(PASSWORD).unwrap()),
            },
        )
        .await
        .unwrap()
}

/// An officer signed in with a second factor, in a browser of their own.
pub async fn signed_in(s: &Server, agency: &Agency, local: &str) -> (Browser, User) {
    let user = officer(s, agency, local).await;
    let mut b = Browser::for_server(s);
    b.enrol(&user.email).await;
    (b, user)
}

pub async fn audit_actions(store: &DynStore) -> Vec<String> {
    store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect()
}

pub fn serve_form(csrf: &str, process: &str, target: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("process", process.to_string())
        .text("issuing_authority", "Springfield Police Department")
        .text("issuing_country", "us")
        .text("received_via", "portal")
        .text("case_reference", "2026-CR-7")
        .text("target_type", "email")
        .text("target_value", target.to_string())
        .text("target_type", "phone")
        .text("target_value", "")
        .text("categories", "subscriber")
        .text("categories", "transactional")
        .text("date_from", "2026-01-01")
        .text("date_to", "2026-03-31")
        .text("ndo", "until")
        .text("ndo_until", "2027-06-30")
        .part(
            "document",
            reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("subpoena.pdf"),
        )
}

/// A member of the provider's staff with a password for the web sign-in.
pub async fn staff(s: &Server, local: &str, role: Role) -> User {
    s.store
        .create_user(
            &Actor::System("test".into()),
            NewUser {
                email: format!("{local}@provider.example"),
                name: format!("Staff {local}"),
                role,
                agency_id: None,
                password_hash: Some(password::hash(PASSWORD).unwrap()),
            },
        )
        .await
        .unwrap()
}

/// A member of staff signed in with a second factor, in a browser of their own.
pub async fn staff_signed_in(s: &Server, local: &str, role: Role) -> (Browser, User) {
    let user = staff(s, local, role).await;
    let mut b = Browser::for_server(s);
    b.enrol(&user.email).await;
    (b, user)
}

/// An API token for a user.
pub async fn token_for(store: &DynStore, user: &User) -> String {
    let token = format!(
        "{}{}",
        custodian_web::auth::TOKEN_PREFIX,
        uuid::Uuid::new_v4().simple()
    );
    store
        .create_token(
            &Actor::System("test".into()),
            user.id,
            &custodian_web::auth::token_hash(&token),
            "t",
        )
        .await
        .unwrap();
    token
}

/// Serves a demand through the API, as `token`'s officer, with one PDF; returns the request.
pub async fn serve_api(s: &Server, token: &str, request: serde_json::Value) -> serde_json::Value {
    let form = reqwest::multipart::Form::new()
        .text("request", request.to_string())
        .part(
            "document",
            reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("served.pdf"),
        );
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/requests", s.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

/// A demand of `process` for `categories`, for the first target of an officer's agency.
pub fn demand(process: &str, categories: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "process": process,
        "issuing_authority": "Springfield Police Department",
        "issuing_country": "US",
        "case_reference": "2026-CR-7",
        "targets": [{"type": "email", "value": "suspect@example.com"}],
        "categories": categories,
    })
}

/// A request stored directly with the deadline a test needs (no documents).
pub async fn request_due(
    s: &Server,
    officer: &User,
    process: &str,
    respond_by: chrono::DateTime<Utc>,
) -> RequestRecord {
    let mut d = demand(process, &["subscriber"]);
    if process == "emergency" {
        d["emergency"] = serde_json::json!({
            "danger_of_death_or_serious_injury": true,
            "supervisor_name": "Sgt. Okafor",
            "supervisor_phone": "+1 217 555 0100",
        });
    }
    let intake: custodian_core::RequestIntake = serde_json::from_value(d).unwrap();
    let submission = s
        .store
        .submit_request(
            &Actor::User(officer.id),
            NewRequest {
                agency_id: officer.agency_id.unwrap(),
                submitted_by: officer.id,
                intake: intake.validate().unwrap(),
                received_at: Utc::now(),
                respond_by,
                documents: Vec::new(),
                idempotency: None,
                risk: None,
            },
        )
        .await
        .unwrap();
    match submission {
        Submission::Created(r) | Submission::Replayed(r) => r,
    }
}

/// Where `needle` first appears in `haystack` (panics with the page if it does not).
pub fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the page:\n{haystack}"))
}

/// A second server on the same database and object store, as another instance behind a load
/// balancer would be; returns its address.
pub async fn another_server(s: &Server) -> String {
    let blobs = Blobs::local(s._dir.path().join("objects"));
    let policy = custodian_core::policy::PolicyProfile::builtin("provider-default").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = WebConfig::default().with_public_url(&base);
    let app = custodian_web::router(AppState::new(s.store.clone(), blobs, config, policy));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A JSON call with a bearer token: the status and the body.
pub async fn api(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
