//! `/__sim/…` control routes for tests and demos: recorded requests, faults, token expiry, and
//! triggers for events. Never part of Basiq's API; not recorded, no auth.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

mod institutions;
mod jobs;

use super::changes;
use super::routes::P;
use super::routes::connections::connection_json;
use super::routes::users::revoke;
use super::state::SimState;
use super::webhooks;

#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// The W3C trace context the caller sent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub path: String,
    pub method: Option<Method>,
    pub status: StatusCode,
    pub latency_ms: u64,
    pub rate: f64,
    pub body: Option<String>,
}

impl Fault {
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        path.contains(&self.path) && self.method.as_ref().is_none_or(|m| m == method)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultRequest {
    path: String,
    method: Option<String>,
    status: Option<u16>,
    latency_ms: Option<u64>,
    rate: Option<f64>,
    body: Option<String>,
}

pub fn router() -> Router<SimState> {
    Router::new()
        .merge(jobs::router())
        .merge(institutions::router())
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/faults", post(add_fault).delete(clear_faults))
        .route("/__sim/tokens/expire", post(expire_tokens))
        .route(
            "/__sim/users/{user_id}/connections/{connection_id}/invalidate",
            post(invalidate),
        )
        .route(
            "/__sim/users/{user_id}/consents/revoke",
            post(revoke_consents),
        )
        .route(
            "/__sim/users/{user_id}/consents/{consent_id}/expiring",
            post(expiring),
        )
        .route(
            "/__sim/users/{user_id}/consents/{consent_id}/reminder",
            post(reminder),
        )
        .route(
            "/__sim/users/{user_id}/transactions",
            post(change_transactions),
        )
}

/// Changes the user's transactions (see `changes.rs`) and sends `transactions.updated` for
/// each connection changed, as Basiq does after new data arrives.
async fn change_transactions(
    State(sim): State<SimState>,
    P(user_id): P<String>,
    body: Bytes,
) -> Response {
    let request: changes::ChangeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(format!("invalid change: {e}")),
    };
    let (applied, changed) = {
        let mut store = sim.store();
        let applied = match changes::apply(&mut store, &user_id, &request, sim.config.seed) {
            Ok(applied) => applied,
            Err(e) if e == "no such user" => {
                return (StatusCode::NOT_FOUND, Json(json!({ "error": e }))).into_response();
            }
            Err(e) => return bad(e),
        };
        let now = Utc::now();
        let changed: Vec<(String, serde_json::Value)> = applied
            .connections
            .iter()
            .map(|id| {
                let c = &store.connections[id];
                (
                    id.clone(),
                    connection_json(&store, c, &sim.public_base, now),
                )
            })
            .collect();
        (applied, changed)
    };
    for (connection, data) in changed {
        webhooks::emit(
            &sim,
            "transactions",
            "updated",
            &user_id,
            format!("/users/{user_id}/transactions?filter=connection.id.eq('{connection}')"),
            data,
        );
    }
    Json(applied).into_response()
}

/// How close to its end `POST /__sim/users/{u}/consents/{c}/expiring` moves a consent.
const EXPIRING_IN: chrono::TimeDelta = chrono::TimeDelta::days(3);

/// Moves an active consent to end in three days and sends `consent.warning`, as Basiq does
/// ahead of a consent's end.
async fn expiring(
    State(sim): State<SimState>,
    P((user_id, consent_id)): P<(String, String)>,
) -> Response {
    let now = Utc::now();
    let data = {
        let mut store = sim.store();
        let Some(consent) = store
            .consents
            .get_mut(&consent_id)
            .filter(|c| c.user_id == user_id && c.status(now) == "active")
        else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such active consent" })),
            )
                .into_response();
        };
        consent.expiry = now + EXPIRING_IN;
        consent.updated = now;
        super::routes::users::consent_json(consent, &sim.public_base, now)
    };
    webhooks::emit(
        &sim,
        "consent",
        "warning",
        &user_id,
        format!("/users/{user_id}/consents/{consent_id}"),
        data.clone(),
    );
    Json(data).into_response()
}

/// Sends `consent.reminder` for an active consent, as Basiq does when one "has been active for
/// 90 days since the last update" (reference/Core/events/index.md); the consent is unchanged.
async fn reminder(
    State(sim): State<SimState>,
    P((user_id, consent_id)): P<(String, String)>,
) -> Response {
    let now = Utc::now();
    let data = {
        let store = sim.store();
        let Some(consent) = store
            .consents
            .get(&consent_id)
            .filter(|c| c.user_id == user_id && c.status(now) == "active")
        else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such active consent" })),
            )
                .into_response();
        };
        super::routes::users::consent_json(consent, &sim.public_base, now)
    };
    webhooks::emit(
        &sim,
        "consent",
        "reminder",
        &user_id,
        format!("/users/{user_id}/consents/{consent_id}"),
        data,
    );
    StatusCode::NO_CONTENT.into_response()
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn requests(State(sim): State<SimState>) -> Json<Vec<RecordedRequest>> {
    Json(
        sim.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
    )
}

async fn clear_requests(State(sim): State<SimState>) -> StatusCode {
    sim.requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    StatusCode::NO_CONTENT
}

async fn add_fault(State(sim): State<SimState>, body: Bytes) -> Response {
    let req: FaultRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(format!("invalid fault: {e}")),
    };
    let method = match req.method.as_deref().map(str::to_ascii_uppercase) {
        None => None,
        Some(m) => match Method::from_bytes(m.as_bytes()) {
            Ok(m) => Some(m),
            Err(_) => return bad("method is not an HTTP method"),
        },
    };
    let status = match StatusCode::from_u16(req.status.unwrap_or(503)) {
        Ok(s) if s.as_u16() >= 200 => s,
        _ => return bad("status must be an HTTP status from 200 to 599"),
    };
    let rate = req.rate.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&rate) {
        return bad("rate must be from 0 to 1");
    }
    let fault = Fault {
        path: req.path,
        method,
        status,
        latency_ms: req.latency_ms.unwrap_or(0),
        rate,
        body: req.body,
    };
    sim.faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(fault);
    StatusCode::CREATED.into_response()
}

async fn clear_faults(State(sim): State<SimState>) -> StatusCode {
    sim.faults.lock().unwrap_or_else(|e| e.into_inner()).clear();
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(sim): State<SimState>) -> Json<serde_json::Value> {
    let now = Utc::now();
    let mut store = sim.store();
    for token in store.tokens.values_mut() {
        token.expires_at = token.expires_at.min(now);
    }
    Json(json!({ "expired": store.tokens.len() }))
}

async fn invalidate(
    State(sim): State<SimState>,
    P((user_id, connection_id)): P<(String, String)>,
) -> Response {
    let data = {
        let mut store = sim.store();
        let Ok(c) = store.connection(&user_id, &connection_id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such connection" })),
            )
                .into_response();
        };
        let c_id = c.id.clone();
        if let Some(c) = store.connections.get_mut(&c_id) {
            c.invalidated = true;
        }
        let c = &store.connections[&c_id];
        connection_json(&store, c, &sim.public_base, Utc::now())
    };
    webhooks::emit(
        &sim,
        "connection",
        "invalidated",
        &user_id,
        format!("/users/{user_id}/connections/{connection_id}"),
        data.clone(),
    );
    Json(data).into_response()
}

async fn revoke_consents(State(sim): State<SimState>, P(user_id): P<String>) -> Response {
    let revoked = {
        let mut store = sim.store();
        if !store.users.contains_key(&user_id) {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such user" })),
            )
                .into_response();
        }
        let ids: Vec<String> = store
            .consents
            .values()
            .filter(|c| c.user_id == user_id)
            .map(|c| c.id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| {
                revoke(&mut store, &user_id, &id, &sim.public_base)
                    .ok()
                    .flatten()
                    .map(|data| (id, data))
            })
            .collect::<Vec<_>>()
    };
    let count = revoked.len();
    for (id, data) in revoked {
        webhooks::emit(
            &sim,
            "consent",
            "revoked",
            &user_id,
            format!("/users/{user_id}/consents/{id}"),
            data,
        );
    }
    Json(json!({ "revoked": count })).into_response()
}
