//! `GET /v1/accounts` and `GET /v1/accounts/{id}`: money stays a decimal string, as Basiq gives it.

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use serde::Serialize;

use crate::{
    auth::AuthUser,
    basiq::types::{Account, RawStr},
    error::{ApiError, ApiResult},
    http::{DataList, docs, extract::check_id, raw_json},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(list))
        .route("/v1/accounts/{accountId}", get(one))
}

/// A bank account; money is a decimal string, exactly as Basiq gives it.
///
/// Its strings are Basiq's, copied as they came (see [`RawStr`]).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView<'a> {
    #[schema(value_type = String)]
    pub id: RawStr<'a>,
    #[schema(value_type = Option<String>)]
    pub name: Option<RawStr<'a>>,
    #[schema(value_type = Option<String>)]
    pub account_no: Option<RawStr<'a>>,
    /// Decimal string, e.g. `"1234.56"`.
    #[schema(value_type = Option<String>)]
    pub balance: Option<RawStr<'a>>,
    /// Decimal string.
    #[schema(value_type = Option<String>)]
    pub available_funds: Option<RawStr<'a>>,
    /// Decimal string.
    #[schema(value_type = Option<String>)]
    pub credit_limit: Option<RawStr<'a>>,
    /// ISO 4217, e.g. `AUD`.
    #[schema(value_type = Option<String>)]
    pub currency: Option<RawStr<'a>>,
    pub class: AccountClassView<'a>,
    #[schema(value_type = Option<String>)]
    pub connection_id: Option<RawStr<'a>>,
    #[schema(value_type = Option<String>)]
    pub institution_id: Option<RawStr<'a>>,
    /// RFC 3339, as Basiq gives it.
    #[schema(value_type = Option<String>)]
    pub last_updated: Option<RawStr<'a>>,
    /// `available` or `unavailable`.
    #[schema(value_type = Option<String>)]
    pub status: Option<RawStr<'a>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountClassView<'a> {
    /// e.g. `transaction`, `savings`, `credit-card`, `mortgage`.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<RawStr<'a>>,
    #[schema(value_type = Option<String>)]
    pub product: Option<RawStr<'a>>,
}

impl<'a> From<Account<'a>> for AccountView<'a> {
    fn from(a: Account<'a>) -> Self {
        Self {
            id: a.id,
            name: a.name,
            account_no: a.account_no,
            balance: a.balance,
            available_funds: a.available_funds,
            credit_limit: a.credit_limit,
            currency: a.currency,
            class: AccountClassView {
                kind: a.class.kind,
                product: a.class.product,
            },
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
async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return raw_json(&DataList::<AccountView>::new(Vec::new()), 16);
    };
    let raw = state.basiq.accounts(&basiq_user_id).await?;
    let accounts = raw.parse_list()?;
    let list = DataList::new(accounts.into_iter().map(AccountView::from).collect());
    raw_json(&list, raw.len())
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
    raw_json(&AccountView::from(raw.parse_one()?), raw.len())
}
