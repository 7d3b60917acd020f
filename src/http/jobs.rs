//! `GET /v1/jobs` and `GET /v1/jobs/{jobId}`: normalised jobs of the caller only.

use axum::{
    Json,
    extract::{Path, State},
    middleware,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    db,
    domain::jobs::JobView,
    error::{ApiError, ApiResult},
    http::{
        DataList,
        extract::{check_id, no_query_params},
        responses,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
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
    let mut views = Vec::new();
    for job in state.basiq.user_jobs(&basiq_user_id).await? {
        views.push(state.job_view(&job).await);
    }
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
    let view = state.job_view(&job).await;
    match (recorded_owner, job.user()) {
        // Basiq names another user: never show it, whatever we recorded.
        (_, Some(owner)) if owner != basiq_user_id => return Err(ApiError::NotFound),
        (Some(_), _) | (None, Some(_)) => {}
        // Not recorded and Basiq does not say yet (first step running): check the user's list.
        (None, None) => {
            let mine = state.basiq.user_jobs(&basiq_user_id).await?;
            if !mine.iter().any(|j| j.id == job_id) {
                return Err(ApiError::NotFound);
            }
        }
    }
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
