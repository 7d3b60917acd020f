use sqlx::PgPool;

use crate::domain::jobs::{JobStatus, JobView};

/// Records that `job_id` belongs to `app_user_id`, with its latest status. A job already
/// recorded for another user is never reassigned. Jobs the app started (consent, refresh) are
/// put under the job watcher, which alone takes them off once it sees them settled (and counts
/// their outcome).
pub async fn record(
    pool: &PgPool,
    app_user_id: &str,
    origin: &str,
    job: &JobView,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into jobs (job_id, app_user_id, connection_id, origin, status, error_code, next_check_at)
         values ($1, $2, $3, $4, $5, $6,
                 case when $4 <> 'observed' then now() + interval '1 second' end)
         on conflict (job_id) do update
            set status = excluded.status,
                error_code = excluded.error_code,
                connection_id = coalesce(excluded.connection_id, jobs.connection_id),
                next_check_at = case
                    when jobs.origin = 'observed' then null
                    when jobs.next_check_at is not null then jobs.next_check_at
                    when not $7 then now() + interval '1 second' end,
                updated_at = now()
          where jobs.app_user_id = excluded.app_user_id",
        job.id,
        app_user_id,
        job.connection_id,
        origin,
        job.status.as_str(),
        job.error.as_ref().map(|e| &e.code),
        job.settled()
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

/// The newest job recorded for a connection.
pub async fn latest_for_connection(
    pool: &PgPool,
    app_user_id: &str,
    connection_id: &str,
) -> Result<Option<(String, String, Option<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        "select job_id, status, error_code from jobs
          where app_user_id = $1 and connection_id = $2
          order by created_at desc limit 1",
        app_user_id,
        connection_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.job_id, r.status, r.error_code)))
}

/// The newest job's status and error code for each of a user's connections.
pub async fn latest_by_connection(
    pool: &PgPool,
    app_user_id: &str,
) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select distinct on (connection_id) connection_id as "connection_id!", status, error_code
             from jobs
            where app_user_id = $1 and connection_id is not null
            order by connection_id, created_at desc"#,
        app_user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.connection_id, r.status, r.error_code))
        .collect())
}

pub struct DueJob {
    pub job_id: String,
    pub app_user_id: String,
    pub checks: i32,
}

/// Claims up to `limit` jobs whose next check is due. The claim pushes their next check out by
/// a lease, so replicas sharing the database never check the same job at once.
pub async fn claim_due(pool: &PgPool, limit: i64) -> Result<Vec<DueJob>, sqlx::Error> {
    sqlx::query_as!(
        DueJob,
        "update jobs set next_check_at = now() + interval '60 seconds'
          where job_id in (
                select job_id from jobs
                 where next_check_at <= now()
                 order by next_check_at
                 limit $1
                   for update skip locked)
         returning job_id, app_user_id, checks",
        limit
    )
    .fetch_all(pool)
    .await
}

/// Stores what a watcher check saw and when to look again (never, once final or past the
/// 7-day window).
pub async fn watched(
    pool: &PgPool,
    job_id: &str,
    status: JobStatus,
    settled: bool,
    connection_id: Option<&str>,
    error_code: Option<&str>,
    next_check_in_secs: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update jobs
            set status = $2,
                connection_id = coalesce($3, connection_id),
                error_code = $4,
                checks = checks + 1,
                next_check_at = case
                    when $5 or now() > watch_until then null
                    else now() + make_interval(secs => $6) end,
                updated_at = now()
          where job_id = $1",
        job_id,
        status.as_str(),
        connection_id,
        error_code,
        settled,
        next_check_in_secs
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Stops watching a job (Basiq no longer knows it).
pub async fn unwatch(pool: &PgPool, job_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update jobs set next_check_at = null where job_id = $1",
        job_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
