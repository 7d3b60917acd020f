//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes
//! and the DTOs' derives, served at `/openapi.json`, and Swagger UI at `/docs` with its assets
//! compiled into the binary (no CDN: it works offline).

use axum::Router;
use utoipa::{
    Modify, OpenApi, ToResponse,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{error::Problem, state::AppState};

use super::{
    accounts, connections, consent, health, institutions, jobs, me, metrics, transactions, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    // The version (and license) default to this crate's Cargo.toml.
    info(
        title = "basiq-bff",
        description = "A backend-for-frontend for the Basiq open-banking API: the app's users, \
their consent round trip, and their accounts, transactions, connections, jobs and institutions \
as one typed JSON API.\n\n\
Every `/v1` route except the consent callback needs `Authorization: Bearer <app JWT>`; the \
JWT's `sub` is the app user. Lists answer `{\"data\": [...]}`. Errors are \
`application/problem+json` (RFC 9457) with a stable `code` and the `requestId`; a 400 names \
the bad parameter, path segment or body field in `field`. Someone else's id answers 404, \
exactly like a missing one."
    ),
    paths(
        me::me,
        me::erase,
        consent::start,
        consent::callback,
        jobs::list,
        jobs::one,
        connections::list,
        connections::one,
        connections::refresh_all,
        connections::refresh_one,
        connections::remove,
        accounts::list,
        accounts::one,
        transactions::list,
        transactions::one,
        institutions::list,
        webhooks::receive,
        health::healthz,
        health::readyz,
        metrics::render,
    ),
    components(
        schemas(Problem),
        responses(
            BadRequest,
            Unauthorized,
            NotFound,
            Conflict,
            TooManyRequests,
            InternalError,
            BadGateway,
            ServiceUnavailable,
            GatewayTimeout
        )
    ),
    modifiers(&Security),
    tags(
        (name = "me", description = "The app user's link to Basiq, and erasure"),
        (name = "consent", description = "The round trip through Basiq's Consent UI"),
        (name = "jobs", description = "Basiq jobs, normalised"),
        (name = "connections", description = "Bank connections"),
        (name = "accounts", description = "Bank accounts"),
        (name = "transactions", description = "Transactions, filtered and paged"),
        (name = "institutions", description = "Banks and their connectors"),
        (name = "webhooks", description = "Basiq's signed webhooks"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// The app's JWT, as a bearer token, on every `/v1` route but the consent callback.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "appJwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT from the app's identity provider; its `sub` is the app user.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /openapi.json` and the Swagger UI at `/docs` (which redirects to `/docs/`).
pub fn router() -> Router<AppState> {
    let docs: Router<AppState> = SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        // The default would make the browser fetch a badge from swagger.io.
        .config(Config::from("/openapi.json").validator_url("none"))
        .into();
    docs.route_layer(axum::middleware::from_fn(super::extract::no_query_params))
}

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

/// The failures every authenticated route can answer: a bad token, a rate limit, our own fault,
/// and Basiq's (502, 503, 504).
#[derive(utoipa::IntoResponses)]
pub enum CommonErrors {
    #[response(status = 401)]
    Unauthorized(#[ref_response] Unauthorized),
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

/// The user was erased while this request ran (`user_erased`); start again.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(pub Problem);

/// Too many requests: this user's rate limit (`rate_limited`) or consent-link cap
/// (`consent_rate_limited`), Basiq rate limiting us (`upstream_rate_limited`), or a connection
/// that has used its daily refreshes (`refresh_limit_reached`). Retry after `Retry-After`
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
/// (`upstream_token_unavailable`), or the feature is not configured (`not_configured`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct ServiceUnavailable(pub Problem);

/// Basiq did not answer in time (`upstream_timeout`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct GatewayTimeout(pub Problem);
