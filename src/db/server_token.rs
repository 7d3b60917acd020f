//! The shared Basiq server token in Postgres, sealed: one row, read and replaced under an
//! advisory lock, so one replica at a time refreshes it and the others adopt it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::{
    basiq::{BoxFuture, LockedStore, SharedToken, StoreError, TokenStore},
    crypto::Sealer,
};

/// Associated data of the sealed token: its table and row.
pub const TOKEN_AD: &str = "server_token/1";

/// [`TokenStore`] in this database.
pub struct PgTokenStore {
    pool: PgPool,
    sealer: Arc<Sealer>,
}

impl PgTokenStore {
    pub fn new(pool: PgPool, sealer: Arc<Sealer>) -> Self {
        Self { pool, sealer }
    }
}

impl TokenStore for PgTokenStore {
    fn lock(&self) -> BoxFuture<'_, Result<Box<dyn LockedStore>, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            lock(&mut tx).await?;
            Ok(Box::new(Locked {
                tx,
                sealer: self.sealer.clone(),
            }) as Box<dyn LockedStore>)
        })
    }
}

/// The row, locked until the transaction ends.
struct Locked {
    tx: Transaction<'static, Postgres>,
    sealer: Arc<Sealer>,
}

impl LockedStore for Locked {
    fn stored(&mut self) -> BoxFuture<'_, Result<Option<SharedToken>, StoreError>> {
        Box::pin(async move {
            let Some(row) = load(&mut self.tx).await? else {
                return Ok(None);
            };
            match self.sealer.open(&row.token_sealed, TOKEN_AD) {
                Ok(plain) => Ok(Some(SharedToken {
                    token: SecretString::from(String::from_utf8_lossy(&plain).into_owned()),
                    fetched_at: row.fetched_at,
                    expires_at: row.expires_at,
                })),
                Err(e) => {
                    tracing::warn!(error = %e, "the stored server token cannot be opened; a new one will replace it");
                    Ok(None)
                }
            }
        })
    }

    fn save(mut self: Box<Self>, token: SharedToken) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            let row = StoredToken {
                token_sealed: self
                    .sealer
                    .seal(token.token.expose_secret().as_bytes(), TOKEN_AD),
                fetched_at: token.fetched_at,
                expires_at: token.expires_at,
            };
            save(&mut self.tx, &row).await?;
            self.tx.commit().await?;
            Ok(())
        })
    }

    fn release(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move { Ok(self.tx.commit().await?) })
    }
}

/// Held for the transaction: one replica at a time looks at, and if needed refreshes, the token.
async fn lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    // An arbitrary constant naming this lock: "basiqtok".
    sqlx::query!("select pg_advisory_xact_lock(7022362846391022443)")
        .execute(conn)
        .await?;
    Ok(())
}

struct StoredToken {
    token_sealed: Vec<u8>,
    fetched_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

async fn load(conn: &mut PgConnection) -> Result<Option<StoredToken>, sqlx::Error> {
    sqlx::query_as!(
        StoredToken,
        "select token_sealed, fetched_at, expires_at from server_token where id = 1"
    )
    .fetch_optional(conn)
    .await
}

async fn save(conn: &mut PgConnection, token: &StoredToken) -> Result<(), sqlx::Error> {
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
