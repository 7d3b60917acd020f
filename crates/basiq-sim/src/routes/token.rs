//! `POST /token`: API key in, opaque bearer token out; the one call that needs `basiq-version`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{TimeDelta, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::{Scope, SimState, Token};

/// Basiq API versions the simulator answers.
const VERSIONS: [&str; 3] = ["3.0", "2.1", "2.0"];

pub fn router() -> Router<SimState> {
    Router::new().route("/token", post(issue))
}

async fn issue(
    State(sim): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    // Basiq asks for the version here only: the token carries it, so later calls are served
    // with or without the header.
    match headers.get("basiq-version").map(|v| v.to_str()) {
        Some(Ok(v)) if VERSIONS.contains(&v.trim()) => {}
        Some(_) => {
            return Err(ApiError::not_valid(
                "basiq-version",
                "basiq-version header is not valid: use 3.0",
            ));
        }
        None => {
            return Err(ApiError::not_valid(
                "basiq-version",
                "basiq-version header is required",
            ));
        }
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(str::trim);
    if key != Some(sim.config.api_key.as_str()) {
        return Err(ApiError::bad_api_key());
    }
    // Basiq's token endpoint takes a form, as its OpenAPI document says.
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::not_valid(
            "Content-Type",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let scope = match field("scope").as_deref() {
        None => return Err(ApiError::not_supplied("scope", "scope is required")),
        Some("SERVER_ACCESS") => Scope::Server,
        Some("CLIENT_ACCESS") => Scope::Client,
        Some(_) => {
            return Err(ApiError::not_valid(
                "scope",
                "scope must be SERVER_ACCESS or CLIENT_ACCESS",
            ));
        }
    };
    let user_id = match scope {
        Scope::Server => None,
        Scope::Client => Some(field("userId").ok_or_else(|| {
            ApiError::not_supplied("userId", "userId is required for CLIENT_ACCESS")
        })?),
    };
    let ttl = TimeDelta::from_std(sim.config.token_ttl).unwrap_or(TimeDelta::hours(1));
    let access_token: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    let mut store = sim.store();
    if let Some(id) = &user_id
        && !store.users.contains_key(id)
    {
        return Err(ApiError::not_valid("userId", "userId does not exist"));
    }
    store.tokens.insert(
        access_token.clone(),
        Token {
            scope,
            user_id,
            expires_at: Utc::now() + ttl,
        },
    );
    Ok(Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl.num_seconds(),
    })))
}
