//! The Basiq API: one file per resource, the shared extractors, and the layer every API call
//! passes through (recording, faults).

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;

use super::control::RecordedRequest;
use super::error::ApiError;
use super::state::{Scope, SimState};

mod accounts;
pub mod connections;
mod connectors;
mod events;
pub mod jobs;
mod mfa;
mod notifications;
mod products;
mod token;
mod transactions;
pub mod users;

pub fn router(state: SimState) -> Router<SimState> {
    Router::new()
        .merge(token::router())
        .merge(users::router())
        .merge(jobs::router())
        .merge(mfa::router())
        .merge(connections::router())
        .merge(accounts::router())
        .merge(transactions::router())
        .merge(connectors::router())
        .merge(events::router())
        .merge(notifications::router())
        .fallback(|req: Request| async move { ApiError::not_found(req.uri().path()) })
        .method_not_allowed_fallback(|req: Request| async move {
            ApiError::method_not_allowed(req.uri().path())
        })
        .layer(middleware::from_fn_with_state(state, api_layer))
}

/// Records the call and applies faults.
async fn api_layer(State(sim): State<SimState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let index = {
        let mut requests = sim.requests.lock().unwrap_or_else(|e| e.into_inner());
        requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: req.uri().query().map(str::to_owned),
            status: 0,
            traceparent: req
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        requests.len() - 1
    };
    let response = faulted_or_run(&sim, &method, &path, req, next).await;
    if let Some(r) = sim
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(index)
    {
        r.status = response.status().as_u16();
    }
    response
}

async fn faulted_or_run(
    sim: &SimState,
    method: &Method,
    path: &str,
    req: Request,
    next: Next,
) -> Response {
    let fault = sim
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|f| f.matches(method, path))
        .cloned();
    if let Some(fault) = fault {
        if fault.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(fault.latency_ms)).await;
        }
        if rand::random::<f64>() < fault.rate {
            if let Some(body) = fault.body {
                let mut response = (StatusCode::OK, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                return response;
            }
            if !fault.status.is_success() {
                return ApiError::injected(fault.status, path).into_response();
            }
        }
    }
    next.run(req).await
}

/// The scope and bound user of the request's valid, unexpired bearer token.
fn bearer(parts: &Parts, sim: &SimState) -> Result<(Scope, Option<String>), ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(ApiError::missing_auth)?
        .to_str()
        .map_err(|_| ApiError::invalid_token())?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(ApiError::invalid_token)?
        .trim();
    let store = sim.store();
    let token = store
        .tokens
        .get(token)
        .ok_or_else(ApiError::invalid_token)?;
    if Utc::now() >= token.expires_at {
        return Err(ApiError::token_expired());
    }
    Ok((token.scope, token.user_id.clone()))
}

/// A valid, unexpired `SERVER_ACCESS` bearer token.
pub struct ServerAuth;

impl FromRequestParts<SimState> for ServerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &SimState) -> Result<Self, ApiError> {
        match bearer(parts, sim)? {
            (Scope::Server, _) => Ok(ServerAuth),
            (Scope::Client, _) => Err(ApiError::client_scope()),
        }
    }
}

/// A valid, unexpired `CLIENT_ACCESS` bearer token: the user it is bound to.
pub struct ClientAuth(pub String);

impl FromRequestParts<SimState> for ClientAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &SimState) -> Result<Self, ApiError> {
        match bearer(parts, sim)? {
            (Scope::Client, Some(user_id)) => Ok(ClientAuth(user_id)),
            _ => Err(ApiError::server_scope()),
        }
    }
}

/// Path parameters, with a rejection in Basiq's envelope.
pub struct P<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| P(t))
            .map_err(|_| ApiError::not_found(parts.uri.path()))
    }
}

/// Base of absolute links, from the request's `Host` header.
pub struct Base(pub String);

impl FromRequestParts<SimState> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        sim: &SimState,
    ) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()));
        Ok(Base(match host {
            Some(host) => format!("http://{host}"),
            None => sim.public_base.clone(),
        }))
    }
}

/// The raw query string parsed into pairs (later duplicates win).
pub fn query_pairs(parts_query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(parts_query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query_pairs(query)
        .into_iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// RFC 3339 with seconds, as Basiq writes dates.
pub fn ts(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
