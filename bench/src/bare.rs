//! The floor: a bare axum handler, in this process, that accepts the same multipart submission
//! as Custodian, writes the document to a file, fsyncs the file and its directory and answers
//! 201. No authentication, no database, no audit log: what this machine does at the least.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::oneshot;

struct BareState {
    dir: PathBuf,
    next: AtomicU64,
}

/// A running bare server; [`Bare::stop`] ends it.
pub struct Bare {
    pub url: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Bare {
    /// Listens on 127.0.0.1 (a free port) and writes documents under `dir`.
    pub async fn start(dir: PathBuf) -> anyhow::Result<Bare> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let state = Arc::new(BareState {
            dir,
            next: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/api/v1/requests", post(submit))
            .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("binding the bare handler")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Bare {
            url,
            shutdown,
            task,
        })
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        // Keep-alive connections may hold the graceful shutdown open; don't wait for them.
        self.task.abort();
        let _ = self.task.await;
    }
}

fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": why.into() }))).into_response()
}

async fn submit(State(state): State<Arc<BareState>>, mut multipart: Multipart) -> Response {
    let mut request = None;
    let mut document = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return refuse(e.status(), e.body_text()),
        };
        let name = field.name().unwrap_or("").to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return refuse(e.status(), e.body_text()),
        };
        match name.as_str() {
            "request" => request = Some(bytes),
            "document" => document = Some(bytes),
            other => return refuse(StatusCode::BAD_REQUEST, format!("unknown part {other}")),
        }
    }
    let (Some(request), Some(document)) = (request, document) else {
        return refuse(StatusCode::BAD_REQUEST, "send 'request' and 'document'");
    };
    if serde_json::from_slice::<serde_json::Value>(&request).is_err() {
        return refuse(StatusCode::BAD_REQUEST, "request: not JSON");
    }
    let n = state.next.fetch_add(1, Ordering::Relaxed);
    let dir = state.dir.clone();
    let size = document.len();
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(dir.join(format!("{n:010}.pdf")))?;
        f.write_all(&document)?;
        f.sync_all()?;
        std::fs::File::open(&dir)?.sync_all()
    })
    .await;
    match written {
        Ok(Ok(())) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "id": n, "size": size })),
        )
            .into_response(),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
