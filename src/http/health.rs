//! `/healthz` (the process answers) and `/readyz` (database reachable, a valid Basiq server
//! token held, not shutting down).

use axum::{
    Json, Router, extract::State, http::StatusCode, middleware, response::IntoResponse,
    routing::get,
};
use serde_json::json;

use crate::{basiq::TokenStatus, db, http::extract::no_query_params, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route_layer(middleware::from_fn(no_query_params))
}

/// `GET /healthz`, as documented (the handler writes it with `json!`; the tests check the two
/// agree).
#[derive(utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz`, as documented (written with `json!` like `Health`).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// The database answers.
    pub database: bool,
    pub basiq_token: TokenStatus,
    /// SIGTERM or SIGINT was received.
    pub shutting_down: bool,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    operation_id = "healthz",
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is alive.", body = Health))
)]
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness.
///
/// Ready when the database is reachable, a valid Basiq server token is held, and the process
/// is not shutting down.
#[utoipa::path(
    get,
    operation_id = "readyz",
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "Not ready; the body says why.", body = Readiness),
    )
)]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = db::ping(&state.pool).await;
    let token = state.basiq.token_status();
    let shutting_down = state.shutdown.is_cancelled();
    let ready = database && token.valid && !shutting_down;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "database": database,
            "basiqToken": token,
            "shuttingDown": shutting_down,
        })),
    )
}
