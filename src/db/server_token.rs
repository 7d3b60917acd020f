use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Held for the transaction: one replica at a time looks at, and if needed refreshes, the token.
pub async fn lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    // An arbitrary constant naming this lock: "basiqtok".
    sqlx::query!("select pg_advisory_xact_lock(7022362846391022443)")
        .execute(conn)
        .await?;
    Ok(())
}

pub struct StoredToken {
    pub token_sealed: Vec<u8>,
    pub fetched_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn load(conn: &mut PgConnection) -> Result<Option<StoredToken>, sqlx::Error> {
    sqlx::query_as!(
        StoredToken,
        "select token_sealed, fetched_at, expires_at from server_token where id = 1"
    )
    .fetch_optional(conn)
    .await
}

pub async fn save(conn: &mut PgConnection, token: &StoredToken) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into server_token (id, token_sealed, fetched_at, expires_at) values (1, $1, $2, $3)
         on conflict (id) do update
            set token_sealed = excluded.token_sealed,
                fetched_at = excluded.fetched_at,
                expires_at = excluded.expires_at",
        token.token_sealed,
        token.fetched_at,
        token.expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}
