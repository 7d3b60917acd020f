//! Input handling shared by the handlers: JSON bodies and query strings with errors that name
//! the offending field, and id checks before anything reaches Basiq.

use std::{collections::HashMap, time::Duration};

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// A request body must arrive within this (it is at most a few KiB): a client that sends its
/// headers and then drips the body holds a connection for seconds, not the request timeout.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole request body, read within [`BODY_READ_TIMEOUT`] (and the body size limit).
pub struct BodyBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match tokio::time::timeout(BODY_READ_TIMEOUT, Bytes::from_request(req, state)).await {
            Ok(Ok(bytes)) => Ok(Self(bytes)),
            Ok(Err(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Ok(Err(e)) => Err(ApiError::validation("body", e.body_text())),
            Err(_) => Err(ApiError::BodyTimeout),
        }
    }
}

/// A JSON body; any problem is a 400 naming the field (`body` when the whole body is wrong),
/// or a 415 when it is not sent as `application/json`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let BodyBytes(bytes) = BodyBytes::from_request(req, state).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
        // One JSON value and nothing after it but whitespace.
        de.end()
            .map_err(|_| ApiError::validation("body", "has content after the JSON value"))?;
        Ok(JsonBody(value))
    }
}

/// A 400 naming the field: a missing or unknown field is reported by serde at its parent, so the
/// field itself is read out of the message (which names fields and types, never values sent).
fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::validation("body", "is not valid JSON");
    }
    let message = inner.to_string();
    let message = message.split(" at line ").next().unwrap_or_default();
    let parent = (path != "." && !path.is_empty()).then_some(path);
    for (prefix, detail) in [
        ("missing field `", "is required"),
        ("unknown field `", "is not a known field"),
    ] {
        if let Some(name) = message
            .strip_prefix(prefix)
            .and_then(|m| m.split('`').next())
        {
            // An unknown field's path already ends with it; a missing one's stops at the parent.
            let field = match &parent {
                Some(p) if p == name || p.ends_with(&format!(".{name}")) => p.clone(),
                Some(p) => format!("{p}.{name}"),
                None => name.to_owned(),
            };
            return ApiError::validation(field, detail);
        }
    }
    ApiError::validation(parent.unwrap_or_else(|| "body".to_owned()), message)
}

/// Query parameters with only `allowed` names, each at most once.
pub fn query_params(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            let detail = if allowed.is_empty() {
                "is not a known parameter (this route takes none)".to_owned()
            } else {
                format!("is not a known parameter (allowed: {})", allowed.join(", "))
            };
            return Err(ApiError::validation(key.into_owned(), detail));
        }
        if out.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(ApiError::validation(
                key.into_owned(),
                "is given more than once",
            ));
        }
    }
    Ok(out)
}

/// A page size: a whole number from 1 to `max`, else a 400 naming `limit`.
pub fn limit(value: &str, max: u32) -> ApiResult<u32> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::validation("limit", format!("must be a whole number from 1 to {max}"))
        })
}

/// For the routes that take no query parameters (a `route_layer`): any parameter is refused
/// like an unknown one, so a typo or a probe is told rather than ignored.
pub async fn no_query_params(req: Request, next: Next) -> Response {
    match query_params(req.uri().query(), &[]) {
        Ok(_) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// An id from a client, checked before anything reaches Basiq; a 400 naming `field` otherwise.
pub fn check_id<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if crate::domain::ids::is_basiq_id(value) {
        Ok(value)
    } else {
        Err(ApiError::validation(
            field,
            "must be 1-64 letters, digits, '-' or '_'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_query_parameters_are_named() {
        let err = query_params(Some("limit=1&bogus=2"), &["limit"]).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "bogus"));
        let err = query_params(Some("limit=1&limit=2"), &["limit"]).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "limit"));
        assert_eq!(query_params(None, &["limit"]).unwrap().len(), 0);
    }
}
