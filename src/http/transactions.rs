//! `GET /v1/transactions`: validated filters built into Basiq's `filter` syntax, and an opaque,
//! signed cursor (never a URL) for the next page.

use axum::{
    Router,
    extract::{RawQuery, State},
    response::Response,
    routing::get,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::NaiveDate;

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult},
    http::{
        docs,
        extract::{check_id, query_params},
        json_body,
    },
    state::AppState,
};

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;
const PARAMS: &[&str] = &[
    "accountId",
    "connectionId",
    "institutionId",
    "status",
    "direction",
    "from",
    "to",
    "limit",
    "cursor",
];

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/transactions", get(list))
}

/// A transaction; money is a decimal string, exactly as Basiq gives it.
///
/// Documents the answer, which [`crate::basiq::pick`] writes straight from Basiq's (the tests
/// check the two agree).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    pub id: String,
    /// `pending` or `posted`.
    pub status: Option<String>,
    pub description: Option<String>,
    /// Decimal string; negative is money out.
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub account_id: Option<String>,
    pub balance: Option<String>,
    /// `debit` or `credit`.
    pub direction: Option<String>,
    /// Basiq's class, e.g. `payment`, `transfer`, `cash-withdrawal`.
    pub class: Option<String>,
    /// Basiq's sub-class title, when it has one.
    pub sub_class: Option<String>,
    pub connection_id: Option<String>,
    pub institution_id: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`, as Basiq gives it.
    pub transaction_date: Option<String>,
    /// `null` while pending.
    pub post_date: Option<String>,
}

#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage {
    pub data: Vec<TransactionView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The query of `GET /v1/transactions`, as documented. `list` reads it by hand (see
/// `query_params`) so that unknown or repeated parameters are refused and each error names its
/// parameter; the tests check the two agree.
#[derive(utoipa::IntoParams)]
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
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    Pending,
    Posted,
}

/// `debit` (money out) or `credit` (money in).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Debit,
    Credit,
}

fn date(field: &str, value: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .ok_or_else(|| ApiError::validation(field, "must be a date as YYYY-MM-DD"))
}

fn one_of<'a>(field: &str, value: &'a str, allowed: &[&str]) -> ApiResult<&'a str> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::validation(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

/// The first-page query for Basiq, from validated values only.
pub fn first_page_query(params: &std::collections::HashMap<String, String>) -> ApiResult<String> {
    let mut filters = Vec::new();
    for (param, field) in [
        ("accountId", "account.id"),
        ("connectionId", "connection.id"),
        ("institutionId", "institution.id"),
    ] {
        if let Some(v) = params.get(param) {
            filters.push(format!("{field}.eq('{}')", check_id(param, v)?));
        }
    }
    if let Some(v) = params.get("status") {
        let v = one_of("status", v, &["pending", "posted"])?;
        filters.push(format!("transaction.status.eq('{v}')"));
    }
    if let Some(v) = params.get("direction") {
        let v = one_of("direction", v, &["debit", "credit"])?;
        filters.push(format!("transaction.direction.eq('{v}')"));
    }
    let from = params.get("from").map(|v| date("from", v)).transpose()?;
    let to = params.get("to").map(|v| date("to", v)).transpose()?;
    match (from, to) {
        (Some(f), Some(t)) if f > t => {
            return Err(ApiError::validation("from", "must not be after to"));
        }
        (Some(f), Some(t)) => filters.push(format!("transaction.postDate.bt('{f}','{t}')")),
        (Some(f), None) => filters.push(format!("transaction.postDate.gteq('{f}')")),
        (None, Some(t)) => filters.push(format!("transaction.postDate.lteq('{t}')")),
        (None, None) => {}
    }
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::validation(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("limit", &limit.to_string());
    if !filters.is_empty() {
        q.append_pair("filter", &filters.join(","));
    }
    Ok(q.finish())
}

/// `<payload>.<mac>`: the payload holds the first-page query and Basiq's next-page query; the MAC
/// binds both to the Basiq user, so a cursor cannot be forged, edited or used by someone else.
fn encode_cursor(state: &AppState, user: &str, first: &str, next: &str) -> String {
    let payload = serde_json::json!({ "f": first, "n": next }).to_string();
    let tag = state
        .cursor_key
        .sign(&[b"cursor-v1", user.as_bytes(), payload.as_bytes()]);
    format!("{}.{}", B64.encode(payload), B64.encode(tag))
}

fn decode_cursor(state: &AppState, user: &str, cursor: &str) -> ApiResult<(String, String)> {
    let invalid = || ApiError::validation("cursor", "is not a cursor this API issued to you");
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = B64.decode(payload).map_err(|_| invalid())?;
    let tag = B64.decode(tag).map_err(|_| invalid())?;
    if !state
        .cursor_key
        .verify(&[b"cursor-v1", user.as_bytes(), &payload], &tag)
    {
        return Err(invalid());
    }
    let value: serde_json::Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    match (value["f"].as_str(), value["n"].as_str()) {
        (Some(f), Some(n)) => Ok((f.to_owned(), n.to_owned())),
        _ => Err(invalid()),
    }
}

/// The caller's transactions.
///
/// Filtered, newest first, a page at a time: pass `nextCursor` as `cursor` for the next page.
#[utoipa::path(
    get,
    operation_id = "listTransactions",
    path = "/v1/transactions",
    tag = "transactions",
    security(("appJwt" = [])),
    params(TransactionQuery),
    responses(
        (status = 200, description = "A page of transactions.", body = TransactionPage),
        (status = 400, response = docs::BadRequest),
        (status = 404, response = docs::NotFound),
        docs::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut params = query_params(raw.as_deref(), PARAMS)?;
    let cursor = params.remove("cursor");
    if cursor.as_ref().is_some_and(|c| c.len() > 4096) {
        return Err(ApiError::validation("cursor", "is too long"));
    }
    let first = first_page_query(&params)?;
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(json_body(br#"{"data":[],"nextCursor":null}"#.to_vec()));
    };
    let (query, issued_for) = match cursor {
        None => (first.clone(), first),
        Some(c) => {
            let (issued_for, next) = decode_cursor(&state, &basiq_user_id, &c)?;
            // Filters may be repeated with the cursor, but not changed.
            if !params.is_empty() && issued_for != first {
                return Err(ApiError::validation(
                    "cursor",
                    "was issued for other filters; repeat the same filters or none",
                ));
            }
            (next, issued_for)
        }
    };
    let raw = state.basiq.transactions(&basiq_user_id, &query).await?;
    let (mut body, next_query) = raw.page_json()?;
    // A next page that points back where paging already was would loop a client forever.
    let next_query = next_query.filter(|next| {
        let loops = *next == query || *next == issued_for;
        if loops {
            tracing::warn!("Basiq's next page points back at this one; paging ends here");
        }
        !loops
    });
    body.extend_from_slice(b",\"nextCursor\":");
    match next_query {
        // Base64url and a dot: nothing to escape.
        Some(next) => {
            let cursor = encode_cursor(&state, &basiq_user_id, &issued_for, &next);
            body.push(b'"');
            body.extend_from_slice(cursor.as_bytes());
            body.push(b'"');
        }
        None => body.extend_from_slice(b"null"),
    }
    body.push(b'}');
    Ok(json_body(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn q(pairs: &[(&str, &str)]) -> ApiResult<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        first_page_query(&map)
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
            ("from", "2026-01-01"),
            ("to", "2026-02-01"),
            ("limit", "25"),
        ])
        .unwrap();
        assert!(query.starts_with("limit=25&filter="));
        assert_eq!(
            filter_of(&query),
            "account.id.eq('a1'),transaction.status.eq('posted'),transaction.direction.eq('debit'),transaction.postDate.bt('2026-01-01','2026-02-01')"
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
