//! `/healthz` (the process answers) and `/readyz` (database reachable, a valid Basiq server
//! token held, not shutting down).

use axum::{Json, extract::State, http::StatusCode, middleware, response::IntoResponse};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    basiq::TokenStatus, db, http::extract::no_query_params, state::AppState, tasks::TaskStatus,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .route_layer(middleware::from_fn(no_query_params))
}

/// `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// The database answers.
    pub database: bool,
    pub basiq_token: TokenStatus,
    /// SIGTERM or SIGINT was received.
    pub shutting_down: bool,
    /// The background work (shown, not part of readiness).
    pub background_tasks: Vec<TaskStatus>,
    /// What an operator should look at, though it does not make the replica unready: e.g.
    /// Basiq no longer sending webhooks to this BFF.
    pub warnings: Vec<String>,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    operation_id = "healthz",
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is alive.", body = Health))
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
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
    let database = db::ping(&state.health_pool).await;
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
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" },
            database,
            basiq_token: token,
            shutting_down,
            background_tasks: state.tasks.status(),
            warnings: state.subscription.warning().into_iter().collect(),
        }),
    )
}
