//! `GET /v1/jobs` and `GET /v1/jobs/{jobId}`: normalised jobs of the caller only.

use axum::{
    Json,
    extract::{Path, State},
    middleware,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    db,
    domain::jobs::JobView,
    error::{ApiError, ApiResult},
    http::{
        DataList,
        extract::{JsonBody, check_id, no_query_params},
        responses,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(answer_mfa))
        .route_layer(middleware::from_fn(no_query_params))
}

/// The caller's jobs of the last 7 days, newest first.
#[utoipa::path(
    get,
    operation_id = "listJobs",
    path = "/v1/jobs",
    tag = "jobs",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's recent jobs.", body = DataList<JobView>),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<DataList<JobView>>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(DataList::new(Vec::new())));
    };
    let mut views: Vec<JobView> = state
        .basiq
        .user_jobs(&basiq_user_id)
        .await?
        .iter()
        .map(|job| state.job_view(job))
        .collect();
    views.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(Json(DataList::new(views)))
}

/// One of the caller's jobs.
///
/// Normalised: poll it until `status` is final, or better, listen to `GET /v1/events` for
/// `job.updated`. A poll is answered from what was seen of the job in the last two seconds
/// (five while the job watcher follows it), when there is such a view, so polling costs Basiq
/// nothing extra.
#[utoipa::path(
    get,
    operation_id = "getJob",
    path = "/v1/jobs/{jobId}",
    tag = "jobs",
    security(("appJwt" = [])),
    params(("jobId" = String, Path, description = "A job id, as returned in `jobIds` or by a refresh.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 200, description = "The job.", body = JobView),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, job_id = %job_id))]
async fn one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(job_id): Path<String>,
) -> ApiResult<Json<JobView>> {
    check_id("jobId", &job_id)?;
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Err(ApiError::NotFound);
    };
    let recorded_owner = db::jobs::owner(&state.pool, &job_id).await?;
    if recorded_owner
        .as_deref()
        .is_some_and(|owner| owner != user.sub)
    {
        return Err(ApiError::NotFound);
    }
    // However many poll one job, Basiq is asked once in a while: what the watcher (or another
    // poll) saw under a couple of seconds ago is the answer, and polls of one job on this
    // replica call Basiq one at a time.
    let _one_at_a_time = state.job_polls.lock(&job_id).await;
    if recorded_owner.is_some()
        && let Some(view) = fresh_view(&state, &user.sub, &job_id).await?
    {
        return Ok(Json(view));
    }
    let job = state
        .basiq
        .job(&job_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    check_owner(&state, &basiq_user_id, recorded_owner.is_some(), &job).await?;
    let view = state.job_view(&job);
    state.events.job_seen(&user.sub, "observed", &view).await?;
    Ok(Json(view))
}

/// 404 unless `job` is the user's: Basiq names another user (whatever we recorded), or, when
/// we never recorded it and Basiq does not say yet (its first step runs), the user's jobs at
/// Basiq do not list it.
async fn check_owner(
    state: &AppState,
    basiq_user_id: &str,
    recorded: bool,
    job: &crate::basiq::types::Job,
) -> ApiResult<()> {
    match (recorded, job.user()) {
        (_, Some(owner)) if owner != basiq_user_id => Err(ApiError::NotFound),
        (true, _) | (false, Some(_)) => Ok(()),
        (false, None) => {
            let mine = state.basiq.user_jobs(basiq_user_id).await?;
            match mine.iter().any(|j| j.id == job.id) {
                true => Ok(()),
                false => Err(ApiError::NotFound),
            }
        }
    }
}

/// The user's answers to the bank's challenge, one per `mfaChallenge.input`, in order.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"responses": ["1234"]}))]
pub struct MfaAnswer {
    /// The one-time code, or each question's answer; 1–10 of them, each 1–256 characters.
    pub responses: Vec<String>,
}

/// The answers are the user's secrets: never shown, even in a debug print.
impl std::fmt::Debug for MfaAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaAnswer")
            .field(
                "responses",
                &format_args!("[{} redacted]", self.responses.len()),
            )
            .finish()
    }
}

/// At most this many answers, each at most this long: more than any bank asks.
const MAX_MFA_RESPONSES: usize = 10;
const MAX_MFA_RESPONSE_CHARS: usize = 256;

impl MfaAnswer {
    fn check(&self) -> ApiResult<()> {
        if self.responses.is_empty() || self.responses.len() > MAX_MFA_RESPONSES {
            return Err(ApiError::validation(
                "responses",
                "must hold 1 to 10 answers",
            ));
        }
        for (i, r) in self.responses.iter().enumerate() {
            let chars = r.chars().count();
            if r.trim().is_empty()
                || chars > MAX_MFA_RESPONSE_CHARS
                || r.chars().any(char::is_control)
            {
                return Err(ApiError::validation(
                    format!("responses[{i}]"),
                    "must be 1 to 256 characters, without control characters",
                ));
            }
        }
        Ok(())
    }
}

/// Answers the bank's challenge a job waits on.
///
/// A refresh of a web connection can stop at the bank's `mfa-challenge` (a one-time code, or
/// security questions): the job is then `action_required`, `error.userAction: answer_mfa`,
/// with `mfaChallenge`. Send the user's answers, one per `mfaChallenge.input`, in order; the
/// job goes on and is answered (watch it with `job.updated`). Answers the BFF never logs or
/// stores. The bank refusing them is `422 mfa_rejected` (the challenge stays open until
/// `expiresAt`); a job not waiting on an answer is `409 job_not_waiting_for_mfa`.
#[utoipa::path(
    post,
    operation_id = "answerJobMfa",
    path = "/v1/jobs/{jobId}/mfa",
    tag = "jobs",
    security(("appJwt" = [])),
    params(("jobId" = String, Path, description = "The job waiting on the answer.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    request_body = MfaAnswer,
    responses(
        (status = 200, description = "The answer was accepted; the job as it now is.", body = JobView),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Unprocessable),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, job_id = %job_id))]
async fn answer_mfa(
    State(state): State<AppState>,
    user: AuthUser,
    Path(job_id): Path<String>,
    JsonBody(answer): JsonBody<MfaAnswer>,
) -> ApiResult<Json<JobView>> {
    check_id("jobId", &job_id)?;
    answer.check()?;
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Err(ApiError::NotFound);
    };
    let recorded_owner = db::jobs::owner(&state.pool, &job_id).await?;
    if recorded_owner
        .as_deref()
        .is_some_and(|owner| owner != user.sub)
    {
        return Err(ApiError::NotFound);
    }
    let job = state
        .basiq
        .job(&job_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    check_owner(&state, &basiq_user_id, recorded_owner.is_some(), &job).await?;
    let not_waiting = || ApiError::Conflict {
        code: "job_not_waiting_for_mfa",
        detail: "This job is not waiting on an answer to the bank's challenge.".into(),
    };
    let Some(challenge) = state.job_view(&job).mfa_challenge else {
        return Err(not_waiting());
    };
    // (A challenge whose inputs Basiq does not list is answered as the user sees fit.)
    if !challenge.input.is_empty() && answer.responses.len() != challenge.input.len() {
        return Err(ApiError::validation(
            "responses",
            format!(
                "must hold {} answers, one per mfaChallenge.input",
                challenge.input.len()
            ),
        ));
    }
    match state
        .basiq
        .answer_mfa(&basiq_user_id, &job_id, &answer.responses)
        .await
    {
        Ok(()) => {}
        Err(e) if e.status() == Some(400) && e.code() == Some("invalid-credentials") => {
            tracing::info!("the bank refused the MFA answer");
            return Err(ApiError::Unprocessable {
                code: "mfa_rejected",
                field: "responses",
                detail: "The bank did not accept these answers; ask the user again (the challenge stays open until its expiresAt).".into(),
            });
        }
        // Basiq says the job does not wait on an answer (it ended, or the challenge lapsed).
        Err(e) if e.status() == Some(400) => return Err(not_waiting()),
        Err(e) => return Err(ApiError::not_found_if_missing(e)),
    }
    tracing::info!("MFA answer accepted");
    let view = state.job_view(&state.basiq.job(&job_id).await?);
    state.events.job_seen(&user.sub, "observed", &view).await?;
    Ok(Json(view))
}

/// A view of the job seen less than this ago is answered as it is.
pub const FRESH: std::time::Duration = std::time::Duration::from_secs(2);
/// While the watcher follows the job (every 2 s, on a pass every second), its view is answered
/// up to this old.
pub const WATCHED: std::time::Duration = std::time::Duration::from_secs(5);

async fn fresh_view(state: &AppState, user: &str, job_id: &str) -> ApiResult<Option<JobView>> {
    Ok(db::jobs::fresh_view(&state.pool, user, job_id, FRESH, WATCHED).await?)
}
