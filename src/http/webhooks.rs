//! `POST /webhooks/basiq`: verified over the raw body, each `webhook-id` processed once,
//! acknowledged at once and handed to the inbox (`inbox.rs`), which works on it afterwards.
//! Answers 404 while no secret is configured.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    middleware,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    db,
    error::{ApiError, problem},
    http::{
        extract::{BodyBytes, no_query_params},
        responses,
    },
    inbox::Delivery,
    monitoring,
    state::AppState,
    webhook_signature::SignatureError,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .route_layer(middleware::from_fn(no_query_params))
}

/// Basiq's thin payload: details come from `GET /events/{eventId}`. Other fields are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookPayload)]
struct Payload {
    /// e.g. `connection.invalidated`, `consent.revoked`, `user.deleted`.
    event_type_id: String,
    event_id: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Receives Basiq's webhooks.
///
/// Signed Svix-style over the raw body. Each `webhook-id` is processed once; the answer comes at
/// once and the event is worked on afterwards. 404 while `BASIQ_WEBHOOK_SECRET` is unset.
#[utoipa::path(
    post,
    operation_id = "receiveBasiqWebhook",
    path = "/webhooks/basiq",
    tag = "webhooks",
    params(
        ("webhook-id" = String, Header, description = "The delivery's id; a redelivery repeats it."),
        ("webhook-timestamp" = i64, Header, description = "Unix seconds; refused when more than 5 minutes off."),
        ("webhook-signature" = String, Header, description = "Space-separated `v1,<base64 HMAC-SHA256>` signatures of `id.timestamp.body`."),
    ),
    request_body = Payload,
    responses(
        (status = 204, description = "Accepted (or a redelivery, already processed)."),
        (status = 400, response = responses::BadRequest),
        (status = 401, description = "The signature is missing or does not verify (`webhook_signature_invalid`).",
            content_type = "application/problem+json", body = crate::error::Problem),
        (status = 404, description = "Webhooks are not configured here (`route_not_found`).",
            content_type = "application/problem+json", body = crate::error::Problem),
        (status = 500, response = responses::InternalError),
    )
)]
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    BodyBytes(body): BodyBytes,
) -> Response {
    let Some(key) = &state.webhook_key else {
        return problem(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "Not found",
            "There is no such route.".into(),
        )
        .into_response();
    };
    let webhook_id = header(&headers, "webhook-id");
    let verified = key.verify(
        webhook_id,
        header(&headers, "webhook-timestamp"),
        header(&headers, "webhook-signature"),
        &body,
        chrono::Utc::now().timestamp(),
    );
    if let Err(e) = verified {
        tracing::warn!(reason = %e, "webhook refused");
        monitoring::webhook("refused", "unverified");
        let (status, code) = match e {
            SignatureError::Stale => (StatusCode::BAD_REQUEST, "webhook_timestamp_out_of_range"),
            _ => (StatusCode::UNAUTHORIZED, "webhook_signature_invalid"),
        };
        return problem(status, code, "Webhook refused", e.to_string()).into_response();
    }
    let webhook_id = webhook_id.unwrap_or_default().to_owned();
    let payload: Payload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(_) => {
            return ApiError::validation("body", "is not a Basiq webhook payload").into_response();
        }
    };
    if crate::http::extract::check_id("eventId", &payload.event_id).is_err()
        && !payload.event_id.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return ApiError::validation("eventId", "is not an event id").into_response();
    }
    // Room in the inbox first: a delivery is recorded only once it will be worked on.
    let Some(room) = state.inbox.room() else {
        tracing::warn!("the webhook inbox is full; asking Basiq to redeliver");
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_inbox_full",
            "Busy",
            "Too many webhooks are waiting to be worked on; redeliver later.".into(),
        )
        .into_response();
    };
    match db::webhooks::first_delivery(&state.pool, &webhook_id, &payload.event_type_id).await {
        Ok(true) => {}
        Ok(false) => {
            monitoring::webhook("duplicate", &payload.event_type_id);
            tracing::info!(
                webhook_id,
                "webhook redelivery acknowledged; already processed"
            );
            return StatusCode::NO_CONTENT.into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    monitoring::webhook("accepted", &payload.event_type_id);
    tracing::info!(webhook_id, event_type = %payload.event_type_id, event_id = %payload.event_id, "webhook accepted");
    room.send(Delivery {
        event_id: payload.event_id,
        claimed_type: payload.event_type_id,
    });
    StatusCode::NO_CONTENT.into_response()
}
