//! Prometheus metrics: requests per route, Basiq calls per endpoint and status, the server
//! token, job outcomes per institution, webhook deliveries. Labels are bounded: routes are the
//! matched route templates, never raw paths.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder (installed once; every app in the process reports to it).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .expect("non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

/// A method as a label: the standard ones by name, any other as `other`, so a client cannot
/// mint time series with made-up methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Counts and times every request by its route template.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// A job reached its outcome (counted once, by the job watcher).
pub fn job_outcome(status: &'static str, institution: &str) {
    metrics::counter!("basiq_job_outcomes_total", "status" => status, "institution" => institution.to_owned())
        .increment(1);
}

/// A webhook delivery: `accepted`, `duplicate` or `refused`.
pub fn webhook(outcome: &'static str, event_type: &str) {
    const KNOWN: &[&str] = &[
        "user.created",
        "user.updated",
        "user.deleted",
        "connection.created",
        "connection.activated",
        "connection.deleted",
        "connection.invalidated",
        "account.updated",
        "transactions.updated",
        "consent.created",
        "consent.updated",
        "consent.revoked",
        "consent.expired",
        "consent.warning",
        "consent.reminder",
    ];
    let event_type = KNOWN
        .iter()
        .find(|k| **k == event_type)
        .copied()
        .unwrap_or("other");
    metrics::counter!("basiq_webhooks_total", "outcome" => outcome, "event_type" => event_type)
        .increment(1);
}

/// An event processed from Basiq's `GET /events` rather than its webhook: `recovered` (by the
/// recovery task) or `replayed` (by `admin replay-events`).
pub fn event_recovered(source: &'static str) {
    metrics::counter!("basiq_events_recovered_total", "source" => source).increment(1);
}

/// A job failed with a code Basiq does not document (not in `domain::jobs::OUTCOMES`): counted
/// by code, so that a new Basiq code is noticed, and logged the first time this process sees
/// it. Codes are Basiq's words, not a client's, but are still bounded: at most 64 characters
/// of `a-z`, `0-9` and `-`, else counted as `other`.
pub fn unknown_job_code(code: &str) {
    static LOGGED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let label = if code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        code.to_owned()
    } else {
        "other".to_owned()
    };
    metrics::counter!("basiq_unknown_job_codes_total", "code" => label.clone()).increment(1);
    let mut logged = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    if !logged.contains(&label) && logged.len() < 256 {
        tracing::warn!(
            code = label,
            "a job failed with a code Basiq does not document; it is shown as `wait`: add it to the outcome table"
        );
        logged.push(label);
    }
}
