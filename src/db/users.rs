use std::future::Future;

use sqlx::PgPool;

use crate::error::ApiError;

pub async fn basiq_user_id(
    pool: &PgPool,
    app_user_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "select basiq_user_id from app_users where app_user_id = $1",
        app_user_id
    )
    .fetch_optional(pool)
    .await?
    .flatten())
}

pub async fn ensure_row(pool: &PgPool, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into app_users (app_user_id) values ($1) on conflict do nothing",
        app_user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The user's Basiq id, creating the Basiq user with `create` if there is none yet.
///
/// Basiq does not de-duplicate users, so creation happens under the row's lock: concurrent
/// first requests (on any replica) wait for the first one and then see its Basiq id.
pub async fn ensure_basiq_user<F, Fut>(
    pool: &PgPool,
    app_user_id: &str,
    create: F,
) -> Result<String, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, ApiError>>,
{
    ensure_row(pool, app_user_id).await?;
    let mut tx = pool.begin().await?;
    let existing = sqlx::query_scalar!(
        "select basiq_user_id from app_users where app_user_id = $1 for update",
        app_user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let basiq_user_id = create().await?;
    sqlx::query!(
        "update app_users set basiq_user_id = $2, updated_at = now() where app_user_id = $1",
        app_user_id,
        basiq_user_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(basiq_user_id, "basiq user created");
    Ok(basiq_user_id)
}
