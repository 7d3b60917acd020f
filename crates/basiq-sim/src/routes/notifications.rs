//! The application's webhooks, the messages sent to them, and test messages (webhooks.json;
//! docs/PLatform/webhooks). `limit` and `filter` on the message list are accepted and ignored.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Base, P, ServerAuth, ts};
use crate::error::{ApiError, ApiResult};
use crate::state::SimState;
use crate::subscriptions::{EVENT_TYPES, Message, Webhook};
use crate::webhooks;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/notifications/webhooks", get(list).post(create))
        .route(
            "/notifications/webhooks/{webhook_id}",
            get(read).post(update).delete(remove),
        )
        .route(
            "/notifications/webhooks/{webhook_id}/messages",
            get(messages),
        )
        .route(
            "/notifications/webhooks/{webhook_id}/messages/{message_id}",
            get(message),
        )
        .route("/notifications/messages/test", post(test_message))
}

/// The secret is shown when the webhook is made (and, as webhooks.json's example has it, when
/// it is updated), never when it is read.
fn webhook_json(w: &Webhook, base: &str, with_secret: bool) -> Value {
    let mut v = json!({
        "type": "webhook",
        "id": w.id,
        "name": w.name,
        "description": w.description,
        "url": w.url,
        "status": "active",
        "subscribedEvents": w.events,
        "links": { "self": format!("{base}/notifications/webhooks/{}", w.id) },
    });
    if with_secret {
        v["secret"] = json!(w.secret);
    }
    v
}

fn message_json(m: &Message, base: &str) -> Value {
    let webhook = format!("{base}/notifications/webhooks/{}", m.webhook_id);
    json!({
        "id": m.id,
        "webhookId": m.webhook_id,
        "eventTypeId": m.event_type_id,
        "eventId": m.event_id,
        "payload": m.payload,
        "attempts": m.attempts.iter().map(|t| ts(*t)).collect::<Vec<_>>(),
        "links": {
            "self": format!("{webhook}/messages/{}", m.id),
            "webhook": webhook,
            "event": m.payload["links"]["event"],
        },
    })
}

/// A create or update body: `url` required, the rest kept as they are when absent.
struct Changes {
    name: Option<String>,
    description: Option<String>,
    url: String,
    events: Option<Vec<String>>,
}

const NOT_VALID: &str = "Posted request not valid.";

fn changes(body: &[u8]) -> ApiResult<Changes> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::webhook_content("/", NOT_VALID));
    };
    let text = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::webhook_content(&format!("/{name}"), NOT_VALID)),
    };
    let (name, description) = (text("name")?, text("description")?);
    let url = text("url")?
        .filter(|u| {
            url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        })
        .ok_or_else(|| ApiError::webhook_content("/url", NOT_VALID))?;
    // webhooks.json's example sends a bare string.
    let events = match body.get("subscribedEvents") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(vec![e.clone()]),
        Some(Value::Array(list)) => Some(
            list.iter()
                .map(|e| e.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ApiError::webhook_content("/subscribedEvents", NOT_VALID))?,
        ),
        Some(_) => return Err(ApiError::webhook_content("/subscribedEvents", NOT_VALID)),
    };
    if let Some(events) = &events
        && events.iter().any(|e| !EVENT_TYPES.contains(&e.as_str()))
    {
        return Err(ApiError::webhook_content(
            "/subscribedEvents",
            "Posted subscribedEvents contains unsupported event types.",
        ));
    }
    let events = events.map(|list| {
        let mut once: Vec<String> = Vec::with_capacity(list.len());
        for e in list {
            if !once.contains(&e) {
                once.push(e);
            }
        }
        once
    });
    Ok(Changes {
        name,
        description,
        url,
        events,
    })
}

/// The path's webhook id, which Basiq requires to be a UUID.
fn webhook_id(id: &str) -> ApiResult<()> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| ApiError::webhook_id_not_valid())
}

/// A new `whsec_` secret: 32 random bytes.
fn new_secret() -> String {
    format!("whsec_{}", STANDARD.encode(rand::random::<[u8; 32]>()))
}

async fn create(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    body: Bytes,
) -> ApiResult<Response> {
    let changes = changes(&body)?;
    let mut store = sim.store();
    let registry = &mut store.subscriptions;
    if registry.url_taken(&changes.url, None) {
        return Err(ApiError::webhook_url_taken());
    }
    let events = changes.events.unwrap_or_default();
    if registry.events_taken(&events, None) {
        return Err(ApiError::events_already_subscribed());
    }
    let webhook = Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        name: changes.name.unwrap_or_default(),
        description: changes.description.unwrap_or_default(),
        url: changes.url,
        secret: new_secret(),
        events,
    };
    let json = webhook_json(&webhook, &base, true);
    registry.webhooks.push(webhook);
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

async fn list(_: ServerAuth, State(sim): State<SimState>, Base(base): Base) -> Json<Value> {
    let store = sim.store();
    let data: Vec<Value> = store
        .subscriptions
        .webhooks
        .iter()
        .map(|w| webhook_json(w, &base, false))
        .collect();
    Json(json!({
        "type": "list",
        "count": data.len(),
        "size": data.len(),
        "data": data,
        "links": { "self": format!("{base}/notifications/webhooks") },
    }))
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    webhook_id(&id)?;
    let store = sim.store();
    let webhook = store
        .subscriptions
        .webhook(&id)
        .ok_or_else(ApiError::webhook_not_found)?;
    Ok(Json(webhook_json(webhook, &base, false)))
}

async fn update(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(id): P<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    webhook_id(&id)?;
    let mut store = sim.store();
    let registry = &mut store.subscriptions;
    registry
        .webhook(&id)
        .ok_or_else(ApiError::webhook_not_found)?;
    let changes = changes(&body)?;
    if registry.url_taken(&changes.url, Some(&id)) {
        return Err(ApiError::webhook_url_taken());
    }
    if let Some(events) = &changes.events
        && registry.events_taken(events, Some(&id))
    {
        return Err(ApiError::events_already_subscribed());
    }
    let webhook = registry
        .webhook_mut(&id)
        .ok_or_else(ApiError::webhook_not_found)?;
    webhook.url = changes.url;
    if let Some(name) = changes.name {
        webhook.name = name;
    }
    if let Some(description) = changes.description {
        webhook.description = description;
    }
    if let Some(events) = changes.events {
        webhook.events = events;
    }
    Ok(Json(webhook_json(webhook, &base, true)))
}

async fn remove(
    _: ServerAuth,
    State(sim): State<SimState>,
    P(id): P<String>,
) -> ApiResult<StatusCode> {
    webhook_id(&id)?;
    if !sim.store().subscriptions.remove(&id) {
        return Err(ApiError::webhook_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn messages(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    webhook_id(&id)?;
    let store = sim.store();
    store
        .subscriptions
        .webhook(&id)
        .ok_or_else(ApiError::webhook_not_found)?;
    let data: Vec<Value> = store
        .subscriptions
        .messages
        .iter()
        .filter(|m| m.webhook_id == id)
        .map(|m| message_json(m, &base))
        .collect();
    Ok(Json(json!({
        "type": "list",
        "count": data.len(),
        "size": data.len(),
        "data": data,
        "links": { "self": format!("{base}/notifications/webhooks/{id}/messages") },
    })))
}

async fn message(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P((id, message_id)): P<(String, String)>,
) -> ApiResult<Json<Value>> {
    webhook_id(&id)?;
    let store = sim.store();
    store
        .subscriptions
        .webhook(&id)
        .ok_or_else(ApiError::webhook_not_found)?;
    let message = store
        .subscriptions
        .messages
        .iter()
        .find(|m| m.webhook_id == id && m.id == message_id)
        .ok_or_else(ApiError::message_not_found)?;
    Ok(Json(message_json(message, &base)))
}

/// Sends a test message of `eventTypeId` to every webhook subscribed to it. `Text` ("supplied
/// and replayed back") is accepted and not sent: the message has the shape of any other.
async fn test_message(
    _: ServerAuth,
    State(sim): State<SimState>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return Err(ApiError::webhook_content("/", NOT_VALID));
    };
    if body
        .get("Text")
        .is_some_and(|t| !t.is_string() && !t.is_null())
    {
        return Err(ApiError::webhook_content("/Text", NOT_VALID));
    }
    let Some(type_id) = body.get("eventTypeId").and_then(Value::as_str) else {
        return Err(ApiError::webhook_content("/eventTypeId", NOT_VALID));
    };
    if !EVENT_TYPES.contains(&type_id) {
        return Err(ApiError::webhook_content(
            "/eventTypeId",
            "Posted eventTypeId doesn't exists.",
        ));
    }
    if webhooks::send_test(&sim, type_id) == 0 {
        return Err(ApiError::no_webhooks_found(type_id));
    }
    Ok(StatusCode::CREATED)
}
