//! `GET /v1/me`: the app user's link to Basiq.

use axum::{Json, extract::State, http::StatusCode, middleware};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    db,
    error::ApiResult,
    events::{Change, UserErased},
    http::{extract::no_query_params, responses},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, erase))
        .route_layer(middleware::from_fn(no_query_params))
}

/// The app user's link to Basiq.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The JWT's `sub`.
    pub user_id: String,
    /// `null` until the first consent creates the Basiq user.
    pub basiq_user_id: Option<String>,
    pub connection_count: usize,
    /// The newest consent, if any: whether the user must consent again.
    pub consent: Option<ConsentSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentSummary {
    pub id: Option<String>,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
}

/// The app user's link to Basiq.
#[utoipa::path(
    get,
    operation_id = "getMe",
    path = "/v1/me",
    tag = "me",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's link to Basiq.", body = Me),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Me>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(Me {
            user_id: user.sub,
            basiq_user_id: None,
            connection_count: 0,
            consent: None,
        }));
    };
    let (connections, consents) = tokio::join!(
        state.basiq.connections(&basiq_user_id),
        state.basiq.consents(&basiq_user_id)
    );
    // The newest consent tells the app whether the user must consent again.
    let consent = consents?
        .into_iter()
        .max_by(|a, b| a.created.cmp(&b.created))
        .map(|c| ConsentSummary {
            id: c.id,
            status: c.status.unwrap_or_else(|| "active".into()),
            created_at: c.created,
            expires_at: c.expiry_date,
        });
    Ok(Json(Me {
        user_id: user.sub,
        basiq_user_id: Some(basiq_user_id),
        connection_count: connections?.len(),
        consent,
    }))
}

/// Erases the caller.
///
/// Deletes the Basiq user (its connections and data go with it), then every local row of the
/// app user. Safe to repeat: a user already gone answers 204 again.
#[utoipa::path(
    delete,
    operation_id = "deleteMe",
    path = "/v1/me",
    tag = "me",
    security(("appJwt" = [])),
    responses(
        (status = 204, description = "The Basiq user and everything stored about the caller are gone."),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn erase(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    if let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? {
        match state.basiq.delete_user(&basiq_user_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => tracing::info!("the Basiq user was already gone"),
            Err(e) => return Err(e.into()),
        }
    }
    db::users::delete(&state.pool, &user.sub).await?;
    state.users.forget(&user.sub);
    // Its streams, and the company's backend, learn it last.
    let erased = Change::Erased(UserErased {
        user_id: user.sub.clone(),
    });
    state.events.publish(&user.sub, &erased).await?;
    tracing::info!("user erased");
    Ok(StatusCode::NO_CONTENT)
}
