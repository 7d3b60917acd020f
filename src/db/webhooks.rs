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
