//! Consents Basiq warned are about to expire.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// Basiq warned that the user's consent expires at `expires_at` (if it said when).
pub async fn warn(
    db: impl PgExecutor<'_>,
    app_user_id: &str,
    consent_id: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into consent_warnings (consent_id, app_user_id, expires_at)
         values ($1, $2, $3)
         on conflict (consent_id) do update set expires_at = excluded.expires_at, warned_at = now()
          where consent_warnings.app_user_id = excluded.app_user_id",
        consent_id,
        app_user_id,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The user's consent was renewed (or replaced): no warning stands.
pub async fn clear(db: impl PgExecutor<'_>, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from consent_warnings where app_user_id = $1",
        app_user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The earliest expiry among the user's warned consents: `Some(None)` when warned without a
/// date, `None` when no warning stands.
pub async fn expiring(
    db: impl PgExecutor<'_>,
    app_user_id: &str,
) -> Result<Option<Option<DateTime<Utc>>>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "select expires_at from consent_warnings where app_user_id = $1
          order by expires_at asc nulls last limit 1",
        app_user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row)
}
