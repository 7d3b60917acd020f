//! Push (SPEC.md §7): what changes for a user is written as an event row (`db/events.rs`),
//! sealed, by whatever learns it (the job watcher, the webhook inbox, the routes that refresh,
//! consent and erase); Postgres `NOTIFY` wakes every replica's [`Hub`], which wakes that
//! user's open streams (`GET /v1/events`) to read the new rows. The row is the truth and the
//! notice only a wake-up: a stream that missed one catches up from the table. With
//! `APP_WEBHOOK_URL` set, each event is also queued, in the same transaction, for the company's
//! backend (`outbox.rs`).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio::sync::Notify;

pub use crate::db::events::{outbox_ad, payload_ad};
use crate::{
    basiq::{BasiqClient, BasiqError, types::Connection},
    crypto::Sealer,
    db,
    domain::{
        connections::{ConnectionView, Names},
        jobs::JobView,
    },
    institutions::Institutions,
    remembered::Remembered,
    tasks::TaskContext,
};

/// Events are kept at least this long, for streams that reconnect with `Last-Event-ID`.
pub const KEEP_EVENTS: Duration = Duration::from_secs(25 * 3600);

/// A connection's accounts or transactions changed: read them again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataUpdated {
    pub connection_id: Option<String>,
}

/// What happened to a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsentChange {
    Created,
    Updated,
    Revoked,
    Expired,
    /// It expires soon: renew it through the Consent UI.
    Warning,
    /// It has run 90 days since it was last updated (Basiq's `consent.reminder`): a moment to
    /// show the user what they share.
    Reminder,
}

/// A consent changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentUpdated {
    pub change: ConsentChange,
    pub consent_id: Option<String>,
}

/// The user was erased: everything stored about them is gone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserErased {
    pub user_id: String,
}

/// What a stream receives as an event's `data` (its `event:` names the type), and what the
/// company's backend receives as `data`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Change {
    /// `job.updated`: the job, as `GET /v1/jobs/{jobId}` shows it, whenever its status or a
    /// step changes.
    Job(JobView),
    /// `connection.updated`: the connection, as `GET /v1/connections` shows it, whenever its
    /// status or `needsAttention` changes (`status` is `deleted` once it is gone).
    Connection(ConnectionView),
    /// `data.updated`: a connection's accounts or transactions changed.
    Data(DataUpdated),
    /// `consent.updated`: a consent was created, updated, revoked, expired, or expires soon.
    Consent(ConsentUpdated),
    /// `user.erased`: the user and everything stored about them are gone.
    Erased(UserErased),
}

impl Change {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Job(_) => "job.updated",
            Self::Connection(_) => "connection.updated",
            Self::Data(_) => "data.updated",
            Self::Consent(_) => "consent.updated",
            Self::Erased(_) => "user.erased",
        }
    }
}

/// Every event type, for metric labels and documentation.
pub const EVENT_TYPES: &[&str] = &[
    "job.updated",
    "connection.updated",
    "data.updated",
    "consent.updated",
    "user.erased",
];

/// What the company's backend receives at `APP_WEBHOOK_URL` (Standard Webhooks' recommended
/// shape), with headers `webhook-id` (`evt_<eventId>`, the same on every retry),
/// `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
/// `id.timestamp.body` keyed with `APP_WEBHOOK_SECRET`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppWebhookDelivery<'a> {
    /// The event's type: `job.updated`, `connection.updated`, `data.updated`,
    /// `consent.updated` or `user.erased`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// When the event was written.
    pub timestamp: DateTime<Utc>,
    /// The event's id, as streams show it.
    pub event_id: String,
    /// The app user (the JWT's `sub`).
    #[schema(value_type = String)]
    pub user_id: &'a str,
    #[schema(value_type = Change)]
    pub data: &'a Change,
}

/// Writes events.
#[derive(Clone)]
pub struct Events {
    pool: PgPool,
    sealer: Arc<Sealer>,
    /// Queue each event for the company's backend (`APP_WEBHOOK_URL` is set).
    outbox: bool,
}

impl Events {
    pub fn new(pool: PgPool, sealer: Arc<Sealer>, outbox: bool) -> Self {
        Self {
            pool,
            sealer,
            outbox,
        }
    }

    /// Publishes `change` for `app_user_id` in the caller's transaction (it is seen once that
    /// commits).
    pub async fn publish_in(
        &self,
        tx: &mut PgConnection,
        app_user_id: &str,
        change: &Change,
    ) -> Result<i64, sqlx::Error> {
        let kind = change.event_type();
        let payload = serde_json::to_vec(change).expect("an event serialises");
        let sealed = self.sealer.seal(&payload, &payload_ad(app_user_id));
        let (id, created_at) = db::events::insert(tx, app_user_id, kind, &sealed).await?;
        if self.outbox {
            let body = serde_json::to_vec(&AppWebhookDelivery {
                kind,
                timestamp: created_at,
                event_id: id.to_string(),
                user_id: app_user_id,
                data: change,
            })
            .expect("a delivery serialises");
            let sealed = self.sealer.seal(&body, &outbox_ad(id));
            db::events::enqueue(tx, id, app_user_id, &sealed).await?;
        }
        metrics::counter!("events_published_total", "type" => kind).increment(1);
        Ok(id)
    }

    /// Records what was just seen of the user's job (`db::jobs::record`) and, when it is new or
    /// moved, publishes `job.updated`, in one transaction.
    pub async fn job_seen(
        &self,
        app_user_id: &str,
        origin: &str,
        view: &JobView,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // A job of a deleted connection (Basiq still lists its jobs for 7 days) is not told.
        if let Some(c) = &view.connection_id
            && db::connections::deleted(&mut *tx, app_user_id)
                .await?
                .contains(c)
        {
            return Ok(());
        }
        if db::jobs::record(&mut tx, app_user_id, origin, view).await? {
            self.publish_in(&mut tx, app_user_id, &Change::Job(view.clone()))
                .await?;
            count_unknown_code(view);
        }
        tx.commit().await
    }

    /// Publishes `job.updated` with `view`, in the caller's transaction.
    pub async fn job_moved_in(
        &self,
        tx: &mut PgConnection,
        app_user_id: &str,
        view: &JobView,
    ) -> Result<(), sqlx::Error> {
        self.publish_in(tx, app_user_id, &Change::Job(view.clone()))
            .await?;
        count_unknown_code(view);
        Ok(())
    }

    /// Publishes `connection.updated` in the caller's transaction: the connection as Basiq had
    /// it (`seen`, read before the transaction began), with what the transaction now knows of
    /// it (`status: deleted` once Basiq no longer knows it).
    pub async fn connection_updated_in(
        &self,
        tx: &mut PgConnection,
        app_user_id: &str,
        seen: SeenConnection,
    ) -> Result<(), sqlx::Error> {
        let view = match seen.connection {
            Some(connection) => {
                let known = db::connections::known(&mut *tx, app_user_id)
                    .await?
                    .take(&seen.id);
                connection.view(&known, &seen.names, Utc::now())
            }
            None => ConnectionView::deleted(&seen.id),
        };
        self.publish_in(tx, app_user_id, &Change::Connection(view))
            .await
            .map(drop)
    }
}

/// A job that moved to a failure code the outcome table does not know is counted, once per
/// move.
fn count_unknown_code(view: &JobView) {
    if let Some(error) = &view.error
        && crate::domain::jobs::row(&error.code).is_none()
    {
        crate::monitoring::unknown_job_code(&error.code);
    }
}

/// Where a `connection.updated` event's connection is read from.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub basiq: &'a BasiqClient,
    pub institutions: &'a Institutions,
}

/// A connection as Basiq had it when last read: `None` once Basiq no longer knows it.
pub struct SeenConnection {
    pub id: String,
    pub connection: Option<Connection>,
    pub names: Names,
}

impl Sources<'_> {
    /// Reads the user's connection from Basiq (and the institutions' names), to tell the user
    /// about it.
    pub async fn connection(
        &self,
        basiq_user_id: &str,
        connection_id: &str,
    ) -> Result<SeenConnection, BasiqError> {
        let connection = match self.basiq.connection(basiq_user_id, connection_id).await {
            Ok(connection) => Some(connection),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let names = match connection {
            Some(_) => self.institutions.names().await,
            None => Names::default(),
        };
        Ok(SeenConnection {
            id: connection_id.to_owned(),
            connection,
            names,
        })
    }
}

/// Why a stream could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyStreams {
    pub per_user: bool,
}

/// How many streams may be open.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub per_user: usize,
    pub per_replica: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            // A user with a phone, a tablet and a dozen tabs open.
            per_user: 20,
            per_replica: 1000,
        }
    }
}

struct UserStreams {
    wake: Arc<Notify>,
    open: usize,
}

/// This replica's open streams, by user, and their wake-ups.
pub struct Hub {
    users: Mutex<HashMap<String, UserStreams>>,
    open: AtomicUsize,
    limits: StreamLimits,
    /// What this replica remembers of users: stale for a user when a notice of their events
    /// arrives (published on any replica, committed), for everyone when notices were missed.
    remembered: Arc<Remembered>,
    /// Woken on every new event, for the delivery to the company's backend.
    pub deliveries: Notify,
}

/// An open stream's place in the [`Hub`], given back when dropped.
pub struct StreamSlot {
    hub: Arc<Hub>,
    user: String,
    pub wake: Arc<Notify>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut users = self.hub.users.lock().expect("hub lock");
        if let Some(streams) = users.get_mut(&self.user) {
            streams.open -= 1;
            if streams.open == 0 {
                users.remove(&self.user);
            }
        }
        let open = self.hub.open.fetch_sub(1, Ordering::AcqRel) - 1;
        metrics::gauge!("event_streams_open").set(open as f64);
    }
}

impl Hub {
    pub fn new(limits: StreamLimits, remembered: Arc<Remembered>) -> Arc<Self> {
        Arc::new(Self {
            users: Mutex::default(),
            open: AtomicUsize::new(0),
            limits,
            remembered,
            deliveries: Notify::new(),
        })
    }

    /// A place for one more stream of `user`, within the caps.
    pub fn open(self: &Arc<Self>, user: &str) -> Result<StreamSlot, TooManyStreams> {
        let mut users = self.users.lock().expect("hub lock");
        if self.open.load(Ordering::Acquire) >= self.limits.per_replica {
            return Err(TooManyStreams { per_user: false });
        }
        let streams = users.entry(user.to_owned()).or_insert_with(|| UserStreams {
            wake: Arc::new(Notify::new()),
            open: 0,
        });
        if streams.open >= self.limits.per_user {
            return Err(TooManyStreams { per_user: true });
        }
        streams.open += 1;
        let open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        metrics::gauge!("event_streams_open").set(open as f64);
        Ok(StreamSlot {
            hub: self.clone(),
            user: user.to_owned(),
            wake: streams.wake.clone(),
        })
    }

    fn wake(&self, user: &str) {
        self.remembered.forget(user);
        self.deliveries.notify_one();
        if let Some(streams) = self.users.lock().expect("hub lock").get(user) {
            streams.wake.notify_waiters();
        }
    }

    fn wake_all(&self) {
        self.remembered.forget_all();
        self.deliveries.notify_one();
        for streams in self.users.lock().expect("hub lock").values() {
            streams.wake.notify_waiters();
        }
    }

    /// The listener: one Postgres connection on which every replica hears of new events, and
    /// wakes the user's streams here. When the connection drops, it reconnects and wakes
    /// every stream, which catch up from the table.
    pub async fn listen(self: Arc<Self>, pool: PgPool, task: TaskContext) {
        let mut failures = 0u32;
        loop {
            let listener = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(db::events::CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = tokio::select! {
                () = task.shutdown.cancelled() => return,
                listener = listener => match listener {
                    Ok(listener) => listener,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, "cannot listen for events; retrying");
                        let wait = Duration::from_millis(200) * 2u32.pow(failures.min(6));
                        tokio::select! {
                            () = task.shutdown.cancelled() => return,
                            () = tokio::time::sleep(wait) => continue,
                        }
                    }
                },
            };
            failures = 0;
            // Whatever was written while not listening.
            self.wake_all();
            task.ran();
            loop {
                let notice = tokio::select! {
                    () = task.shutdown.cancelled() => return,
                    notice = listener.try_recv() => notice,
                };
                match notice {
                    Ok(Some(notice)) => self.wake(notice.payload()),
                    // The connection dropped; the next call reconnects. Catch up meanwhile.
                    Ok(None) => {
                        tracing::info!("the events listener reconnects");
                        self.wake_all();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the events listener failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

/// Forgets events older than [`KEEP_EVENTS`] (and used tickets, and deliveries done with),
/// every ten minutes.
pub async fn prune(pool: PgPool, task: TaskContext) {
    loop {
        tokio::select! {
            () = task.shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
        match db::events::prune(&pool, KEEP_EVENTS).await {
            Ok(n) => {
                tracing::debug!(pruned = n, "old events pruned");
                task.ran();
            }
            Err(e) => tracing::warn!(error = %e, "pruning events failed; will retry"),
        }
    }
}
