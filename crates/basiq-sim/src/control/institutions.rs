//! Control route that sets what an institution reports as its status (Basiq's advice on a
//! failed job is to check it: seeds/basiq-handling-jobs.txt). It does not fail jobs by itself.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::bad;
use crate::institutions::{STATUSES, find};
use crate::routes::P;
use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new().route(
        "/__sim/institutions/{institution_id}/status",
        post(set_status),
    )
}

async fn set_status(
    State(sim): State<SimState>,
    P(institution_id): P<String>,
    body: Bytes,
) -> Response {
    let Some(institution) = find(&institution_id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such institution" })),
        )
            .into_response();
    };
    let asked = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body.get("status")?.as_str().map(str::to_owned));
    let Some(status) = asked.and_then(|s| STATUSES.into_iter().find(|known| *known == s)) else {
        return bad(format!("status: must be one of {STATUSES:?}"));
    };
    sim.store()
        .institution_statuses
        .insert(institution.id, status);
    StatusCode::NO_CONTENT.into_response()
}
