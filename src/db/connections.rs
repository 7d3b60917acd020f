use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::connections::KnownAll;

/// Basiq said the connection was invalidated: it needs the user until a job succeeds again.
pub async fn mark_invalidated(
    pool: &PgPool,
    app_user_id: &str,
    connection_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into connections (connection_id, app_user_id, invalidated_at)
         values ($1, $2, now())
         on conflict (connection_id) do update set invalidated_at = now(), updated_at = now()
          where connections.app_user_id = excluded.app_user_id",
        connection_id,
        app_user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The connection works again as of `as_of`: an invalidation older than that is cleared (a
/// newer one stands: the success predates it).
pub async fn clear_invalidated(
    pool: &PgPool,
    connection_id: &str,
    as_of: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update connections set invalidated_at = null, updated_at = now()
          where connection_id = $1 and invalidated_at < $2",
        connection_id,
        as_of
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn invalidated(pool: &PgPool, app_user_id: &str) -> Result<HashSet<String>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select connection_id from connections where app_user_id = $1 and invalidated_at is not null",
        app_user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().collect())
}

/// Forgets everything stored about a connection.
pub async fn forget(
    pool: &PgPool,
    app_user_id: &str,
    connection_id: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "delete from connections where connection_id = $1 and app_user_id = $2",
        connection_id,
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from jobs where connection_id = $1 and app_user_id = $2",
        connection_id,
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from refreshes where connection_id = $1 and app_user_id = $2",
        connection_id,
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    super::sync::forget_connection(&mut tx, app_user_id, connection_id).await?;
    tx.commit().await
}

/// What we know locally about each of the user's connections: invalidated by a webhook, their
/// newest job's error code, and a warning that their consent expires soon.
pub async fn known(pool: &PgPool, app_user_id: &str) -> Result<KnownAll, sqlx::Error> {
    let mut known = KnownAll::default();
    for id in invalidated(pool, app_user_id).await? {
        known.connections.entry(id).or_default().invalidated = true;
    }
    for (id, _status, error) in super::jobs::latest_by_connection(pool, app_user_id).await? {
        known.connections.entry(id).or_default().last_job_error = error;
    }
    known.consent_expiring = super::consents::expiring(pool, app_user_id).await?;
    Ok(known)
}
