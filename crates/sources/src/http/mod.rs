//! The connector protocol, `custodian-source/1`: JSON over HTTP, by which Custodian asks a
//! provider's own service for customer data. [`server::router`] exposes any [`crate::DataSource`]
//! over it; [`client::HttpSource`] is the `DataSource` that calls it. docs/data-sources.md is
//! the specification.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET  v1/source` | [`SourceInfo`] |
//! | `POST v1/lookup` with a target `{"type":"email","value":"..."}` | [`LookupAnswer`] |
//! | `GET  v1/accounts/{account}/subscriber` | [`crate::SubscriberRecord`] |
//! | `GET  v1/accounts/{account}/transactional[?from=YYYY-MM-DD&to=YYYY-MM-DD]` | [`crate::TransactionalRecords`] |
//! | `GET  v1/accounts/{account}/content[?from=...&to=...]` | [`ContentListing`] |
//! | `GET  v1/accounts/{account}/content/{file}` | the file's bytes, with `Content-Length` |
//!
//! Every request carries `Authorization: Bearer TOKEN`. Identifiers travel in the lookup's
//! body, never in a URL, so that they stay out of access logs. Errors are
//! `{"error":{"code","message"}}` with the codes in [`codes`].

pub mod client;
pub mod server;

use serde::{Deserialize, Serialize};

use crate::records::ContentFile;
use crate::AccountId;

/// The protocol's name and version, answered by `GET v1/source`.
pub const PROTOCOL: &str = "custodian-source/1";

/// The shortest bearer token the server side accepts.
pub const TOKEN_MIN_LEN: usize = 16;

/// `GET v1/source`: which protocol the endpoint speaks and the name of the system behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub protocol: String,
    pub name: String,
}

/// `POST v1/lookup`: the accounts the target names, in id order (possibly none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupAnswer {
    pub accounts: Vec<AccountId>,
}

/// `GET v1/accounts/{account}/content`: the files, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentListing {
    pub files: Vec<ContentFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// The error codes of the protocol, with the HTTP status each comes with.
pub mod codes {
    /// 401: no bearer token, or the wrong one.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 404: no such account or file (or endpoint).
    pub const NOT_FOUND: &str = "not_found";
    /// 422: the source cannot find accounts by this kind of identifier.
    pub const UNSUPPORTED_TARGET: &str = "unsupported_target";
    /// 400: a malformed request (the message names the field).
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// 500: the source failed; details are in its own log.
    pub const INTERNAL: &str = "internal";
    /// 502: the source depends on another system that failed.
    pub const UPSTREAM: &str = "upstream";
}

/// File ids follow the account id alphabet, so that both are safe as URL path segments.
pub(crate) fn valid_id(s: &str) -> bool {
    crate::AccountId::parse(s).is_ok()
}
