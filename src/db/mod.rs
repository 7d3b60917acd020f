//! Queries, one file per table. Migrations live in `migrations/` and are embedded.

pub mod connections;
pub mod consent_states;
pub mod consents;
pub mod events;
pub mod jobs;
pub mod refreshes;
pub mod sealed;
pub mod server_token;
pub mod sync;
pub mod users;
pub mod webhooks;

use std::time::Duration;

use sqlx::PgPool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a query waits for a pooled connection (a new one included) before giving up.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// `/readyz` answers within this even when Postgres does not.
const PING_TIMEOUT: Duration = Duration::from_millis(800);

/// A pool of one connection beside `pool`, for `/readyz` alone: readiness says whether
/// Postgres answers, which a busy main pool (every connection lent out) does not change.
pub fn health_pool(pool: &PgPool) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(PING_TIMEOUT)
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// Postgres answers, within [`PING_TIMEOUT`] (on the [`health_pool`]).
pub async fn ping(pool: &PgPool) -> bool {
    let query = sqlx::query_scalar!("select 1 as \"one!\"").fetch_one(pool);
    matches!(tokio::time::timeout(PING_TIMEOUT, query).await, Ok(Ok(_)))
}

/// The error says Postgres cannot be reached or cannot serve us now (rather than that a query
/// is wrong): the request may succeed later.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // Connection exceptions (08…), shutting down or starting up (57P01-57P03), and too
        // many connections (53300).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}
