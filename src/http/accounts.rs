//! `GET /v1/accounts` and `GET /v1/accounts/{id}`: money stays a decimal string, as Basiq gives it.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use serde::Serialize;

use crate::{
    auth::AuthUser,
    basiq::types::{Account, AccountClass},
    error::{ApiError, ApiResult},
    http::{DataList, docs, extract::check_id},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(list))
        .route("/v1/accounts/{accountId}", get(one))
}

/// A bank account; money is a decimal string, exactly as Basiq gives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountClassView {
    /// e.g. `transaction`, `savings`, `credit-card`, `mortgage`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub product: Option<String>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let class = match a.class {
            Some(AccountClass::Object { kind, product }) => AccountClassView { kind, product },
            Some(AccountClass::Bare(kind)) => AccountClassView {
                kind: Some(kind),
                product: None,
            },
            None => AccountClassView {
                kind: None,
                product: None,
            },
        };
        Self {
            id: a.id,
            name: a.name,
            account_no: a.account_no,
            balance: a.balance,
            available_funds: a.available_funds,
            credit_limit: a.credit_limit,
            currency: a.currency,
            class,
            connection_id: a.connection,
            institution_id: a.institution,
            last_updated: a.last_updated,
            status: a.status,
        }
    }
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
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataList<AccountView>>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(DataList::new(Vec::new())));
    };
    let accounts = state.basiq.accounts(&basiq_user_id).await?;
    Ok(Json(DataList::new(
        accounts.into_iter().map(AccountView::from).collect(),
    )))
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
) -> ApiResult<Json<AccountView>> {
    check_id("accountId", &account_id)?;
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Err(ApiError::NotFound);
    };
    let account = state
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
    Ok(Json(account.into()))
}
