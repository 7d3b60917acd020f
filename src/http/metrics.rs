//! `GET /metrics`: Prometheus text, from the recorder in `monitoring.rs`, with the gauges that
//! are read at scrape time (the server token, the background tasks) set first.

use axum::{extract::State, http::header, middleware, response::IntoResponse};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{http::extract::no_query_params, monitoring, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(render))
        .route_layer(middleware::from_fn(no_query_params))
}

/// Prometheus metrics.
///
/// Requests, errors and latency per route; Basiq calls per endpoint and status with latency;
/// the server token's age, validity and refresh failures; job outcomes per institution;
/// webhook deliveries. Unauthenticated, like `/healthz`: expose it to your scraper only.
#[utoipa::path(
    get,
    operation_id = "metrics",
    path = "/metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String))
)]
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let token = state.basiq.token_status();
    metrics::gauge!("basiq_server_token_valid").set(if token.valid { 1.0 } else { 0.0 });
    if let Some(age) = token.age_seconds {
        metrics::gauge!("basiq_server_token_age_seconds").set(age as f64);
    }
    if let Some(left) = token.expires_in_seconds {
        metrics::gauge!("basiq_server_token_expires_in_seconds").set(left as f64);
    }
    metrics::counter!("basiq_server_token_refresh_failures_total")
        .absolute(token.refresh_failures_total);
    state.tasks.record_metrics();
    let handle = monitoring::handle();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
