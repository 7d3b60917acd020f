//! `GET /v1/accounts` and `GET /v1/accounts/{id}`: money stays a decimal string, as Basiq gives it.

use axum::{
    Router,
    extract::{Path, State},
    middleware,
    response::Response,
    routing::get,
};

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult},
    http::{
        DataList, docs,
        extract::{check_id, no_query_params},
        json_body,
    },
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(list))
        .route("/v1/accounts/{accountId}", get(one))
        .route_layer(middleware::from_fn(no_query_params))
}

/// A bank account; money is a decimal string, exactly as Basiq gives it.
///
/// Documents the answer, which [`crate::basiq::pick`] writes straight from Basiq's (the tests
/// check the two agree).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub name: Option<String>,
    pub account_no: Option<String>,
    /// Decimal string, e.g. `"1234.56"`.
    pub balance: Option<String>,
    /// Decimal string.
    pub available_funds: Option<String>,
    /// Decimal string.
    pub credit_limit: Option<String>,
    /// ISO 4217, e.g. `AUD`.
    pub currency: Option<String>,
    pub class: AccountClassView,
    pub connection_id: Option<String>,
    pub institution_id: Option<String>,
    /// RFC 3339, as Basiq gives it.
    pub last_updated: Option<String>,
    /// `available` or `unavailable`.
    pub status: Option<String>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountClassView {
    /// e.g. `transaction`, `savings`, `credit-card`, `mortgage`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub product: Option<String>,
}

/// The caller's accounts, across all their connections.
#[utoipa::path(
    get,
    operation_id = "listAccounts",
    path = "/v1/accounts",
    tag = "accounts",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's accounts.", body = DataList<AccountView>),
        (status = 404, response = docs::NotFound),
        docs::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(json_body(br#"{"data":[]}"#.to_vec()));
    };
    let raw = state.basiq.accounts(&basiq_user_id).await?;
    Ok(json_body(raw.list_json()?))
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
        (status = 200, description = "The account.", body = AccountView),
        (status = 400, response = docs::BadRequest),
        (status = 404, response = docs::NotFound),
        docs::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, account_id = %account_id))]
async fn one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(account_id): Path<String>,
) -> ApiResult<Response> {
    check_id("accountId", &account_id)?;
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Err(ApiError::NotFound);
    };
    let raw = state
        .basiq
        .account(&basiq_user_id, &account_id)
        .await
        .map_err(|e| {
            if e.is_not_found() {
                ApiError::NotFound
            } else {
                e.into()
            }
        })?;
    Ok(json_body(raw.one_json()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::{PartialSchema, openapi::RefOr, openapi::schema::Schema};

    fn properties(schema: RefOr<Schema>) -> Vec<String> {
        match schema {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            _ => panic!("not an object schema"),
        }
    }

    #[test]
    fn the_documented_account_is_the_one_written() {
        assert_eq!(
            properties(AccountView::schema()),
            crate::basiq::pick::account_fields().collect::<Vec<_>>()
        );
        assert_eq!(properties(AccountClassView::schema()), ["type", "product"]);
    }
}
