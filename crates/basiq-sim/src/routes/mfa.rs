//! `POST /jobs/{jobId}/mfa`: the answer to a job's MFA challenge (core.json, postJobMfa; the
//! v3 migration guide, section 8). The one API route that takes a `CLIENT_ACCESS` token: that
//! of the job's user.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::Value;

use super::jobs::job_stub;
use super::{Base, ClientAuth, P};
use crate::error::{ApiError, ApiResult};
use crate::state::SimState;
use crate::webhooks;

pub fn router() -> Router<SimState> {
    Router::new().route("/jobs/{job_id}/mfa", post(answer))
}

/// The body's `mfa-response`: one answer per challenge input.
fn mfa_response(body: &[u8]) -> ApiResult<Vec<String>> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_body("/", format!("The body is not valid JSON: {e}")))?;
    let Value::Object(body) = body else {
        return Err(ApiError::invalid_body(
            "/",
            "The body must be a JSON object.",
        ));
    };
    let answers = match body.get("mfa-response") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    answers.ok_or_else(|| {
        ApiError::not_supplied(
            "mfa-response",
            "mfa-response must be an array of strings, e.g. [\"1234\"].",
        )
    })
}

async fn answer(
    ClientAuth(user_id): ClientAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(job_id): P<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let now = Utc::now();
    {
        let mut store = sim.store();
        // Another user's job is as unknown as a job that does not exist.
        let job = store
            .jobs
            .get_mut(&job_id)
            .filter(|j| j.user_id == user_id)
            .ok_or_else(|| ApiError::not_found(format!("jobs/{job_id}")))?;
        let answers = mfa_response(&body)?;
        let challenge = job.waiting_mfa(now).ok_or_else(ApiError::mfa_not_waiting)?;
        // A wrong answer leaves the challenge open: it may be answered again.
        if !challenge.accepts(&answers) {
            return Err(ApiError::mfa_not_valid());
        }
        job.answer_mfa(now);
        store.show_data(&job_id);
    }
    // The job now ends sooner than its challenge would have expired.
    webhooks::watch_job(&sim, &job_id);
    Ok((StatusCode::ACCEPTED, Json(job_stub(&job_id, &base))).into_response())
}
