//! The one error type at the HTTP edge: every failure becomes `application/problem+json`
//! (RFC 9457) with a stable machine `code` and the request id.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::basiq::BasiqError;

tokio::task_local! {
    /// The current request's id, set by the request-id middleware for the handler's task.
    pub static REQUEST_ID: String;
}

/// The current request id, if inside a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client input problem: `field` names the query parameter, path segment or body field.
    #[error("invalid {field}: {detail}")]
    Validation { field: String, detail: String },
    #[error("missing or invalid bearer token: {0}")]
    Unauthorized(&'static str),
    #[error("not found")]
    NotFound,
    /// A sync cursor that no longer applies (or was never issued to the caller).
    #[error("the sync cursor has expired")]
    CursorExpired,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// Well-formed input that what it was sent to refused (the bank, an MFA answer).
    #[error("{field}: {detail}")]
    Unprocessable {
        code: &'static str,
        field: &'static str,
        detail: String,
    },
    #[error("too many requests")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    #[error("the request body is larger than this API accepts")]
    PayloadTooLarge,
    /// A body that must be JSON, sent without `Content-Type: application/json`.
    #[error("the request body is not declared as JSON")]
    UnsupportedMediaType,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(sqlx::Error),
    #[error("the consent flow is not configured: {0}")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Upstream(#[from] BasiqError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            Self::DatabaseUnavailable(e)
        } else {
            Self::Internal(anyhow::Error::new(e).context("database"))
        }
    }
}

impl From<crate::erasure::EraseError> for ApiError {
    fn from(e: crate::erasure::EraseError) -> Self {
        match e {
            crate::erasure::EraseError::Basiq(e) => e.into(),
            crate::erasure::EraseError::Db(e) => e.into(),
        }
    }
}

impl From<crate::domain::contact::Invalid> for ApiError {
    fn from(e: crate::domain::contact::Invalid) -> Self {
        Self::validation(e.field, e.detail)
    }
}

/// Seconds a client should wait before retrying while the database is unavailable.
const DATABASE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// Basiq's "not found" for an id of the caller's is ours; any other failure stays Basiq's.
    pub fn not_found_if_missing(e: BasiqError) -> Self {
        if e.is_not_found() {
            Self::NotFound
        } else {
            e.into()
        }
    }

    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// The problem document we send (RFC 9457, `application/problem+json`). `field` appears on
/// validation errors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "type": "urn:basiq-bff:problem:invalid_request",
    "title": "Invalid request",
    "status": 400,
    "detail": "limit: must be a whole number from 1 to 500",
    "code": "invalid_request",
    "field": "limit",
    "requestId": "4b6c1d5e-8f0a-4c2b-9d3e-5f6a7b8c9d0e"
}))]
pub struct Problem {
    /// `urn:basiq-bff:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a developer; never Basiq's own text.
    pub detail: String,
    /// Stable machine code: `invalid_request`, `unauthorized`, `not_found`, `route_not_found`,
    /// `method_not_allowed`, `unsupported_media_type`, `cursor_expired`, `not_configured`, `refresh_limit_reached`, `upstream_unavailable`,
    /// `upstream_token_unavailable`, `upstream_timeout`, `upstream_rate_limited`,
    /// `upstream_error`, `upstream_rejected`, `upstream_malformed`, `internal_error`, …
    pub code: String,
    /// On 400s: the query parameter, path segment or body field at fault (on a 415, the
    /// `Content-Type` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request's `x-request-id`, to quote when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

pub fn problem(status: StatusCode, code: &str, title: &str, detail: String) -> Problem {
    Problem {
        kind: format!("urn:basiq-bff:problem:{code}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        code: code.to_owned(),
        field: None,
        request_id: current_request_id(),
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use StatusCode as S;
        let mut retry_after = None;
        let mut p = match self {
            Self::Validation { field, detail } => {
                let mut p = problem(
                    S::BAD_REQUEST,
                    "invalid_request",
                    "Invalid request",
                    format!("{field}: {detail}"),
                );
                p.field = Some(field);
                p
            }
            Self::Unauthorized(why) => problem(
                S::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                why.to_owned(),
            ),
            Self::NotFound => problem(
                S::NOT_FOUND,
                "not_found",
                "Not found",
                "No such resource for this user.".into(),
            ),
            Self::CursorExpired => {
                let mut p = problem(
                    S::BAD_REQUEST,
                    "cursor_expired",
                    "Cursor expired",
                    "cursor: is not one this API can continue from; sync again without a cursor \
                     and replace your copy"
                        .into(),
                );
                p.field = Some("cursor".into());
                p
            }
            Self::Conflict { code, detail } => problem(S::CONFLICT, code, "Conflict", detail),
            Self::Unprocessable {
                code,
                field,
                detail,
            } => {
                let mut p = problem(S::UNPROCESSABLE_ENTITY, code, "Refused", detail);
                p.field = Some(field.to_owned());
                p
            }
            Self::TooManyRequests {
                code,
                detail,
                retry_after_secs,
            } => {
                retry_after = Some(retry_after_secs);
                problem(S::TOO_MANY_REQUESTS, code, "Too many requests", detail)
            }
            Self::PayloadTooLarge => problem(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                "The request body is larger than this API accepts.".into(),
            ),
            Self::UnsupportedMediaType => {
                let mut p = problem(
                    S::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Unsupported media type",
                    "Content-Type: the body must be JSON, sent as application/json".into(),
                );
                p.field = Some("Content-Type".into());
                p
            }
            Self::BodyTimeout => problem(
                S::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timed out",
                "The request body did not arrive in time.".into(),
            ),
            Self::DatabaseUnavailable(e) => {
                tracing::error!(error = %e, "database unavailable");
                retry_after = Some(DATABASE_RETRY_AFTER_SECS);
                problem(
                    S::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "Service unavailable",
                    "Our database cannot be reached right now; retry shortly.".into(),
                )
            }
            Self::NotConfigured(what) => problem(
                S::SERVICE_UNAVAILABLE,
                "not_configured",
                "Not configured",
                what.to_owned(),
            ),
            Self::Upstream(e) => {
                let (status, code, title, detail) = e.public_view();
                if let Some(secs) = e.retry_after_secs() {
                    retry_after = Some(secs);
                }
                if status.is_server_error() {
                    tracing::error!(error = %e, "upstream failure");
                } else {
                    tracing::warn!(error = %e, "upstream refused");
                }
                problem(status, code, title, detail.to_owned())
            }
            Self::Internal(e) => {
                // The cause chain goes to the log once; the client sees a fixed message.
                tracing::error!(error = format!("{e:#}"), "internal error");
                problem(
                    S::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal error",
                    "Something went wrong on our side.".into(),
                )
            }
        };
        if p.request_id.is_none() {
            p.request_id = current_request_id();
        }
        let mut response = p.into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
