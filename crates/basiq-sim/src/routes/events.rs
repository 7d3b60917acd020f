//! `GET /events` (the last 7 days, Basiq's `filter` on `user.id`, `event.entity`, `event.type`)
//! and `GET /events/{id}`: the details behind each webhook.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use chrono::{Duration, Utc};

use super::{Base, P, ServerAuth, query_pairs, ts};
use crate::error::{ApiError, ApiResult};
use crate::filter::{self, Field, FieldTable, Kind};
use crate::state::{Event, SimState};

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/{event_id}", get(read))
}

/// Basiq keeps events for 7 days.
const KEPT_DAYS: i64 = 7;

const FIELDS: FieldTable = &[
    (&["user.id", "event.userId"], "user.id", Kind::Text),
    (&["event.entity"], "event.entity", Kind::Text),
    (&["event.type", "event.eventType"], "event.type", Kind::Text),
];

/// Every event of the last 7 days matching the filter, oldest first.
async fn list(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let conditions = match pairs.iter().rev().find(|(k, _)| k == "filter") {
        Some((_, f)) => filter::parse(f, FIELDS).map_err(|e| ApiError::not_valid("filter", e))?,
        None => Vec::new(),
    };
    let since = Utc::now() - Duration::days(KEPT_DAYS);
    let store = sim.store();
    let mut events: Vec<&Event> = store
        .events
        .values()
        .filter(|e| e.created >= since)
        .filter(|e| {
            filter::all_match(&conditions, |field| match field {
                "user.id" => Field::Text(&e.user_id),
                "event.entity" => Field::Text(e.entity),
                _ => Field::Text(e.event_type),
            })
        })
        .collect();
    events.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    let self_link = match query.as_deref() {
        Some(q) if !q.is_empty() => format!("{base}/events?{q}"),
        _ => format!("{base}/events"),
    };
    Ok(Json(json!({
        "type": "list",
        "data": events.iter().map(|e| event_json(e, &base)).collect::<Vec<_>>(),
        "links": { "self": self_link },
    })))
}

pub fn event_json(e: &Event, base: &str) -> Value {
    json!({
        "type": "event",
        "id": e.id,
        "createdDate": ts(e.created),
        "entity": e.entity,
        "eventType": e.event_type,
        "userId": e.user_id,
        "dataRef": format!("{base}{}", e.data_ref),
        "data": e.data,
        "links": { "self": format!("{base}/events/{}", e.id) },
    })
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(event_id): P<String>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    let event = store
        .events
        .get(&event_id)
        .ok_or_else(|| ApiError::not_found(format!("events/{event_id}")))?;
    Ok(Json(event_json(event, &base)))
}
