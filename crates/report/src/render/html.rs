//! The public HTML page: the report's tables and three inline SVG charts (requests by process
//! over time, by country, outcomes). No JavaScript.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::report::Report;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const COLOURS: &[&str] = &[
    "#1b6ca8", "#e07b39", "#3a9d5d", "#c0392b", "#8e44ad", "#16a085", "#d4ac0d", "#7f8c8d",
    "#2c3e50", "#e84393",
];

/// Horizontal bars, one per (label, value).
pub fn bar_chart(title: &str, bars: &[(String, u64)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 22;
    let height = 30 + row * bars.len().max(1);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 640 {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        t = escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 20 + i * row;
        let w = (*value as f64 / max as f64 * 380.0).round();
        let _ = write!(
            svg,
            "<text x=\"190\" y=\"{ty}\" text-anchor=\"end\" font-size=\"12\">{l}</text>\
             <rect x=\"200\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"{c}\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{value}</text>",
            ty = y + 12,
            l = escape(label),
            c = COLOURS[0],
            tx = 205.0 + w,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Stacked horizontal bars: for each label, segments (name, value) in the given colours.
pub fn stacked_chart(title: &str, names: &[&str], rows: &[(String, Vec<u64>)]) -> String {
    let max = rows
        .iter()
        .map(|r| r.1.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let row = 22;
    let height = 50 + row * rows.len().max(1);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 640 {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        t = escape(title)
    );
    for (i, name) in names.iter().enumerate() {
        let x = 200 + i * 110;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{c}\"/>\
             <text x=\"{tx}\" y=\"13\" font-size=\"11\">{n}</text>",
            c = COLOURS[i % COLOURS.len()],
            tx = x + 14,
            n = escape(name)
        );
    }
    for (i, (label, values)) in rows.iter().enumerate() {
        let y = 30 + i * row;
        let _ = write!(
            svg,
            "<text x=\"190\" y=\"{ty}\" text-anchor=\"end\" font-size=\"12\">{l}</text>",
            ty = y + 12,
            l = escape(label)
        );
        let mut x = 200.0;
        for (j, v) in values.iter().enumerate() {
            let w = *v as f64 / max as f64 * 420.0;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{c}\">\
                 <title>{n}: {v}</title></rect>",
                c = COLOURS[j % COLOURS.len()],
                n = escape(names.get(j).copied().unwrap_or(""))
            );
            x += w;
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Lines over time: one polyline per series, periods along the x axis.
pub fn line_chart(title: &str, periods: &[String], series: &[(String, Vec<u64>)]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let (left, top, w, h) = (50.0, 20.0, 420.0, 200.0);
    let n = periods.len().max(2) - 1;
    let x = |i: usize| left + w * i as f64 / n as f64;
    let y = |v: u64| top + h - h * v as f64 / max as f64;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 640 {vh}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>\
         <line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b}\" stroke=\"#999\"/>\
         <text x=\"{lx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
         <text x=\"{lx}\" y=\"{b}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        t = escape(title),
        vh = 30.0 + top + h + 20.0 * 0.0 + 20.0,
        b = top + h,
        r = left + w,
        lx = left - 4.0,
        ty = top + 4.0,
    );
    for (i, p) in periods.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            x(i),
            top + h + 14.0,
            escape(p)
        );
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let c = COLOURS[k % COLOURS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>\
             <rect x=\"490\" y=\"{ly}\" width=\"10\" height=\"10\" fill=\"{c}\"/>\
             <text x=\"505\" y=\"{ty}\" font-size=\"11\">{}</text>",
            points.join(" "),
            escape(name),
            escape(name),
            ly = 14 + k * 16,
            ty = 23 + k * 16,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn table(head: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th scope=\"col\">{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(s, "<th scope=\"row\">{}</th>", escape(c));
            } else {
                let _ = write!(s, "<td>{}</td>", escape(c));
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// The whole page: `report` is the one shown; `history` is every published period, oldest
/// first (it may include `report`); links point below `base` (e.g. `/transparency`).
pub fn page(report: &Report, history: &[Report], base: &str) -> String {
    let p = report.period.to_string();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Transparency report {p}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         table{{border-collapse:collapse;margin:1rem 0}}th,td{{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}}\
         th[scope=row],thead th:first-child{{text-align:left}}.chart{{max-width:100%;height:auto}}\
         </style></head><body><h1>Transparency report {p}</h1>\
         <p>Government requests for customer data received from {} to {}. National security \
         letters and FISA orders are counted only in bands of 250 and appear in no other figure.</p>",
        report.from, report.to
    );
    let _ = write!(
        s,
        "<p>Downloads: <a href=\"{base}/{p}.json\">JSON</a> · \
         <a href=\"{base}/{p}/datapackage.json\">CSV (data package)</a> · \
         <a href=\"{base}/{p}.pdf\">PDF</a></p>"
    );
    if history.len() > 1 {
        s.push_str("<nav><h2>Periods</h2><ul>");
        for r in history.iter().rev() {
            let q = r.period.to_string();
            let _ = write!(s, "<li><a href=\"{base}?period={q}\">{q}</a></li>");
        }
        s.push_str("</ul></nav>");
        // Requests by process over time: the processes most often seen.
        let periods: Vec<String> = history.iter().map(|r| r.period.to_string()).collect();
        let mut processes: Vec<(String, u64)> = Vec::new();
        let names: BTreeSet<String> = history
            .iter()
            .flat_map(|r| r.by_process.iter().map(|x| x.process.clone()))
            .collect();
        for n in names {
            let total = history
                .iter()
                .flat_map(|r| r.by_process.iter())
                .filter(|x| x.process == n)
                .map(|x| x.received)
                .sum();
            processes.push((n, total));
        }
        processes.sort_by_key(|p| std::cmp::Reverse(p.1));
        let series: Vec<(String, Vec<u64>)> = processes
            .iter()
            .take(6)
            .map(|(n, _)| {
                let values = history
                    .iter()
                    .map(|r| {
                        r.by_process
                            .iter()
                            .find(|x| &x.process == n)
                            .map(|x| x.received)
                            .unwrap_or(0)
                    })
                    .collect();
                (n.clone(), values)
            })
            .collect();
        s.push_str("<h2>Requests by legal process over time</h2>");
        s.push_str(&line_chart(
            "Requests by legal process over time",
            &periods,
            &series,
        ));
    }
    s.push_str("<h2>Requests by legal process</h2>");
    s.push_str(&stacked_chart(
        "Outcomes by legal process",
        &["full", "partial", "none", "open"],
        &report
            .by_process
            .iter()
            .map(|x| {
                let open = x.received.saturating_sub(x.full + x.partial + x.none);
                (x.label.clone(), vec![x.full, x.partial, x.none, open])
            })
            .collect::<Vec<_>>(),
    ));
    s.push_str(&table(
        &[
            "Legal process",
            "Received",
            "Full",
            "Partial",
            "No response",
        ],
        report
            .by_process
            .iter()
            .map(|x| {
                vec![
                    x.label.clone(),
                    x.received.to_string(),
                    x.full.to_string(),
                    x.partial.to_string(),
                    x.none.to_string(),
                ]
            })
            .collect(),
    ));
    s.push_str("<h2>Requests by country</h2>");
    let mut countries: Vec<(String, u64)> = report
        .by_country
        .iter()
        .map(|x| (format!("{} ({})", x.name, x.country), x.received))
        .collect();
    countries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    countries.truncate(20);
    s.push_str(&bar_chart("Requests by country (top 20)", &countries));
    s.push_str(&table(
        &[
            "Country",
            "Received",
            "Content",
            "Non-content only",
            "No data",
            "Rejected",
        ],
        report
            .by_country
            .iter()
            .map(|x| {
                vec![
                    format!("{} ({})", x.name, x.country),
                    x.received.to_string(),
                    x.content.to_string(),
                    x.non_content.to_string(),
                    x.no_data.to_string(),
                    x.rejected.to_string(),
                ]
            })
            .collect(),
    ));
    s.push_str("<h2>Other figures</h2>");
    s.push_str(&table(
        &["Measure", "Value"],
        vec![
            vec![
                "National security letters and FISA orders".into(),
                report.national_security.requests_band.clone(),
            ],
            vec![
                "Accounts affected by national security process".into(),
                report.national_security.accounts_band.clone(),
            ],
            vec![
                "Preservation requests".into(),
                report.preservation.requests.to_string(),
            ],
            vec![
                "Accounts preserved".into(),
                report.preservation.accounts.to_string(),
            ],
            vec![
                "Emergency requests".into(),
                report.emergency.received.to_string(),
            ],
            vec![
                "Emergency requests answered with data".into(),
                report.emergency.disclosed.to_string(),
            ],
            vec![
                "Non-disclosure orders received".into(),
                report.notices.ndo_received.to_string(),
            ],
            vec![
                "Customer notices sent".into(),
                report.notices.sent.to_string(),
            ],
            vec![
                "Customer notices delayed".into(),
                report.notices.delayed.to_string(),
            ],
            vec![
                "Median days to respond".into(),
                report
                    .median_days_to_respond
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "n/a".into()),
            ],
        ],
    ));
    if let Some(v) = &report.verification {
        let _ = write!(
            s,
            "<h2>Verification</h2><p>The counts were taken from the audit log at size {}. \
             Check them with <code>custodian audit verify-report {p}.json</code>.</p><pre>{}</pre>",
            v.log_size,
            escape(&v.checkpoint)
        );
    }
    s.push_str("</body></html>\n");
    s
}
