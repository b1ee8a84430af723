//! The HTTP connector against the real demo store served over `custodian-source/1` on
//! loopback: the same answers as the store itself, files streamed through as they are
//! produced, and clear errors for refusals, missing things, failures, garbage and silence.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::{day, named, target};
use custodian_core::request::DateRange;
use custodian_core::{Target, TargetKind};
use custodian_sources::http::server::router;
use custodian_sources::{
    AccountId, ContentFile, DataSource, FileStream, HttpSource, HttpSourceConfig, SourceError,
    SourceIdentity, SourceResult, SubscriberRecord, TransactionalRecords, CHUNK_SIZE,
};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "test-connector-token-0123456789";

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

fn client(url: &str, token: &str) -> HttpSource {
    HttpSource::new(HttpSourceConfig::new(url, token)).unwrap()
}

async fn digest_of(source: &dyn DataSource, account: &AccountId, file: &str) -> (u64, String) {
    let mut stream = source.open_file(account, file).await.unwrap();
    let mut hash = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.len() <= CHUNK_SIZE);
        n += chunk.len() as u64;
        hash.update(&chunk);
    }
    (n, hex::encode(hash.finalize()))
}

#[tokio::test]
async fn the_connector_answers_exactly_as_the_store_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(common::store(dir.path()).await);
    let url = serve(router(store.clone(), TOKEN).unwrap()).await;
    let remote = client(&url, TOKEN);

    let info = remote.describe().await.unwrap();
    assert_eq!(info.protocol, "custodian-source/1");
    assert_eq!(info.name, "demo customer data");
    let id = remote.identity();
    assert_eq!(
        (id.kind.as_str(), id.location.as_str()),
        ("http", url.as_str())
    );

    for t in named() {
        assert_eq!(
            remote.find_accounts(&t).await.unwrap(),
            store.find_accounts(&t).await.unwrap(),
            "{t:?}"
        );
    }
    let typed = target(TargetKind::Email, "JORDAN.SMITH42@example.com");
    assert_eq!(
        remote.find_accounts(&typed).await.unwrap(),
        store.find_accounts(&typed).await.unwrap()
    );

    let ranges = [
        None,
        Some(DateRange {
            from: day("2025-10-01"),
            to: day("2025-11-15"),
        }),
    ];
    for account in store.account_ids().await.unwrap() {
        let here: SubscriberRecord = store.subscriber(&account).await.unwrap();
        assert_eq!(remote.subscriber(&account).await.unwrap(), here);
        for range in ranges {
            let here: TransactionalRecords = store.transactional(&account, range).await.unwrap();
            assert_eq!(remote.transactional(&account, range).await.unwrap(), here);
            let here: Vec<ContentFile> = store.content(&account, range).await.unwrap();
            assert_eq!(remote.content(&account, range).await.unwrap(), here);
        }
    }

    let large = store.summary().await.unwrap().large_account;
    for f in store.content(&large, None).await.unwrap() {
        let there = digest_of(&remote, &large, &f.id).await;
        assert_eq!(there.0, f.size);
        assert_eq!(
            there,
            digest_of(store.as_ref(), &large, &f.id).await,
            "{}",
            f.path
        );
    }
}

#[tokio::test]
async fn refusals_and_missing_things_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(common::store(dir.path()).await);
    let url = serve(router(store.clone(), TOKEN).unwrap()).await;
    let remote = client(&url, TOKEN);
    let account = store.summary().await.unwrap().large_account;

    let wrong = client(&url, "not-the-token-at-all");
    assert!(matches!(
        wrong.describe().await,
        Err(SourceError::Unauthorized(_))
    ));
    assert!(matches!(
        wrong.subscriber(&account).await,
        Err(SourceError::Unauthorized(_))
    ));

    let unknown = AccountId::parse("acct-000001").unwrap();
    assert!(matches!(
        remote.subscriber(&unknown).await,
        Err(SourceError::NotFound(_))
    ));
    assert!(matches!(
        remote.open_file(&account, "file-9999999").await,
        Err(SourceError::NotFound(_))
    ));
    match remote
        .find_accounts(&target(TargetKind::IpAddress, "2001:db8::1"))
        .await
    {
        Err(SourceError::Unsupported { kind, reason }) => {
            assert_eq!(kind, TargetKind::IpAddress);
            assert!(reason.contains("does not identify an account"), "{reason}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let reversed = DateRange {
        from: day("2025-02-01"),
        to: day("2025-01-01"),
    };
    assert!(matches!(
        remote.transactional(&account, Some(reversed)).await,
        Err(SourceError::Invalid(_))
    ));

    // What the server says to a client that does not follow the protocol.
    let http = reqwest::Client::new();
    let answer = http
        .get(format!(
            "{url}v1/accounts/{account}/transactional?from=yesterday&to=2025-01-01"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("from:"));
    let answer = http
        .post(format!("{url}v1/lookup"))
        .bearer_auth(TOKEN)
        .body("{\"kind\":\"email\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = http
        .post(format!("{url}v1/lookup"))
        .bearer_auth(TOKEN)
        .body("{\"type\":\"email\",\"value\":\"not an address\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        !body.to_string().contains("not an address"),
        "errors do not echo identifiers: {body}"
    );
    let answer = http.get(format!("{url}v1/source")).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.headers()["www-authenticate"], "Bearer");

    assert!(
        router(store, "short").is_err(),
        "a guessable token is refused"
    );
}

#[test]
fn plain_http_is_only_for_loopback() {
    let refused = HttpSource::new(HttpSourceConfig::new(
        "http://data.provider.example/",
        TOKEN,
    ));
    assert!(matches!(refused, Err(SourceError::Invalid(ref m)) if m.contains("https")));
    assert!(HttpSource::new(HttpSourceConfig::new(
        "https://data.provider.example/x",
        TOKEN
    ))
    .is_ok());
    assert!(HttpSource::new(HttpSourceConfig::new("http://[::1]:9/", TOKEN)).is_ok());
    assert!(HttpSource::new(HttpSourceConfig::new(
        "https://u:p@data.provider.example/",
        TOKEN
    ))
    .is_err());
    assert!(HttpSource::new(HttpSourceConfig::new("ftp://data.provider.example/", TOKEN)).is_err());
    assert!(HttpSource::new(HttpSourceConfig::new("https://data.provider.example/", " ")).is_err());
    let shown = format!("{:?}", HttpSourceConfig::new("https://x.example/", TOKEN));
    assert!(!shown.contains(TOKEN), "the token is not printed: {shown}");
}

#[tokio::test]
async fn a_broken_endpoint_gives_clear_errors() {
    use axum::http::{header, StatusCode};
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route(
            "/v1/lookup",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"error":{"code":"internal","message":"database down"}}"#,
                )
            }),
        )
        .route(
            "/v1/accounts/{a}/subscriber",
            get(|| async { "<html>Welcome to our portal</html>" }),
        )
        .route(
            "/v1/accounts/{a}/transactional",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"account_id":"acct-1","orders":"lots"}"#,
                )
            }),
        )
        .route(
            "/v1/accounts/{a}/content",
            get(|| async { (StatusCode::BAD_GATEWAY, "upstream gone") }),
        )
        .route(
            "/v1/source",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"protocol":"something-else/9","name":"x"}"#,
                )
            }),
        );
    let url = serve(app).await;
    let remote = client(&url, TOKEN);
    let account = AccountId::parse("acct-1").unwrap();

    match remote
        .find_accounts(&target(TargetKind::Email, "a@example.com"))
        .await
    {
        Err(SourceError::Remote { status, message }) => {
            assert_eq!(status, 500);
            assert!(message.contains("database down"), "{message}");
        }
        other => panic!("expected Remote, got {other:?}"),
    }
    assert!(matches!(
        remote.subscriber(&account).await,
        Err(SourceError::Protocol(_))
    ));
    match remote.transactional(&account, None).await {
        Err(SourceError::Protocol(m)) => assert!(!m.contains("lots"), "{m}"),
        other => panic!("expected Protocol, got {other:?}"),
    }
    assert!(matches!(
        remote.content(&account, None).await,
        Err(SourceError::Remote { status: 502, .. })
    ));
    assert!(matches!(
        remote.describe().await,
        Err(SourceError::Protocol(_))
    ));
    // Nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    assert!(matches!(
        client(&gone, TOKEN).describe().await,
        Err(SourceError::Unavailable(_))
    ));
}

/// A raw HTTP server that answers every connection with `head` and `body`, then waits
/// (`linger`) or hangs up.
async fn raw_server(head: &'static str, body: &'static [u8], linger: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body).await;
                if linger {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            });
        }
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn a_short_or_stalled_file_is_an_error_not_a_file() {
    let account = AccountId::parse("acct-1").unwrap();
    // The connection closes after 10 of the 1000 bytes announced.
    let url = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: 1000\r\n\r\n",
        b"0123456789",
        false,
    )
    .await;
    let mut stream = client(&url, TOKEN).open_file(&account, "f1").await.unwrap();
    assert_eq!(stream.size(), 1000);
    let mut results = Vec::new();
    while let Some(r) = stream.next().await {
        results.push(r.map(|b| b.len()));
    }
    assert!(results.last().is_some_and(|r| r.is_err()), "{results:?}");

    // The endpoint goes quiet half-way: the read timeout ends the wait.
    let url = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: 1000\r\n\r\n",
        b"0123456789",
        true,
    )
    .await;
    let mut config = HttpSourceConfig::new(&url, TOKEN);
    config.read_timeout = Duration::from_millis(300);
    config.request_timeout = Duration::from_millis(300);
    let quiet = HttpSource::new(config).unwrap();
    let mut stream = quiet.open_file(&account, "f1").await.unwrap();
    let mut last = None;
    while let Some(r) = stream.next().await {
        last = Some(r);
    }
    assert!(
        matches!(last, Some(Err(SourceError::Unavailable(_)))),
        "{last:?}"
    );

    // No answer at all to a JSON request.
    let silent = raw_server("", b"", true).await;
    let mut config = HttpSourceConfig::new(&silent, TOKEN);
    config.request_timeout = Duration::from_millis(300);
    let err = HttpSource::new(config).unwrap().subscriber(&account).await;
    assert!(
        matches!(err, Err(SourceError::Unavailable(ref m)) if m.contains("in time")),
        "{err:?}"
    );
}

/// A source whose one file yields its first chunk at once and the rest only when told, or
/// fails after the first chunk.
struct Gated {
    release: Arc<tokio::sync::Notify>,
    fail: bool,
}

#[async_trait]
impl DataSource for Gated {
    fn identity(&self) -> SourceIdentity {
        SourceIdentity {
            kind: "test".into(),
            name: "gated".into(),
            location: "memory".into(),
        }
    }
    async fn find_accounts(&self, _: &Target) -> SourceResult<Vec<AccountId>> {
        Ok(vec![])
    }
    async fn subscriber(&self, a: &AccountId) -> SourceResult<SubscriberRecord> {
        Err(SourceError::NotFound(format!("account {a}")))
    }
    async fn transactional(
        &self,
        a: &AccountId,
        _: Option<DateRange>,
    ) -> SourceResult<TransactionalRecords> {
        Err(SourceError::NotFound(format!("account {a}")))
    }
    async fn content(&self, _: &AccountId, _: Option<DateRange>) -> SourceResult<Vec<ContentFile>> {
        Ok(vec![])
    }
    async fn open_file(&self, _: &AccountId, _: &str) -> SourceResult<FileStream> {
        let release = self.release.clone();
        let fail = self.fail;
        let chunks = futures::stream::unfold(0u8, move |n| {
            let release = release.clone();
            async move {
                match n {
                    0 => Some((Ok(Bytes::from(vec![1u8; CHUNK_SIZE])), 1)),
                    1 => {
                        release.notified().await;
                        if fail {
                            Some((Err(SourceError::Storage("disk gone".into())), 2))
                        } else {
                            Some((Ok(Bytes::from(vec![2u8; CHUNK_SIZE])), 2))
                        }
                    }
                    _ => None,
                }
            }
        });
        Ok(FileStream::new(
            2 * CHUNK_SIZE as u64,
            "application/octet-stream",
            chunks,
        ))
    }
}

#[tokio::test]
async fn bytes_pass_through_as_the_source_produces_them() {
    let release = Arc::new(tokio::sync::Notify::new());
    let source = Arc::new(Gated {
        release: release.clone(),
        fail: false,
    });
    let url = serve(router(source, TOKEN).unwrap()).await;
    let account = AccountId::parse("acct-1").unwrap();
    let mut stream = client(&url, TOKEN).open_file(&account, "f1").await.unwrap();
    // The first chunk arrives while the source still holds back the second: nothing on the
    // way buffers the whole file. (The timeout only keeps a broken build from hanging.)
    let mut got = 0;
    while got < CHUNK_SIZE {
        let chunk = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("the first chunk is delivered before the rest exists")
            .unwrap()
            .unwrap();
        assert!(chunk.iter().all(|&b| b == 1));
        got += chunk.len();
    }
    release.notify_one();
    let mut rest = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.iter().all(|&b| b == 2));
        rest += chunk.len();
    }
    assert_eq!(rest, CHUNK_SIZE);
}

#[tokio::test]
async fn a_source_failing_half_way_is_an_error_at_the_client() {
    let release = Arc::new(tokio::sync::Notify::new());
    let source = Arc::new(Gated {
        release: release.clone(),
        fail: true,
    });
    let url = serve(router(source, TOKEN).unwrap()).await;
    let account = AccountId::parse("acct-1").unwrap();
    let mut stream = client(&url, TOKEN).open_file(&account, "f1").await.unwrap();
    release.notify_one();
    let mut delivered = 0;
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => delivered += c.len(),
            Err(_) => failed = true,
        }
    }
    assert!(failed, "a truncated transfer is reported");
    assert!(delivered < 2 * CHUNK_SIZE);
}
