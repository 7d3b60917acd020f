//! Control routes that steer jobs: how a connection's next refresh job ends, and an MFA
//! challenge expired now.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::bad;
use crate::job::{NextJob, Step};
use crate::logins::{FIRST_COMPANY, Outcome};
use crate::routes::P;
use crate::state::SimState;
use crate::webhooks;

pub fn router() -> Router<SimState> {
    Router::new()
        .route(
            "/__sim/users/{user_id}/connections/{connection_id}/next-job",
            post(next_job),
        )
        .route("/__sim/jobs/{job_id}/mfa/expire", post(expire_mfa))
}

const FIELDS: [&str; 5] = ["step", "code", "title", "detail", "mfa"];
const DEFAULT_TITLE: &str = "Simulated failure";
const DEFAULT_DETAIL: &str = "The simulator was asked to fail this job.";

/// What the body asks of the next job: a failure, or (`None`) an MFA challenge.
fn asked(body: &[u8]) -> Result<Option<Outcome>, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(body) = body else {
        return Err("the body must be a JSON object".to_owned());
    };
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "{unknown}: unknown field (expected one of {FIELDS:?})"
        ));
    }
    match body.get("mfa") {
        Some(Value::Bool(true))
            if ["step", "code", "title", "detail"]
                .iter()
                .any(|f| body.contains_key(*f)) =>
        {
            Err("mfa: give either mfa, or step and code, not both".to_owned())
        }
        Some(Value::Bool(true)) => Ok(None),
        Some(_) => Err("mfa: must be true".to_owned()),
        None => failure(&body).map(Some),
    }
}

fn failure(body: &Map<String, Value>) -> Result<Outcome, String> {
    let text = |name: &str| match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name}: must be a non-empty string")),
    };
    let steps = Step::ALL.map(Step::title).join(", ");
    let step = text("step")?
        .ok_or_else(|| format!("step: required (one of {steps}), or give mfa: true"))?;
    let step = Step::ALL
        .iter()
        .position(|s| s.title() == step)
        .ok_or_else(|| format!("step: must be one of {steps}"))?;
    let code = text("code")?.ok_or("code: required with step")?;
    Ok(Outcome::Fail {
        step,
        code: code.into(),
        title: text("title")?.map_or(DEFAULT_TITLE.into(), Into::into),
        detail: text("detail")?.map_or(DEFAULT_DETAIL.into(), Into::into),
    })
}

/// The connection's next refresh job ends as asked, once; later jobs end as the login does.
async fn next_job(
    State(sim): State<SimState>,
    P((user_id, connection_id)): P<(String, String)>,
    body: Bytes,
) -> Response {
    let asked = match asked(&body) {
        Ok(asked) => asked,
        Err(e) => return bad(e),
    };
    let mut store = sim.store();
    let Some(c) = store
        .connections
        .get_mut(&connection_id)
        .filter(|c| c.user_id == user_id && !c.deleted)
    else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such connection" })),
        )
            .into_response();
    };
    // A login without a challenge of its own gets gavinBelson's.
    c.next_job = Some(match asked {
        Some(outcome) => NextJob::Fail(outcome),
        None => NextJob::Mfa(c.mfa.unwrap_or(&FIRST_COMPANY)),
    });
    StatusCode::NO_CONTENT.into_response()
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
