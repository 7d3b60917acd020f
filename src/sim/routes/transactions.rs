//! Transactions: Basiq's filters, `limit` 1–500 and cursor paging through `links.next`.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use super::{Base, P, ServerAuth, query_pairs};
use crate::sim::data::{Transaction, money, sort_key};
use crate::sim::error::{ApiError, ApiResult};
use crate::sim::filter::{self, Field, FieldTable, Kind};
use crate::sim::state::{Connection, SimState, Store};

const FIELDS: FieldTable = &[
    (&["account.id"], "account.id", Kind::Text),
    (&["connection.id"], "connection.id", Kind::Text),
    (&["institution.id"], "institution.id", Kind::Text),
    (
        &["transaction.postDate"],
        "transaction.postDate",
        Kind::Date,
    ),
    (
        &["transaction.status"],
        "transaction.status",
        Kind::OneOf(&["pending", "posted"]),
    ),
    (
        &["transaction.direction"],
        "transaction.direction",
        Kind::OneOf(&["debit", "credit"]),
    ),
    (&["transaction.class"], "transaction.class", Kind::Text),
];

pub const MAX_LIMIT: usize = 500;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/users/{user_id}/transactions", get(list))
        .route("/users/{user_id}/transactions/{transaction_id}", get(read))
}

/// Transactions visible at `now`, with their connection.
fn visible<'s>(store: &'s Store, user_id: &str) -> Vec<(&'s Connection, &'s Transaction)> {
    let now = Utc::now();
    store
        .user_data_connections(user_id)
        .into_iter()
        .filter(|c| c.transactions_at.is_some_and(|t| t <= now))
        .flat_map(|c| c.data.transactions.iter().map(move |t| (c, t)))
        .collect()
}

fn date(d: NaiveDate) -> String {
    format!("{d}T00:00:00Z")
}

fn transaction_json(c: &Connection, t: &Transaction, base: &str) -> Value {
    let u = &c.user_id;
    let account = &c.data.accounts[t.account].id;
    let merchant = t.merchant.map(|m| {
        json!({
            "id": format!("sim-{}", m.abn),
            "businessName": m.name,
            "ABN": m.abn,
            "website": format!("https://www.{}", m.website),
            "logoMaster": format!("https://logo.sim.basiq.io/{}.png", m.website),
            "logoThumb": format!("https://logo.sim.basiq.io/thumb/{}.png", m.website),
        })
    });
    json!({
        "type": "transaction",
        "id": t.id,
        "status": t.status(),
        "description": t.description,
        "reference": t.reference,
        "amount": money(t.amount_cents),
        "currency": "AUD",
        "account": account,
        "balance": if t.pending { String::new() } else { money(t.balance_cents) },
        "direction": t.direction(),
        "class": t.class,
        "subClass": { "code": t.sub_class.0, "title": t.sub_class.1 },
        "institution": c.institution.id,
        "connection": c.id,
        "transactionDate": date(t.transaction_date),
        "postDate": t.post_date.map(date),
        "enrich": {
            "cleanDescription": t.merchant.map_or(t.description.as_str(), |m| m.name),
            "tags": [],
            "category": null,
            "location": null,
            "merchant": merchant,
        },
        "links": {
            "self": format!("{base}/users/{u}/transactions/{}", t.id),
            "account": format!("{base}/users/{u}/accounts/{account}"),
            "connection": format!("{base}/users/{u}/connections/{}", c.id),
            "institution": format!("{base}/institutions/{}", c.institution.id),
        },
    })
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sim1:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("sim1:")?
        .parse()
        .ok()
}

async fn list(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let param = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let limit = match param("limit") {
        None => MAX_LIMIT,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::not_valid(
                    "limit",
                    "limit must be a whole number from 1 to 500",
                ));
            }
        },
    };
    let filter_text = param("filter");
    let conditions = match &filter_text {
        Some(f) => filter::parse(f, FIELDS).map_err(|e| ApiError::not_valid("filter", e))?,
        None => Vec::new(),
    };
    let offset = match param("next") {
        None => 0,
        Some(c) => decode_cursor(&c)
            .ok_or_else(|| ApiError::not_valid("next", "next is not a valid cursor"))?,
    };

    let store = sim.store();
    store.user(&user_id)?;
    let mut matching: Vec<(&Connection, &Transaction)> = visible(&store, &user_id)
        .into_iter()
        .filter(|(c, t)| {
            filter::all_match(&conditions, |field| match field {
                "account.id" => Field::Text(&c.data.accounts[t.account].id),
                "connection.id" => Field::Text(&c.id),
                "institution.id" => Field::Text(c.institution.id),
                "transaction.postDate" => Field::Date(t.post_date),
                "transaction.status" => Field::Text(t.status()),
                "transaction.direction" => Field::Text(t.direction()),
                _ => Field::Text(t.class),
            })
        })
        .collect();
    matching.sort_by(|(_, a), (_, b)| sort_key(b).cmp(&sort_key(a)).then_with(|| a.id.cmp(&b.id)));
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(c, t)| transaction_json(c, t, &base))
        .collect();

    let mut next_query = form_urlencoded::Serializer::new(String::new());
    next_query.append_pair("limit", &limit.to_string());
    if let Some(f) = &filter_text {
        next_query.append_pair("filter", f);
    }
    let self_link = match &query {
        Some(q) => format!("{base}/users/{user_id}/transactions?{q}"),
        None => format!("{base}/users/{user_id}/transactions"),
    };
    let mut links = json!({ "self": self_link });
    if offset + limit < total {
        next_query.append_pair("next", &encode_cursor(offset + limit));
        links["next"] = json!(format!(
            "{base}/users/{user_id}/transactions?{}",
            next_query.finish()
        ));
    }
    Ok(Json(json!({
        "type": "list",
        "count": page.len(),
        "size": total,
        "data": page,
        "links": links,
    })))
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P((user_id, transaction_id)): P<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    store.user(&user_id)?;
    let (c, t) = visible(&store, &user_id)
        .into_iter()
        .find(|(_, t)| t.id == transaction_id)
        .ok_or_else(|| {
            ApiError::not_found(format!("users/{user_id}/transactions/{transaction_id}"))
        })?;
    Ok(Json(transaction_json(c, t, &base)))
}
