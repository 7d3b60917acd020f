//! `GET /v1/accounts` and `GET /v1/accounts/{id}`: money stays a decimal string, as Basiq gives it.

use axum::{
    Json,
    extract::{Path, State},
    middleware,
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult},
    http::{
        DataList,
        extract::{check_id, no_query_params},
        json::json,
        responses,
    },
    state::AppState,
    views::accounts::{AccountDetail, AccountView},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
        .route_layer(middleware::from_fn(no_query_params))
}

// The views borrow from Basiq's answer, so each handler writes its JSON before returning.

/// The caller's accounts, across all their connections.
#[utoipa::path(
    get,
    operation_id = "listAccounts",
    path = "/v1/accounts",
    tag = "accounts",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's accounts.", body = DataList<AccountView>),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let Some(link) = state.user_link(&user.sub).await? else {
        return Ok(Json(DataList::<AccountView>::new(Vec::new())).into_response());
    };
    let accounts = state.basiq.accounts(&link.basiq_user_id).await?;
    let size = accounts.borrow_owner().body.len();
    // What Basiq still lists of a deleted connection is never answered.
    let views = accounts
        .borrow_dependent()
        .iter()
        .filter(|a| link.shows(a.connection.map(|c| c.0.decoded()).as_deref()))
        .map(AccountView::from)
        .collect();
    Ok(json(&DataList::new(views), size))
}

/// One of the caller's accounts.
#[utoipa::path(
    get,
    operation_id = "getAccount",
    path = "/v1/accounts/{accountId}",
    tag = "accounts",
    security(("appJwt" = [])),
    params(("accountId" = String, Path, description = "An account id from `GET /v1/accounts`.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 200, description = "The account.", body = AccountDetail),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, account_id = %account_id))]
async fn one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(account_id): Path<String>,
) -> ApiResult<Response> {
    check_id("accountId", &account_id)?;
    let Some(link) = state.user_link(&user.sub).await? else {
        return Err(ApiError::NotFound);
    };
    let account = state
        .basiq
        .account(&link.basiq_user_id, &account_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    let connection = account.borrow_dependent().connection.map(|c| c.0.decoded());
    if !link.shows(connection.as_deref()) {
        return Err(ApiError::NotFound);
    }
    let size = account.borrow_owner().body.len();
    Ok(json(&AccountDetail::from(account.borrow_dependent()), size))
}
