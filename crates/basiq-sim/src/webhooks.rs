//! Events and their signed webhook deliveries (Standard Webhooks / Svix scheme), with Basiq's
//! redelivery schedule.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::routes::connections::connection_json;
use super::state::{Event, SimState};
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

pub struct Webhooks {
    client: reqwest::Client,
    url: String,
    key: Vec<u8>,
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
    /// Delivery is configured only when both the URL and a valid secret are set.
    pub fn new(url: Option<&str>, secret: Option<&str>, scale: f64) -> Option<Self> {
        let (url, secret) = (url?, secret?);
        let key = match decode_secret(secret) {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!("webhooks disabled: BASIQ_SIM_WEBHOOK_SECRET {e}");
                return None;
            }
        };
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .build()
            .ok()?;
        Some(Self {
            client,
            url: url.to_owned(),
            key,
            scale,
        })
    }

    async fn attempt(&self, id: &str, body: &str) -> bool {
        let timestamp = Utc::now().timestamp();
        let result = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                sign(&self.key, id, timestamp, body.as_bytes()),
            )
            .body(body.to_owned())
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

/// Records an event (served by `GET /events/{id}`) and delivers its webhook.
/// `data_ref` is the entity's path; call without holding the store lock.
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
    sim.store().events.insert(event.id.clone(), event.clone());
    if sim.webhooks.is_none() {
        return;
    }
    let base = &sim.public_base;
    let body = json!({
        "eventTypeId": event.type_id(),
        "eventId": event.id,
        "links": {
            "event": format!("{base}/events/{}", event.id),
            "eventEntity": format!("{base}{}", event.data_ref),
        },
    })
    .to_string();
    let sim = sim.clone();
    tokio::spawn(async move {
        let Some(webhooks) = sim.webhooks.as_ref() else {
            return;
        };
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        if webhooks.attempt(&id, &body).await {
            return;
        }
        for delay in RETRY_SCHEDULE {
            let delay = delay.mul_f64(webhooks.scale);
            tokio::select! {
                () = sim.shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            if webhooks.attempt(&id, &body).await {
                return;
            }
        }
        tracing::warn!(webhook_id = id, "webhook dropped after the last redelivery");
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
            // How the job ended, not how the login would: an expired challenge ends it early.
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
