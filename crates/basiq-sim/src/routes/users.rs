//! Users and their consents.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Base, P, ServerAuth, ts};
use crate::error::{ApiError, ApiResult};
use crate::state::{Consent, SimState, Store, User};
use crate::webhooks;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/users", post(create))
        .route("/users/{user_id}", get(read).post(update).delete(remove))
        .route("/users/{user_id}/consents", get(consents))
        .route(
            "/users/{user_id}/consents/{consent_id}",
            delete(revoke_consent),
        )
}

fn parse_object(body: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_body(
            "/",
            "The body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::invalid_body(
            "/",
            format!("The body is not valid JSON: {e}"),
        )),
    }
}

const TEXT_FIELDS: [&str; 8] = [
    "email",
    "mobile",
    "firstName",
    "middleName",
    "lastName",
    "businessName",
    "businessIdNo",
    "businessIdNoType",
];

/// Applies the body's fields to the user, validating each.
fn apply(user: &mut User, body: &Map<String, Value>) -> ApiResult<()> {
    for name in TEXT_FIELDS {
        let Some(value) = body.get(name) else {
            continue;
        };
        let value = match value {
            Value::String(s) => s.trim().to_owned(),
            Value::Null => String::new(),
            _ => {
                return Err(ApiError::body_field_invalid(
                    name,
                    format!("{name} must be a string"),
                ));
            }
        };
        match name {
            "email" if !value.is_empty() && !valid_email(&value) => {
                return Err(ApiError::body_field_invalid(
                    "email",
                    "email is not a valid email address",
                ));
            }
            "mobile"
                if !value.is_empty()
                    && !value
                        .trim_start_matches('+')
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == ' ') =>
            {
                return Err(ApiError::body_field_invalid(
                    "mobile",
                    "mobile is not a valid phone number",
                ));
            }
            "businessIdNoType" if !matches!(value.as_str(), "" | "ABN" | "ACN") => {
                return Err(ApiError::body_field_invalid(
                    "businessIdNoType",
                    "businessIdNoType must be ABN or ACN",
                ));
            }
            _ => {}
        }
        let slot = match name {
            "email" => &mut user.email,
            "mobile" => &mut user.mobile,
            "firstName" => &mut user.first_name,
            "middleName" => &mut user.middle_name,
            "lastName" => &mut user.last_name,
            "businessName" => &mut user.business_name,
            "businessIdNo" => &mut user.business_id_no,
            _ => &mut user.business_id_no_type,
        };
        *slot = value;
    }
    Ok(())
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
}

/// The short user shape of `POST /users` and `POST /users/{id}`.
fn user_json(u: &User, base: &str) -> Value {
    let mut v = json!({
        "type": "user",
        "id": u.id,
        "email": u.email,
        "mobile": u.mobile,
        "firstName": u.first_name,
        "middleName": u.middle_name,
        "lastName": u.last_name,
        "links": { "self": format!("{base}/users/{}", u.id) },
    });
    if !u.business_name.is_empty() {
        v["businessName"] = json!(u.business_name);
    }
    if !u.business_id_no.is_empty() {
        v["businessIdNo"] = json!(u.business_id_no);
    }
    if !u.business_id_no_type.is_empty() {
        v["businessIdNoType"] = json!(u.business_id_no_type);
    }
    v
}

async fn create(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_object(&body)?;
    let mut user = User::default();
    apply(&mut user, &body)?;
    if user.email.is_empty() && user.mobile.is_empty() {
        return Err(ApiError::body_field_missing(
            "email",
            "An email or a mobile is required.",
        ));
    }
    user.id = uuid::Uuid::new_v4().to_string();
    let json = {
        let mut store = sim.store();
        user.order = store.users_created;
        store.users_created += 1;
        store.users.insert(user.id.clone(), user.clone());
        user_json(&user, &base)
    };
    webhooks::emit(
        &sim,
        "user",
        "created",
        &user.id,
        format!("/users/{}", user.id),
        json.clone(),
    );
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

async fn read(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    let user = store.user(&user_id)?;
    let now = Utc::now();
    let connections: Vec<Value> = store
        .user_connections(&user_id)
        .iter()
        .map(|c| {
            json!({
                "type": "connection",
                "id": c.id,
                "links": { "self": format!("{base}/users/{user_id}/connections/{}", c.id) },
            })
        })
        .collect();
    let accounts: Vec<Value> = store
        .user_data_connections(&user_id)
        .iter()
        .filter(|c| c.accounts_at.is_some_and(|t| t <= now))
        .flat_map(|c| c.data.accounts.iter())
        .map(|a| {
            json!({
                "type": "account",
                "id": a.id,
                "links": { "self": format!("{base}/users/{user_id}/accounts/{}", a.id) },
            })
        })
        .collect();
    let mut v = user_json(user, &base);
    let name = [&user.first_name, &user.middle_name, &user.last_name]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    v["name"] = json!(name);
    v["connections"] = json!({ "type": "list", "count": connections.len(), "data": connections });
    v["accounts"] = json!({ "type": "list", "count": accounts.len(), "data": accounts });
    v["links"] = json!({
        "self": format!("{base}/users/{user_id}"),
        "accounts": format!("{base}/users/{user_id}/accounts"),
        "connections": format!("{base}/users/{user_id}/connections"),
        "transactions": format!("{base}/users/{user_id}/transactions"),
        "auth_link": format!("{base}/users/{user_id}/auth_link"),
    });
    Ok(Json(v))
}

async fn update(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = parse_object(&body)?;
    let json = {
        let mut store = sim.store();
        let user = store
            .users
            .get_mut(&user_id)
            .ok_or_else(|| ApiError::not_found(format!("users/{user_id}")))?;
        let mut updated = user.clone();
        apply(&mut updated, &body)?;
        if updated.email.is_empty() && updated.mobile.is_empty() {
            return Err(ApiError::body_field_missing(
                "email",
                "A user needs an email or a mobile.",
            ));
        }
        *user = updated;
        user_json(user, &base)
    };
    webhooks::emit(
        &sim,
        "user",
        "updated",
        &user_id,
        format!("/users/{user_id}"),
        json.clone(),
    );
    Ok(Json(json))
}

async fn remove(
    _: ServerAuth,
    State(sim): State<SimState>,
    P(user_id): P<String>,
) -> ApiResult<StatusCode> {
    {
        let mut store = sim.store();
        store.user(&user_id)?;
        store.delete_user(&user_id);
    }
    webhooks::emit(
        &sim,
        "user",
        "deleted",
        &user_id,
        format!("/users/{user_id}"),
        json!({ "type": "user", "id": user_id }),
    );
    Ok(StatusCode::NO_CONTENT)
}

pub fn consent_json(c: &Consent, base: &str, now: DateTime<Utc>) -> Value {
    let permission = |scope: &str,
                      entity: &str,
                      name: &str,
                      description: &str,
                      attributes: &[&str]| {
        json!({
            "scope": scope,
            "required": true,
            "consented": true,
            "entity": entity,
            "information": { "name": name, "description": description, "attributeList": attributes },
            "purpose": { "title": name, "description": description },
        })
    };
    let mut v = json!({
        "type": "consent",
        "id": c.id,
        "created": ts(c.created),
        "updated": ts(c.updated),
        "expiryDate": ts(c.expiry),
        "origin": "user",
        "status": c.status(now),
        "purpose": {
            "primary": {
                "title": "Share your financial data",
                "description": "We need to connect to your bank to collect some information about your finances",
            },
            "other": null,
        },
        "data": {
            "retainData": false,
            "initialRetrievalDays": 365,
            "organisation": null,
            "permissions": [
                permission("account.basic", "account", "Account name, type and balance",
                    "This allows access to a list of your accounts and their current balance.",
                    &["Name of account", "Type of account", "Account balance"]),
                permission("transaction.detail", "transaction", "Transaction details",
                    "This allows access to your transaction history.",
                    &["Incoming and outgoing transactions", "Amounts", "Dates", "Descriptions"]),
            ],
        },
        "links": {
            "self": format!("{base}/users/{}/consents/{}", c.user_id, c.id),
            "consentPolicy": format!("{base}/consent-policies/sim"),
            "latestConsentPolicy": format!("{base}/consent-policies/sim"),
        },
    });
    if let Some(revoked) = c.revoked {
        v["revoked"] = json!(ts(revoked));
    }
    v
}

async fn consents(
    _: ServerAuth,
    State(sim): State<SimState>,
    Base(base): Base,
    P(user_id): P<String>,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    store.user(&user_id)?;
    let now = Utc::now();
    let mut list: Vec<&Consent> = store
        .consents
        .values()
        .filter(|c| c.user_id == user_id)
        .collect();
    list.sort_by_key(|c| c.created);
    let data: Vec<Value> = list.iter().map(|c| consent_json(c, &base, now)).collect();
    Ok(Json(json!({
        "type": "list",
        "size": data.len(),
        "data": data,
        "links": { "self": format!("{base}/users/{user_id}/consents") },
    })))
}

/// Revokes a consent; answers the event to send, if it changed.
pub fn revoke(
    store: &mut Store,
    user_id: &str,
    consent_id: &str,
    base: &str,
) -> ApiResult<Option<Value>> {
    let now = Utc::now();
    let consent = store
        .consents
        .get_mut(consent_id)
        .filter(|c| c.user_id == user_id)
        .ok_or_else(|| ApiError::not_found(format!("users/{user_id}/consents/{consent_id}")))?;
    if consent.revoked.is_some() {
        return Ok(None);
    }
    consent.revoked = Some(now);
    consent.updated = now;
    Ok(Some(consent_json(consent, base, now)))
}

async fn revoke_consent(
    _: ServerAuth,
    State(sim): State<SimState>,
    P((user_id, consent_id)): P<(String, String)>,
) -> ApiResult<StatusCode> {
    let data = {
        let mut store = sim.store();
        store.user(&user_id)?;
        revoke(&mut store, &user_id, &consent_id, &sim.public_base)?
    };
    if let Some(data) = data {
        webhooks::emit(
            &sim,
            "consent",
            "revoked",
            &user_id,
            format!("/users/{user_id}/consents/{consent_id}"),
            data,
        );
    }
    Ok(StatusCode::NO_CONTENT)
}
