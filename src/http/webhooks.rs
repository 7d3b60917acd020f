//! `POST /webhooks/basiq`: verified over the raw body, each `webhook-id` processed once,
//! acknowledged at once and worked on afterwards. Answers 404 while no secret is configured.

use std::time::Duration;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;

use crate::{
    db,
    domain::ids::is_basiq_id,
    error::{ApiError, problem},
    http::{
        docs,
        extract::{BodyBytes, no_query_params},
    },
    monitoring,
    state::AppState,
    webhook_signature::SignatureError,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/basiq", post(receive))
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
        (status = 400, response = docs::BadRequest),
        (status = 401, description = "The signature is missing or does not verify (`webhook_signature_invalid`).",
            content_type = "application/problem+json", body = crate::error::Problem),
        (status = 404, description = "Webhooks are not configured here (`route_not_found`).",
            content_type = "application/problem+json", body = crate::error::Problem),
        (status = 500, response = docs::InternalError),
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
    let task_state = state.clone();
    tokio::spawn(async move { process(task_state, payload).await });
    StatusCode::NO_CONTENT.into_response()
}

/// `consent.revoked`, from the event's `entity` and `eventType` (Basiq gives `consent` and
/// `revoked`; an `eventType` that is already whole is taken as it is).
fn event_type_of(event: &crate::basiq::types::Event) -> Option<String> {
    let kind = event.event_type.as_deref().filter(|t| !t.is_empty())?;
    if kind.contains('.') {
        return Some(kind.to_owned());
    }
    let entity = event.entity.as_deref().filter(|e| !e.is_empty())?;
    Some(format!("{entity}.{kind}"))
}

/// `…/users/{id}…` and `…/connections/{id}…` out of a Basiq link.
fn segment_after<'a>(link: &'a str, name: &str) -> Option<&'a str> {
    let mut parts = link.split(['/', '?']);
    parts.find(|p| *p == name)?;
    parts.next().filter(|s| !s.is_empty())
}

#[tracing::instrument(skip_all, fields(event_id = %payload.event_id, event_type, basiq_user_id, user_id))]
async fn process(state: AppState, payload: Payload) {
    let mut attempt = 0;
    let event = loop {
        match state.basiq.event(&payload.event_id).await {
            Ok(event) => break event,
            Err(e) if attempt < 3 && !e.is_not_found() => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "fetching the webhook's event failed; retrying");
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not fetch the webhook's event; dropped");
                return;
            }
        }
    };
    // The body only names the event: what happened, to what and to whom is what Basiq says
    // when asked, so a signed body cannot pass off one event as another.
    if event.id.as_deref().is_some_and(|id| id != payload.event_id) {
        tracing::warn!("Basiq answered another event than the one named; ignored");
        return;
    }
    let Some(event_type) = event_type_of(&event) else {
        tracing::warn!("the event has no type; ignored");
        return;
    };
    if event_type != payload.event_type_id {
        tracing::warn!(event_type = %event_type, "the webhook named another type than its event has; acting on the event's");
    }
    tracing::Span::current().record("event_type", event_type.as_str());
    let data_ref = event.data_ref.as_deref().unwrap_or_default();
    let Some(basiq_user_id) = event
        .user_id
        .clone()
        .or_else(|| segment_after(data_ref, "users").map(str::to_owned))
        .filter(|id| is_basiq_id(id))
    else {
        tracing::warn!("the event names no user; ignored");
        return;
    };
    tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());
    let app_user_id = match db::users::app_user_of(&state.pool, &basiq_user_id).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            tracing::info!("the event is for a Basiq user we do not know; ignored");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "database unavailable while processing a webhook");
            return;
        }
    };
    tracing::Span::current().record("user_id", app_user_id.as_str());
    let connection_id = event
        .data
        .as_ref()
        .filter(|_| event.entity.as_deref() == Some("connection"))
        .and_then(|d| d.get("id"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or_else(|| segment_after(data_ref, "connections").map(str::to_owned))
        .filter(|id| is_basiq_id(id));

    let pool = &state.pool;
    let result = match (event_type.as_str(), connection_id.as_deref()) {
        ("connection.invalidated", Some(c)) => {
            db::connections::mark_invalidated(pool, &app_user_id, c).await
        }
        ("connection.activated" | "connection.created", Some(c)) => {
            db::connections::clear_invalidated(pool, c, chrono::Utc::now()).await
        }
        ("connection.deleted", Some(c)) => db::connections::forget(pool, &app_user_id, c).await,
        // Basiq requires the app to delete or de-identify the user's data.
        ("consent.revoked" | "consent.expired", _) => {
            db::users::erase_data(pool, &app_user_id).await
        }
        ("user.deleted", _) => {
            state.users.forget(&app_user_id);
            db::users::delete(pool, &app_user_id).await
        }
        (
            "transactions.updated"
            | "account.updated"
            | "consent.created"
            | "consent.updated"
            | "consent.warning"
            | "user.created"
            | "user.updated",
            _,
        ) => Ok(()),
        (other, _) => {
            tracing::warn!(
                event_type = other,
                "webhook event not handled; acknowledged"
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => tracing::info!(connection_id = ?connection_id, "webhook processed"),
        Err(e) => tracing::error!(error = %e, "webhook processing failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_out_of_basiq_links() {
        let link = "https://au-api.basiq.io/users/u-1/connections/c-2";
        assert_eq!(segment_after(link, "users"), Some("u-1"));
        assert_eq!(segment_after(link, "connections"), Some("c-2"));
        assert_eq!(segment_after("https://x/users/", "users"), None);
        assert_eq!(segment_after("https://x/events/1", "users"), None);
    }
}
