//! Transactions: Basiq's filters, `limit` 1–500 and cursor paging through `links.next`.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use super::{Base, P, ServerAuth, query_pairs};
use crate::data::{
    Category, Code, Enrich, Merchant, PaymentDetails, Rng, Shop, Transaction, mix, money, sort_key,
};
use crate::error::{ApiError, ApiResult};
use crate::filter::{self, Field, FieldTable, Kind};
use crate::state::{Connection, SimState, Store};

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
    let (code, title) = t.sub_class.unwrap_or(("", ""));
    let mut v = json!({
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
        "subClass": { "code": code, "title": title },
        "institution": c.institution.id,
        "connection": c.id,
        "transactionDate": date(t.transaction_date),
        "postDate": t.post_date.map(date),
        "enrich": enrich_json(&t.enrich),
        "links": {
            "self": format!("{base}/users/{u}/transactions/{}", t.id),
            "account": format!("{base}/users/{u}/accounts/{account}"),
            "connection": format!("{base}/users/{u}/connections/{}", c.id),
            "institution": format!("{base}/institutions/{}", c.institution.id),
        },
    });
    // Basiq's schema types it as an object, not nullable: rows without any leave it out.
    if let Some(details) = &t.payment_details {
        v["paymentDetails"] = match details {
            PaymentDetails::Bpay {
                biller_code,
                biller_name,
                crn,
            } => json!({
                "bpay": { "billerCode": biller_code, "billerName": biller_name, "crn": crn },
            }),
            PaymentDetails::Apca(number) => json!({ "apcaNumber": number }),
        };
    }
    v
}

/// Basiq's `enrich`: `merchant`, `category` and `location` are null where unknown.
fn enrich_json(e: &Enrich) -> Value {
    json!({
        "cleanDescription": e.clean_description,
        "tags": e.tags,
        "merchant": e.merchant.map(|m| merchant_json(m, e.location)),
        "category": e.category.as_ref().map(category_json),
        "location": e.location.map(location_json),
    })
}

fn merchant_json(m: &Merchant, shop: Option<&Shop>) -> Value {
    // Basiq's merchant ids are global, the same in every user's data: derived from the name.
    let id = Rng::new(mix(0, &[b"merchant", m.name.as_bytes()])).uuid();
    let mut v = json!({
        "id": id,
        "businessName": m.name,
        "ABN": m.abn,
        "website": format!("https://www.{}", m.domain),
        "logoMaster": format!("https://logo.sim.basiq.io/{}-master.png", m.domain),
        "logoThumb": format!("https://logo.sim.basiq.io/{}-thumb.png", m.domain),
    });
    // The phone is the shop's, so it is known only where the shop is.
    if let Some(s) = shop {
        let area = s.area_code();
        v["phoneNumber"] = json!({
            "local": format!("(0{area}) {}", s.phone),
            "international": format!("+61 {area} {}", s.phone),
        });
    }
    v
}

fn category_json(c: &Category) -> Value {
    let code = |(code, title): Code| json!({ "code": code, "title": title });
    let a = c.anzsic;
    let mut v = json!({
        "matchType": c.match_type,
        "matchScore": c.match_score(),
        "anzsic": {
            "division": code(a.division),
            "subdivision": code(a.subdivision),
            "group": code(a.group),
            "class": code(a.class),
            // Basiq's sixth level extends the class code by two digits (its example: 4511
            // "Cafes and Restaurants" is subclass 451100 of the same title).
            "subclass": { "code": format!("{}00", a.class.0), "title": a.class.1 },
        },
    });
    // Card networks supply the MCC; bills paid by BPAY or direct debit have none.
    if let Some(mcc) = c.mcc {
        v["mcc"] = code(mcc);
    }
    v
}

fn location_json(s: &Shop) -> Value {
    json!({
        "formattedAddress": format!(
            "{} {}, {} {} {}",
            s.route_no, s.route, s.suburb, s.state, s.postcode
        ),
        "routeNo": s.route_no,
        "route": s.route,
        "suburb": s.suburb,
        "state": s.state,
        "postalCode": s.postcode,
        "country": "Australia",
        "geometry": { "lat": s.lat, "lng": s.lng },
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
) -> ApiResult<Response> {
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
    let now = Utc::now();
    let connections: Vec<&Connection> = store
        .user_data_connections(&user_id)
        .into_iter()
        .filter(|c| c.transactions_at.is_some_and(|t| t <= now))
        .collect();
    // (connection, index into its transactions), newest first.
    let mut matching: Vec<(usize, usize)> = Vec::new();
    for (ci, c) in connections.iter().enumerate() {
        for (ti, t) in c.data.transactions.iter().enumerate() {
            let keep = filter::all_match(&conditions, |field| match field {
                "account.id" => Field::Text(&c.data.accounts[t.account].id),
                "connection.id" => Field::Text(&c.id),
                "institution.id" => Field::Text(c.institution.id),
                "transaction.postDate" => Field::Date(t.post_date),
                "transaction.status" => Field::Text(t.status()),
                "transaction.direction" => Field::Text(t.direction()),
                _ => Field::Text(t.class),
            });
            if keep {
                matching.push((ci, ti));
            }
        }
    }
    if connections.len() > 1 {
        let tx = |&(ci, ti): &(usize, usize)| &connections[ci].data.transactions[ti];
        matching.sort_by(|a, b| {
            let (a, b) = (tx(a), tx(b));
            sort_key(b).cmp(&sort_key(a)).then_with(|| a.id.cmp(&b.id))
        });
    }
    let total = matching.len();
    let rendered: Vec<_> = connections
        .iter()
        .map(|c| c.rendered_transactions(&base, |t| transaction_json(c, t, &base).to_string()))
        .collect();
    let page: Vec<&str> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&(ci, ti)| rendered[ci][ti].as_str())
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
    // The page is spliced from pre-rendered transactions rather than built as a `Value`.
    let body = format!(
        "{{\"type\":\"list\",\"count\":{},\"size\":{total},\"data\":[{}],\"links\":{links}}}",
        page.len(),
        page.join(",")
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
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
