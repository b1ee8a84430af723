//! Custodian's side of `custodian-source/1`: a [`DataSource`] that calls a provider's endpoint.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use custodian_core::request::DateRange;
use custodian_core::{Target, TargetKind};
use futures::TryStreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::{codes, ContentListing, ErrorBody, LookupAnswer, SourceInfo, PROTOCOL};
use crate::records::{ContentFile, SubscriberRecord, TransactionalRecords};
use crate::{AccountId, DataSource, FileStream, SourceError, SourceIdentity, SourceResult};

/// Where the endpoint is and how patiently to talk to it.
#[derive(Clone)]
pub struct HttpSourceConfig {
    /// The base URL the provider's router is mounted at (`https://data.provider.example/custodian/`).
    /// `https` is required except on loopback.
    pub url: String,
    pub token: String,
    /// The name in manifests (default: the endpoint's host).
    pub name: Option<String>,
    /// To establish a connection.
    pub connect_timeout: Duration,
    /// For a whole JSON answer (lookups, records, listings).
    pub request_timeout: Duration,
    /// The longest silence while a file streams; a large file may take as long as it needs
    /// as long as bytes keep coming.
    pub read_timeout: Duration,
    /// The largest JSON answer accepted.
    pub max_answer_bytes: usize,
}

impl HttpSourceConfig {
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> HttpSourceConfig {
        HttpSourceConfig {
            url: url.into(),
            token: token.into(),
            name: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(60),
            max_answer_bytes: 256 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for HttpSourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSourceConfig")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("name", &self.name)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

/// A provider's endpoint speaking `custodian-source/1`.
pub struct HttpSource {
    base: Url,
    token: String,
    name: String,
    client: Client,
    request_timeout: Duration,
    max_answer_bytes: usize,
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl HttpSource {
    pub fn new(config: HttpSourceConfig) -> SourceResult<HttpSource> {
        let bad = |m: String| SourceError::Invalid(format!("source_url: {m}"));
        let mut base =
            Url::parse(config.url.trim()).map_err(|e| bad(format!("not a URL ({e})")))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(bad(
                    "customer data and the token would cross the network in clear text; use \
                     https (plain http is accepted only on loopback)"
                        .into(),
                ))
            }
            other => return Err(bad(format!("'{other}' is not http or https"))),
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(bad("needs a host".into()));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad(
                "must not carry credentials; the token goes in the token file".into(),
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("must not have a query or fragment".into()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let token = config.token.trim().to_string();
        if token.is_empty() {
            return Err(SourceError::Invalid(
                "source_token: the token is empty".into(),
            ));
        }
        let client = Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("custodian/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SourceError::Invalid(format!("source: cannot build the HTTP client: {e}"))
            })?;
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| base.host_str().unwrap_or("http source").to_string());
        Ok(HttpSource {
            base,
            token,
            name,
            client,
            request_timeout: config.request_timeout,
            max_answer_bytes: config.max_answer_bytes,
        })
    }

    /// Asks the endpoint who it is and checks that it speaks this protocol (and accepts the
    /// token): a start-up check.
    pub async fn describe(&self) -> SourceResult<SourceInfo> {
        let info: SourceInfo = self
            .json(
                self.get(&["source"]).timeout(self.request_timeout),
                "GET source",
                None,
            )
            .await?;
        if info.protocol != PROTOCOL {
            return Err(SourceError::Protocol(format!(
                "the endpoint speaks '{}', not '{PROTOCOL}'",
                info.protocol
            )));
        }
        Ok(info)
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    fn get(&self, segments: &[&str]) -> RequestBuilder {
        self.client.get(self.url(segments)).bearer_auth(&self.token)
    }

    fn ranged(&self, request: RequestBuilder, range: Option<DateRange>) -> RequestBuilder {
        match range {
            Some(r) => request.query(&[("from", r.from.to_string()), ("to", r.to.to_string())]),
            None => request,
        }
    }

    /// Sends the request; a non-2xx answer becomes the error it stands for.
    async fn send(
        &self,
        request: RequestBuilder,
        what: &str,
        target: Option<TargetKind>,
    ) -> SourceResult<Response> {
        let response = request.send().await.map_err(|e| transport(what, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = read_limited(response, 64 * 1024, what)
            .await
            .unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => (b.error.code, b.error.message.chars().take(500).collect()),
            Err(_) => (
                String::new(),
                format!("HTTP {status} without a protocol error body"),
            ),
        };
        let message = format!("{what}: {message}");
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceError::Unauthorized(message),
            StatusCode::NOT_FOUND => SourceError::NotFound(message),
            StatusCode::UNPROCESSABLE_ENTITY if code == codes::UNSUPPORTED_TARGET => match target {
                Some(kind) => SourceError::Unsupported {
                    kind,
                    reason: message,
                },
                None => SourceError::Protocol(message),
            },
            s if s.is_client_error() => SourceError::Invalid(message),
            s if s.is_server_error() => SourceError::Remote {
                status: s.as_u16(),
                message,
            },
            s => SourceError::Protocol(format!("{what}: unexpected HTTP {s}")),
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        what: &str,
        target: Option<TargetKind>,
    ) -> SourceResult<T> {
        let response = self.send(request, what, target).await?;
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(SourceError::Protocol(format!(
                "{what}: the answer is not JSON"
            )));
        }
        let body = read_limited(response, self.max_answer_bytes, what).await?;
        serde_json::from_slice(&body).map_err(|e| {
            // The position and kind only: serde's message may quote a customer's data.
            SourceError::Protocol(format!(
                "{what}: the answer does not follow the protocol ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }
}

fn transport(what: &str, e: reqwest::Error) -> SourceError {
    if e.is_timeout() {
        SourceError::Unavailable(format!("{what}: no answer in time"))
    } else if e.is_connect() {
        SourceError::Unavailable(format!("{what}: cannot connect ({})", e.without_url()))
    } else {
        SourceError::Unavailable(format!("{what}: {}", e.without_url()))
    }
}

/// The body, refusing more than `limit` bytes.
async fn read_limited(mut response: Response, limit: usize, what: &str) -> SourceResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(what, e))? {
        if body.len() + chunk.len() > limit {
            return Err(SourceError::Protocol(format!(
                "{what}: the answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[async_trait]
impl DataSource for HttpSource {
    fn identity(&self) -> SourceIdentity {
        SourceIdentity {
            kind: "http".into(),
            name: self.name.clone(),
            location: self.base.to_string(),
        }
    }

    async fn find_accounts(&self, target: &Target) -> SourceResult<Vec<AccountId>> {
        let request = self
            .client
            .post(self.url(&["lookup"]))
            .bearer_auth(&self.token)
            .timeout(self.request_timeout)
            .json(target);
        let answer: LookupAnswer = self.json(request, "lookup", Some(target.kind)).await?;
        Ok(answer.accounts)
    }

    async fn subscriber(&self, account: &AccountId) -> SourceResult<SubscriberRecord> {
        let request = self
            .get(&["accounts", account.as_str(), "subscriber"])
            .timeout(self.request_timeout);
        let record: SubscriberRecord = self.json(request, "GET subscriber", None).await?;
        if &record.account_id != account {
            return Err(SourceError::Protocol(format!(
                "GET subscriber: asked for {account}, answered {}",
                record.account_id
            )));
        }
        Ok(record)
    }

    async fn transactional(
        &self,
        account: &AccountId,
        range: Option<DateRange>,
    ) -> SourceResult<TransactionalRecords> {
        crate::Period::of(range)?;
        let request = self.ranged(
            self.get(&["accounts", account.as_str(), "transactional"])
                .timeout(self.request_timeout),
            range,
        );
        let records: TransactionalRecords = self.json(request, "GET transactional", None).await?;
        if &records.account_id != account {
            return Err(SourceError::Protocol(format!(
                "GET transactional: asked for {account}, answered {}",
                records.account_id
            )));
        }
        Ok(records)
    }

    async fn content(
        &self,
        account: &AccountId,
        range: Option<DateRange>,
    ) -> SourceResult<Vec<ContentFile>> {
        crate::Period::of(range)?;
        let request = self.ranged(
            self.get(&["accounts", account.as_str(), "content"])
                .timeout(self.request_timeout),
            range,
        );
        let listing: ContentListing = self.json(request, "GET content", None).await?;
        Ok(listing.files)
    }

    async fn open_file(&self, account: &AccountId, file_id: &str) -> SourceResult<FileStream> {
        // No total timeout: the read timeout catches a stalled transfer of any length.
        let request = self.get(&["accounts", account.as_str(), "content", file_id]);
        let response = self.send(request, "GET file", None).await?;
        let size = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                SourceError::Protocol("GET file: the answer has no Content-Length".into())
            })?;
        let media_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let chunks = response
            .bytes_stream()
            .map_err(|e| transport("reading a file", e));
        Ok(FileStream::new(size, media_type, chunks))
    }
}
