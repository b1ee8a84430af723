//! The load generator: N clients in a closed loop, each submitting one demand with a unique PDF
//! and waiting for the answer before sending the next, for a fixed time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde::Serialize;

use crate::pdf::Template;
use crate::stats::Latency;

/// How hard and how long to push.
#[derive(Clone)]
pub struct Settings {
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// The longest a single submission may take before it counts as an error.
    pub timeout: Duration,
    pub pdf: Arc<Template>,
}

/// Where to submit.
#[derive(Clone)]
pub struct Endpoint {
    pub submit_url: String,
    pub token: Option<String>,
}

/// The one HTTP client configuration every target gets: HTTP/1.1, keep-alive, no proxy.
pub fn http_client(settings: &Settings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(settings.clients)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(Duration::from_secs(5))
        .timeout(settings.timeout)
        .build()
}

/// Numbers every submission of this process, so that no two documents are alike.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
enum Outcome {
    Created,
    Status(u16, String),
    Transport(String),
}

struct Sample {
    /// When the submission was sent, from the start of the phase.
    sent_us: u64,
    latency_us: u64,
    outcome: Outcome,
}

/// One slow submission, to see when the outliers happened.
#[derive(Debug, Clone, Serialize)]
pub struct Slow {
    pub sent_at_s: f64,
    pub latency_ms: f64,
    pub outcome: String,
}

/// What one measured phase gave.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub clients: usize,
    /// From the start of the phase until the last submission in flight was answered.
    pub elapsed_s: f64,
    pub submissions: u64,
    pub per_second: f64,
    /// Latency of the successful (201) submissions.
    pub latency: Latency,
    pub errors: u64,
    /// Errors by kind: `HTTP 500`, `transport: ...`.
    pub error_kinds: BTreeMap<String, u64>,
    /// The first few error answers, verbatim (truncated).
    pub error_samples: Vec<String>,
    /// Successful submissions completed in each second of the phase.
    pub timeline_ok: Vec<u64>,
    /// The slowest submission answered in each second of the phase, in ms.
    pub timeline_max_ms: Vec<f64>,
    /// The ten slowest submissions.
    pub slowest: Vec<Slow>,
}

fn request_json(seq: u64) -> String {
    serde_json::json!({
        "process": "subpoena",
        "issuing_authority": "Bench PD",
        "issuing_country": "US",
        "case_reference": format!("BENCH-{seq}"),
        "targets": [{"type": "email", "value": "someone@example.com"}],
        "categories": ["subscriber"],
    })
    .to_string()
}

async fn submit_once(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    pdf: &Template,
    client_id: u32,
    phase_start: Instant,
) -> Sample {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let document = pdf.render(client_id, seq);
    let form = Form::new()
        .part(
            "request",
            Part::text(request_json(seq))
                .mime_str("application/json")
                .expect("a valid MIME type"),
        )
        .part(
            "document",
            Part::bytes(document)
                .file_name(format!("demand-{seq}.pdf"))
                .mime_str("application/pdf")
                .expect("a valid MIME type"),
        );
    let mut request = client.post(&endpoint.submit_url).multipart(form);
    if let Some(token) = &endpoint.token {
        request = request.bearer_auth(token);
    }
    let sent = Instant::now();
    let outcome = match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(_) if status == reqwest::StatusCode::CREATED => Outcome::Created,
                Ok(body) => {
                    let text = String::from_utf8_lossy(&body);
                    Outcome::Status(status.as_u16(), text.chars().take(300).collect())
                }
                Err(e) => Outcome::Transport(format!("reading the answer: {}", describe(&e))),
            }
        }
        Err(e) => Outcome::Transport(describe(&e)),
    };
    Sample {
        sent_us: micros(sent.duration_since(phase_start)),
        latency_us: micros(sent.elapsed()),
        outcome,
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A short error description: its kind and its innermost cause.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() {
        "body"
    } else if e.is_request() {
        "request"
    } else {
        "other"
    };
    let mut source: &dyn std::error::Error = e;
    while let Some(s) = source.source() {
        source = s;
    }
    format!("{kind}: {source}")
}

/// Every client submits in a loop until `length` has passed; submissions in flight then are
/// awaited (each is bounded by the client's timeout).
async fn phase(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    settings: &Settings,
    length: Duration,
) -> (Duration, Vec<Sample>) {
    let start = Instant::now();
    let deadline = start + length;
    let mut tasks = Vec::with_capacity(settings.clients);
    for id in 0..settings.clients {
        let client = client.clone();
        let endpoint = endpoint.clone();
        let pdf = settings.pdf.clone();
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                samples.push(submit_once(&client, &endpoint, &pdf, id, start).await);
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        match t.await {
            Ok(mut s) => samples.append(&mut s),
            Err(e) => samples.push(Sample {
                sent_us: 0,
                latency_us: 0,
                outcome: Outcome::Transport(format!("client task failed: {e}")),
            }),
        }
    }
    (start.elapsed(), samples)
}

/// One phase of `length`: every client submits in a loop until it is over.
pub async fn run(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    settings: &Settings,
    length: Duration,
) -> Report {
    let (elapsed, samples) = phase(client, endpoint, settings, length).await;
    summarise(settings.clients, elapsed, samples)
}

fn summarise(clients: usize, elapsed: Duration, samples: Vec<Sample>) -> Report {
    let seconds = (elapsed.as_secs_f64().ceil() as usize).max(1);
    let mut timeline_ok = vec![0u64; seconds];
    let mut timeline_max_ms = vec![0f64; seconds];
    let mut ok_latencies = Vec::with_capacity(samples.len());
    let mut error_kinds = BTreeMap::new();
    let mut error_samples = Vec::new();
    let mut errors = 0;
    for s in &samples {
        let done_us = s.sent_us.saturating_add(s.latency_us);
        let second = usize::try_from(done_us / 1_000_000)
            .unwrap_or(usize::MAX)
            .min(seconds - 1);
        let ms = s.latency_us as f64 / 1000.0;
        timeline_max_ms[second] = timeline_max_ms[second].max(ms);
        match &s.outcome {
            Outcome::Created => {
                ok_latencies.push(s.latency_us);
                timeline_ok[second] += 1;
            }
            other => {
                errors += 1;
                let (kind, sample) = match other {
                    Outcome::Status(code, body) => {
                        (format!("HTTP {code}"), format!("{code} {body}"))
                    }
                    Outcome::Transport(e) => (format!("transport: {e}"), e.clone()),
                    Outcome::Created => unreachable!("matched above"),
                };
                *error_kinds.entry(kind).or_insert(0) += 1;
                if error_samples.len() < 5 {
                    error_samples.push(sample);
                }
            }
        }
    }
    let mut by_latency: Vec<&Sample> = samples.iter().collect();
    by_latency.sort_by_key(|s| std::cmp::Reverse(s.latency_us));
    let slowest = by_latency
        .iter()
        .take(10)
        .map(|s| Slow {
            sent_at_s: s.sent_us as f64 / 1e6,
            latency_ms: s.latency_us as f64 / 1000.0,
            outcome: match &s.outcome {
                Outcome::Created => "201".to_string(),
                Outcome::Status(code, _) => code.to_string(),
                Outcome::Transport(e) => e.clone(),
            },
        })
        .collect();
    let submissions = ok_latencies.len() as u64;
    Report {
        clients,
        elapsed_s: elapsed.as_secs_f64(),
        submissions,
        per_second: submissions as f64 / elapsed.as_secs_f64().max(1e-9),
        latency: Latency::from_micros(ok_latencies),
        errors,
        error_kinds,
        error_samples,
        timeline_ok,
        timeline_max_ms,
        slowest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_ms: u64, latency_ms: u64, outcome: Outcome) -> Sample {
        Sample {
            sent_us: sent_ms * 1000,
            latency_us: latency_ms * 1000,
            outcome,
        }
    }

    #[test]
    fn errors_are_counted_apart_from_latency() {
        let samples = vec![
            sample(0, 10, Outcome::Created),
            sample(5, 20, Outcome::Created),
            sample(1200, 30, Outcome::Status(500, "boom".into())),
            sample(1500, 40, Outcome::Transport("timeout: x".into())),
        ];
        let r = summarise(2, Duration::from_secs(2), samples);
        assert_eq!(r.submissions, 2);
        assert_eq!(r.per_second, 1.0);
        assert_eq!(r.errors, 2);
        assert_eq!(r.error_kinds.get("HTTP 500"), Some(&1));
        assert_eq!(r.error_kinds.get("transport: timeout: x"), Some(&1));
        assert_eq!(r.latency.max_ms, 20.0);
        assert_eq!(r.timeline_ok, vec![2, 0]);
        assert_eq!(r.timeline_max_ms, vec![20.0, 40.0]);
        assert_eq!(r.slowest[0].latency_ms, 40.0);
        assert_eq!(r.error_samples[0], "500 boom");
    }

    #[test]
    fn the_request_part_is_the_documented_json() {
        let v: serde_json::Value = serde_json::from_str(&request_json(9)).unwrap();
        assert_eq!(v["process"], "subpoena");
        assert_eq!(v["targets"][0]["type"], "email");
        assert_eq!(v["case_reference"], "BENCH-9");
    }
}
