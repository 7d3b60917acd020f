//! The API's OpenAPI 3.1 document: what is the same for every route here, and each route's
//! own part (its `#[utoipa::path]`, its DTOs' derives) added by the router it is registered
//! with (utoipa-axum's `OpenApiRouter`), so no file lists every handler. Served at
//! `/openapi.json`, and browsable with Swagger UI at `/docs`, its assets compiled into the
//! binary (no CDN: it works offline).

use axum::Router;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        RefOr, Schema,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{error::Problem, state::AppState};

use super::responses::{
    BadGateway, BadRequest, Conflict, GatewayTimeout, InternalError, NotFound, NotModified,
    ServiceUnavailable, TooManyRequests, Unauthorized, Unprocessable, UnsupportedMediaType,
    UriTooLong,
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
    components(
        schemas(Problem, crate::events::AppWebhookDelivery),
        responses(
            BadRequest,
            Unauthorized,
            NotFound,
            Conflict,
            TooManyRequests,
            InternalError,
            BadGateway,
            ServiceUnavailable,
            GatewayTimeout,
            UriTooLong,
            Unprocessable,
            NotModified,
            UnsupportedMediaType
        )
    ),
    modifiers(&Security),
    tags(
        (name = "me", description = "The app user's link to Basiq, and erasure"),
        (name = "consent", description = "The round trip through Basiq's Consent UI"),
        (name = "jobs", description = "Basiq jobs, normalised"),
        (name = "events", description = "Push: the caller's events as Server-Sent Events. The same events go to the company's backend (APP_WEBHOOK_URL) as `AppWebhookDelivery` bodies, signed Standard-Webhooks style"),
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

/// The outcome table (`domain::jobs::OUTCOMES`) as `UserAction`'s description, so that the
/// document says what each Basiq code means for the user exactly as the code decides it. Run
/// on the whole document, once every route has added its schemas.
fn describe_outcomes(openapi: &mut utoipa::openapi::OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(action))) = components.schemas.get_mut("UserAction") {
        action.description = Some(format!(
            "What the app should ask of its user about a job that failed or waits on them, \
             by Basiq's failure code:\n\n{}",
            crate::domain::jobs::outcome_table()
        ));
    }
}

/// `GET /openapi.json` (the document `openapi`) and the Swagger UI at `/docs` (which
/// redirects to `/docs/`).
pub fn router(mut openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    describe_outcomes(&mut openapi);
    let docs: Router<AppState> = SwaggerUi::new("/docs")
        .url("/openapi.json", openapi)
        // The default would make the browser fetch a badge from swagger.io.
        .config(Config::from("/openapi.json").validator_url("none"))
        .into();
    docs.route_layer(axum::middleware::from_fn(super::extract::no_query_params))
}
