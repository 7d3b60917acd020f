//! `GET /v1/connections`: the caller's bank connections and whether they need the user.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    middleware,
};
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    basiq::types::{Connection, Profile, normalise_method},
    db,
    domain::{connections::ConnectionView, jobs::JobView},
    error::{ApiError, ApiResult},
    events::{Change, DataUpdated},
    http::{
        DataList,
        extract::{check_id, no_query_params},
        responses,
    },
    state::AppState,
};

/// Basiq allows open-banking connections 20 refreshes a day. We count a rolling 24 hours,
/// which keeps within any calendar day Basiq may use.
pub const DAILY_REFRESHES: i64 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(refresh_all))
        .routes(routes!(one, remove))
        .routes(routes!(refresh_one))
        .routes(routes!(purge))
        .route_layer(middleware::from_fn(no_query_params))
}

/// A connection, and the account holder as the bank gives them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDetail {
    #[serde(flatten)]
    pub connection: ConnectionView,
    /// `null` when Basiq has none (web connections, or before the first job finishes).
    pub profile: Option<ProfileView>,
}

/// The account holder, as the bank gives them: the user's own personal data, shown to them
/// and never stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub email_addresses: Vec<String>,
    pub phone_numbers: Vec<String>,
    pub physical_addresses: Vec<AddressView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressView {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_line3: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    /// ISO 3166, e.g. `AUS`.
    pub country_code: Option<String>,
    pub formatted_address: Option<String>,
}

impl From<Profile> for ProfileView {
    fn from(p: Profile) -> Self {
        Self {
            full_name: p.full_name,
            first_name: p.first_name,
            middle_name: p.middle_name,
            last_name: p.last_name,
            email_addresses: p.email_addresses,
            phone_numbers: p.phone_numbers,
            physical_addresses: p
                .physical_addresses
                .into_iter()
                .map(|a| AddressView {
                    address_line1: a.address_line1,
                    address_line2: a.address_line2,
                    address_line3: a.address_line3,
                    city: a.city,
                    state: a.state,
                    postcode: a.postcode,
                    country: a.country,
                    country_code: a.country_code,
                    formatted_address: a.formatted_address,
                })
                .collect(),
        }
    }
}

/// The caller's bank connections.
///
/// Each with its status, institution, last use, expiry, and whether the user must act.
#[utoipa::path(
    get,
    operation_id = "listConnections",
    path = "/v1/connections",
    tag = "connections",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's connections.", body = DataList<ConnectionView>),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataList<ConnectionView>>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(DataList::new(Vec::new())));
    };
    let connections = state.basiq.connections(&basiq_user_id).await?;
    let names = state.institutions.names().await;
    let mut known = db::connections::known(&mut *state.pool.acquire().await?, &user.sub).await?;
    let now = Utc::now();
    let views = connections
        .into_iter()
        .map(|c| {
            let known = known.take(&c.id);
            c.view(&known, &names, now)
        })
        .collect();
    Ok(Json(DataList::new(views)))
}

/// One of the caller's connections, with the account holder as the bank gives them.
#[utoipa::path(
    get,
    operation_id = "getConnection",
    path = "/v1/connections/{connectionId}",
    tag = "connections",
    security(("appJwt" = [])),
    params(("connectionId" = String, Path, description = "A connection id from `GET /v1/connections`.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 200, description = "The connection.", body = ConnectionDetail),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, connection_id = %connection_id))]
async fn one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<ConnectionDetail>> {
    check_id("connectionId", &connection_id)?;
    let basiq_user_id = basiq_user(&state, &user).await?;
    let mut connection = state
        .basiq
        .connection(&basiq_user_id, &connection_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    let profile = connection.profile.take().map(ProfileView::from);
    let names = state.institutions.names().await;
    let known = db::connections::known(&mut *state.pool.acquire().await?, &user.sub)
        .await?
        .take(&connection.id);
    Ok(Json(ConnectionDetail {
        connection: connection.view(&known, &names, Utc::now()),
        profile,
    }))
}

/// The Basiq user of the caller, or 404: a user with no Basiq user has no connections.
async fn basiq_user(state: &AppState, user: &AuthUser) -> ApiResult<String> {
    state
        .basiq_user_id(&user.sub)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Refreshes one connection of the user: answers the running job instead of starting another,
/// and refuses with 429 when an open-banking connection has used its daily refreshes.
async fn refresh(
    state: &AppState,
    app_user_id: &str,
    basiq_user_id: &str,
    connection: &Connection,
) -> ApiResult<JobView> {
    // A job we know is still running for this connection is the answer: no Basiq call needed.
    if let Some((job_id, status, _)) =
        db::jobs::latest_for_connection(&state.pool, app_user_id, &connection.id).await?
        && matches!(status.as_str(), "pending" | "in_progress")
    {
        let view = state.job_view(&state.basiq.job(&job_id).await?);
        if !view.status.is_final() {
            return Ok(view);
        }
    }
    let open_banking =
        normalise_method(connection.method.as_deref()).as_deref() == Some("openbanking");
    // The budget check and Basiq's refresh happen under one lock per connection, so concurrent
    // refreshes (on any replica) cannot together overrun it.
    let mut tx = state.pool.begin().await?;
    db::refreshes::lock_connection(&mut tx, &connection.id).await?;
    if open_banking {
        let (used, oldest) = db::refreshes::in_last_day(&mut tx, &connection.id).await?;
        if used >= DAILY_REFRESHES {
            let free_at = oldest.unwrap_or_else(Utc::now) + chrono::Duration::hours(24);
            let retry_after = (free_at - Utc::now()).num_seconds().max(1) as u64;
            return Err(ApiError::TooManyRequests {
                code: "refresh_limit_reached",
                detail: format!(
                    "This open-banking connection has been refreshed {DAILY_REFRESHES} times in the last 24 hours, Basiq's daily limit."
                ),
                retry_after_secs: retry_after,
            });
        }
    }
    let (stub, created) = state
        .basiq
        .refresh_connection(basiq_user_id, &connection.id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    if created {
        db::refreshes::insert(&mut tx, app_user_id, &connection.id, &stub.id).await?;
    }
    tx.commit().await?;
    tracing::info!(job_id = %stub.id, connection_id = %connection.id, created, "connection refresh");
    let mut view = state.job_view(&state.basiq.job(&stub.id).await?);
    view.connection_id
        .get_or_insert_with(|| connection.id.clone());
    state.events.job_seen(app_user_id, "refresh", &view).await?;
    Ok(view)
}

/// Refreshes one connection.
///
/// Answers its job, or the job still running for it instead of starting another. An
/// open-banking connection may be refreshed 20 times in 24 hours (Basiq's limit); past that,
/// 429 `refresh_limit_reached` with `Retry-After`.
#[utoipa::path(
    post,
    operation_id = "refreshConnection",
    path = "/v1/connections/{connectionId}/refresh",
    tag = "connections",
    security(("appJwt" = [])),
    params(("connectionId" = String, Path, description = "A connection id from `GET /v1/connections`.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 200, description = "The refresh job.", body = JobView),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, connection_id = %connection_id))]
async fn refresh_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<JobView>> {
    check_id("connectionId", &connection_id)?;
    let basiq_user_id = basiq_user(&state, &user).await?;
    let connection = state
        .basiq
        .connection(&basiq_user_id, &connection_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    Ok(Json(
        refresh(&state, &user.sub, &basiq_user_id, &connection).await?,
    ))
}

/// Refreshes every connection.
///
/// Each within its daily budget; 429 only when none could be refreshed.
#[utoipa::path(
    post,
    operation_id = "refreshAllConnections",
    path = "/v1/connections/refresh",
    tag = "connections",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "A job per refreshed connection.", body = DataList<JobView>),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn refresh_all(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataList<JobView>>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(DataList::new(Vec::new())));
    };
    let connections = state.basiq.connections(&basiq_user_id).await?;
    let mut jobs = Vec::new();
    let mut limited = None;
    for connection in &connections {
        match refresh(&state, &user.sub, &basiq_user_id, connection).await {
            Ok(job) => jobs.push(job),
            Err(e @ ApiError::TooManyRequests { .. }) => limited = Some(e),
            Err(e) => return Err(e),
        }
    }
    match limited {
        Some(e) if jobs.is_empty() => Err(e),
        _ => Ok(Json(DataList::new(jobs))),
    }
}

/// Deletes a connection, and its data.
///
/// Basiq keeps a deleted connection's accounts and transactions, so they are purged at Basiq
/// first (Basiq purges only active connections: an inactive one's data stays at Basiq, and is
/// never answered again); if the purge fails, nothing is deleted and the upstream problem is
/// answered. Then the connection is deleted at Basiq, and what the BFF stored of it: its
/// accounts and transactions are never answered again (not by the accounts and transactions
/// routes, nor by sync, whose next page reports them removed once). `connection.updated`
/// (`status: deleted`) and `data.updated` follow.
#[utoipa::path(
    delete,
    operation_id = "deleteConnection",
    path = "/v1/connections/{connectionId}",
    tag = "connections",
    security(("appJwt" = [])),
    params(("connectionId" = String, Path, description = "A connection id from `GET /v1/connections`.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 204, description = "The connection and its data are deleted."),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, connection_id = %connection_id))]
async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(connection_id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id("connectionId", &connection_id)?;
    let basiq_user_id = basiq_user(&state, &user).await?;
    match state.basiq.connection(&basiq_user_id, &connection_id).await {
        Ok(connection) => {
            if connection.status.as_deref() == Some("active") {
                state
                    .basiq
                    .purge_connection(&basiq_user_id, &connection_id)
                    .await?;
            } else {
                tracing::info!(status = ?connection.status, "not active: Basiq cannot purge it; its data is hidden instead");
            }
            match state
                .basiq
                .delete_connection(&basiq_user_id, &connection_id)
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {
                    tracing::info!("the connection was already gone at Basiq")
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Gone at Basiq already (an earlier attempt got this far, or Basiq's dashboard): what
        // we stored of it as the user's still goes.
        Err(e)
            if e.is_not_found()
                && db::connections::stored_for(&state.pool, &user.sub, &connection_id).await? =>
        {
            tracing::info!("the connection is gone at Basiq; forgetting it here");
        }
        Err(e) => return Err(ApiError::not_found_if_missing(e)),
    }
    let mut tx = state.pool.begin().await?;
    // Basiq's `connection.deleted` may have told it first.
    if db::connections::delete(&mut tx, &user.sub, &connection_id).await? {
        let gone = Change::Connection(ConnectionView::deleted(&connection_id));
        state.events.publish_in(&mut tx, &user.sub, &gone).await?;
        let data = Change::Data(DataUpdated {
            connection_id: Some(connection_id.clone()),
        });
        state.events.publish_in(&mut tx, &user.sub, &data).await?;
    }
    tx.commit().await?;
    state.changed(&user.sub);
    tracing::info!("connection deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Purges a connection's data.
///
/// Basiq removes the connection's accounts and transactions and keeps the connection, for a
/// later refresh to fetch its data again (Basiq's advice, for example to get the latest
/// enrichment). Basiq purges only active connections: an inactive one is `409
/// connection_not_active`. `data.updated` follows (after the sync copy drops the data, for a
/// user who syncs).
#[utoipa::path(
    post,
    operation_id = "purgeConnection",
    path = "/v1/connections/{connectionId}/purge",
    tag = "connections",
    security(("appJwt" = [])),
    params(("connectionId" = String, Path, description = "A connection id from `GET /v1/connections`.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 204, description = "The connection's data is purged; the connection stays."),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, connection_id = %connection_id))]
async fn purge(
    State(state): State<AppState>,
    user: AuthUser,
    Path(connection_id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id("connectionId", &connection_id)?;
    let basiq_user_id = basiq_user(&state, &user).await?;
    let connection = state
        .basiq
        .connection(&basiq_user_id, &connection_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    if connection.status.as_deref() != Some("active") {
        return Err(ApiError::Conflict {
            code: "connection_not_active",
            detail: "Basiq purges the data of active connections only; refresh or reconnect it first, or delete it.".into(),
        });
    }
    state
        .basiq
        .purge_connection(&basiq_user_id, &connection_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    let mut tx = state.pool.begin().await?;
    let wake = state
        .sync
        .data_changed_in(&mut tx, &user.sub, Some(&connection_id))
        .await?;
    tx.commit().await?;
    state.changed(&user.sub);
    if wake {
        state.sync.wake();
    }
    tracing::info!("connection data purged");
    Ok(StatusCode::NO_CONTENT)
}
