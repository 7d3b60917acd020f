//! Serving kept answers (`answers.rs`) with HTTP's conditional requests: each answer carries a
//! strong `ETag`, `Cache-Control: private, no-cache` (a client or its cache may keep it, and
//! must ask again before reusing it), and `Data-Read-At` (when its data was read from Basiq,
//! RFC 3339). A request whose `If-None-Match` names the current tag gets `304 Not Modified`
//! without a body, and, while the answer is kept, without a call to Basiq.

use std::{future::Future, sync::Arc, time::Instant};

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use crate::{
    answers::{Kept, What},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// When the answer's data was read from Basiq.
pub const DATA_READ_AT: HeaderName = HeaderName::from_static("data-read-at");

/// The user's `what`, kept or read now by `read` (which writes the answer's JSON), as a 200, or
/// a 304 for a request that already holds it.
pub async fn answer<F, Fut>(
    state: &AppState,
    app_user_id: &str,
    what: What,
    request: &HeaderMap,
    read: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Bytes>>,
{
    if let Some(kept) = state.remembered.answers.get(app_user_id, what.clone()) {
        return Ok(respond(&kept, request));
    }
    let (started, read_at) = (Instant::now(), Utc::now());
    let body = read().await?;
    let kept = Arc::new(Kept::new(body, read_at, started));
    state
        .remembered
        .answers
        .put(app_user_id, what, kept.clone());
    Ok(respond(&kept, request))
}

/// `value` as JSON bytes, in a buffer of `capacity` reserved up front (see `json::json`).
pub fn json_bytes<T: Serialize>(value: &T, capacity: usize) -> ApiResult<Bytes> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing an answer")))?;
    Ok(Bytes::from(body))
}

fn respond(kept: &Kept, request: &HeaderMap) -> Response {
    let not_modified = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|v| matches(v, &kept.etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(kept.body.clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&kept.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(at) =
        HeaderValue::from_str(&kept.read_at.to_rfc3339_opts(SecondsFormat::Millis, true))
    {
        headers.insert(DATA_READ_AT, at);
    }
    response
}

/// Whether an `If-None-Match` value names `etag` (RFC 9110 §13.1.2: `*`, or a list of tags
/// compared weakly, so a `W/` prefix does not matter).
fn matches(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_are_compared_weakly() {
        let etag = "\"abc\"";
        for (value, hit) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
            ("abc", false),
        ] {
            assert_eq!(
                matches(&HeaderValue::from_static(value), etag),
                hit,
                "{value}"
            );
        }
    }
}
