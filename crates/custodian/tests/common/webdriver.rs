//! A small W3C WebDriver client over reqwest, driving Debian's chromium through chromedriver,
//! for the browser tests (a full client crate costs more build time than these few calls).
//!
//! `Browser::start` returns None (after printing "SKIPPED browser tests: ...") when
//! chromedriver or chromium is missing, and panics instead when CUSTODIAN_REQUIRE_BROWSER=1.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

pub const REQUIRE_BROWSER: &str = "CUSTODIAN_REQUIRE_BROWSER";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The key WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    _profile: tempfile::TempDir,
}

#[derive(Clone, Debug)]
pub struct Element(String);

fn required() -> bool {
    std::env::var_os(REQUIRE_BROWSER).is_some_and(|v| v != "0" && !v.is_empty())
}

fn skip(why: &str) -> Option<Browser> {
    if required() {
        panic!("{REQUIRE_BROWSER} is set but {why}");
    }
    custodian_store::testing::announce(&format!("SKIPPED browser tests: {why}"));
    None
}

impl Browser {
    /// Starts chromedriver on a free port and a headless chromium with a fresh profile.
    pub async fn start() -> Option<Browser> {
        if !Path::new(CHROMEDRIVER).exists() {
            return skip(
                "chromedriver is not installed (apt-get install chromium chromium-driver)",
            );
        }
        if !Path::new(CHROMIUM).exists() {
            return skip("chromium is not installed (apt-get install chromium)");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let driver = match driver {
            Ok(d) => d,
            Err(e) => return skip(&format!("chromedriver does not start: {e}")),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    up = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "chromedriver did not come up on port {port}");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {resp}"))
            .to_string();
        Some(Browser {
            driver,
            http,
            session: format!("{base}/session/{id}"),
            _profile: profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let resp: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = resp["value"].get("error") {
            panic!(
                "WebDriver {method} {path}: {err}: {}",
                resp["value"]["message"]
            );
        }
        resp["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or("").to_string()
    }

    pub async fn source(&self) -> String {
        self.get("/source").await.as_str().unwrap_or("").to_string()
    }

    pub async fn window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Runs a script and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// Waits up to ten seconds for an element to appear.
    pub async fn find(&self, css: &str) -> Element {
        for _ in 0..100 {
            let resp: Value = self
                .http
                .post(format!("{}/element", self.session))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = resp["value"][ELEMENT].as_str() {
                return Element(id.to_string());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no element '{css}' on {}:\n{}",
            self.url().await,
            self.source().await
        );
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await;
    }

    /// Clears a field and types into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await;
        self.type_into(&e, text).await;
    }

    /// Sets a field's value directly (date inputs, whose typed form depends on the locale)
    /// and tells the page it changed.
    pub async fn set_value(&self, css: &str, value: &str) {
        let script = format!(
            "const e = document.querySelector({}); e.value = {}; \
             e.dispatchEvent(new Event('change', {{bubbles: true}})); return true;",
            serde_json::to_string(css).unwrap(),
            serde_json::to_string(value).unwrap()
        );
        self.script(&script).await;
    }

    /// Picks a file for an `<input type=file>`.
    pub async fn attach(&self, css: &str, file: &Path) {
        let e = self.find(css).await;
        self.type_into(&e, &file.display().to_string()).await;
    }

    /// Presses keys on whatever has the focus (e.g. "\u{E004}" for Tab).
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Waits until the page's URL contains `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        for _ in 0..100 {
            let u = self.url().await;
            if u.contains(part) {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the browser is at {} instead of ...{part}:\n{}",
            self.url().await,
            self.source().await
        );
    }

    /// Saves a PNG screenshot of the window into `dir` and returns its path.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let b64 = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The browser's cookies for the current page's site, as a `Cookie` header (HttpOnly
    /// ones included), so that a test can fetch what the page links to as the browser would.
    pub async fn cookie_header(&self) -> String {
        self.get("/cookie")
            .await
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|c| {
                        Some(format!("{}={}", c["name"].as_str()?, c["value"].as_str()?))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    /// Whether the page is no wider than the window (nothing pushed off to the side).
    pub async fn fits_width(&self) -> bool {
        self.script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await
            .as_bool()
            .unwrap_or(false)
    }
}

impl Browser {
    /// Ends the WebDriver session (closing chromium) and stops chromedriver.
    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
