use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::domain::connections::KnownAll;

/// Basiq said the connection was invalidated: it needs the user until a job succeeds again.
pub async fn mark_invalidated(
    db: impl PgExecutor<'_>,
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
    .execute(db)
    .await?;
    Ok(())
}

/// The connection works again as of `as_of`: an invalidation older than that is cleared (a
/// newer one stands: the success predates it).
pub async fn clear_invalidated(
    db: impl PgExecutor<'_>,
    connection_id: &str,
    as_of: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update connections set invalidated_at = null, updated_at = now()
          where connection_id = $1 and invalidated_at < $2",
        connection_id,
        as_of
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn invalidated(
    db: impl PgExecutor<'_>,
    app_user_id: &str,
) -> Result<HashSet<String>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select connection_id from connections where app_user_id = $1 and invalidated_at is not null",
        app_user_id
    )
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().collect())
}

/// The connection was deleted (through us, Basiq's dashboard, or its `connection.deleted`
/// event), in the caller's transaction: it is remembered as deleted, so that what Basiq still
/// lists of it is never answered again; what we stored about it goes; and the sync store reports
/// its records removed once and erases what it held of them. `false` when it was known as
/// deleted already (its deletion is heard of twice: from us, then from Basiq's event).
pub async fn delete(
    tx: &mut PgConnection,
    app_user_id: &str,
    connection_id: &str,
) -> Result<bool, sqlx::Error> {
    let first = sqlx::query!(
        "insert into deleted_connections (app_user_id, connection_id) values ($1, $2)
         on conflict do nothing",
        app_user_id,
        connection_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
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
    super::sync::remove_connection(tx, app_user_id, connection_id).await?;
    Ok(first)
}

/// Whether anything stored names `connection_id` as the user's (its jobs, its state, its
/// records in the sync store, a deletion already known).
pub async fn stored_for(
    db: impl PgExecutor<'_>,
    app_user_id: &str,
    connection_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from jobs where app_user_id = $1 and connection_id = $2)
               or exists (select 1 from connections where app_user_id = $1 and connection_id = $2)
               or exists (select 1 from sync_records where app_user_id = $1 and connection_id = $2)
               or exists (select 1 from deleted_connections
                           where app_user_id = $1 and connection_id = $2) as "stored!""#,
        app_user_id,
        connection_id
    )
    .fetch_one(db)
    .await
}

/// The connections the user deleted.
pub async fn deleted(
    db: impl PgExecutor<'_>,
    app_user_id: &str,
) -> Result<HashSet<String>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select connection_id from deleted_connections where app_user_id = $1",
        app_user_id
    )
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().collect())
}

/// What we know locally about each of the user's connections: invalidated by a webhook, their
/// newest job's error code, and a warning that their consent expires soon.
pub async fn known(db: &mut PgConnection, app_user_id: &str) -> Result<KnownAll, sqlx::Error> {
    let mut known = KnownAll::default();
    for id in invalidated(&mut *db, app_user_id).await? {
        known.connections.entry(id).or_default().invalidated = true;
    }
    for (id, _status, error) in super::jobs::latest_by_connection(&mut *db, app_user_id).await? {
        known.connections.entry(id).or_default().last_job_error = error;
    }
    known.consent_expiring = super::consents::expiring(&mut *db, app_user_id).await?;
    Ok(known)
}
