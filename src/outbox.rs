//! Delivery to the company's backend (`APP_WEBHOOK_URL`, SPEC.md §7): every event is queued in
//! the `outbox` table in the transaction that writes it (`events.rs`), and this task posts each
//! one, signed Standard-Webhooks style (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`) with `APP_WEBHOOK_SECRET`.
//!
//! - In order per user: only the oldest undelivered event of a user is ever claimed. Users take
//!   turns, so one with a long backlog does not hold up the others.
//! - At least once, never lost: a claim is a lease in the table (`FOR UPDATE SKIP LOCKED`), so
//!   any replica may deliver, a crash mid-delivery only delays it, and a restart goes on from
//!   the table.
//! - A 2xx acknowledges. A 408, a 429, a 5xx or no answer is retried with jittered backoff
//!   (5 s doubling to an hour) for a day ([`GIVE_UP_AFTER`]); any other 4xx is refused for
//!   good. Either way a given-up delivery is kept as dead (`outbox_dead` on `/metrics`, and
//!   the row's `last_status` / `last_error`) for an operator.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::task::JoinSet;
use url::Url;

use crate::{
    config::AppWebhook,
    crypto::Sealer,
    db::{self, events::Attempt},
    events::{Hub, outbox_ad},
    tasks::TaskContext,
    webhook_signature::WebhookKey,
};

/// Deliveries claimed (and sent at once, each to its own user) per pass.
const BATCH: i64 = 16;
/// How long the backend has to answer one delivery (well inside the claim's 60 s lease).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Failing deliveries are retried for at least a day after the event.
pub const GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(25);
/// Without a wake-up, look for due deliveries this often (retries come due by time).
const POLL: Duration = Duration::from_secs(1);
/// How often the backlog gauges are read.
const GAUGES_EVERY: Duration = Duration::from_secs(10);

/// What delivering needs.
pub struct Outbox {
    pub pool: PgPool,
    pub sealer: Arc<Sealer>,
    pub http: reqwest::Client,
    pub url: Url,
    pub key: WebhookKey,
}

impl Outbox {
    pub fn new(
        pool: PgPool,
        sealer: Arc<Sealer>,
        http: reqwest::Client,
        config: &AppWebhook,
    ) -> Option<Self> {
        Some(Self {
            pool,
            sealer,
            http,
            url: config.url.clone(),
            key: WebhookKey::from_secret(config.secret.expose_secret())?,
        })
    }
}

/// Seconds before retry number `attempts + 1`: 5 s doubling to an hour, ±20%.
pub fn retry_in_secs(attempts: i32) -> f64 {
    let base = (5.0 * 2f64.powi(attempts.clamp(0, 20))).min(3600.0);
    base * rand::random_range(0.8..1.2)
}

/// What an answer means for a delivery.
fn outcome(status: StatusCode) -> Outcome {
    if status.is_success() {
        Outcome::Delivered
    } else if status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
    {
        Outcome::Refused
    } else {
        Outcome::Failed
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// Not retried: the backend says the delivery itself is wrong.
    Refused,
    /// Retried.
    Failed,
}

/// Delivers until shutdown.
pub async fn run(outbox: Outbox, hub: Arc<Hub>, task: TaskContext) {
    let outbox = Arc::new(outbox);
    let mut gauges_at: Option<tokio::time::Instant> = None;
    // Where the next claim's walk over users starts: after the last user claimed, so that
    // users with deliveries waiting take turns.
    let mut after = String::new();
    loop {
        if gauges_at.is_none_or(|at| at.elapsed() >= GAUGES_EVERY) {
            record_backlog(&outbox.pool).await;
            gauges_at = Some(tokio::time::Instant::now());
        }
        let due = match db::events::claim_due(&outbox.pool, BATCH, &after).await {
            Ok(due) => {
                after = match due.last() {
                    Some(last) if due.len() as i64 == BATCH => last.app_user_id.clone(),
                    // Round every user: the next walk starts from the first.
                    _ => String::new(),
                };
                due
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read due deliveries; will retry");
                Vec::new()
            }
        };
        let busy = !due.is_empty();
        let mut sending = JoinSet::new();
        for delivery in due {
            sending.spawn(deliver(outbox.clone(), delivery));
        }
        // A delivery in flight is finished even on shutdown: its lease would hold it back a
        // minute otherwise.
        while sending.join_next().await.is_some() {}
        task.ran();
        if busy {
            continue;
        }
        tokio::select! {
            () = task.shutdown.cancelled() => return,
            () = hub.deliveries.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

async fn record_backlog(pool: &PgPool) {
    if let Ok((pending, oldest, dead)) = db::events::backlog(pool).await {
        metrics::gauge!("outbox_pending").set(pending as f64);
        metrics::gauge!("outbox_oldest_pending_seconds").set(oldest);
        metrics::gauge!("outbox_dead").set(dead as f64);
    }
}

#[tracing::instrument(skip_all, fields(event_id = due.event_id, user_id = %due.app_user_id, attempt = due.attempts + 1))]
async fn deliver(outbox: Arc<Outbox>, due: db::events::Due) {
    let attempt = match outbox
        .sealer
        .open(&due.body_sealed, &outbox_ad(due.event_id))
    {
        Ok(body) => send(&outbox, due.event_id, body).await,
        // Sealed with a key no longer configured: it can never be sent.
        Err(_) => Err((
            None,
            "the delivery cannot be opened with the configured keys",
        )),
    };
    let expired = Utc::now() - due.created_at > GIVE_UP_AFTER;
    let (result, label) = match attempt {
        Ok(status) => (Attempt::Delivered(status), "delivered"),
        Err((Some(status), error)) if outcome(status_code(status)) == Outcome::Refused => {
            tracing::warn!(status, "the backend refused a delivery; not retried");
            (
                Attempt::Dead {
                    status: Some(status),
                    error,
                },
                "refused",
            )
        }
        Err((status, error)) if expired => {
            tracing::error!(?status, error, "a delivery failed for a day; given up");
            (Attempt::Dead { status, error }, "expired")
        }
        Err((status, error)) => {
            tracing::info!(?status, error, "a delivery failed; will retry");
            let in_secs = retry_in_secs(due.attempts);
            (
                Attempt::Retry {
                    status,
                    error,
                    in_secs,
                },
                "failed",
            )
        }
    };
    metrics::counter!("app_webhook_deliveries_total", "outcome" => label).increment(1);
    if let Err(e) = db::events::attempted(&outbox.pool, due.event_id, result).await {
        // The lease brings it back: delivered again, which at-least-once allows.
        tracing::warn!(error = %e, "could not record a delivery attempt");
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Posts one delivery: the status of a 2xx, or what went wrong.
async fn send(
    outbox: &Outbox,
    event_id: i64,
    body: Vec<u8>,
) -> Result<u16, (Option<u16>, &'static str)> {
    let id = webhook_id(event_id);
    let timestamp = Utc::now().timestamp();
    let signature = outbox.key.sign(&id, timestamp, &body);
    let answer = outbox
        .http
        .post(outbox.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .timeout(DELIVERY_TIMEOUT)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = answer.status();
            // The body is not needed; dropping the answer frees the connection.
            drop(answer);
            match outcome(status) {
                Outcome::Delivered => Ok(status.as_u16()),
                _ => Err((Some(status.as_u16()), "the backend did not acknowledge")),
            }
        }
        Err(e) if e.is_timeout() => Err((None, "the backend did not answer in time")),
        Err(_) => Err((None, "the backend could not be reached")),
    }
}

/// A delivery's `webhook-id`: the same for every attempt, so the backend can drop repeats.
pub fn webhook_id(event_id: i64) -> String {
    format!("evt_{event_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2xx_acknowledges_a_4xx_refuses_but_timeouts_and_throttling_are_retried() {
        assert_eq!(outcome(StatusCode::OK), Outcome::Delivered);
        assert_eq!(outcome(StatusCode::NO_CONTENT), Outcome::Delivered);
        assert_eq!(outcome(StatusCode::BAD_REQUEST), Outcome::Refused);
        assert_eq!(outcome(StatusCode::GONE), Outcome::Refused);
        assert_eq!(outcome(StatusCode::REQUEST_TIMEOUT), Outcome::Failed);
        assert_eq!(outcome(StatusCode::TOO_MANY_REQUESTS), Outcome::Failed);
        assert_eq!(outcome(StatusCode::BAD_GATEWAY), Outcome::Failed);
        assert_eq!(outcome(StatusCode::MOVED_PERMANENTLY), Outcome::Failed);
    }

    #[test]
    fn retries_back_off_from_seconds_to_an_hour_with_jitter() {
        let first = retry_in_secs(0);
        assert!((4.0..6.0).contains(&first), "{first}");
        let later = retry_in_secs(4);
        assert!((64.0..96.0).contains(&later), "{later}");
        for attempts in [11, 50, i32::MAX] {
            let capped = retry_in_secs(attempts);
            assert!((2880.0..4320.0).contains(&capped), "{capped}");
        }
    }
}
