//! The webhook inbox: Basiq's webhooks, once verified and acknowledged by
//! `POST /webhooks/basiq`, are worked on here in the background. The webhook's body only names
//! an event: what happened, to what and to whom is what `GET /events/{id}` says.

use std::time::Duration;

use std::sync::Arc;

use sqlx::PgPool;
use tokio::{sync::mpsc, task::JoinSet};

use crate::{
    basiq::{BasiqClient, types::Event},
    db,
    domain::ids::is_basiq_id,
    events::{Change, ConsentChange, ConsentUpdated, Events, Sources, UserErased},
    institutions::Institutions,
    sync::SyncStore,
    tasks::TaskContext,
    user_cache::UserCache,
};

/// Deliveries waiting to be worked on; beyond this the webhook route asks Basiq to redeliver.
const CAPACITY: usize = 1024;
/// Deliveries worked on at once.
const CONCURRENCY: usize = 8;

/// An acknowledged webhook: the event it names, and the type its body claimed (for logs).
#[derive(Debug)]
pub struct Delivery {
    pub event_id: String,
    pub claimed_type: String,
}

/// Where the webhook route puts deliveries.
#[derive(Clone)]
pub struct Inbox(mpsc::Sender<Delivery>);

/// Where the inbox task takes them from.
pub struct Deliveries(mpsc::Receiver<Delivery>);

pub fn inbox() -> (Inbox, Deliveries) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    (Inbox(tx), Deliveries(rx))
}

/// A place in the inbox, held before a delivery is recorded, so that what is recorded as
/// received is always worked on.
pub struct Room<'a>(mpsc::Permit<'a, Delivery>);

impl Inbox {
    /// A place, or `None` while the inbox is full.
    pub fn room(&self) -> Option<Room<'_>> {
        self.0.try_reserve().ok().map(Room)
    }
}

impl Room<'_> {
    pub fn send(self, delivery: Delivery) {
        self.0.send(delivery);
    }
}

/// What working on a delivery needs.
#[derive(Clone)]
pub struct Worker {
    pub pool: PgPool,
    pub basiq: BasiqClient,
    /// Known users, to forget one Basiq deleted.
    pub users: Arc<UserCache>,
    /// What a webhook changed is published for the user.
    pub events: Events,
    /// Names the institutions of connections in `connection.updated` events.
    pub institutions: Institutions,
    /// Refreshed when Basiq says a user's data changed.
    pub sync: SyncStore,
}

/// Works on deliveries until shutdown, then on those already waiting, and returns.
pub async fn run(state: Worker, Deliveries(mut rx): Deliveries, task: TaskContext) {
    let mut working = JoinSet::new();
    loop {
        while working.len() >= CONCURRENCY {
            working.join_next().await;
            task.ran();
        }
        let delivery = tokio::select! {
            () = task.shutdown.cancelled() => break,
            delivery = rx.recv() => delivery,
        };
        let Some(delivery) = delivery else { break };
        working.spawn(process(state.clone(), delivery));
    }
    // Acknowledged to Basiq: finish them before stopping.
    rx.close();
    while let Some(delivery) = rx.recv().await {
        working.spawn(process(state.clone(), delivery));
    }
    while working.join_next().await.is_some() {
        task.ran();
    }
}

/// `consent.revoked`, from the event's `entity` and `eventType` (Basiq gives `consent` and
/// `revoked`; an `eventType` that is already whole is taken as it is).
fn event_type_of(event: &Event) -> Option<String> {
    let kind = event.event_type.as_deref().filter(|t| !t.is_empty())?;
    if kind.contains('.') {
        return Some(kind.to_owned());
    }
    let entity = event.entity.as_deref().filter(|e| !e.is_empty())?;
    Some(format!("{entity}.{kind}"))
}

/// The id of the event's `entity` (a connection, a consent): its data's `id` when the event is
/// about one, else the segment after `/{segment}/` in its data link.
fn entity_id(event: &Event, entity: &str, segment: &str) -> Option<String> {
    let data_ref = event.data_ref.as_deref().unwrap_or_default();
    event
        .data
        .as_ref()
        .filter(|_| event.entity.as_deref() == Some(entity))
        .and_then(|d| d.get("id"))
        .and_then(|v| v.as_str())
        .or_else(|| segment_after(data_ref, segment))
        .filter(|id| is_basiq_id(id))
        .map(str::to_owned)
}

/// `…/users/{id}…` and `…/connections/{id}…` out of a Basiq link.
fn segment_after<'a>(link: &'a str, name: &str) -> Option<&'a str> {
    let mut parts = link.split(['/', '?']);
    parts.find(|p| *p == name)?;
    parts.next().filter(|s| !s.is_empty())
}

#[tracing::instrument(skip_all, fields(event_id = %delivery.event_id))]
async fn process(state: Worker, delivery: Delivery) {
    let mut attempt = 0;
    let event = loop {
        match state.basiq.event(&delivery.event_id).await {
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
    if event
        .id
        .as_deref()
        .is_some_and(|id| id != delivery.event_id)
    {
        tracing::warn!("Basiq answered another event than the one named; ignored");
        return;
    }
    if event_type_of(&event).is_some_and(|t| t != delivery.claimed_type) {
        tracing::warn!("the webhook named another type than its event has; acting on the event's");
    }
    handle(&state, &delivery.event_id, &event, Source::Webhook).await;
}

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Its webhook, through `POST /webhooks/basiq`.
    Webhook,
    /// Read from Basiq's `GET /events` by the recovery task (its webhook was missed).
    Recovered,
    /// Read from Basiq's `GET /events` by `basiq-bff admin replay-events`.
    Replayed,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Recovered => "recovered",
            Self::Replayed => "replayed",
        }
    }
}

/// What became of an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// Acted on (or acknowledged: a type with nothing to do, a user we do not know).
    Processed,
    /// Another delivery, recovery or replay processed it already.
    AlreadyProcessed,
    /// Could not be processed now; recovery tries again.
    Failed,
}

/// Processes Basiq's event `event_id` once: the webhook route's inbox, event recovery and
/// `admin replay-events` all come here, and whichever claims the event id first acts on it.
#[tracing::instrument(skip_all, fields(event_id, source = source.as_str(), event_type, basiq_user_id, user_id))]
pub async fn handle(state: &Worker, event_id: &str, event: &Event, source: Source) -> Handled {
    tracing::Span::current().record("event_id", event_id);
    let Some(event_type) = event_type_of(event) else {
        tracing::warn!("the event has no type; ignored");
        return Handled::Processed;
    };
    tracing::Span::current().record("event_type", event_type.as_str());
    match db::webhooks::claim_event(&state.pool, event_id, &event_type, source.as_str()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!("event already processed");
            return Handled::AlreadyProcessed;
        }
        Err(e) => {
            tracing::error!(error = %e, "database unavailable while processing an event");
            return Handled::Failed;
        }
    }
    match act(state, event, &event_type).await {
        Ok(()) => Handled::Processed,
        Err(e) => {
            tracing::error!(error = %e, "event processing failed");
            if let Err(e) = db::webhooks::unclaim_event(&state.pool, event_id).await {
                tracing::error!(error = %e, "could not give back the event's claim");
            }
            Handled::Failed
        }
    }
}

/// Acts on an event of `event_type`.
async fn act(state: &Worker, event: &Event, event_type: &str) -> Result<(), sqlx::Error> {
    let data_ref = event.data_ref.as_deref().unwrap_or_default();
    let Some(basiq_user_id) = event
        .user_id
        .clone()
        .or_else(|| segment_after(data_ref, "users").map(str::to_owned))
        .filter(|id| is_basiq_id(id))
    else {
        tracing::warn!("the event names no user; ignored");
        return Ok(());
    };
    tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());
    let Some(app_user_id) = db::users::app_user_of(&state.pool, &basiq_user_id).await? else {
        tracing::info!("the event is for a Basiq user we do not know; ignored");
        return Ok(());
    };
    tracing::Span::current().record("user_id", app_user_id.as_str());
    let connection_id = entity_id(event, "connection", "connections");
    let consent_id = entity_id(event, "consent", "consents");

    let pool = &state.pool;
    let result = match (event_type, connection_id.as_deref()) {
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
        ("consent.warning", _) => match &consent_id {
            Some(id) => {
                let expires_at = event
                    .data
                    .as_ref()
                    .and_then(|d| d.get("expiryDate"))
                    .and_then(|v| v.as_str())
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.to_utc());
                db::consents::warn(pool, &app_user_id, id, expires_at).await
            }
            None => {
                tracing::warn!("the consent warning names no consent; ignored");
                Ok(())
            }
        },
        // A new or extended consent: the warning no longer stands.
        ("consent.created" | "consent.updated", _) => db::consents::clear(pool, &app_user_id).await,
        ("user.deleted", _) => {
            state.users.forget(&app_user_id);
            db::users::delete(pool, &app_user_id).await
        }
        ("transactions.updated" | "account.updated" | "user.created" | "user.updated", _) => Ok(()),
        (other, _) => {
            tracing::warn!(
                event_type = other,
                "webhook event not handled; acknowledged"
            );
            Ok(())
        }
    };
    result?;
    tracing::info!(connection_id = ?connection_id, consent_id = ?consent_id, "event processed");
    publish(
        state,
        event_type,
        &app_user_id,
        &basiq_user_id,
        connection_id.as_deref(),
        consent_id.as_deref(),
    )
    .await;
    Ok(())
}

/// Tells the user what a processed webhook changed.
async fn publish(
    state: &Worker,
    event_type: &str,
    app_user_id: &str,
    basiq_user_id: &str,
    connection_id: Option<&str>,
    consent_id: Option<&str>,
) {
    let consent = |change| {
        Change::Consent(ConsentUpdated {
            change,
            consent_id: consent_id.map(str::to_owned),
        })
    };
    let change = match (event_type, connection_id) {
        (
            "connection.invalidated"
            | "connection.activated"
            | "connection.created"
            | "connection.deleted",
            Some(c),
        ) => {
            let sources = Sources {
                basiq: &state.basiq,
                institutions: &state.institutions,
            };
            state
                .events
                .connection_changed(sources, app_user_id, basiq_user_id, c)
                .await;
            return;
        }
        ("transactions.updated" | "account.updated", _) => {
            // `data.updated` follows, once the user's sync store (if any) is refreshed.
            state.sync.data_changed(app_user_id, connection_id).await;
            return;
        }
        ("consent.created", _) => consent(ConsentChange::Created),
        ("consent.updated", _) => consent(ConsentChange::Updated),
        ("consent.revoked", _) => consent(ConsentChange::Revoked),
        ("consent.expired", _) => consent(ConsentChange::Expired),
        ("consent.warning", _) => consent(ConsentChange::Warning),
        ("user.deleted", _) => Change::Erased(UserErased {
            user_id: app_user_id.to_owned(),
        }),
        _ => return,
    };
    state.events.publish_or_log(app_user_id, &change).await;
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
