//! `basiq-bff admin …`: operators' commands. The same binary and configuration (the service's
//! environment, [`Settings`]) as the server, without starting it: each command connects to the
//! database (applying migrations, as a start does) and to Basiq, does its work and exits.
//! `main.rs` only parses the command line and calls [`run`].

pub mod erase;
pub mod jobs;
pub mod replay_events;
pub mod rotate_key;
pub mod user;
pub mod webhooks;

use std::{io::Write, sync::Arc};

use clap::{Parser, Subcommand};
use sqlx::PgPool;

use crate::{
    basiq::{BasiqClient, TokenPolicy, UpstreamPolicy},
    config::Settings,
    crypto::Sealer,
    erasure::Eraser,
    events::Events,
    inbox::Worker,
    institutions::{INSTITUTIONS_TTL, Institutions},
    remembered::Remembered,
    startup,
    sync::SyncStore,
};

/// basiq-bff: a backend-for-frontend for the Basiq open-banking API.
///
/// Without a command, starts the server. Configuration comes from the environment (see
/// .env.example), for the server and the admin commands alike.
#[derive(Debug, Parser)]
#[command(name = "basiq-bff", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Operators' commands, run with the service's configuration.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Debug, Subcommand)]
pub enum Admin {
    RotateKey(rotate_key::Args),
    ReplayEvents(replay_events::Args),
    Jobs(jobs::Args),
    User(user::Args),
    Erase(erase::Args),
    Webhooks(webhooks::Args),
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command was called wrongly (exit status 2, like a command-line error).
    #[error("{0}")]
    Usage(String),
    /// It could not do its work (exit status 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Failed(anyhow::Error::new(e).context("writing the output"))
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Failed(anyhow::Error::new(e).context("database"))
    }
}

impl From<crate::basiq::BasiqError> for Failure {
    fn from(e: crate::basiq::BasiqError) -> Self {
        Self::Failed(anyhow::Error::new(e).context("Basiq"))
    }
}

/// What the commands work with: the server's pool, sealer and Basiq client, without its HTTP
/// server or background tasks.
pub struct Context {
    pub pool: PgPool,
    pub sealer: Arc<Sealer>,
    pub basiq: BasiqClient,
    pub events: Events,
    pub institutions: Institutions,
    pub remembered: Arc<Remembered>,
    /// Asked to refresh when a replayed event says a user's data changed (a running replica's
    /// refresher does it).
    pub sync: SyncStore,
}

impl Context {
    /// Connects to the database (applying migrations) and builds the Basiq client, which
    /// shares the server token with the running replicas.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let pool = startup::connect_database(settings).await?;
        let sealer = Arc::new(Sealer::new(&settings.data_keys()));
        let basiq = startup::basiq_client(
            settings,
            &pool,
            &sealer,
            TokenPolicy::default(),
            UpstreamPolicy::default(),
        )?;
        // The commands keep no answers; what they change reaches the replicas' notices.
        let remembered = Arc::new(Remembered::new(crate::answers::Limits {
            bytes: 0,
            ..Default::default()
        }));
        let events = Events::new(pool.clone(), sealer.clone(), settings.app_webhook.is_some());
        Ok(Self {
            sync: SyncStore::new(
                pool.clone(),
                basiq.clone(),
                sealer.clone(),
                &settings.data_keys()[0],
                events.clone(),
            ),
            events,
            institutions: Institutions::new(basiq.clone(), INSTITUTIONS_TTL),
            remembered,
            pool,
            sealer,
            basiq,
        })
    }

    /// What the webhook inbox works with, for events replayed here.
    fn worker(&self) -> Worker {
        Worker {
            pool: self.pool.clone(),
            basiq: self.basiq.clone(),
            events: self.events.clone(),
            institutions: self.institutions.clone(),
            sync: self.sync.clone(),
        }
    }

    fn eraser(&self) -> Eraser<'_> {
        Eraser {
            pool: &self.pool,
            basiq: &self.basiq,
            remembered: &self.remembered,
            events: &self.events,
        }
    }
}

impl Admin {
    /// What the command line alone can tell is wrong, before any configuration is read.
    pub fn check(&self) -> Result<(), Failure> {
        match self {
            Self::Erase(args) => args.check(),
            _ => Ok(()),
        }
    }
}

/// Runs `command`, writing its results to `out`.
pub async fn run(command: Admin, settings: &Settings, out: &mut impl Write) -> Result<(), Failure> {
    // Checked before connecting: a command called wrongly touches nothing.
    command.check()?;
    let context = Context::connect(settings).await?;
    let result = match command {
        Admin::RotateKey(args) => rotate_key::run(&context, &args, out).await,
        Admin::ReplayEvents(args) => replay_events::run(&context, &args, out).await,
        Admin::Jobs(args) => jobs::run(&context, &args, out).await,
        Admin::User(args) => user::run(&context, &args, out).await,
        Admin::Erase(args) => erase::run(&context, &args, out).await,
        Admin::Webhooks(args) => {
            let url = startup::webhook_url(&settings.public_base_url);
            webhooks::run(&context, url.as_str(), &args, out).await
        }
    };
    context.pool.close().await;
    result
}

/// `3725 s` as `1h 2m 5s`.
fn age(duration: chrono::Duration) -> String {
    let secs = duration.num_seconds().max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}
