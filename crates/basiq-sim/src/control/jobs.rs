//! Control routes that steer jobs: an MFA challenge expired now.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;

use super::bad;
use crate::routes::P;
use crate::state::SimState;
use crate::webhooks;

pub fn router() -> Router<SimState> {
    Router::new().route("/__sim/jobs/{job_id}/mfa/expire", post(expire_mfa))
}

/// The job's open challenge expires now, as it would 120 s after it opened.
async fn expire_mfa(State(sim): State<SimState>, P(job_id): P<String>) -> Response {
    let now = Utc::now();
    {
        let mut store = sim.store();
        let Some(job) = store.jobs.get_mut(&job_id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such job" })),
            )
                .into_response();
        };
        if job.waiting_mfa(now).is_none() {
            return bad("the job is not waiting for an MFA response");
        }
        job.expire_mfa(now);
    }
    webhooks::watch_job(&sim, &job_id);
    StatusCode::NO_CONTENT.into_response()
}
