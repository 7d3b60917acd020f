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
    http::{DataList, extract::check_id},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(list))
        .route("/v1/accounts/{account_id}", get(one))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub name: Option<String>,
    pub account_no: Option<String>,
    /// Decimal string, e.g. `"1234.56"`.
    pub balance: Option<String>,
    pub available_funds: Option<String>,
    pub credit_limit: Option<String>,
    pub currency: Option<String>,
    pub class: AccountClassView,
    pub connection_id: Option<String>,
    pub institution_id: Option<String>,
    pub last_updated: Option<String>,
    /// `available` or `unavailable`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize)]
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
