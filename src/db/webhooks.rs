use sqlx::PgPool;

/// True the first time a `webhook-id` is seen; redeliveries answer false.
pub async fn first_delivery(
    pool: &PgPool,
    webhook_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "insert into webhook_deliveries (webhook_id, event_type) values ($1, $2) on conflict do nothing",
        webhook_id,
        event_type
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether Basiq's event `event_id` was processed (by the webhook route's inbox, event
/// recovery or `admin replay-events`).
pub async fn processed(pool: &PgPool, event_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        "select exists (select 1 from processed_events where event_id = $1) as \"processed!\"",
        event_id
    )
    .fetch_one(pool)
    .await
}

/// Records Basiq's event `event_id` as processed, in the transaction that acts on it: true the
/// first time; false once it was recorded (a concurrent recorder's transaction is waited for).
pub async fn claim_event(
    db: impl sqlx::PgExecutor<'_>,
    event_id: &str,
    event_type: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "insert into processed_events (event_id, event_type, source) values ($1, $2, $3) on conflict do nothing",
        event_id,
        event_type,
        source
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Of `event_ids`, those already processed.
pub async fn processed_among(
    pool: &PgPool,
    event_ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select event_id from processed_events where event_id = any($1)",
        event_ids
    )
    .fetch_all(pool)
    .await
}

/// Forgets claims older than Basiq keeps events (7 days), with a day to spare.
pub async fn forget_old_claims(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query!("delete from processed_events where processed_at < now() - interval '8 days'")
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

/// The createdDate of the newest event recovery has seen.
pub async fn recovery_seen_until(
    conn: &mut sqlx::PgConnection,
) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    sqlx::query_scalar!("select seen_until from event_recovery")
        .fetch_one(conn)
        .await
}

pub async fn set_recovery_seen_until(
    conn: &mut sqlx::PgConnection,
    seen_until: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update event_recovery set seen_until = greatest(seen_until, $1)",
        seen_until
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The lock one replica holds while it recovers events (session-level: released on unlock
/// or when its connection ends).
const RECOVERY_LOCK: i64 = 0x6261_7369_7165_7631; // "basiqev1"

pub async fn try_lock_recovery(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        "select pg_try_advisory_lock($1) as \"locked!\"",
        RECOVERY_LOCK
    )
    .fetch_one(conn)
    .await
}

pub async fn unlock_recovery(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        "select pg_advisory_unlock($1) as \"unlocked!\"",
        RECOVERY_LOCK
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}
