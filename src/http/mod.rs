//! The HTTP edge: one `router()` per resource file, composed here with the middleware stack.

pub mod accounts;
pub mod connections;
pub mod consent;
pub mod docs;
pub mod extract;
pub mod health;
pub mod institutions;
pub mod jobs;
pub mod me;
pub mod transactions;
pub mod webhooks;

use std::time::Duration;

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{HeaderName, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    error::{REQUEST_ID, problem},
    state::AppState,
};

/// Longer than any single Basiq call with its retry, so upstream errors answer first.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

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

pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .merge(health::router())
        .merge(me::router())
        .merge(consent::router())
        .merge(jobs::router())
        .merge(connections::router())
        .merge(accounts::router())
        .merge(transactions::router())
        .merge(institutions::router())
        .merge(webhooks::router())
        .merge(docs::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);

    api.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
            ]))
            .layer(SetRequestIdLayer::new(
                x_request_id.clone(),
                MakeRequestUuid,
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let route = req
                            .extensions()
                            .get::<MatchedPath>()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_else(|| "unmatched".into());
                        let request_id = req
                            .extensions()
                            .get::<RequestId>()
                            .and_then(|id| id.header_value().to_str().ok())
                            .unwrap_or("-");
                        // The path is not logged: ids are recorded as fields where known,
                        // and the query may hold a consent state.
                        tracing::info_span!(
                            "request",
                            request_id,
                            method = %req.method(),
                            route,
                            user_id = tracing::field::Empty,
                            basiq_user_id = tracing::field::Empty,
                        )
                    })
                    .on_request(())
                    .on_response(
                        tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                    ),
            )
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(middleware::from_fn(request_id_scope))
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

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "Not found",
        "There is no such route.".into(),
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        "This route does not accept that method.".into(),
    )
    .into_response()
}
