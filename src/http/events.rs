//! `GET /v1/events` (the caller's events as Server-Sent Events) and `POST /v1/events/ticket`
//! (a short-lived, single-use value with which a browser's `EventSource`, which cannot send an
//! `Authorization` header, opens one). SPEC.md §7; how events are written and reach every
//! replica is `events.rs`.

use std::{collections::VecDeque, convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::{FromRequestParts, State},
    http::{HeaderMap, Uri, request::Parts},
    middleware,
    response::sse::{Event, KeepAlive, Sse},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    crypto::{Sealer, sha256},
    db,
    error::{ApiError, ApiResult},
    events::{Change, StreamSlot, payload_ad},
    http::{
        extract::{no_query_params, query_params},
        responses,
    },
    state::AppState,
};

/// A ticket opens one stream within this.
pub const TICKET_TTL: Duration = Duration::from_secs(60);
/// A comment line this often keeps an idle stream open through proxies.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this, and the client reconnects (with `Last-Event-ID`) on credentials
/// that are still valid.
pub const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(3600);
/// Without a wake-up, a stream looks at the table this often anyway.
const RECHECK: Duration = Duration::from_secs(30);
/// Events read from the table at once.
const PAGE: i64 = 100;
/// How long a client waits before reconnecting after a stream ends (the SSE `retry:` field).
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream)).merge(
        OpenApiRouter::new()
            .routes(routes!(ticket))
            .route_layer(middleware::from_fn(no_query_params)),
    )
}

/// A ticket for `GET /v1/events?ticket=…`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamTicket {
    /// Opaque; good for one stream, within a minute (an open refused leaves it good).
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// A ticket for a browser's `EventSource`.
///
/// `EventSource` cannot send an `Authorization` header, and an app JWT never goes in a URL:
/// ask for a ticket with the JWT, then open `GET /v1/events?ticket=…` with it. A ticket opens
/// one stream, within a minute; a reconnect needs a new one. An open that is refused (a bad
/// `lastEventId`, too many streams) leaves the ticket unused.
#[utoipa::path(
    post,
    operation_id = "createEventTicket",
    path = "/v1/events/ticket",
    tag = "events",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "A single-use ticket.", body = StreamTicket),
        (status = 400, response = responses::BadRequest),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all)]
async fn ticket(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<StreamTicket>> {
    let mut raw = [0u8; 32];
    rand::fill(&mut raw);
    let ticket = URL_SAFE_NO_PAD.encode(raw);
    let expires_at = Utc::now() + TICKET_TTL;
    db::users::ensure_row(&state.pool, &user.sub).await?;
    db::events::insert_ticket(
        &state.pool,
        &sha256(ticket.as_bytes()),
        &user.sub,
        expires_at,
    )
    .await?;
    Ok(Json(StreamTicket { ticket, expires_at }))
}

/// The user a stream is for: from `Authorization: Bearer`, or from a ticket, which the stream
/// uses only once it opens.
struct StreamUser {
    user: String,
    /// The ticket's hash, when a ticket says who the user is.
    ticket: Option<Vec<u8>>,
}

const BAD_TICKET: ApiError = ApiError::Unauthorized(
    "the ticket is unknown, used or expired (ask POST /v1/events/ticket for another)",
);

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = query_params(parts.uri.query(), &["ticket", "lastEventId"])?;
        let Some(ticket) = params.get("ticket") else {
            let user = AuthUser::from_request_parts(parts, state).await?.sub;
            return Ok(Self { user, ticket: None });
        };
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Err(ApiError::Unauthorized(
                "give a ticket or an Authorization header, not both",
            ));
        }
        let hash = sha256(ticket.as_bytes()).to_vec();
        let user = db::events::ticket_user(&state.pool, &hash)
            .await?
            .ok_or(BAD_TICKET)?;
        tracing::Span::current().record("user_id", user.as_str());
        state.limits.check_request(&user)?;
        Ok(Self {
            user,
            ticket: Some(hash),
        })
    }
}

/// Where a stream starts: after `Last-Event-ID` (or `lastEventId`, for an `EventSource`
/// reopened with a new ticket), else after the newest event (live ones only).
fn last_event_id(headers: &HeaderMap, query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let from_header = headers
        .get("last-event-id")
        .map(|v| (v.to_str().unwrap_or("-").to_owned(), "Last-Event-ID"));
    let from_query = query_params(query, &["ticket", "lastEventId"])?
        .remove("lastEventId")
        .map(|v| (v, "lastEventId"));
    let Some((raw, field)) = from_header.or(from_query) else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| ApiError::validation(field, "must be an event id this API sent"))
}

/// The caller's events, live (Server-Sent Events).
///
/// Each event has an `id`, an `event` naming its type (`job.updated`, `connection.updated`,
/// `data.updated`, `consent.updated`, `user.erased`) and `data` (JSON: a `Change`, the payload of
/// that type). A client reconnecting with `Last-Event-ID` first gets the events it missed
/// (kept for at least 24 hours), then live ones. A comment line comes every 15 seconds; a
/// stream ends after an hour (and on shutdown), and the client reconnects. Authorised by
/// `Authorization: Bearer`, or, for `EventSource`, by `?ticket=` from `POST /v1/events/ticket`.
/// At most 20 streams per user and 1,000 per replica (429 `too_many_streams` beyond).
#[utoipa::path(
    get,
    operation_id = "streamEvents",
    path = "/v1/events",
    tag = "events",
    security(("appJwt" = []), ()),
    params(
        ("ticket" = Option<String>, Query, description = "A ticket from `POST /v1/events/ticket`, instead of `Authorization` (for `EventSource`)."),
        ("lastEventId" = Option<String>, Query, description = "Like the `Last-Event-ID` header, for an `EventSource` reopened with a new ticket."),
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the stream starts after it."),
    ),
    responses(
        (status = 200, description = "The stream: `text/event-stream` whose events carry a `Change` as `data`.", content_type = "text/event-stream", body = Change),
        (status = 400, response = responses::BadRequest),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(user_id))]
async fn stream(
    State(state): State<AppState>,
    StreamUser { user, ticket }: StreamUser,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let after = last_event_id(&headers, uri.query())?;
    let slot = state
        .hub
        .open(&user)
        .map_err(|e| ApiError::TooManyRequests {
            code: "too_many_streams",
            detail: if e.per_user {
                "This user has as many event streams open as allowed; close one first.".to_owned()
            } else {
                "This server has as many event streams open as it takes; retry shortly.".to_owned()
            },
            retry_after_secs: 5,
        })?;
    let after = match after {
        Some(id) => id,
        None => db::events::latest_id(&state.pool, &user).await?,
    };
    // A ticket is used by the stream it opens, not by an open refused above: the stream's place
    // is taken first, so that of two opens with one ticket, the one that loses gives it back.
    if let Some(hash) = ticket
        && db::events::redeem_ticket(&state.pool, &hash)
            .await?
            .as_deref()
            != Some(user.as_str())
    {
        return Err(BAD_TICKET);
    }
    tracing::debug!(after, "event stream opened");
    metrics::counter!("event_streams_opened_total").increment(1);
    let reader = Reader {
        pool: state.pool.clone(),
        sealer: state.sealer.clone(),
        user,
        after,
        slot,
        // The first message says where the stream starts (an `id:` without data dispatches no
        // event but is the id a reconnect resumes from), and how soon to reconnect.
        ready: VecDeque::from([Event::default()
            .id(after.to_string())
            .retry(RECONNECT_AFTER)
            .comment("open")]),
        shutdown: state.shutdown.clone(),
        ends_at: Instant::now() + MAX_STREAM_LIFETIME,
    };
    let events = futures_util::stream::unfold(reader, |mut reader| async move {
        let event = reader.next().await?;
        Some((Ok(event), reader))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One stream's place: the events read and not yet sent, and where to read on.
struct Reader {
    pool: sqlx::PgPool,
    sealer: std::sync::Arc<Sealer>,
    user: String,
    after: i64,
    slot: StreamSlot,
    ready: VecDeque<Event>,
    shutdown: CancellationToken,
    ends_at: Instant,
}

impl Reader {
    /// The next event to send, waiting for one; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            // Registered before reading, so an event written meanwhile still wakes us.
            let woken = self.slot.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match db::events::after(&self.pool, &self.user, self.after, PAGE).await {
                Ok(rows) if !rows.is_empty() => {
                    for row in rows {
                        self.after = row.id;
                        match self
                            .sealer
                            .open(&row.payload_sealed, &payload_ad(&self.user))
                        {
                            Ok(payload) => self.ready.push_back(
                                Event::default()
                                    .id(row.id.to_string())
                                    .event(row.event_type)
                                    .data(String::from_utf8_lossy(&payload)),
                            ),
                            Err(_) => tracing::warn!(
                                event_id = row.id,
                                "an event cannot be opened with the configured keys; skipped"
                            ),
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not read events; will retry"),
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                () = tokio::time::sleep_until(self.ends_at) => return None,
                () = woken => {}
                () = tokio::time::sleep(RECHECK) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_starts_after_the_last_event_id_from_the_header_or_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers, None).unwrap(), None);
        assert_eq!(
            last_event_id(&headers, Some("ticket=t&lastEventId=7")).unwrap(),
            Some(7)
        );
        headers.insert("last-event-id", "42".parse().unwrap());
        assert_eq!(
            last_event_id(&headers, Some("lastEventId=7")).unwrap(),
            Some(42)
        );
        headers.insert("last-event-id", "x".parse().unwrap());
        let err = last_event_id(&headers, None).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "Last-Event-ID"));
        let err = last_event_id(&HeaderMap::new(), Some("lastEventId=-1")).unwrap_err();
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "lastEventId"));
    }
}
