use std::{ops::Deref, sync::Arc};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::{
    auth::{Authenticates, JwtVerifier},
    basiq::BasiqClient,
    crypto::{MacKey, Sealer},
    events::{Events, Hub, Sources},
    inbox::Inbox,
    institutions::Institutions,
    limits::Limits,
    remembered::Remembered,
    single_flight::KeyedLocks,
    sync::SyncStore,
    tasks::Tasks,
    user_cache::Link,
    webhook_signature::WebhookKey,
};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

pub struct App {
    pub pool: PgPool,
    /// One connection of its own for `/readyz` (`db::health_pool`).
    pub health_pool: PgPool,
    pub basiq: BasiqClient,
    pub jwt: JwtVerifier,
    pub consent: ConsentConfig,
    /// Signs consent `state` values.
    pub state_key: MacKey,
    /// Signs transaction cursors.
    pub cursor_key: MacKey,
    pub institutions: Institutions,
    /// Verified webhooks, for the inbox task to work on.
    pub inbox: Inbox,
    /// The background tasks, for `/readyz` and `/metrics`.
    pub tasks: Tasks,
    pub limits: Limits,
    /// What is remembered of users (their Basiq links, their kept answers) until they change.
    pub remembered: Arc<Remembered>,
    /// Web origins allowed to call the API from a browser (`CORS_ALLOWED_ORIGINS`).
    pub cors_allowed_origins: Vec<String>,
    /// Send `Strict-Transport-Security`: the BFF is reached over https.
    pub hsts: bool,
    /// Seals personal data at rest.
    pub sealer: Arc<Sealer>,
    /// `None` while `BASIQ_WEBHOOK_SECRET` is unset: the webhook route answers 404.
    pub webhook_key: Option<WebhookKey>,
    /// Where Basiq sends webhooks: `PUBLIC_BASE_URL/webhooks/basiq`.
    pub webhook_url: Url,
    /// Whether Basiq still sends them (`subscription.rs`).
    pub subscription: crate::subscription::Watch,
    /// Writes events (push, SPEC.md §7).
    pub events: Events,
    /// This replica's open event streams.
    pub hub: Arc<Hub>,
    /// The sync store (SPEC.md §8).
    pub sync: SyncStore,
    /// Polls of one job call Basiq one at a time.
    pub job_polls: KeyedLocks,
    /// Fires on shutdown: background tasks stop and `/readyz` answers 503.
    pub shutdown: CancellationToken,
}

pub struct ConsentConfig {
    pub consent_url: Url,
    pub callback_url: Url,
    pub allowed_return_urls: Vec<String>,
}

impl Authenticates for AppState {
    fn jwt(&self) -> &JwtVerifier {
        &self.jwt
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl App {
    /// Where an event's connection is read from.
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            basiq: &self.basiq,
            institutions: &self.institutions,
        }
    }

    /// A Basiq job as the API shows it, with its bank's status from the cached connectors
    /// list (which decides how long to wait before retrying a bank that is down).
    pub fn job_view(&self, job: &crate::basiq::types::Job) -> crate::domain::jobs::JobView {
        let status = job
            .institution_id()
            .and_then(|id| self.institutions.status(id));
        job.view().with_institution_status(status)
    }

    /// The request changed something of the user, and committed it: what is remembered of
    /// them is stale here now (other replicas hear of it from the change's event).
    pub fn changed(&self, app_user_id: &str) {
        self.remembered.forget(app_user_id);
    }

    /// The Basiq user of an app user, if one has been created.
    pub async fn basiq_user_id(&self, app_user_id: &str) -> Result<Option<String>, sqlx::Error> {
        Ok(self.user_link(app_user_id).await?.map(|l| l.basiq_user_id))
    }

    /// The app user's Basiq user and deleted connections, if a Basiq user has been created.
    pub async fn user_link(&self, app_user_id: &str) -> Result<Option<Link>, sqlx::Error> {
        let link = match self.remembered.links.get(app_user_id) {
            Some(link) => Some(link),
            None => {
                let read = std::time::Instant::now();
                // Boxed: the known-user path stays a small future.
                let link = Box::pin(crate::db::users::link(&self.pool, app_user_id)).await?;
                if let Some(link) = &link {
                    self.remembered.links.put(app_user_id, link.clone(), read);
                }
                link
            }
        };
        if let Some(link) = &link {
            tracing::Span::current().record("basiq_user_id", link.basiq_user_id.as_str());
        }
        Ok(link)
    }
}
