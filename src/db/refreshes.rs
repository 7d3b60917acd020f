use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Serialises refreshes of one connection (across replicas) until the transaction ends.
pub async fn lock_connection(
    conn: &mut PgConnection,
    connection_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext($1))", connection_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Refreshes of `connection_id` in the last 24 hours, and the oldest of them.
pub async fn in_last_day(
    conn: &mut PgConnection,
    connection_id: &str,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) as "count!", min(requested_at) as oldest from refreshes
            where connection_id = $1 and requested_at > now() - interval '24 hours'"#,
        connection_id
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.oldest))
}

pub async fn insert(
    conn: &mut PgConnection,
    app_user_id: &str,
    connection_id: &str,
    job_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into refreshes (app_user_id, connection_id, job_id) values ($1, $2, $3)",
        app_user_id,
        connection_id,
        job_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_for_connection(pool: &PgPool, connection_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from refreshes where connection_id = $1",
        connection_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
