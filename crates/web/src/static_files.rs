//! `/static`: the stylesheet and the vendored htmx, compiled into the binary. Their URLs carry
//! a digest of the content, so they are cached for a year and a new build is fetched at once.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "custodian.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/custodian.css"),
    },
    // htmx 2.0.11 (BSD Zero-Clause licence), unmodified from the npm package htmx.org.
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "portal.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/portal.js"),
    },
];

/// `name` -> `name-<digest>.<ext>`, computed once.
fn versioned() -> &'static Vec<(String, &'static Asset)> {
    static V: OnceLock<Vec<(String, &'static Asset)>> = OnceLock::new();
    V.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = &crate::account::digest_bytes(a.body)[..12];
                let (stem, ext) = a.name.split_once('.').unwrap_or((a.name, ""));
                (format!("{stem}-{digest}.{ext}"), a)
            })
            .collect()
    })
}

/// The URL of a static asset by its plain name (`custodian.css`), for templates.
pub fn url(name: &str) -> String {
    versioned()
        .iter()
        .find(|(_, a)| a.name == name)
        .map(|(v, _)| format!("/static/{v}"))
        .unwrap_or_else(|| format!("/static/{name}"))
}

async fn asset(Path(file): Path<String>) -> Response {
    match versioned().iter().find(|(v, _)| *v == file) {
        Some((_, a)) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{file}", get(asset))
}
