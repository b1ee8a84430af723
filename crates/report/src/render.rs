//! Renderers: JSON, CSV (one table per section, described by a Frictionless Data Package),
//! HTML with inline SVG charts (see [`crate::render::html`]) and PDF.

pub use custodian_core::format::csv::Table;
use serde_json::json;

use crate::report::Report;

pub mod html;

pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The report as tables: one file each in the CSV download.
pub fn tables(r: &Report) -> Vec<Table> {
    let p = r.period.to_string();
    let s = |v: &dyn ToString| v.to_string();
    vec![
        Table {
            name: "by_process",
            title: "Requests by legal process",
            columns: vec![
                ("period", "string"),
                ("process", "string"),
                ("label", "string"),
                ("received", "integer"),
                ("full", "integer"),
                ("partial", "integer"),
                ("none", "integer"),
                ("commitment", "string"),
            ],
            rows: r
                .by_process
                .iter()
                .map(|x| {
                    vec![
                        p.clone(),
                        x.process.clone(),
                        x.label.clone(),
                        s(&x.received),
                        s(&x.full),
                        s(&x.partial),
                        s(&x.none),
                        x.commitment.clone(),
                    ]
                })
                .collect(),
        },
        Table {
            name: "by_country",
            title: "Requests by requesting country",
            columns: vec![
                ("period", "string"),
                ("country", "string"),
                ("name", "string"),
                ("received", "integer"),
                ("content", "integer"),
                ("non_content", "integer"),
                ("no_data", "integer"),
                ("rejected", "integer"),
                ("commitment", "string"),
            ],
            rows: r
                .by_country
                .iter()
                .map(|x| {
                    vec![
                        p.clone(),
                        x.country.clone(),
                        x.name.clone(),
                        s(&x.received),
                        s(&x.content),
                        s(&x.non_content),
                        s(&x.no_data),
                        s(&x.rejected),
                        x.commitment.clone(),
                    ]
                })
                .collect(),
        },
        Table {
            name: "by_country_process",
            title: "Requests by country and legal process",
            columns: vec![
                ("period", "string"),
                ("country", "string"),
                ("process", "string"),
                ("category", "string"),
                ("received", "integer"),
                ("disclosed", "integer"),
                ("accounts", "integer"),
                ("commitment", "string"),
            ],
            rows: r
                .by_country_process
                .iter()
                .map(|x| {
                    vec![
                        p.clone(),
                        x.country.clone(),
                        x.process.clone(),
                        x.category.clone().unwrap_or_default(),
                        s(&x.received),
                        s(&x.disclosed),
                        s(&x.accounts),
                        x.commitment.clone(),
                    ]
                })
                .collect(),
        },
        Table {
            name: "summary",
            title: "National security (bands of 250), preservation, emergency, notices",
            columns: vec![
                ("period", "string"),
                ("section", "string"),
                ("measure", "string"),
                ("value", "string"),
            ],
            rows: summary_rows(r)
                .into_iter()
                .map(|(a, b, c)| vec![p.clone(), a.to_string(), b.to_string(), c])
                .collect(),
        },
    ]
}

fn summary_rows(r: &Report) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "national_security",
            "requests_band",
            r.national_security.requests_band.clone(),
        ),
        (
            "national_security",
            "accounts_band",
            r.national_security.accounts_band.clone(),
        ),
        (
            "preservation",
            "requests",
            r.preservation.requests.to_string(),
        ),
        (
            "preservation",
            "accounts",
            r.preservation.accounts.to_string(),
        ),
        ("emergency", "received", r.emergency.received.to_string()),
        ("emergency", "disclosed", r.emergency.disclosed.to_string()),
        (
            "notices",
            "ndo_received",
            r.notices.ndo_received.to_string(),
        ),
        ("notices", "sent", r.notices.sent.to_string()),
        ("notices", "delayed", r.notices.delayed.to_string()),
        (
            "response",
            "median_days_to_respond",
            r.median_days_to_respond
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
        ("totals", "received", r.totals.received.to_string()),
        ("totals", "accounts", r.totals.accounts.to_string()),
    ]
}

/// The report as CSV: with `table` the one table of that name, else every table one after
/// another, each preceded by a `# name` line.
pub fn csv(report: &Report, table: Option<&str>) -> Result<String, String> {
    let all = tables(report);
    match table {
        Some(name) => all
            .iter()
            .find(|t| t.name == name)
            .map(Table::to_csv)
            .ok_or_else(|| {
                format!(
                    "no table '{name}'; the tables are: {}",
                    all.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                )
            }),
        None => Ok(all
            .iter()
            .map(|t| format!("# {}\n{}", t.name, t.to_csv()))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// A Frictionless Data Package describing the CSV files of one report.
pub fn datapackage(report: &Report, path_prefix: &str) -> serde_json::Value {
    let resources: Vec<serde_json::Value> = tables(report)
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "title": t.title,
                "path": format!("{path_prefix}{}", t.file_name()),
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": t.columns.iter().map(|(n, ty)| json!({"name": n, "type": ty})).collect::<Vec<_>>(),
                }
            })
        })
        .collect();
    json!({
        "profile": "tabular-data-package",
        "name": format!("custodian-transparency-report-{}", report.period.to_string().to_lowercase()),
        "title": format!("Transparency report {}", report.period),
        "description": "Government requests for customer data, counted by legal process and requesting country. National security letters and FISA orders appear only in bands of 250.",
        "resources": resources,
    })
}

/// The report as a PDF: a title, the tables and the summary, in plain text.
pub fn pdf(report: &Report) -> Vec<u8> {
    let mut lines = vec![
        format!("Transparency report {}", report.period),
        format!("Requests received {} to {}", report.from, report.to),
        String::new(),
        "Requests by legal process".to_string(),
        format!(
            "{:<44}{:>9}{:>9}{:>9}{:>9}",
            "process", "received", "full", "partial", "none"
        ),
    ];
    for r in &report.by_process {
        lines.push(format!(
            "{:<44}{:>9}{:>9}{:>9}{:>9}",
            truncate(&r.label, 43),
            r.received,
            r.full,
            r.partial,
            r.none
        ));
    }
    lines.push(String::new());
    lines.push("Requests by requesting country".to_string());
    lines.push(format!(
        "{:<28}{:>9}{:>9}{:>12}{:>9}{:>9}",
        "country", "received", "content", "non-content", "no data", "rejected"
    ));
    for r in &report.by_country {
        lines.push(format!(
            "{:<28}{:>9}{:>9}{:>12}{:>9}{:>9}",
            truncate(&format!("{} {}", r.country, r.name), 27),
            r.received,
            r.content,
            r.non_content,
            r.no_data,
            r.rejected
        ));
    }
    lines.push(String::new());
    for (section, measure, value) in summary_rows(report) {
        lines.push(format!("{section} / {measure}: {value}"));
    }
    crate::pdf::text_pdf(&lines)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
