//! The HTTP edge: one `router()` per resource file, composed here with the middleware stack.

pub mod accounts;
pub mod connections;
pub mod consent;
pub mod consents;
pub mod docs;
pub mod events;
pub mod extract;
pub mod health;
pub mod institutions;
pub mod jobs;
pub mod json;
pub mod kept;
pub mod me;
pub mod metrics;
pub mod responses;
pub mod serve;
pub mod sync;
pub mod transactions;
pub mod webhooks;

use std::time::Duration;

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{OnResponse as _, TraceLayer},
};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    error::{REQUEST_ID, problem},
    monitoring,
    state::AppState,
    telemetry,
};

/// Longer than any single Basiq call with its retry, so upstream errors answer first.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;
/// The longest request target (path and query) accepted; longer is 414. Nothing we serve
/// needs more than a cursor's worth.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names, values and separators) and headers a request may carry;
/// more is 431. A JWT with generous claims fits many times over.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 100;

/// Request ids: random UUIDs (v4) from the thread's CSPRNG, so no system call per request.
#[derive(Clone, Copy, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buf = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
            .ok()
            .map(RequestId::new)
    }
}

/// `{"data": [...]}`, the shape of every list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DataList<T> {
    pub data: Vec<T>,
}

impl<T> DataList<T> {
    pub fn new(data: Vec<T>) -> Self {
        Self { data }
    }
}

/// CORS for the configured origins only; no origin configured means no cross-origin access.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            // A fetch-based event stream resumes with it (`GET /v1/events`).
            HeaderName::from_static("last-event-id"),
            // Conditional requests for kept answers (`http/kept.rs`).
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            header::ETAG,
            kept::DATA_READ_AT,
        ])
        .max_age(Duration::from_secs(600))
}

/// A header every answer carries unless its route set its own (the docs page sets its CSP).
fn default_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let cors = cors(&state.cors_allowed_origins);
    let hsts = state.hsts.then(|| {
        default_header(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        )
    });
    // Each resource's router brings its routes and their part of the OpenAPI document.
    let (api, openapi) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(health::router())
        .merge(me::router())
        .merge(consent::router())
        .merge(consents::router())
        .merge(jobs::router())
        .merge(events::router())
        .merge(connections::router())
        .merge(accounts::router())
        .merge(sync::router())
        .merge(transactions::router())
        .merge(institutions::router())
        .merge(webhooks::router())
        .merge(metrics::router())
        .split_for_parts();
    let api = api
        .merge(docs::router(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);

    api.layer(
        ServiceBuilder::new()
            .layer(default_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(default_header(header::X_FRAME_OPTIONS, "DENY"))
            .layer(default_header(header::REFERRER_POLICY, "no-referrer"))
            .layer(default_header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ))
            .layer(default_header(header::CACHE_CONTROL, "no-store"))
            .option_layer(hsts)
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
            ]))
            .layer(SetRequestIdLayer::new(
                x_request_id.clone(),
                RandomRequestId,
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let route = req
                            .extensions()
                            .get::<MatchedPath>()
                            .map_or("unmatched", |p| p.as_str());
                        let request_id = req
                            .extensions()
                            .get::<RequestId>()
                            .and_then(|id| id.header_value().to_str().ok())
                            .unwrap_or("-");
                        // The path is not logged: ids are recorded as fields where known,
                        // and the query may hold a consent state.
                        if !telemetry::traces_on() {
                            return tracing::info_span!(
                                "request",
                                request_id,
                                method = %req.method(),
                                route,
                                user_id = tracing::field::Empty,
                                basiq_user_id = tracing::field::Empty,
                            );
                        }
                        // Traces on: a server span named as OpenTelemetry names them, in the
                        // caller's trace if it sent one.
                        let span = tracing::info_span!(
                            "request",
                            otel.name = format!("{} {route}", req.method()),
                            otel.kind = "server",
                            otel.status_code = tracing::field::Empty,
                            http.response.status_code = tracing::field::Empty,
                            request_id,
                            method = %req.method(),
                            route,
                            user_id = tracing::field::Empty,
                            basiq_user_id = tracing::field::Empty,
                        );
                        telemetry::continue_trace(&span, req.headers());
                        span
                    })
                    .on_request(())
                    .on_response(|res: &Response, latency: Duration, span: &tracing::Span| {
                        if telemetry::traces_on() {
                            span.record(
                                "http.response.status_code",
                                i64::from(res.status().as_u16()),
                            );
                            if res.status().is_server_error() {
                                span.record("otel.status_code", "error");
                            }
                        }
                        tower_http::trace::DefaultOnResponse::new()
                            .level(tracing::Level::INFO)
                            .on_response(res, latency, span)
                    }),
            )
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(middleware::from_fn(monitoring::track))
            .layer(middleware::from_fn(request_id_scope))
            .layer(middleware::map_response(bare_errors_as_problems))
            .layer(middleware::from_fn(limit_request_head))
            .layer(CatchPanicLayer::custom(|_| {
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal error",
                    "Something went wrong on our side.".into(),
                )
                .into_response()
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES)),
    )
    // Outermost, so preflight requests are answered before anything else runs.
    .layer(cors)
}

/// Makes the request id available to error responses built anywhere in the handler.
async fn request_id_scope(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    REQUEST_ID.scope(id, next.run(req)).await
}

/// A request head larger than the server reads (`serve.rs`), to be answered as one this layer
/// refuses: the status to answer.
#[derive(Clone, Copy)]
pub struct OversizedHead(pub StatusCode);

/// Refuses a request target or header block larger than we accept, with problem+json like any
/// other refusal; `serve.rs` sends one too large to read here, marked [`OversizedHead`].
async fn limit_request_head(req: Request, next: Next) -> Response {
    if let Some(OversizedHead(status)) = req.extensions().get::<OversizedHead>() {
        return error_problem(*status).into_response();
    }
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return error_problem(StatusCode::URI_TOO_LONG).into_response();
    }
    let headers = req.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return error_problem(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
    }
    next.run(req).await
}

/// The problem for an error status answered outside our handlers (by middleware, an axum
/// rejection or the limits above).
fn error_problem(status: StatusCode) -> crate::error::Problem {
    let (code, title, detail) = match status {
        StatusCode::BAD_REQUEST => (
            "invalid_request",
            "Invalid request",
            "The request could not be read.",
        ),
        StatusCode::NOT_FOUND => ("route_not_found", "Not found", "There is no such route."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "Method not allowed",
            "This route does not accept that method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "Payload too large",
            "The request body is larger than this API accepts.",
        ),
        StatusCode::URI_TOO_LONG => (
            "uri_too_long",
            "URI too long",
            "The request's path and query are longer than this API accepts.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Unsupported media type",
            "The request body's Content-Type is not accepted here.",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "headers_too_large",
            "Request headers too large",
            "The request carries more or larger headers than this API accepts.",
        ),
        StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "Request timed out",
            "The request took too long to answer.",
        ),
        s if s.is_server_error() => (
            "internal_error",
            "Internal error",
            "Something went wrong on our side.",
        ),
        _ => (
            "invalid_request",
            "Request refused",
            "This request cannot be answered.",
        ),
    };
    problem(status, code, title, detail.into())
}

/// Error answers written outside our handlers (body too large, request timeout, axum's
/// rejections) come with a bare or plain-text body: give them the problem+json every other
/// error has. An error page we write on purpose (HTML) is left as it is.
async fn bare_errors_as_problems<B>(response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let response = response.map(axum::body::Body::new);
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let bare = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !bare {
        return response;
    }
    let mut problem = error_problem(status).into_response();
    // A refusal's Retry-After or Allow stays with it.
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            problem.headers_mut().insert(name, v.clone());
        }
    }
    problem
}

async fn not_found() -> Response {
    error_problem(StatusCode::NOT_FOUND).into_response()
}

async fn method_not_allowed() -> Response {
    error_problem(StatusCode::METHOD_NOT_ALLOWED).into_response()
}
