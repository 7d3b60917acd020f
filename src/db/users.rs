use std::future::Future;

use sqlx::{PgConnection, PgPool};

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

/// The user's Basiq user and the connections they deleted, once a Basiq user exists.
pub async fn link(
    pool: &PgPool,
    app_user_id: &str,
) -> Result<Option<crate::user_cache::Link>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select basiq_user_id as "basiq_user_id!",
                  array(select connection_id from deleted_connections d
                         where d.app_user_id = u.app_user_id) as "deleted!"
             from app_users u
            where app_user_id = $1 and basiq_user_id is not null"#,
        app_user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| crate::user_cache::Link {
        basiq_user_id: r.basiq_user_id,
        deleted_connections: std::sync::Arc::new(r.deleted.into_iter().collect()),
    }))
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

/// A Basiq user just created, with the personal data it was created with, sealed.
pub struct CreatedUser {
    pub basiq_user_id: String,
    pub email_sealed: Option<Vec<u8>>,
    pub mobile_sealed: Option<Vec<u8>>,
}

/// Associated data for a sealed personal-data column: binds the value to its row and column.
pub fn sealed_column(app_user_id: &str, column: &str) -> String {
    format!("app_users/{app_user_id}/{column}")
}

/// The user's Basiq id, creating the Basiq user with `create` if there is none yet.
///
/// Basiq does not de-duplicate users, so creation happens under the row's lock: concurrent
/// first requests (on any replica) wait for the first one and then see its Basiq id.
pub async fn ensure_basiq_user<F, Fut, E>(
    pool: &PgPool,
    app_user_id: &str,
    create: F,
) -> Result<String, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<CreatedUser, E>>,
    E: From<sqlx::Error>,
{
    // An erasure of the same user between the insert and the lock deletes the row: make it
    // again (the user asked for a consent after their erasure).
    let mut attempts = 0;
    let (mut tx, existing) = loop {
        ensure_row(pool, app_user_id).await?;
        let mut tx = pool.begin().await?;
        let row = sqlx::query_scalar!(
            "select basiq_user_id from app_users where app_user_id = $1 for update",
            app_user_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        match row {
            Some(existing) => break (tx, existing),
            None if attempts < 3 => attempts += 1,
            // Erased three times over while we tried: give up.
            None => return Err(sqlx::Error::RowNotFound.into()),
        }
    };
    if let Some(id) = existing {
        return Ok(id);
    }
    let CreatedUser {
        basiq_user_id,
        email_sealed,
        mobile_sealed,
    } = create().await?;
    sqlx::query!(
        "update app_users
            set basiq_user_id = $2, email_sealed = $3, mobile_sealed = $4, updated_at = now()
          where app_user_id = $1",
        app_user_id,
        basiq_user_id,
        email_sealed,
        mobile_sealed
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(basiq_user_id, "basiq user created");
    Ok(basiq_user_id)
}

pub async fn app_user_of(
    pool: &PgPool,
    basiq_user_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select app_user_id from app_users where basiq_user_id = $1",
        basiq_user_id
    )
    .fetch_optional(pool)
    .await
}

/// Removes the user's stored data (jobs, refreshes, connection state, pending consents, events
/// and their deliveries, the sync store and its change log, sealed email and mobile) but keeps
/// the link to the Basiq user: what consent revocation or expiry requires. In the caller's
/// transaction, which publishes what concerns the erasure itself after it.
pub async fn erase_data(tx: &mut PgConnection, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from jobs where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("delete from refreshes where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "delete from connections where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from consent_states where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from consent_warnings where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update app_users set email_sealed = null, mobile_sealed = null, updated_at = now()
          where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    super::events::erase(&mut *tx, app_user_id).await?;
    super::sync::erase(&mut *tx, app_user_id).await
}

/// The user's sealed email and mobile, as stored.
pub struct SealedContact {
    pub email_sealed: Option<Vec<u8>>,
    pub mobile_sealed: Option<Vec<u8>>,
}

pub async fn sealed_contact(
    pool: &PgPool,
    app_user_id: &str,
) -> Result<SealedContact, sqlx::Error> {
    let row = sqlx::query_as!(
        SealedContact,
        "select email_sealed, mobile_sealed from app_users where app_user_id = $1",
        app_user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.unwrap_or(SealedContact {
        email_sealed: None,
        mobile_sealed: None,
    }))
}

/// Replaces the sealed email and/or mobile given (`None` keeps what is stored), making the
/// user's row if there is none yet: a user not created at Basiq keeps them for when it is.
pub async fn set_contact(
    pool: &PgPool,
    app_user_id: &str,
    contact: &SealedContact,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into app_users (app_user_id, email_sealed, mobile_sealed) values ($1, $2, $3)
         on conflict (app_user_id) do update
            set email_sealed = coalesce(excluded.email_sealed, app_users.email_sealed),
                mobile_sealed = coalesce(excluded.mobile_sealed, app_users.mobile_sealed),
                updated_at = now()",
        app_user_id,
        contact.email_sealed,
        contact.mobile_sealed
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes the user and, by cascade, every row that refers to them, and their events and
/// deliveries, in the caller's transaction (after any refresh of their sync store now writing).
pub async fn delete(tx: &mut PgConnection, app_user_id: &str) -> Result<(), sqlx::Error> {
    super::sync::lock(&mut *tx, app_user_id).await?;
    sqlx::query!("delete from app_users where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    super::events::erase(tx, app_user_id).await
}

/// A stored app user: `None` from [`find`] when there is no row.
pub struct StoredUser {
    pub basiq_user_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn find(pool: &PgPool, app_user_id: &str) -> Result<Option<StoredUser>, sqlx::Error> {
    sqlx::query_as!(
        StoredUser,
        "select basiq_user_id, created_at from app_users where app_user_id = $1",
        app_user_id
    )
    .fetch_optional(pool)
    .await
}
