//! Jobs, whose steps move on with time: each step takes the configured job step, and a job
//! that stops at an MFA challenge waits there until answered (`routes/mfa.rs`) or expired.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Base, P, ServerAuth, ts};
use crate::error::{ApiError, ApiResult};
use crate::job::{Job, MFA_EXPIRY, Step, StepState};
use crate::logins::{MfaChallenge, Outcome};
use crate::state::{JOB_LIST_WINDOW, SimState};

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/jobs/{job_id}", get(read))
        .route("/users/{user_id}/jobs", get(list))
}

/// The full job as Basiq shows it at `now`.
pub fn job_json(job: &Job, base: &str, now: DateTime<Utc>) -> Value {
    let (u, c) = (&job.user_id, &job.connection_id);
    let steps: Vec<Value> = job
        .steps(now)
        .into_iter()
        .map(|(step, state)| {
            let result = match (step, state, &job.outcome) {
                (_, StepState::Success, _) => {
                    let url = match step {
                        Step::VerifyCredentials | Step::MfaChallenge => {
                            format!("/users/{u}/connections/{c}")
                        }
                        Step::RetrieveAccounts => {
                            format!("/users/{u}/accounts?filter=connection.id.eq('{c}')")
                        }
                        Step::RetrieveTransactions => {
                            format!("/users/{u}/transactions?filter=connection.id.eq('{c}')")
                        }
                    };
                    json!({ "type": "link", "url": url })
                }
                (Step::MfaChallenge, StepState::InProgress, _) => match &job.mfa {
                    Some(mfa) => mfa_json(mfa.challenge, &job.id, base),
                    None => Value::Null,
                },
                // Basiq documents no outcome for an unanswered challenge: the simulator's.
                (Step::MfaChallenge, StepState::Failed, _) => json!({
                    "code": "job-timed-out",
                    "title": "MFA challenge expired",
                    "detail": "The MFA challenge was not answered in time.",
                }),
                (
                    _,
                    StepState::Failed,
                    Outcome::Fail {
                        code,
                        title,
                        detail,
                        ..
                    },
                ) => json!({ "code": code, "title": title, "detail": detail }),
                _ => Value::Null,
            };
            json!({ "title": step.title(), "status": state.as_str(), "result": result })
        })
        .collect();
    let mut links = json!({ "self": format!("{base}/jobs/{}", job.id) });
    // Basiq only ties a job to its connection once the first step is over.
    if job.state_of(Step::VerifyCredentials, now) != StepState::InProgress {
        links["source"] = json!(format!("{base}/users/{u}/connections/{c}"));
    }
    json!({
        "type": "job",
        "id": job.id,
        "created": ts(job.created),
        "updated": ts(job.updated(now)),
        "jobType": "connection",
        "institution": {
            "type": "institution",
            "id": job.institution_id,
            "links": { "self": format!("{base}/institutions/{}", job.institution_id) },
        },
        "steps": steps,
        "links": links,
    })
}

/// The open challenge as the migration guide's second example shows it (its first example
/// wraps it in an array; the schema and the second example have an object).
fn mfa_json(challenge: &MfaChallenge, job_id: &str, base: &str) -> Value {
    json!({
        "type": "mfa",
        "method": challenge.method,
        "description": challenge.description,
        "input": challenge.input,
        "expiryMs": MFA_EXPIRY.num_milliseconds(),
        "links": { "response": format!("{base}/jobs/{job_id}/mfa") },
    })
}

/// The stub a refresh answers.
pub fn job_stub(id: &str, base: &str) -> Value {
    json!({ "type": "job", "id": id, "links": { "self": format!("{base}/jobs/{id}") } })
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(job_id): P<String>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    let job = store
        .jobs
        .get(&job_id)
        .ok_or_else(|| ApiError::not_found(format!("jobs/{job_id}")))?;
    Ok(Json(job_json(job, &base, Utc::now())))
}

async fn list(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    store.user(&user_id)?;
    let now = Utc::now();
    let mut jobs: Vec<&Job> = store
        .jobs
        .values()
        .filter(|j| j.user_id == user_id && j.created > now - JOB_LIST_WINDOW)
        .collect();
    jobs.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    let data: Vec<Value> = jobs.iter().map(|j| job_json(j, &base, now)).collect();
    Ok(Json(json!({
        "type": "list",
        "size": data.len(),
        "data": data,
        "links": { "self": format!("{base}/users/{user_id}/jobs") },
    })))
}
