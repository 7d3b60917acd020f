//! Accounts of a user's connections, with `account.id`, `connection.id` and `institution.id`
//! filters. The list and the one-account answer carry the same account: Basiq's schema for
//! both is `AccountResponseResource`, identity, rates and `meta` included.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::products::terms;
use super::{Base, P, ServerAuth, query_param, ts};
use crate::data::{Account, money};
use crate::error::{ApiError, ApiResult};
use crate::filter::{self, Field, FieldTable, Kind};
use crate::state::{Connection, SimState, Store};

const FIELDS: FieldTable = &[
    (&["account.id"], "account.id", Kind::Text),
    (&["connection.id"], "connection.id", Kind::Text),
    (&["institution.id"], "institution.id", Kind::Text),
];

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/users/{user_id}/accounts", get(list))
        .route("/users/{user_id}/accounts/{account_id}", get(read))
}

/// Accounts whose data is visible at `now`, with their connection.
fn visible<'s>(
    store: &'s Store,
    user_id: &str,
    now: DateTime<Utc>,
) -> impl Iterator<Item = (&'s Connection, &'s Account)> {
    store
        .user_data_connections(user_id)
        .into_iter()
        .filter(move |c| c.accounts_at.is_some_and(|t| t <= now))
        .flat_map(|c| c.data.accounts.iter().map(move |a| (c, a)))
}

fn account_json(
    store: &Store,
    c: &Connection,
    a: &Account,
    base: &str,
    now: DateTime<Utc>,
) -> Value {
    let u = &c.user_id;
    // "As returned by the institution; no formatting is applied": banks write it in capitals.
    let holder = c.data.profile.full_name().to_uppercase();
    let terms = terms(a, &c.data, &holder);
    let mut v = json!({
        "type": "account",
        "id": a.id,
        "name": a.name,
        "accountNo": a.account_no,
        "maskedNumber": a.masked_number,
        "accountHolder": holder,
        "isOwned": true,
        "accountOwnership": "ONE_PARTY",
        "creationDate": a.opened.to_string(),
        "balance": money(a.balance_cents),
        "availableFunds": money(a.available_cents),
        "creditLimit": a.credit_limit_cents.map(money),
        "currency": "AUD",
        "class": { "type": a.class, "product": a.product },
        "connection": c.id,
        "institution": c.institution.id,
        "lastUpdated": ts(store.last_used(c, now)),
        "status": if c.deleted { "unavailable" } else { "available" },
        "meta": terms.meta,
        "transactionIntervals": [{ "from": a.from.to_string(), "to": a.to.to_string() }],
        "links": {
            "self": format!("{base}/users/{u}/accounts/{}", a.id),
            "transactions": format!("{base}/users/{u}/transactions?filter=account.id.eq('{}')", a.id),
            "connection": format!("{base}/users/{u}/connections/{}", c.id),
            "institution": format!("{base}/institutions/{}", c.institution.id),
        },
    });
    // Optional strings in Basiq's schema, absent where they do not apply: a card has no BSB
    // and its number is a PAN, never sent unmasked.
    if let Some((bsb, number)) = &a.bsb_number {
        v["bsb"] = json!(bsb);
        v["unmaskedAccNum"] = json!(number);
    }
    if let Some(rate) = terms.deposit_rate {
        v["depositRate"] = json!(rate);
    }
    if let Some(rate) = terms.lending_rate {
        v["lendingRate"] = json!(rate);
    }
    v
}

async fn list(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let conditions = match query_param(query.as_deref(), "filter") {
        Some(f) => filter::parse(&f, FIELDS).map_err(|e| ApiError::not_valid("filter", e))?,
        None => Vec::new(),
    };
    let store = sim.store();
    store.user(&user_id)?;
    let now = Utc::now();
    let data: Vec<Value> = visible(&store, &user_id, now)
        .filter(|(c, a)| {
            filter::all_match(&conditions, |field| match field {
                "account.id" => Field::Text(&a.id),
                "connection.id" => Field::Text(&c.id),
                _ => Field::Text(c.institution.id),
            })
        })
        .map(|(c, a)| account_json(&store, c, a, &base, now))
        .collect();
    let self_link = match &query {
        Some(q) => format!("{base}/users/{user_id}/accounts?{q}"),
        None => format!("{base}/users/{user_id}/accounts"),
    };
    Ok(Json(
        json!({ "type": "list", "data": data, "links": { "self": self_link } }),
    ))
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P((user_id, account_id)): P<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    store.user(&user_id)?;
    let now = Utc::now();
    let (c, a) = visible(&store, &user_id, now)
        .find(|(_, a)| a.id == account_id)
        .ok_or_else(|| ApiError::not_found(format!("users/{user_id}/accounts/{account_id}")))?;
    Ok(Json(account_json(&store, c, a, &base, now)))
}
