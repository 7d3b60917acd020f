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
    let mut views: Vec<JobView> = state
        .basiq
        .user_jobs(&basiq_user_id)
        .await?
        .iter()
        .map(crate::basiq::types::Job::view)
        .collect();
    views.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(Json(DataList::new(views)))
}

/// One of the caller's jobs.
///
/// Normalised: poll it until `status` is final.
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
    let job = state
        .basiq
        .job(&job_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    let view = job.view();
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
    db::jobs::record(&state.pool, &user.sub, "observed", &view).await?;
    Ok(Json(view))
}
