//! Input handling shared by the handlers: JSON bodies and query strings with errors that name
//! the offending field, and id checks before anything reaches Basiq.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; any problem is a 400 naming the field (`body` when the whole body is wrong).
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
            return Err(ApiError::validation(
                "body",
                "Content-Type must be application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::validation("body", e.body_text()))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." || path.is_empty() {
                    "body".to_owned()
                } else {
                    path
                };
                let inner = e.into_inner();
                let detail = if inner.is_syntax() || inner.is_eof() {
                    "is not valid JSON".to_owned()
                } else {
                    // serde's message names expected types, never values.
                    inner.to_string()
                };
                ApiError::validation(field, detail)
            })
    }
}

/// Query parameters with only `allowed` names, each at most once.
pub fn query_params(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            return Err(ApiError::validation(
                key.into_owned(),
                format!("is not a known parameter (allowed: {})", allowed.join(", ")),
            ));
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

/// Basiq ids are short tokens of letters, digits, `-` and `_`; anything else never reaches Basiq.
pub fn check_id<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
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
    fn ids_with_anything_but_safe_characters_are_refused() {
        assert!(check_id("id", "abc-123_X").is_ok());
        for bad in [
            "",
            "a/b",
            "a'b",
            "a b",
            "../x",
            &"a".repeat(65),
            "a%2Fb",
            "ä",
        ] {
            assert!(check_id("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_and_repeated_query_parameters_are_named() {
        let err = query_params(Some("limit=1&bogus=2"), &["limit"]).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "bogus"));
        let err = query_params(Some("limit=1&limit=2"), &["limit"]).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "limit"));
        assert_eq!(query_params(None, &["limit"]).unwrap().len(), 0);
    }
}
