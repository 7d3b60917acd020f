//! The error answers routes share, for their OpenAPI `responses`: each a problem+json
//! [`Problem`], named by what went wrong. A leaf: it imports nothing of ours but the problem.

use utoipa::ToResponse;

use crate::error::Problem;

/// A parameter, path segment or body field is invalid; `field` names it.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadRequest(pub Problem);

/// The bearer token is missing, malformed, expired or not signed by the configured key.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unauthorized(pub Problem);

/// No such resource for this user (someone else's id looks exactly like a missing one).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(pub Problem);

/// The failures every authenticated route can answer: a bad token, a request line too long, a
/// rate limit, our own fault, and Basiq's (502, 503, 504).
#[derive(utoipa::IntoResponses)]
pub enum CommonErrors {
    #[response(status = 401)]
    Unauthorized(#[ref_response] Unauthorized),
    #[response(status = 414)]
    UriTooLong(#[ref_response] UriTooLong),
    #[response(status = 429)]
    TooManyRequests(#[ref_response] TooManyRequests),
    #[response(status = 500)]
    InternalError(#[ref_response] InternalError),
    #[response(status = 502)]
    BadGateway(#[ref_response] BadGateway),
    #[response(status = 503)]
    ServiceUnavailable(#[ref_response] ServiceUnavailable),
    #[response(status = 504)]
    GatewayTimeout(#[ref_response] GatewayTimeout),
}

/// The answer the request's `If-None-Match` names is still current: no body; keep using yours
/// (its `ETag` and `Data-Read-At` come again).
#[derive(ToResponse)]
#[response(headers(
    ("ETag" = String, description = "The answer's strong entity tag"),
    ("Data-Read-At" = String, description = "When the answer's data was read from Basiq (RFC 3339)"),
))]
pub struct NotModified;

/// The body is not sent as `application/json` (`unsupported_media_type`, with
/// `field: "Content-Type"`): a missing or other `Content-Type`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(pub Problem);

/// The path and query are longer than this API accepts (`uri_too_long`), e.g. a query value
/// that is long once percent-encoded.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UriTooLong(pub Problem);

/// The request does not fit the resource's state now: the user was erased while it ran
/// (`user_erased`; start again), Basiq purges active connections only
/// (`connection_not_active`), or the job is not waiting on an MFA answer
/// (`job_not_waiting_for_mfa`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(pub Problem);

/// Well-formed, but refused: the bank did not accept the MFA answers (`mfa_rejected`, with
/// `field: "responses"`); the challenge stays open until its `expiresAt`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unprocessable(pub Problem);

/// Too many requests: this user's rate limit (`rate_limited`) or consent-link cap
/// (`consent_rate_limited`), Basiq rate limiting us (`upstream_rate_limited`), or a connection
/// that has used its daily refreshes (`refresh_limit_reached`), or too many event streams open
/// for this user or on this replica (`too_many_streams`). Retry after `Retry-After`
/// seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
)]
pub struct TooManyRequests(pub Problem);

/// Something went wrong on our side (`internal_error`); the cause is logged with the request id.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct InternalError(pub Problem);

/// Basiq failed, refused our request or answered something unreadable (`upstream_error`,
/// `upstream_rejected`, `upstream_malformed`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadGateway(pub Problem);

/// Basiq is unavailable (`upstream_unavailable`), no Basiq server token can be had
/// (`upstream_token_unavailable`), our database cannot be reached (`database_unavailable`,
/// with `Retry-After`), or the feature is not configured (`not_configured`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct ServiceUnavailable(pub Problem);

/// Basiq did not answer in time (`upstream_timeout`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct GatewayTimeout(pub Problem);
