//! Builds the application: pool, migrations, clients, background tasks, router.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::JwtVerifier,
    basiq::{self, BasiqClient, Proxy, TokenPolicy, UpstreamPolicy},
    config::{ConnectionLimits, Settings},
    crypto::{MacKey, Sealer},
    db,
    events::{self, Events, Hub, StreamLimits},
    http,
    inbox::{self, Deliveries},
    institutions::{INSTITUTIONS_TTL, Institutions},
    limits::Limits,
    monitoring, outbox, recovery,
    remembered::Remembered,
    state::{App, AppState, ConsentConfig},
    subscription,
    sync::{self as sync_store, SyncStore},
    tasks::{TaskContext, Tasks},
    telemetry::{self, Telemetry},
    watcher,
    webhook_signature::WebhookKey,
};

/// Knobs tests turn; production uses the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub token_policy: TokenPolicy,
    pub institutions_ttl: Duration,
    /// How often the job watcher looks for due jobs.
    pub watch_interval: Duration,
    pub upstream_policy: UpstreamPolicy,
    /// Caps on open event streams.
    pub stream_limits: StreamLimits,
    /// How often missed webhooks are looked for in Basiq's `GET /events` (and once on start).
    pub recovery_interval: Duration,
    /// How often the sync refresher looks for refreshes asked for on other replicas.
    pub sync_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token_policy: TokenPolicy::default(),
            institutions_ttl: INSTITUTIONS_TTL,
            watch_interval: Duration::from_secs(1),
            upstream_policy: UpstreamPolicy::default(),
            stream_limits: StreamLimits::default(),
            recovery_interval: Duration::from_secs(300),
            sync_interval: Duration::from_secs(2),
        }
    }
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    watch_interval: Duration,
    recovery_interval: Duration,
    sync_interval: Duration,
    connection_limits: ConnectionLimits,
    deliveries: Deliveries,
    outbox: Option<outbox::Outbox>,
}

impl Application {
    /// Binds `BIND_ADDR`, connects to Postgres, applies migrations and builds the state.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .with_context(|| format!("BIND_ADDR: cannot listen on {}", settings.bind_addr))?;
        Self::build_on(settings, listener, Options::default()).await
    }

    /// Like [`Self::build`] on a listener bound by the caller (tests bind port 0).
    pub async fn build_on(
        settings: Settings,
        listener: TcpListener,
        options: Options,
    ) -> anyhow::Result<Self> {
        // Install the metrics recorder before anything records.
        monitoring::handle();
        let pool = connect_database(&settings).await?;
        let data_keys = settings.data_keys();
        let sealer = Arc::new(Sealer::new(&data_keys));
        let basiq = basiq_client(
            &settings,
            &pool,
            &sealer,
            options.token_policy,
            options.upstream_policy,
        )?;
        let jwt = JwtVerifier::new(
            &settings.jwt,
            settings.jwt_issuer.clone(),
            settings.jwt_audience.clone(),
            // The JWKS is fetched like Basiq is called: the same egress proxy and no other, no
            // redirects.
            basiq.egress(),
        )?;
        let data_key = &data_keys[0];
        let mut callback_url = settings.public_base_url.clone();
        callback_url.set_path("/v1/consent/callback");
        let webhook_url = webhook_url(&settings.public_base_url);
        let shutdown = CancellationToken::new();
        let (inbox, deliveries) = inbox::inbox();
        let outbox = match &settings.app_webhook {
            Some(config) => Some(
                outbox::Outbox::new(pool.clone(), sealer.clone(), basiq.egress(), config)
                    .context("APP_WEBHOOK_SECRET: cannot be used as a signing key")?,
            ),
            None => None,
        };
        let remembered = Arc::new(Remembered::new(settings.answer_cache));
        let events = Events::new(pool.clone(), sealer.clone(), outbox.is_some());
        let sync = SyncStore::new(
            pool.clone(),
            basiq.clone(),
            sealer.clone(),
            data_key,
            events.clone(),
        );

        let state = AppState(Arc::new(App {
            health_pool: db::health_pool(&pool),
            pool,
            institutions: Institutions::new(basiq.clone(), options.institutions_ttl),
            tasks: Tasks::new(shutdown.clone()),
            inbox,
            basiq,
            jwt,
            consent: ConsentConfig {
                consent_url: settings.basiq_consent_url.clone(),
                callback_url,
                allowed_return_urls: settings.allowed_return_urls.clone(),
            },
            state_key: MacKey::derive(data_key, "basiq-bff/consent-state/v1"),
            cursor_key: MacKey::derive(data_key, "basiq-bff/transactions-cursor/v1"),
            webhook_url,
            subscription: Default::default(),
            webhook_key: settings
                .webhook_secret
                .as_ref()
                .and_then(|s| WebhookKey::from_secret(s.expose_secret())),
            sealer,
            events,
            sync,
            hub: Hub::new(options.stream_limits, remembered.clone()),
            remembered,
            job_polls: Default::default(),
            limits: Limits::new(settings.rate_limit_per_minute),
            cors_allowed_origins: settings.cors_allowed_origins.clone(),
            hsts: settings.public_base_url.scheme() == "https",
            shutdown,
        }));
        Ok(Self {
            listener,
            state,
            watch_interval: options.watch_interval,
            recovery_interval: options.recovery_interval,
            sync_interval: options.sync_interval,
            connection_limits: settings.connection_limits,
            deliveries,
            outbox,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Starts the background work, serves until `signal` completes, then stops taking
    /// connections, lets requests in flight finish, stops the background work (each task on
    /// the one shutdown token) and closes the pool.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        let Self {
            listener,
            state,
            watch_interval,
            recovery_interval,
            sync_interval,
            connection_limits,
            deliveries,
            outbox,
        } = self;
        let worker = inbox::Worker {
            pool: state.pool.clone(),
            basiq: state.basiq.clone(),
            events: state.events.clone(),
            institutions: state.institutions.clone(),
            sync: state.sync.clone(),
        };
        let tasks = &state.tasks;
        let mut running = vec![
            tasks.spawn("server_token", |task| {
                state.basiq.clone().run_token_refresher(task)
            }),
            tasks.spawn("job_watcher", |task| {
                watcher::run(state.clone(), watch_interval, task)
            }),
            tasks.spawn("institutions", |task| state.institutions.clone().run(task)),
            tasks.spawn("webhook_inbox", |task| {
                inbox::run(worker.clone(), deliveries, task)
            }),
            tasks.spawn("event_recovery", |task| {
                recovery::run(worker.clone(), recovery_interval, task)
            }),
            tasks.spawn("housekeeping", |task| housekeeping(state.clone(), task)),
            tasks.spawn("event_listener", |task| {
                state.hub.clone().listen(state.pool.clone(), task)
            }),
            tasks.spawn("sync_refresher", |task| {
                sync_store::run(state.sync.clone(), sync_interval, task)
            }),
            tasks.spawn("event_pruner", |task| {
                events::prune(state.pool.clone(), task)
            }),
        ];
        if state.webhook_key.is_some() {
            running.push(tasks.spawn("webhook_subscription", |task| {
                subscription::run(state.clone(), recovery_interval, task)
            }));
        }
        if let Some(outbox) = outbox {
            running.push(tasks.spawn("app_webhooks", |task| {
                outbox::run(outbox, state.hub.clone(), task)
            }));
        }
        let router = http::router(state.clone());
        let shutdown = state.shutdown.clone();
        tracing::info!(
            %addr,
            consent_callback = %state.consent.callback_url,
            "basiq-bff listening; Basiq's Consent UI must redirect to consent_callback (set it in Basiq's dashboard)"
        );
        http::serve::serve(listener, router, connection_limits, async move {
            signal.await;
            tracing::info!("shutting down: finishing requests in flight");
            shutdown.cancel();
        })
        .await;
        state.shutdown.cancel();
        for task in running {
            let _ = task.await;
        }
        state.pool.close().await;
        state.health_pool.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Where Basiq sends webhooks: `PUBLIC_BASE_URL/webhooks/basiq`.
pub fn webhook_url(public_base_url: &url::Url) -> url::Url {
    let mut url = public_base_url.clone();
    url.set_path("/webhooks/basiq");
    url.set_query(None);
    url
}

/// Connects to `DATABASE_URL` and applies the migrations (under sqlx's migration lock, so
/// replicas and admin commands may start together).
pub async fn connect_database(settings: &Settings) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(20)
        // Short: while Postgres is unreachable, requests answer 503 within this instead of
        // hanging; the pool reconnects by itself once it is back.
        .acquire_timeout(db::ACQUIRE_TIMEOUT)
        .connect(settings.database_url.expose_secret())
        .await
        .context("DATABASE_URL: cannot connect to Postgres")?;
    db::MIGRATOR
        .run(&pool)
        .await
        .context("applying database migrations")?;
    Ok(pool)
}

/// The service's logs, and its traces while `Settings::traces`: the exporter's client is built
/// as Basiq's is (reqwest, the egress proxy for https, no redirects, no hidden retries),
/// before the app, so that start-up's own spans go out too.
pub fn telemetry(settings: &Settings) -> anyhow::Result<Telemetry> {
    let exporter = match settings.traces {
        true => Some(basiq::egress_client(
            UpstreamPolicy::default().connect_timeout,
            settings.basiq_api_url.scheme() == "https",
            proxy(settings),
        )?),
        false => None,
    };
    telemetry::init(settings.log_format, exporter)
}

fn proxy(settings: &Settings) -> Option<Proxy<'_>> {
    settings.basiq_proxy.as_ref().map(|p| Proxy {
        var: p.var,
        url: &p.url,
        no_proxy: p.no_proxy.as_deref(),
    })
}

/// The Basiq client, sharing the server token with every replica through Postgres.
pub fn basiq_client(
    settings: &Settings,
    pool: &PgPool,
    sealer: &Arc<Sealer>,
    token_policy: TokenPolicy,
    upstream_policy: UpstreamPolicy,
) -> anyhow::Result<BasiqClient> {
    BasiqClient::with_proxy(
        &settings.basiq_api_url,
        settings.basiq_api_key.clone(),
        token_policy,
        upstream_policy,
        Some(Arc::new(db::server_token::PgTokenStore::new(
            pool.clone(),
            sealer.clone(),
        ))),
        proxy(settings),
    )
}

/// Keeps in-memory state bounded: folds recorded latencies into their histogram buckets every
/// second (the recorder keeps each sample until then, scraped or not), and forgets
/// rate-limit entries of users gone quiet every minute.
async fn housekeeping(state: AppState, task: TaskContext) {
    // Every second, so each fold is short (about 0.3 ms at 30,000 requests a second).
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 1u64.. {
        tokio::select! {
            _ = task.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        monitoring::handle().run_upkeep();
        if n % 60 == 0 {
            state.limits.shrink();
        }
        task.ran();
    }
}
