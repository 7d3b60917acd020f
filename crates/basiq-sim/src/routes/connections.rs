//! Connections: list (with filters), get (with the holder's `profile`), delete, refresh one or
//! all, purge.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::jobs::job_stub;
use super::{Base, P, ServerAuth, query_param, ts};
use crate::data::{Profile, money};
use crate::error::{ApiError, ApiResult};
use crate::filter::{self, Field, FieldTable, Kind};
use crate::state::{Connection, SimState, Store};
use crate::webhooks;

const FIELDS: FieldTable = &[
    (&["connection.id", "id"], "connection.id", Kind::Text),
    (
        &["connection.status", "status"],
        "connection.status",
        Kind::OneOf(&["active", "pending", "invalid", "pre-init"]),
    ),
    (&["institution.id"], "institution.id", Kind::Text),
];

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/users/{user_id}/connections", get(list))
        .route("/users/{user_id}/connections/refresh", post(refresh_all))
        .route(
            "/users/{user_id}/connections/{connection_id}",
            get(read).delete(remove),
        )
        .route(
            "/users/{user_id}/connections/{connection_id}/refresh",
            post(refresh),
        )
        .route(
            "/users/{user_id}/connections/{connection_id}/purge",
            post(purge),
        )
}

/// How long an open-banking consent to a connection lasts.
pub const CONNECTION_EXPIRY: TimeDelta = TimeDelta::days(365);

/// The connection as the list shows it.
pub fn connection_json(store: &Store, c: &Connection, base: &str, now: DateTime<Utc>) -> Value {
    let (u, id, inst) = (&c.user_id, &c.id, c.institution.id);
    json!({
        "type": "connection",
        "id": id,
        "method": c.institution.method,
        "status": store.connection_status(c, now),
        "createdDate": ts(c.created),
        "expiryDate": ts(c.created + CONNECTION_EXPIRY),
        "lastUsed": ts(store.last_used(c, now)),
        "mfaEnabled": false,
        "institution": {
            "type": "institution",
            "id": inst,
            "links": { "self": format!("{base}/institutions/{inst}") },
        },
        "links": {
            "self": format!("{base}/users/{u}/connections/{id}"),
            "user": format!("{base}/users/{u}"),
            "institution": format!("{base}/institutions/{inst}"),
            "accounts": format!("{base}/users/{u}/accounts?filter=connection.id.eq('{id}')"),
            "transactions": format!("{base}/users/{u}/transactions?filter=connection.id.eq('{id}')"),
        },
    })
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
    let data: Vec<Value> = store
        .user_connections(&user_id)
        .into_iter()
        .filter(|c| {
            let status = store.connection_status(c, now);
            filter::all_match(&conditions, |field| match field {
                "connection.id" => Field::Text(&c.id),
                "connection.status" => Field::Text(status),
                _ => Field::Text(c.institution.id),
            })
        })
        .map(|c| connection_json(&store, c, &base, now))
        .collect();
    Ok(Json(json!({
        "type": "list",
        "count": data.len(),
        "data": data,
        "links": { "self": format!("{base}/users/{user_id}/connections") },
    })))
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P((user_id, connection_id)): P<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    store.user(&user_id)?;
    let c = store.connection(&user_id, &connection_id)?;
    let now = Utc::now();
    let mut v = connection_json(&store, c, &base, now);
    let retrieved = c.accounts_at.is_some_and(|t| t <= now);
    // The bank gives the holder's details with the accounts; the list route never has them.
    if retrieved {
        v["profile"] = profile_json(&c.data.profile);
    }
    let accounts: Vec<Value> = if retrieved {
        c.data
            .accounts
            .iter()
            .map(|a| {
                json!({
                    "type": "account",
                    "id": a.id,
                    "name": a.name,
                    "accountNo": a.account_no,
                    "currency": "AUD",
                    "balance": money(a.balance_cents),
                    "availableFunds": money(a.available_cents),
                    "class": { "type": a.class, "product": a.product },
                    "lastUpdated": ts(store.last_used(c, now)),
                    "status": "available",
                    "links": {
                        "self": format!("{base}/users/{user_id}/accounts/{}", a.id),
                        "transactions": format!("{base}/users/{user_id}/transactions?filter=account.id.eq('{}')", a.id),
                    },
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    v["accounts"] = json!({ "type": "list", "data": accounts });
    Ok(Json(v))
}

/// Basiq's `ConnectionProfile`: the account holder as the bank knows them.
fn profile_json(p: &Profile) -> Value {
    let a = p.address;
    json!({
        "fullName": p.full_name(),
        "firstName": p.first_name,
        "middleName": p.middle_name,
        "lastName": p.last_name,
        "emailAddresses": [p.email],
        "phoneNumbers": [p.phone],
        "physicalAddresses": [{
            "addressLine1": a.line1,
            // Basiq documents both as always null.
            "addressLine2": null,
            "addressLine3": null,
            "city": a.city,
            "state": a.state,
            "postcode": a.postcode,
            "country": "Australia",
            "countryCode": "AU",
            "formattedAddress": format!("{}, Australia", a.formatted()),
        }],
    })
}

async fn remove(
    _: ServerAuth,
    State(sim): State<SimState>,
    P((user_id, connection_id)): P<(String, String)>,
) -> ApiResult<StatusCode> {
    let data = {
        let mut store = sim.store();
        store.user(&user_id)?;
        let now = Utc::now();
        let json = connection_json(
            &store,
            store.connection(&user_id, &connection_id)?,
            &sim.public_base,
            now,
        );
        if let Some(c) = store.connections.get_mut(&connection_id) {
            c.deleted = true;
        }
        json
    };
    webhooks::emit(
        &sim,
        "connection",
        "deleted",
        &user_id,
        format!("/users/{user_id}/connections/{connection_id}"),
        data,
    );
    Ok(StatusCode::NO_CONTENT)
}

async fn refresh(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P((user_id, connection_id)): P<(String, String)>,
) -> ApiResult<Response> {
    let now = Utc::now();
    let (job_id, created) = {
        let mut store = sim.store();
        store.user(&user_id)?;
        store.connection(&user_id, &connection_id)?;
        store.refresh(&connection_id, sim.job_step(), now)?
    };
    let status = if created {
        webhooks::watch_job(&sim, &job_id);
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(job_stub(&job_id, &base))).into_response())
}

async fn refresh_all(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
) -> ApiResult<Response> {
    let now = Utc::now();
    let jobs: Vec<(String, bool)> = {
        let mut store = sim.store();
        store.user(&user_id)?;
        let ids: Vec<String> = store
            .user_connections(&user_id)
            .iter()
            .map(|c| c.id.clone())
            .collect();
        // Connections over their daily limit are left out, as Basiq does.
        ids.iter()
            .filter_map(|id| store.refresh(id, sim.job_step(), now).ok())
            .collect()
    };
    for (id, created) in &jobs {
        if *created {
            webhooks::watch_job(&sim, id);
        }
    }
    let data: Vec<Value> = jobs.iter().map(|(id, _)| job_stub(id, &base)).collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "type": "list", "data": data })),
    )
        .into_response())
}

/// Removes the connection's accounts and transactions until a later successful job. Basiq:
/// "Purging is only applicable for active user connections" (data.json,
/// purgeConnectionData); a deleted connection is gone (its data stays, as `DELETE` keeps it).
async fn purge(
    _: ServerAuth,
    State(sim): State<SimState>,
    P((user_id, connection_id)): P<(String, String)>,
) -> ApiResult<StatusCode> {
    let mut store = sim.store();
    store.user(&user_id)?;
    let c = store.connection(&user_id, &connection_id)?;
    if store.connection_status(c, Utc::now()) != "active" {
        return Err(ApiError::not_valid(
            "connectionId",
            "Purging is only applicable for active user connections.",
        ));
    }
    if let Some(c) = store.connections.get_mut(&connection_id) {
        c.accounts_at = None;
        c.transactions_at = None;
    }
    Ok(StatusCode::NO_CONTENT)
}
