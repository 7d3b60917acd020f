//! Basiq's error envelope: the one place the simulator's error statuses and codes are chosen.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Where an error came from: a query/header parameter or a JSON pointer.
#[derive(Clone, Debug)]
pub enum Source {
    Parameter(String),
    Pointer(String),
}

/// An error answered in Basiq's `{type:"list", correlationId, data:[{type:"error", …}]}` shape.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub source: Source,
}

impl ApiError {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
        source: Source,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            source,
        }
    }

    pub fn not_supplied(parameter: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "parameter-not-supplied",
            "Required parameter not supplied.",
            detail,
            Source::Parameter(parameter.to_owned()),
        )
    }

    pub fn not_valid(parameter: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "parameter-not-valid",
            "Parameter not valid.",
            detail,
            Source::Parameter(parameter.to_owned()),
        )
    }

    pub fn invalid_body(pointer: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-content",
            "Content not valid.",
            detail,
            Source::Pointer(pointer.to_owned()),
        )
    }

    pub fn body_field_missing(pointer: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "parameter-not-supplied",
            "Required parameter not supplied.",
            detail,
            Source::Pointer(pointer.to_owned()),
        )
    }

    pub fn body_field_invalid(pointer: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "parameter-not-valid",
            "Parameter not valid.",
            detail,
            Source::Pointer(pointer.to_owned()),
        )
    }

    pub fn missing_auth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized-access",
            "Unauthorized Access",
            "You are not authorized to access this resource",
            Source::Parameter("Authorization".to_owned()),
        )
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-authorization-token",
            "Invalid authorization token",
            "Invalid authorization token",
            Source::Parameter("Authorization".to_owned()),
        )
    }

    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "access-denied",
            "Access Denied",
            "Token has expired",
            Source::Parameter("Authorization".to_owned()),
        )
    }

    pub fn client_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "access-denied",
            "Forbidden Access",
            "Access to this resource is forbidden: a CLIENT_ACCESS token can only open the Consent UI.",
            Source::Parameter("Authorization".to_owned()),
        )
    }

    /// Basiq takes MFA responses with a `CLIENT_ACCESS` token only (core.json, postJobMfa).
    pub fn server_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "access-denied",
            "Forbidden Access",
            "Access to this resource is forbidden: it needs a CLIENT_ACCESS token bound to the user.",
            Source::Parameter("Authorization".to_owned()),
        )
    }

    pub fn mfa_not_waiting() -> Self {
        Self::not_valid("jobId", "The job is not waiting for an MFA response.")
    }

    pub fn mfa_not_valid() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-credentials",
            "Cannot login to target institution using supplied credentials.",
            "The MFA response is not valid.",
            Source::Parameter("mfa-response".to_owned()),
        )
    }

    /// webhooks.json's "Request not valid" and "Unsupported event types".
    pub fn webhook_content(pointer: &str, detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-content",
            "Invalid request content",
            detail,
            Source::Pointer(pointer.to_owned()),
        )
    }

    pub fn no_webhooks_found(event_type_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "no-webhooks-found",
            "No webhooks found for an app",
            format!(
                "No webhooks found for an app subscribed to {event_type_id}, at least one webhook should exist in the system"
            ),
            Source::Pointer("/eventTypeId".to_owned()),
        )
    }

    pub fn webhook_url_taken() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "resource-already-exists",
            "Resource already exists",
            "Webhook with provided url already exists.",
            Source::Pointer("/url".to_owned()),
        )
    }

    pub fn events_already_subscribed() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "event-already-subscribed",
            "Event already subscribed",
            "Posted subscribedEvents contains events that are already subscribed to for this application.",
            Source::Pointer("/subscribedEvents".to_owned()),
        )
    }

    pub fn webhook_id_not_valid() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "path-parameter-not-valid",
            "Parameter value is not valid",
            "Webhook ID value is not valid",
            Source::Parameter("webhookId".to_owned()),
        )
    }

    pub fn webhook_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Requested resource is not found",
            "Webhook with provided id doesn't exist.",
            Source::Parameter("webhookId".to_owned()),
        )
    }

    pub fn message_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Requested resource is not found",
            "Message not found.",
            Source::Parameter("messageId".to_owned()),
        )
    }

    pub fn bad_api_key() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Requested resource is not found.",
            "Unable to authenticate",
            Source::Parameter("Authorization".to_owned()),
        )
    }

    pub fn not_found(pointer: impl Into<String>) -> Self {
        let pointer = pointer.into();
        Self::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Requested resource is not found.",
            "Resource not found.",
            Source::Pointer(pointer),
        )
    }

    pub fn method_not_allowed(path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed.",
            "This method is not supported on this resource.",
            Source::Pointer(path.to_owned()),
        )
    }

    pub fn too_many_refreshes() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too Many Requests",
            "Open banking connections can be refreshed at most 20 times a day.",
            Source::Pointer("refresh".to_owned()),
        )
    }

    /// The error a fault answers with: Basiq's code for that status.
    pub fn injected(status: StatusCode, path: &str) -> Self {
        let (code, title) = match status.as_u16() {
            400 => ("parameter-not-valid", "Parameter not valid."),
            401 => ("unauthorized-access", "Unauthorized Access"),
            403 => ("access-denied", "Access Denied"),
            404 => ("resource-not-found", "Requested resource is not found."),
            429 => ("too-many-requests", "Too Many Requests"),
            500 => ("internal-server-error", "Internal Server Error"),
            502..=504 => ("service-unavailable", "Service Unavailable"),
            s if s >= 500 => ("internal-server-error", "Internal Server Error"),
            _ => ("parameter-not-valid", "Parameter not valid."),
        };
        Self::new(
            status,
            code,
            title,
            "Injected by a basiq-sim fault.",
            Source::Pointer(path.to_owned()),
        )
    }

    pub fn body(&self) -> Value {
        let source = match &self.source {
            Source::Parameter(p) => json!({ "parameter": p }),
            Source::Pointer(p) => json!({ "pointer": p }),
        };
        json!({
            "type": "list",
            "correlationId": correlation_id(),
            "data": [{
                "type": "error",
                "code": self.code,
                "title": self.title,
                "detail": self.detail,
                "source": source,
            }],
        })
    }
}

fn correlation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        response
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;
