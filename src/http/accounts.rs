//! `GET /v1/accounts` and `GET /v1/accounts/{id}`: money stays a decimal string, as Basiq gives it.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    middleware,
    response::Response,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    answers::What,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    http::{
        DataList,
        extract::{check_id, no_query_params},
        kept::{answer, json_bytes},
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
///
/// A deleted connection's accounts, which Basiq keeps, are left out. Kept until the user's data
/// changes: send the `ETag` back as `If-None-Match`.
#[utoipa::path(
    get,
    operation_id = "listAccounts",
    path = "/v1/accounts",
    tag = "accounts",
    security(("appJwt" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "The `ETag` of the answer held: `304` without a body while it is current")),
    responses(
        (status = 200, description = "The caller's accounts.", body = DataList<AccountView>, headers(
            ("ETag" = String, description = "The answer's strong entity tag: send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`private, no-cache`: keep it, and ask again (with `If-None-Match`) before reusing it"),
            ("Data-Read-At" = String, description = "When the answer's data was read from Basiq (RFC 3339): for \"updated 3 minutes ago\""),
        )),
        (status = 304, response = responses::NotModified),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    answer(&state, &user.sub, What::Accounts, &headers, || async {
        let Some(link) = state.user_link(&user.sub).await? else {
            return json_bytes(&DataList::<AccountView>::new(Vec::new()), 16);
        };
        let accounts = state.basiq.accounts(&link.basiq_user_id).await?;
        let size = accounts.borrow_owner().body.len();
        // What Basiq still lists of a deleted connection is never answered.
        let views: Vec<AccountView> = accounts
            .borrow_dependent()
            .iter()
            .filter(|a| link.shows(a.connection.map(|c| c.0.decoded()).as_deref()))
            .map(AccountView::from)
            .collect();
        json_bytes(&DataList::new(views), size)
    })
    .await
}

/// One of the caller's accounts.
#[utoipa::path(
    get,
    operation_id = "getAccount",
    path = "/v1/accounts/{accountId}",
    tag = "accounts",
    security(("appJwt" = [])),
    params(
        ("accountId" = String, Path, description = "An account id from `GET /v1/accounts`.", pattern = r"^[A-Za-z0-9_-]{1,64}$"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the answer held: `304` without a body while it is current"),
    ),
    responses(
        (status = 200, description = "The account.", body = AccountDetail, headers(
            ("ETag" = String, description = "The answer's strong entity tag: send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`private, no-cache`: keep it, and ask again (with `If-None-Match`) before reusing it"),
            ("Data-Read-At" = String, description = "When the answer's data was read from Basiq (RFC 3339): for \"updated 3 minutes ago\""),
        )),
        (status = 304, response = responses::NotModified),
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
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_id("accountId", &account_id)?;
    let what = What::Account(account_id.clone());
    answer(&state, &user.sub, what, &headers, || async {
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
        json_bytes(&AccountDetail::from(account.borrow_dependent()), size)
    })
    .await
}
