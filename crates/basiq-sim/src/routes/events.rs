//! `GET /events/{id}`: the details behind each webhook.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{Base, P, ServerAuth, ts};
use crate::error::{ApiError, ApiResult};
use crate::state::{Event, SimState};

pub fn router() -> Router<SimState> {
    Router::new().route("/events/{event_id}", get(read))
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
