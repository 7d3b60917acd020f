//! Our JSON answers, written into one buffer.

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::ApiError;

/// `value` as a 200 `application/json` answer, serialised into a buffer of `capacity` bytes
/// reserved up front. axum's `Json` starts at 128 bytes and grows a `BytesMut` through
/// `io::Write`, one small write per token: for a page of transactions that was a large share
/// of the request's instructions (callgrind, scripts/bench). `capacity` is a guess at the
/// answer's size (Basiq's body for what passes it on); a wrong one costs only a regrowth.
pub fn json<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            ApiError::Internal(anyhow::Error::new(e).context("writing an answer")).into_response()
        }
    }
}
