use chrono::{DateTime, Utc};
use sqlx::PgPool;

pub struct PendingConsent {
    pub app_user_id: String,
    pub return_to: String,
    pub used: bool,
}

/// Whether a new state was stored, or its user is gone (erased meanwhile).
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    Yes,
    UserErased,
}

pub async fn insert(
    pool: &PgPool,
    nonce_hash: &[u8],
    app_user_id: &str,
    return_to: &str,
    expires_at: DateTime<Utc>,
) -> Result<Inserted, sqlx::Error> {
    // Old rows are worthless once expired; sweep them as new ones arrive.
    sqlx::query!("delete from consent_states where expires_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    let inserted = sqlx::query!(
        "insert into consent_states (nonce_hash, app_user_id, return_to, expires_at)
         values ($1, $2, $3, $4)",
        nonce_hash,
        app_user_id,
        return_to,
        expires_at
    )
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(Inserted::Yes),
        Err(sqlx::Error::Database(e))
            if e.constraint() == Some("consent_states_app_user_id_fkey") =>
        {
            Ok(Inserted::UserErased)
        }
        Err(e) => Err(e),
    }
}

pub async fn find(pool: &PgPool, nonce_hash: &[u8]) -> Result<Option<PendingConsent>, sqlx::Error> {
    sqlx::query_as!(
        PendingConsent,
        r#"select app_user_id, return_to, used_at is not null as "used!"
           from consent_states where nonce_hash = $1"#,
        nonce_hash
    )
    .fetch_optional(pool)
    .await
}

/// Marks the state used; false if it was already used (a replay, or a race lost).
pub async fn consume(pool: &PgPool, nonce_hash: &[u8]) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update consent_states set used_at = now()
         where nonce_hash = $1 and used_at is null and expires_at > now()",
        nonce_hash
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
