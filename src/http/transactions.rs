//! `GET /v1/transactions`: validated filters built into Basiq's `filter` syntax, and an opaque,
//! signed cursor (never a URL) for the next page.

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::HeaderMap,
    middleware,
    response::Response,
};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    answers::What,
    auth::AuthUser,
    basiq::PageRows,
    domain::cursor::Cursor,
    error::{ApiError, ApiResult},
    http::{
        extract::{check_id, limit, no_query_params, query_params},
        kept::{answer, json_bytes},
        responses,
    },
    state::AppState,
    views::transactions::TransactionView,
};

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;
const PARAMS: &[&str] = &[
    "accountId",
    "connectionId",
    "institutionId",
    "status",
    "direction",
    "class",
    "from",
    "to",
    "limit",
    "cursor",
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(one))
        .route_layer(middleware::from_fn(no_query_params))
        // Registered after the layer: it reads and checks its query itself.
        .routes(routes!(list))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage<'a> {
    pub data: Vec<TransactionView<'a>>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query of `GET /v1/transactions`, validated: unknown or repeated parameters are refused,
/// and each error names its parameter.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct TransactionQuery {
    /// Only this account's transactions.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub account_id: Option<String>,
    /// Only this connection's transactions.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub connection_id: Option<String>,
    /// Only this institution's transactions.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub institution_id: Option<String>,
    #[param(inline)]
    pub status: Option<TransactionStatus>,
    #[param(inline)]
    pub direction: Option<Direction>,
    #[param(inline)]
    pub class: Option<TransactionClass>,
    /// Posted on or after this date (`YYYY-MM-DD`); not after `to`.
    pub from: Option<NaiveDate>,
    /// Posted on or before this date (`YYYY-MM-DD`).
    pub to: Option<NaiveDate>,
    /// Transactions per page.
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page: alone, or with the same filters as the first page.
    #[param(max_length = 4096)]
    pub cursor: Option<String>,
}

/// `pending` or `posted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    Pending,
    Posted,
}

/// `debit` (money out) or `credit` (money in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Debit,
    Credit,
}

/// Basiq's transaction classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionClass {
    BankFee,
    Payment,
    CashWithdrawal,
    Transfer,
    LoanInterest,
    Refund,
    DirectCredit,
    Interest,
    LoanRepayment,
}

/// A value from a closed set, named as it is written on the wire; a 400 naming `field` if it
/// is none of them.
fn one_of<T: Copy + Serialize>(field: &str, value: &str, all: &[T]) -> ApiResult<T> {
    let name = |v: &T| {
        serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    all.iter()
        .find(|v| name(v).as_deref() == Some(value))
        .copied()
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().filter_map(name).collect();
            ApiError::validation(field, format!("must be one of {}", names.join(", ")))
        })
}

fn wire_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn date(field: &str, value: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .ok_or_else(|| ApiError::validation(field, "must be a date as YYYY-MM-DD"))
}

impl TransactionQuery {
    /// The query as given: only known parameters, each at most once, each valid.
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let mut params = query_params(raw, PARAMS)?;
        let mut take = |name: &str| params.remove(name);
        let id = |field: &str, v: Option<String>| -> ApiResult<Option<String>> {
            v.map(|v| check_id(field, &v).map(str::to_owned))
                .transpose()
        };
        use Direction as D;
        use TransactionClass as C;
        use TransactionStatus as S;
        let q = Self {
            account_id: id("accountId", take("accountId"))?,
            connection_id: id("connectionId", take("connectionId"))?,
            institution_id: id("institutionId", take("institutionId"))?,
            status: take("status")
                .map(|v| one_of("status", &v, &[S::Pending, S::Posted]))
                .transpose()?,
            direction: take("direction")
                .map(|v| one_of("direction", &v, &[D::Debit, D::Credit]))
                .transpose()?,
            class: take("class")
                .map(|v| {
                    one_of(
                        "class",
                        &v,
                        &[
                            C::BankFee,
                            C::Payment,
                            C::CashWithdrawal,
                            C::Transfer,
                            C::LoanInterest,
                            C::Refund,
                            C::DirectCredit,
                            C::Interest,
                            C::LoanRepayment,
                        ],
                    )
                })
                .transpose()?,
            from: take("from").map(|v| date("from", &v)).transpose()?,
            to: take("to").map(|v| date("to", &v)).transpose()?,
            limit: take("limit").map(|v| limit(&v, MAX_LIMIT)).transpose()?,
            cursor: take("cursor"),
        };
        if let (Some(from), Some(to)) = (q.from, q.to)
            && from > to
        {
            return Err(ApiError::validation("from", "must not be after to"));
        }
        if q.cursor.as_ref().is_some_and(|c| c.len() > 4096) {
            return Err(ApiError::validation("cursor", "is too long"));
        }
        Ok(q)
    }

    /// Whether any filter (anything but the cursor) was given.
    fn has_filters(&self) -> bool {
        let Self {
            account_id,
            connection_id,
            institution_id,
            status,
            direction,
            class,
            from,
            to,
            limit,
            cursor: _,
        } = self;
        account_id.is_some()
            || connection_id.is_some()
            || institution_id.is_some()
            || status.is_some()
            || direction.is_some()
            || class.is_some()
            || from.is_some()
            || to.is_some()
            || limit.is_some()
    }

    /// The first-page query for Basiq, in its `filter` syntax, from these validated values.
    pub fn first_page(&self) -> String {
        let mut filters = Vec::new();
        for (value, field) in [
            (&self.account_id, "account.id"),
            (&self.connection_id, "connection.id"),
            (&self.institution_id, "institution.id"),
        ] {
            if let Some(v) = value {
                filters.push(format!("{field}.eq('{v}')"));
            }
        }
        if let Some(v) = self.status {
            filters.push(format!("transaction.status.eq('{}')", wire_name(&v)));
        }
        if let Some(v) = self.direction {
            filters.push(format!("transaction.direction.eq('{}')", wire_name(&v)));
        }
        if let Some(v) = self.class {
            filters.push(format!("transaction.class.eq('{}')", wire_name(&v)));
        }
        match (self.from, self.to) {
            (Some(f), Some(t)) => filters.push(format!("transaction.postDate.bt('{f}','{t}')")),
            (Some(f), None) => filters.push(format!("transaction.postDate.gteq('{f}')")),
            (None, Some(t)) => filters.push(format!("transaction.postDate.lteq('{t}')")),
            (None, None) => {}
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("limit", &self.limit.unwrap_or(DEFAULT_LIMIT).to_string());
        if !filters.is_empty() {
            q.append_pair("filter", &filters.join(","));
        }
        q.finish()
    }
}

// The views borrow from Basiq's answer, so each handler writes its JSON before returning.

/// The caller's transactions.
///
/// Filtered, newest first, a page at a time: pass `nextCursor` as `cursor` for the next page.
/// A deleted connection's transactions, which Basiq keeps, are left out, so a page may be short,
/// or even empty with a `nextCursor`: follow `nextCursor` until it is `null`. Kept until the
/// user's data changes: send the `ETag` back as `If-None-Match`.
#[utoipa::path(
    get,
    operation_id = "listTransactions",
    path = "/v1/transactions",
    tag = "transactions",
    security(("appJwt" = [])),
    params(TransactionQuery, ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the answer held: `304` without a body while it is current")),
    responses(
        (status = 200, description = "A page of transactions.", body = TransactionPage, headers(
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
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = TransactionQuery::parse(raw.as_deref())?;
    let first = params.first_page();
    // The page is the filters (in one spelling, whatever the query's order) and the cursor.
    let what = What::Transactions(format!(
        "{first}#{}",
        params.cursor.as_deref().unwrap_or_default()
    ));
    answer(&state, &user.sub, what, &headers, || {
        page(&state, &user.sub, &params, first)
    })
    .await
}

/// The page `params` asks for, as JSON.
async fn page(
    state: &AppState,
    app_user_id: &str,
    params: &TransactionQuery,
    first: String,
) -> ApiResult<Bytes> {
    let empty = || {
        json_bytes(
            &TransactionPage {
                data: Vec::new(),
                next_cursor: None,
            },
            32,
        )
    };
    let Some(link) = state.user_link(app_user_id).await? else {
        return empty();
    };
    let basiq_user_id = &link.basiq_user_id;
    if !link.shows(params.connection_id.as_deref()) {
        // A deleted connection has no transactions.
        return empty();
    }
    let (query, issued_for) = match &params.cursor {
        None => (first.clone(), first),
        Some(c) => {
            let cursor = Cursor::decode(&state.cursor_key, basiq_user_id, c).ok_or_else(|| {
                ApiError::validation("cursor", "is not a cursor this API issued to you")
            })?;
            // Filters may be repeated with the cursor, but not changed.
            if params.has_filters() && cursor.first != first {
                return Err(ApiError::validation(
                    "cursor",
                    "was issued for other filters; repeat the same filters or none",
                ));
            }
            (cursor.next, cursor.first)
        }
    };
    let page = state.basiq.transactions(basiq_user_id, &query).await?;
    // Our page passes on most of Basiq's: about its size.
    let size = page.borrow_owner().body.len();
    let PageRows { rows, next_query } = page.borrow_dependent();
    // A next page that points back where paging already was would loop a client forever.
    let next_query = next_query.clone().filter(|next| {
        let loops = *next == query || *next == issued_for;
        if loops {
            tracing::warn!("Basiq's next page points back at this one; paging ends here");
        }
        !loops
    });
    let page = TransactionPage {
        // What Basiq still lists of a deleted connection is left out (Basiq's filters cannot
        // exclude it: `ne` is its institutions endpoint's only), so a page may be short, or
        // empty with a `nextCursor`.
        data: rows
            .iter()
            .filter(|t| link.shows(t.connection.map(|c| c.0.decoded()).as_deref()))
            .map(TransactionView::from)
            .collect(),
        next_cursor: next_query.map(|next| {
            Cursor {
                first: issued_for,
                next,
            }
            .encode(&state.cursor_key, basiq_user_id)
        }),
    };
    json_bytes(&page, size)
}

/// One of the caller's transactions.
#[utoipa::path(
    get,
    operation_id = "getTransaction",
    path = "/v1/transactions/{transactionId}",
    tag = "transactions",
    security(("appJwt" = [])),
    params(
        ("transactionId" = String, Path, description = "A transaction id from `GET /v1/transactions`.", pattern = r"^[A-Za-z0-9_-]{1,64}$"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the answer held: `304` without a body while it is current"),
    ),
    responses(
        (status = 200, description = "The transaction.", body = TransactionView, headers(
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
#[tracing::instrument(skip_all, fields(basiq_user_id, transaction_id = %transaction_id))]
async fn one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(transaction_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_id("transactionId", &transaction_id)?;
    let what = What::Transaction(transaction_id.clone());
    answer(&state, &user.sub, what, &headers, || async {
        let Some(link) = state.user_link(&user.sub).await? else {
            return Err(ApiError::NotFound);
        };
        let transaction = state
            .basiq
            .transaction(&link.basiq_user_id, &transaction_id)
            .await
            .map_err(ApiError::not_found_if_missing)?;
        let connection = transaction
            .borrow_dependent()
            .connection
            .map(|c| c.0.decoded());
        if !link.shows(connection.as_deref()) {
            return Err(ApiError::NotFound);
        }
        let size = transaction.borrow_owner().body.len();
        json_bytes(&TransactionView::from(transaction.borrow_dependent()), size)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> ApiResult<String> {
        let raw = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        TransactionQuery::parse(Some(&raw)).map(|q| q.first_page())
    }

    fn filter_of(query: &str) -> String {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    #[test]
    fn filters_are_built_in_basiqs_syntax() {
        let query = q(&[
            ("accountId", "a1"),
            ("status", "posted"),
            ("direction", "debit"),
            ("class", "cash-withdrawal"),
            ("from", "2026-01-01"),
            ("to", "2026-02-01"),
            ("limit", "25"),
        ])
        .unwrap();
        assert!(query.starts_with("limit=25&filter="));
        assert_eq!(
            filter_of(&query),
            "account.id.eq('a1'),transaction.status.eq('posted'),transaction.direction.eq('debit'),transaction.class.eq('cash-withdrawal'),transaction.postDate.bt('2026-01-01','2026-02-01')"
        );
        assert_eq!(
            filter_of(&q(&[("from", "2026-01-01")]).unwrap()),
            "transaction.postDate.gteq('2026-01-01')"
        );
        assert_eq!(q(&[]).unwrap(), "limit=100");
    }

    #[test]
    fn the_documented_query_is_the_one_read() {
        use utoipa::IntoParams;
        let documented: Vec<String> = TransactionQuery::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(documented, PARAMS);
    }

    #[test]
    fn each_bad_value_is_named() {
        for (field, value) in [
            ("accountId", "a')+or+('1"),
            ("connectionId", ""),
            ("status", "cleared"),
            ("direction", "up"),
            ("class", "salary"),
            ("from", "2026-13-01"),
            ("to", "yesterday"),
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "ten"),
        ] {
            let err = q(&[(field, value)]).unwrap_err();
            assert!(
                matches!(&err, ApiError::Validation { field: f, .. } if f == field),
                "{field}={value}: {err:?}"
            );
        }
        let err = q(&[("from", "2026-02-01"), ("to", "2026-01-01")]).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "from"));
    }
}
