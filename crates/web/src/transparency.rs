//! The public transparency page, `/transparency`: no sign-in. The latest report (or
//! `?period=2025-H1`), earlier periods, inline SVG charts, and downloads in JSON, CSV (one
//! file per table with a Frictionless `datapackage.json`) and PDF. Every figure comes from the
//! counters, so a page costs the number of cells it shows.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use custodian_report::{render, Period, Report};
use serde::Deserialize;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/transparency", get(page))
        .route("/transparency/{file}", get(download))
        .route("/transparency/{period}/{file}", get(table))
}

#[derive(Deserialize)]
struct PageQuery {
    period: Option<String>,
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what}\n")).into_response()
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "transparency report");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the report is unavailable\n",
    )
        .into_response()
}

async fn history(state: &AppState) -> Result<Vec<Report>, Response> {
    let reports = state.store.reports();
    let mut out = Vec::new();
    for p in reports.report_periods().await.map_err(failed)? {
        out.push(reports.report(p).await.map_err(failed)?);
    }
    Ok(out)
}

async fn report_of(state: &AppState, period: &str) -> Result<Report, Response> {
    let period: Period = period.parse().map_err(|e: String| not_found(&e))?;
    state.store.reports().report(period).await.map_err(failed)
}

async fn page(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let all = match history(&state).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let report = match q.period.as_deref() {
        Some(p) => match report_of(&state, p).await {
            Ok(r) => r,
            Err(r) => return r,
        },
        None => match all.last() {
            Some(r) => r.clone(),
            None => return not_found("no report has been published yet"),
        },
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render::html::page(&report, &all, "/transparency"),
    )
        .into_response()
}

/// `/transparency/2025-H1.json`, `/transparency/2025-H1.pdf`.
async fn download(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (period, kind) = match file.rsplit_once('.') {
        Some((p, k @ ("json" | "pdf"))) => (p.to_string(), k),
        _ => return not_found("ask for PERIOD.json or PERIOD.pdf"),
    };
    let report = match report_of(&state, &period).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if kind == "json" {
        (
            [(header::CONTENT_TYPE, "application/json")],
            render::json(&report),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/pdf")],
            render::pdf(&report),
        )
            .into_response()
    }
}

/// `/transparency/2025-H1/datapackage.json` and `/transparency/2025-H1/by_country.csv`.
async fn table(
    State(state): State<AppState>,
    Path((period, file)): Path<(String, String)>,
) -> Response {
    let report = match report_of(&state, &period).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if file == "datapackage.json" {
        let package = render::datapackage(&report, "");
        return (
            [(header::CONTENT_TYPE, "application/json")],
            package.to_string(),
        )
            .into_response();
    }
    let Some(name) = file.strip_suffix(".csv") else {
        return not_found("ask for datapackage.json or TABLE.csv");
    };
    match render::csv(&report, Some(name)) {
        Ok(csv) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response(),
        Err(e) => not_found(&e),
    }
}
