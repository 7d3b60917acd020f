//! The sandbox institutions, as v3 connectors and in the older `/institutions` shape, each with
//! the status it reports now (the control route can change it).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{Base, P, ServerAuth};
use crate::error::{ApiError, ApiResult};
use crate::institutions::{INSTITUTIONS, Institution, find};
use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/connectors", get(list_connectors))
        .route("/connectors/{connector_id}/{method}", get(read_connector))
        .route("/institutions", get(list_institutions))
        .route("/institutions/{institution_id}", get(read_institution))
}

/// What `stats` reports each step takes (the default `BASIQ_SIM_JOB_STEP_MS`).
const AVERAGE_STEP_MS: i64 = 500;

fn logo(i: &Institution, base: &str) -> Value {
    json!({
        "type": "image",
        "colors": { "primary": "#0063E6" },
        "links": {
            "full": format!("{base}/logos/{}-full.svg", i.id),
            "square": format!("{base}/logos/{}-square.svg", i.id),
        },
    })
}

fn connector_json(i: &Institution, status: &str, base: &str) -> Value {
    json!({
        "type": "connector",
        "id": i.id,
        "method": i.method,
        "stage": "live",
        "status": status,
        "scopes": ["account.basic", "transaction.detail"],
        "institution": {
            "type": "Test Bank",
            "name": i.name,
            "shortName": i.short_name,
            "tier": i.tier,
            "country": "Australia",
            "logo": logo(i, base),
        },
        "authorization": {
            "type": i.mfa.authorization(),
            "meta": {
                "login_id_caption": "Login",
                "password_caption": "Password",
                "forgotten_password_url": "https://www.hooli.xyz/forgot",
            },
        },
        "stats": {
            "averageDurationMs": {
                "verifyCredentials": AVERAGE_STEP_MS,
                "retrieveAccounts": AVERAGE_STEP_MS,
                "retrieveTransactions": AVERAGE_STEP_MS,
                "retrieveMeta": 0,
                "total": 3 * AVERAGE_STEP_MS,
            },
        },
        "links": { "self": format!("{base}/connectors/{}/{}", i.id, i.method) },
    })
}

fn institution_json(i: &Institution, status: &str, base: &str) -> Value {
    json!({
        "type": "institution",
        "id": i.id,
        "name": i.name,
        "shortName": i.short_name,
        "institutionType": "Test Bank",
        "country": "Australia",
        "serviceName": i.name,
        "serviceType": "Test",
        "loginIdCaption": "Login",
        "passwordCaption": "Password",
        "tier": i.tier,
        "authorization": i.mfa.authorization(),
        "method": i.method,
        "stage": "live",
        "status": status,
        "logo": logo(i, base),
        "links": { "self": format!("{base}/institutions/{}", i.id) },
    })
}

/// Every institution with the status it reports now.
fn with_statuses(sim: &SimState) -> Vec<(&'static Institution, &'static str)> {
    let store = sim.store();
    INSTITUTIONS
        .iter()
        .map(|i| (i, store.institution_status(i)))
        .collect()
}

async fn list_connectors(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
) -> Json<Value> {
    let data: Vec<Value> = with_statuses(&sim)
        .into_iter()
        .map(|(i, status)| connector_json(i, status, &base))
        .collect();
    Json(json!({
        "type": "list",
        "totalCount": data.len(),
        "data": data,
        "links": { "self": format!("{base}/connectors") },
    }))
}

async fn read_connector(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P((id, method)): P<(String, String)>,
) -> ApiResult<Json<Value>> {
    let i = find(&id)
        .filter(|i| i.method == method)
        .ok_or_else(|| ApiError::not_found(format!("connectors/{id}/{method}")))?;
    let status = sim.store().institution_status(i);
    Ok(Json(connector_json(i, status, &base)))
}

async fn list_institutions(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
) -> Json<Value> {
    let data: Vec<Value> = with_statuses(&sim)
        .into_iter()
        .map(|(i, status)| institution_json(i, status, &base))
        .collect();
    Json(json!({
        "type": "list",
        "totalCount": data.len(),
        "data": data,
        "links": { "self": format!("{base}/institutions") },
    }))
}

async fn read_institution(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(id): P<String>,
) -> ApiResult<Json<Value>> {
    let i = find(&id).ok_or_else(|| ApiError::not_found(format!("institutions/{id}")))?;
    let status = sim.store().institution_status(i);
    Ok(Json(institution_json(i, status, &base)))
}
