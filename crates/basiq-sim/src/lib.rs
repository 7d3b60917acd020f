//! `basiq-sim`: a faithful local simulator of the Basiq v3 API and its Consent UI, for
//! development, tests, demos and benchmarks. See docs/simulator.md.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod changes;
mod config;
mod consent_ui;
mod control;
mod data;
mod error;
mod filter;
mod institutions;
mod job;
mod logins;
mod routes;
mod state;
mod subscriptions;
pub mod webhooks;

pub use config::SimConfig;
use state::{Sim, SimState, Store};

/// A running simulator. Dropping it stops the server.
pub struct SimServer {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// `http://127.0.0.1:PORT` (loopback when bound to an unspecified address).
    pub fn base_url(&self) -> String {
        base_url_of(self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and stops background work.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn base_url_of(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        "127.0.0.1".parse().expect("loopback parses")
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// The simulator's router for a given state (exposed for in-process `oneshot` use).
fn router(state: SimState) -> Router {
    Router::new()
        .merge(control::router())
        .merge(consent_ui::router())
        .merge(routes::router(state.clone()))
        .with_state(state)
}

/// `BASIQ_SIM_WEBHOOK_URL` with `BASIQ_SIM_WEBHOOK_SECRET`: a webhook registered at start,
/// subscribed to every event type.
fn configured_webhook(config: &SimConfig) -> Option<subscriptions::Webhook> {
    let (url, secret) = (
        config.webhook_url.as_ref()?,
        config.webhook_secret.as_ref()?,
    );
    if let Err(e) = webhooks::decode_secret(secret) {
        tracing::warn!("webhook not registered: BASIQ_SIM_WEBHOOK_SECRET {e}");
        return None;
    }
    Some(subscriptions::Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        name: "BASIQ_SIM_WEBHOOK_URL".to_owned(),
        description: "Registered at start from BASIQ_SIM_WEBHOOK_URL and BASIQ_SIM_WEBHOOK_SECRET"
            .to_owned(),
        url: url.clone(),
        secret: secret.clone(),
        events: subscriptions::EVENT_TYPES.map(str::to_owned).to_vec(),
    })
}

/// Binds `config.addr` (port 0 allowed) and serves in a background task.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let public_base = config
        .public_url
        .clone()
        .unwrap_or_else(|| base_url_of(addr));
    let webhooks =
        webhooks::Webhooks::new(config.webhook_retry_scale).map_err(std::io::Error::other)?;
    let mut store = Store::default();
    if let Some(webhook) = configured_webhook(&config) {
        store.subscriptions.webhooks.push(webhook);
    }
    let state = SimState(Arc::new(Sim {
        config,
        public_base,
        store: Mutex::new(store),
        requests: Mutex::new(Vec::new()),
        faults: Mutex::new(Vec::new()),
        webhooks,
        shutdown: shutdown.clone(),
    }));
    let app = router(state);
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "basiq-sim server stopped");
        }
    });
    tracing::info!(%addr, "basiq-sim listening");
    Ok(SimServer {
        addr,
        shutdown,
        task: Some(task),
    })
}
