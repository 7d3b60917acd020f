//! The webhook inbox: Basiq's webhooks, once verified and acknowledged by
//! `POST /webhooks/basiq`, are worked on here in the background. The webhook's body only names
//! an event: what happened, to what and to whom is what `GET /events/{id}` says.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio::{sync::mpsc, task::JoinSet};

use crate::{
    basiq::{BasiqClient, BasiqError, types::Event},
    db,
    domain::ids::is_basiq_id,
    erasure::{consent_end_erases, consent_ended},
    events::{
        Change, ConsentChange, ConsentUpdated, DataUpdated, Events, SeenConnection, Sources,
        UserErased,
    },
    institutions::Institutions,
    sync::SyncStore,
    tasks::TaskContext,
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
    /// What a webhook changed is published for the user.
    pub events: Events,
    /// Names the institutions of connections in `connection.updated` events.
    pub institutions: Institutions,
    /// Refreshed when Basiq says a user's data changed.
    pub sync: SyncStore,
}

impl Worker {
    fn sources(&self) -> Sources<'_> {
        Sources {
            basiq: &self.basiq,
            institutions: &self.institutions,
        }
    }
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
            Err(e) if e.is_not_found() => {
                // Basiq's test messages (`admin webhooks test`) name no event it keeps.
                tracing::info!("Basiq has no such event (a test message?); nothing to do");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not fetch the webhook's event; recovery tries again");
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
/// `admin replay-events` all come here.
///
/// What acting on it needs from Basiq is read first; then, in one transaction, the event is
/// recorded as processed, acted on, and told to the user. Either all of it happens or none
/// of it does: a crash before the commit leaves the event unprocessed, for recovery to find
/// in Basiq's `GET /events`; a concurrent delivery of the same event waits on the first's
/// record and then finds it processed.
#[tracing::instrument(skip_all, fields(event_id, source = source.as_str(), event_type, basiq_user_id, user_id))]
pub async fn handle(state: &Worker, event_id: &str, event: &Event, source: Source) -> Handled {
    tracing::Span::current().record("event_id", event_id);
    let Some(event_type) = event_type_of(event) else {
        tracing::warn!("the event has no type; ignored");
        return Handled::Processed;
    };
    tracing::Span::current().record("event_type", event_type.as_str());
    match process_once(state, event_id, event, &event_type, source).await {
        Ok(handled) => handled,
        Err(e) => {
            tracing::error!(error = %e, "event processing failed; recovery tries again");
            Handled::Failed
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("Basiq: {0}")]
    Basiq(#[from] BasiqError),
}

/// Who an event is about.
struct Target {
    basiq_user_id: String,
    app_user_id: String,
    connection_id: Option<String>,
    consent_id: Option<String>,
}

/// What acting on an event needs from Basiq, read before its transaction.
enum Prepared {
    /// The connection the event is about, as Basiq now has it.
    Connection(Box<SeenConnection>),
    /// A consent ended: erase the user's data unless another of their consents is active at
    /// Basiq (a late event about an old consent erases nothing current).
    ConsentEnded {
        erase: bool,
    },
    Nothing,
}

async fn process_once(
    state: &Worker,
    event_id: &str,
    event: &Event,
    event_type: &str,
    source: Source,
) -> Result<Handled, ProcessError> {
    if db::webhooks::processed(&state.pool, event_id).await? {
        tracing::info!("event already processed");
        return Ok(Handled::AlreadyProcessed);
    }
    let target = target(state, event).await?;
    let prepared = match &target {
        Some(target) => prepare(state, event_type, target).await?,
        None => Prepared::Nothing,
    };
    let mut tx = state.pool.begin().await?;
    if !db::webhooks::claim_event(&mut *tx, event_id, event_type, source.as_str()).await? {
        tracing::info!("event already processed");
        return Ok(Handled::AlreadyProcessed);
    }
    let wake = match &target {
        Some(target) => act(state, &mut tx, event_type, event, target, prepared).await?,
        None => false,
    };
    crate::faults::crash_point("event.acted");
    tx.commit().await?;
    if wake {
        state.sync.wake();
    }
    if let Some(target) = &target {
        tracing::info!(connection_id = ?target.connection_id, consent_id = ?target.consent_id, "event processed");
    }
    Ok(Handled::Processed)
}

/// The app user an event is about, or `None` when it names no user we know (it is then
/// recorded as processed, with nothing to do).
async fn target(state: &Worker, event: &Event) -> Result<Option<Target>, sqlx::Error> {
    let data_ref = event.data_ref.as_deref().unwrap_or_default();
    let Some(basiq_user_id) = event
        .user_id
        .clone()
        .or_else(|| segment_after(data_ref, "users").map(str::to_owned))
        .filter(|id| is_basiq_id(id))
    else {
        tracing::warn!("the event names no user; ignored");
        return Ok(None);
    };
    tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());
    let Some(app_user_id) = db::users::app_user_of(&state.pool, &basiq_user_id).await? else {
        tracing::info!("the event is for a Basiq user we do not know; ignored");
        return Ok(None);
    };
    tracing::Span::current().record("user_id", app_user_id.as_str());
    Ok(Some(Target {
        connection_id: entity_id(event, "connection", "connections"),
        consent_id: entity_id(event, "consent", "consents"),
        basiq_user_id,
        app_user_id,
    }))
}

/// Reads from Basiq what acting on the event needs.
async fn prepare(
    state: &Worker,
    event_type: &str,
    target: &Target,
) -> Result<Prepared, BasiqError> {
    Ok(match (event_type, target.connection_id.as_deref()) {
        (
            "connection.invalidated"
            | "connection.activated"
            | "connection.created"
            | "connection.deleted",
            Some(c),
        ) => Prepared::Connection(Box::new(
            state.sources().connection(&target.basiq_user_id, c).await?,
        )),
        ("consent.revoked" | "consent.expired", _) => {
            let consents = state.basiq.consents(&target.basiq_user_id).await?;
            let erase = consent_end_erases(&consents, target.consent_id.as_deref(), false);
            if !erase {
                tracing::info!(
                    "a consent ended that is not the user's active one; nothing current is erased"
                );
            }
            Prepared::ConsentEnded { erase }
        }
        _ => Prepared::Nothing,
    })
}

/// Acts on an event of `event_type` and tells the user, in the event's transaction; `true`
/// when a sync refresh was asked for (wake the refresher once it commits).
async fn act(
    state: &Worker,
    tx: &mut PgConnection,
    event_type: &str,
    event: &Event,
    target: &Target,
    prepared: Prepared,
) -> Result<bool, sqlx::Error> {
    let user = target.app_user_id.as_str();
    let consent = |change| {
        Some(Change::Consent(ConsentUpdated {
            change,
            consent_id: target.consent_id.clone(),
        }))
    };
    // What Basiq says later of a deleted connection (a late or recovered event) is not told:
    // for the user it is gone.
    if let Some(c) = target.connection_id.as_deref()
        && event_type != "connection.deleted"
        && db::connections::deleted(&mut *tx, user).await?.contains(c)
    {
        tracing::info!("the event is about a deleted connection; nothing to do");
        return Ok(false);
    }
    let mut wake = false;
    let change = match (event_type, target.connection_id.as_deref(), prepared) {
        ("connection.invalidated", Some(c), Prepared::Connection(seen)) => {
            db::connections::mark_invalidated(&mut *tx, user, c).await?;
            state.events.connection_updated_in(tx, user, *seen).await?;
            None
        }
        ("connection.activated" | "connection.created", Some(c), Prepared::Connection(seen)) => {
            db::connections::clear_invalidated(&mut *tx, c, chrono::Utc::now()).await?;
            state.events.connection_updated_in(tx, user, *seen).await?;
            None
        }
        ("connection.deleted", Some(c), Prepared::Connection(seen)) => {
            // Deleted through us, the user was told then.
            match db::connections::delete(&mut *tx, user, c).await? {
                true => {
                    state.events.connection_updated_in(tx, user, *seen).await?;
                    Some(Change::Data(DataUpdated {
                        connection_id: Some(c.to_owned()),
                    }))
                }
                false => None,
            }
        }
        ("transactions.updated" | "account.updated", connection, _) => {
            // `data.updated` follows, once the user's sync store (if any) is refreshed.
            wake = state.sync.data_changed_in(tx, user, connection).await?;
            None
        }
        ("consent.revoked" | "consent.expired", _, Prepared::ConsentEnded { erase }) => {
            // Basiq requires the app to delete or de-identify the user's data.
            let change = match event_type {
                "consent.revoked" => ConsentChange::Revoked,
                _ => ConsentChange::Expired,
            };
            let consent_id = target.consent_id.as_deref();
            consent_ended(&mut *tx, &state.events, user, consent_id, change, erase).await?;
            None
        }
        ("consent.warning", _, _) => match &target.consent_id {
            Some(id) => {
                let expires_at = event
                    .data
                    .as_ref()
                    .and_then(|d| d.get("expiryDate"))
                    .and_then(|v| v.as_str())
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.to_utc());
                db::consents::warn(&mut *tx, user, id, expires_at).await?;
                consent(ConsentChange::Warning)
            }
            None => {
                tracing::warn!("the consent warning names no consent; ignored");
                None
            }
        },
        // A new or extended consent: the warning no longer stands.
        ("consent.created", _, _) => {
            db::consents::clear(&mut *tx, user).await?;
            consent(ConsentChange::Created)
        }
        ("consent.updated", _, _) => {
            db::consents::clear(&mut *tx, user).await?;
            consent(ConsentChange::Updated)
        }
        // Basiq reminds that the consent has run 90 days since it was last updated.
        ("consent.reminder", _, _) => consent(ConsentChange::Reminder),
        ("user.deleted", _, _) => {
            db::users::delete(&mut *tx, user).await?;
            Some(Change::Erased(UserErased {
                user_id: user.to_owned(),
            }))
        }
        ("user.created" | "user.updated", _, _) => None,
        (other, _, _) => {
            tracing::warn!(
                event_type = other,
                "webhook event not handled; acknowledged"
            );
            None
        }
    };
    if let Some(change) = change {
        state.events.publish_in(tx, user, &change).await?;
    }
    Ok(wake)
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
