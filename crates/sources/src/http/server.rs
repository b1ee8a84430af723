//! The provider's side of `custodian-source/1`: an axum router that exposes any
//! [`DataSource`] to Custodian. A provider can mount it in front of its own implementation, or
//! read it as the reference for an endpoint written in another language.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use custodian_core::request::DateRange;
use custodian_core::Target;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

use super::{
    codes, valid_id, ContentListing, ErrorBody, ErrorDetail, LookupAnswer, SourceInfo,
    TOKEN_MIN_LEN,
};
use crate::{AccountId, DataSource, SourceError};

#[derive(Clone)]
struct Served {
    source: Arc<dyn DataSource>,
    token_digest: [u8; 32],
}

/// An error as the protocol renders it.
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Failure {
        match e {
            SourceError::NotFound(what) => Failure::new(
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                format!("no such {what}"),
            ),
            SourceError::Unsupported { reason, .. } => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::UNSUPPORTED_TARGET,
                reason,
            ),
            SourceError::Invalid(message) => Failure::invalid(message),
            SourceError::Storage(_) => {
                // Source errors name ids and fields, never customer data: safe to log.
                tracing::error!(error = %e, "data source failed");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::INTERNAL,
                    "the source failed; the event was logged",
                )
            }
            other => {
                tracing::error!(error = %other, "a system behind the data source failed");
                Failure::new(
                    StatusCode::BAD_GATEWAY,
                    codes::UPSTREAM,
                    "a system behind the source failed; the event was logged",
                )
            }
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares digests without an early exit, so that timing says nothing about the token.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(served): State<Served>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| digest(t.trim()));
    match presented {
        Some(d) if same(&d, &served.token_digest) => next.run(request).await,
        Some(_) => Failure::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "the bearer token is not valid",
        )
        .into_response(),
        None => Failure::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "send 'Authorization: Bearer <token>'",
        )
        .into_response(),
    }
}

/// The router for `custodian-source/1`, serving `source` to callers that present `token`
/// (at least 16 characters). Mount it at the base URL Custodian is given.
pub fn router(source: Arc<dyn DataSource>, token: &str) -> Result<Router, SourceError> {
    let token = token.trim();
    if token.len() < TOKEN_MIN_LEN {
        return Err(SourceError::Invalid(format!(
            "token: the connector's bearer token must be at least {TOKEN_MIN_LEN} characters"
        )));
    }
    let served = Served {
        source,
        token_digest: digest(token),
    };
    Ok(Router::new()
        .route("/v1/source", get(info))
        .route("/v1/lookup", post(lookup))
        .route("/v1/accounts/{account}/subscriber", get(subscriber))
        .route("/v1/accounts/{account}/transactional", get(transactional))
        .route("/v1/accounts/{account}/content", get(content))
        .route("/v1/accounts/{account}/content/{file}", get(file))
        .fallback(|| async {
            Failure::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such endpoint")
        })
        .layer(middleware::from_fn_with_state(
            served.clone(),
            require_token,
        ))
        .with_state(served))
}

async fn info(State(s): State<Served>) -> Json<SourceInfo> {
    Json(SourceInfo {
        protocol: super::PROTOCOL.to_string(),
        name: s.source.identity().name,
    })
}

async fn lookup(State(s): State<Served>, body: Bytes) -> Result<Json<LookupAnswer>, Failure> {
    let asked: Target = serde_json::from_slice(&body).map_err(|e| {
        Failure::invalid(format!(
            "body: expected {{\"type\": \"email\", \"value\": \"...\"}} ({e})"
        ))
    })?;
    let target = Target::parse(asked.kind, &asked.value).map_err(|_| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_REQUEST,
            format!("value: not a valid {}", asked.kind),
        )
    })?;
    let accounts = s.source.find_accounts(&target).await?;
    Ok(Json(LookupAnswer { accounts }))
}

fn account(raw: &str) -> Result<AccountId, Failure> {
    AccountId::parse(raw).map_err(|e| Failure::invalid(e.to_string()))
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD`, both or neither.
fn range(query: Option<String>) -> Result<Option<DateRange>, Failure> {
    let mut from = None;
    let mut to = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let day = || {
            v.parse()
                .map_err(|_| Failure::invalid(format!("{k}: expected a day as YYYY-MM-DD")))
        };
        match k.as_ref() {
            "from" => from = Some(day()?),
            "to" => to = Some(day()?),
            other => {
                return Err(Failure::invalid(format!(
                    "{other}: unknown query parameter (expected from and to)"
                )))
            }
        }
    }
    match (from, to) {
        (Some(from), Some(to)) => Ok(Some(DateRange { from, to })),
        (None, None) => Ok(None),
        _ => Err(Failure::invalid(
            "from, to: give both days of the range, or neither",
        )),
    }
}

async fn subscriber(State(s): State<Served>, Path(raw): Path<String>) -> Result<Response, Failure> {
    let record = s.source.subscriber(&account(&raw)?).await?;
    Ok(Json(record).into_response())
}

async fn transactional(
    State(s): State<Served>,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Failure> {
    let records = s.source.transactional(&account(&raw)?, range(q)?).await?;
    Ok(Json(records).into_response())
}

async fn content(
    State(s): State<Served>,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<ContentListing>, Failure> {
    let files = s.source.content(&account(&raw)?, range(q)?).await?;
    Ok(Json(ContentListing { files }))
}

async fn file(
    State(s): State<Served>,
    Path((raw, file_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let account = account(&raw)?;
    if !valid_id(&file_id) {
        return Err(Failure::invalid(
            "file: a file id is letters, digits and - _ . : #",
        ));
    }
    let stream = s.source.open_file(&account, &file_id).await?;
    let size = stream.size();
    let media_type = HeaderValue::from_str(stream.media_type())
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    // A failure half-way aborts the response: the client sees fewer bytes than Content-Length
    // announced and reports the file as broken rather than short.
    let body = Body::from_stream(stream.map_err(|e| {
        tracing::error!(error = %e, "streaming a file failed");
        std::io::Error::other(e.to_string())
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}
