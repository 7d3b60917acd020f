use sqlx::PgPool;

/// Records that `job_id` belongs to `app_user_id`, with its latest status. A job already
/// recorded for another user is never reassigned.
pub async fn record(
    pool: &PgPool,
    job_id: &str,
    app_user_id: &str,
    connection_id: Option<&str>,
    origin: &str,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into jobs (job_id, app_user_id, connection_id, origin, status)
         values ($1, $2, $3, $4, $5)
         on conflict (job_id) do update
            set status = excluded.status,
                connection_id = coalesce(excluded.connection_id, jobs.connection_id),
                updated_at = now()
          where jobs.app_user_id = excluded.app_user_id",
        job_id,
        app_user_id,
        connection_id,
        origin,
        status
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The app user a job was recorded for, if any.
pub async fn owner(pool: &PgPool, job_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("select app_user_id from jobs where job_id = $1", job_id)
        .fetch_optional(pool)
        .await
}
