//! `/healthz` (the process answers) and `/readyz` (database reachable, a valid Basiq server
//! token held, not shutting down).

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::json;

use crate::{db, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
}

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
