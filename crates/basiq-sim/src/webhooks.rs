//! Events and their signed webhook deliveries (Standard Webhooks / Svix scheme, each webhook
//! with its own secret), with Basiq's redelivery schedule.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::routes::connections::connection_json;
use super::state::{Event, SimState};
use super::subscriptions::Attempt;
use crate::job::{Job, Step};

/// Basiq's redelivery delays after a failed attempt.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// Time allowed for one delivery attempt.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// Delivers messages to the application's webhooks (`subscriptions.rs`).
pub struct Webhooks {
    client: reqwest::Client,
    /// Factor applied to the redelivery schedule.
    scale: f64,
}

/// `whsec_<base64>` → key bytes.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(secret.trim());
    let key = STANDARD
        .decode(b64)
        .map_err(|_| "must be whsec_ followed by base64".to_owned())?;
    if key.is_empty() {
        return Err("the key must not be empty".to_owned());
    }
    Ok(key)
}

/// `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

impl Webhooks {
    pub fn new(scale: f64) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .build()?;
        Ok(Self { client, scale })
    }

    async fn attempt(&self, to: &Attempt) -> bool {
        let id = to.header_id.as_str();
        let key = match decode_secret(&to.secret) {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(webhook_id = id, "webhook not signed: its secret {e}");
                return false;
            }
        };
        let timestamp = Utc::now().timestamp();
        let result = self
            .client
            .post(&to.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                sign(&key, id, timestamp, to.body.as_bytes()),
            )
            .body(to.body.clone())
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                tracing::info!(
                    webhook_id = id,
                    status = r.status().as_u16(),
                    "webhook refused"
                );
                false
            }
            Err(e) => {
                tracing::info!(webhook_id = id, error = %e, "webhook not delivered");
                false
            }
        }
    }
}

/// Records an event (served by `GET /events/{id}`) and sends it to every webhook subscribed to
/// its type. `data_ref` is the entity's path; call without holding the store lock.
pub fn emit(
    sim: &SimState,
    entity: &'static str,
    event_type: &'static str,
    user_id: &str,
    data_ref: String,
    data: Value,
) {
    let event = Event {
        id: uuid::Uuid::new_v4().simple().to_string(),
        created: Utc::now(),
        entity,
        event_type,
        user_id: user_id.to_owned(),
        data_ref,
        data,
    };
    let base = &sim.public_base;
    let payload = json!({
        "eventTypeId": event.type_id(),
        "eventId": event.id,
        "links": {
            "event": format!("{base}/events/{}", event.id),
            "eventEntity": format!("{base}{}", event.data_ref),
        },
    });
    let messages = {
        let mut store = sim.store();
        let messages = store
            .subscriptions
            .enqueue(&event.type_id(), &event.id, &payload);
        store.events.insert(event.id.clone(), event);
        messages
    };
    for message in messages {
        deliver(sim, message);
    }
}

/// Sends a test message of `type_id` to every webhook subscribed to it; answers how many. No
/// event is recorded: its `links` point at `/events/{eventId}`, which answers 404.
pub fn send_test(sim: &SimState, type_id: &str) -> usize {
    let event_id = uuid::Uuid::new_v4().simple().to_string();
    let event = format!("{}/events/{event_id}", sim.public_base);
    let payload = json!({
        "eventTypeId": type_id,
        "eventId": event_id,
        "links": { "event": event, "eventEntity": event },
    });
    let messages = sim
        .store()
        .subscriptions
        .enqueue(type_id, &event_id, &payload);
    let sent = messages.len();
    for message in messages {
        deliver(sim, message);
    }
    sent
}

/// Sends a message now, then again on Basiq's schedule until an attempt succeeds, each time to
/// its webhook as it is then (updated, or deleted and so no more). When the last attempt fails
/// the webhook is removed: Basiq's docs say it "will be subject to removal or disabling", and
/// webhooks.json's statuses have no disabled one.
fn deliver(sim: &SimState, message_id: String) {
    let sim = sim.clone();
    tokio::spawn(async move {
        let delays = std::iter::once(Duration::ZERO)
            .chain(RETRY_SCHEDULE.map(|d| d.mul_f64(sim.webhooks.scale)));
        for delay in delays {
            if !delay.is_zero() {
                tokio::select! {
                    () = sim.shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            let Some(attempt) = sim.store().subscriptions.attempt(&message_id, Utc::now()) else {
                return;
            };
            if sim.webhooks.attempt(&attempt).await {
                return;
            }
        }
        let mut store = sim.store();
        let registry = &mut store.subscriptions;
        if let Some(webhook) = registry.webhook_of(&message_id).map(str::to_owned) {
            registry.remove(&webhook);
            tracing::warn!(
                message_id,
                webhook,
                "webhook removed: its message failed every attempt"
            );
        }
    });
}

/// Sends the connection events a job leads to once it ends. Call it when the job starts, and
/// again whenever its end moves earlier; the first watcher to find it ended sends them, once.
pub fn watch_job(sim: &SimState, job_id: &str) {
    let sim = sim.clone();
    let job_id = job_id.to_owned();
    tokio::spawn(async move {
        loop {
            let Some(finished_at) = sim.store().jobs.get(&job_id).map(Job::finished_at) else {
                return;
            };
            let Ok(wait) = (finished_at - Utc::now()).to_std() else {
                break;
            };
            tokio::select! {
                () = sim.shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
        let events = {
            let mut store = sim.store();
            let Some(job) = store.jobs.get_mut(&job_id).filter(|j| !j.reported) else {
                return;
            };
            job.reported = true;
            let job = &store.jobs[&job_id];
            let Some(c) = store
                .connections
                .get(&job.connection_id)
                .filter(|c| !c.deleted)
            else {
                return;
            };
            let (u, cid) = (&c.user_id, &c.id);
            let connection = connection_json(&store, c, &sim.public_base, Utc::now());
            let path = format!("/users/{u}/connections/{cid}");
            let mut events = Vec::new();
            // How the job ended, not how its login would: an expired challenge ends it early.
            if job.success_at(Step::RetrieveTransactions).is_some() {
                if job.status_before != "active" {
                    events.push(("connection", "activated", path.clone()));
                }
                events.push((
                    "transactions",
                    "updated",
                    format!("/users/{u}/transactions?filter=connection.id.eq('{cid}')"),
                ));
            } else if job.invalidates_at().is_some() && job.status_before != "invalid" {
                events.push(("connection", "invalidated", path));
            }
            (c.user_id.clone(), connection, events)
        };
        let (user_id, connection, list) = events;
        for (entity, kind, data_ref) in list {
            emit(&sim, entity, kind, &user_id, data_ref, connection.clone());
        }
    });
}
