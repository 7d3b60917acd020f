//! Queries, one file per table. Migrations live in `migrations/` and are embedded.

pub mod consent_states;
pub mod jobs;
pub mod users;

use sqlx::PgPool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn ping(pool: &PgPool) -> bool {
    sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(pool)
        .await
        .is_ok()
}
