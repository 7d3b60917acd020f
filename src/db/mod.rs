//! Queries, one file per table. Migrations live in `migrations/` and are embedded.

pub mod connections;
pub mod consent_states;
pub mod jobs;
pub mod refreshes;
pub mod server_token;
pub mod users;
pub mod webhooks;

use sqlx::PgPool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn ping(pool: &PgPool) -> bool {
    sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(pool)
        .await
        .is_ok()
}
