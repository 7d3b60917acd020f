use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use crate::domain::jobs::JobView;

/// Whether `view` shows progress over `previous` (what was last stored of the job): its status,
/// a step, its error or its connection changed. A first sight is progress.
fn progressed(previous: Option<&serde_json::Value>, view: &serde_json::Value) -> bool {
    previous.is_none_or(|previous| {
        ["status", "steps", "error", "connectionId", "mfaChallenge"]
            .iter()
            .any(|k| previous.get(k) != view.get(k))
    })
}

/// Records that `job_id` belongs to `app_user_id`, with what was just seen of it. A job already
/// recorded for another user is never reassigned (and `false` is answered). Jobs the app
/// started (consent, refresh) are put under the job watcher, which alone takes them off once
/// it sees them settled (and counts their outcome). `true` when the job is new or shows
/// progress over what was stored, so it is worth telling the user.
pub async fn record(
    tx: &mut PgConnection,
    app_user_id: &str,
    origin: &str,
    job: &JobView,
) -> Result<bool, sqlx::Error> {
    let view = serde_json::to_value(job).expect("a job view serialises");
    let previous = sqlx::query_scalar!(
        "select view from jobs where job_id = $1 and app_user_id = $2 for update",
        job.id,
        app_user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let stored = sqlx::query!(
        "insert into jobs (job_id, app_user_id, connection_id, origin, status, error_code,
                           next_check_at, view, viewed_at)
         values ($1, $2, $3, $4, $5, $6,
                 case when $4 <> 'observed' then now() + interval '1 second' end, $8, now())
         on conflict (job_id) do update
            set status = excluded.status,
                error_code = excluded.error_code,
                connection_id = coalesce(excluded.connection_id, jobs.connection_id),
                next_check_at = case
                    when jobs.origin = 'observed' then null
                    when jobs.next_check_at is not null then jobs.next_check_at
                    when not $7 then now() + interval '1 second' end,
                view = excluded.view,
                viewed_at = now(),
                updated_at = now()
          where jobs.app_user_id = excluded.app_user_id",
        job.id,
        app_user_id,
        job.connection_id,
        origin,
        job.status.as_str(),
        job.error.as_ref().map(|e| &e.code),
        job.settled(),
        view
    )
    .execute(&mut *tx)
    .await?;
    Ok(stored.rows_affected() == 1 && progressed(previous.flatten().as_ref(), &view))
}

/// What was last seen of the user's job, if that was less than `fresh` ago, or less than
/// `watched` ago while the job watcher follows it (it looks again every few seconds, so its
/// view is as good as a new call to Basiq).
pub async fn fresh_view(
    pool: &PgPool,
    app_user_id: &str,
    job_id: &str,
    fresh: Duration,
    watched: Duration,
) -> Result<Option<JobView>, sqlx::Error> {
    let view = sqlx::query_scalar!(
        "select view from jobs
          where job_id = $1 and app_user_id = $2
            and (viewed_at > now() - make_interval(secs => $3)
                 or (next_check_at is not null
                     and viewed_at > now() - make_interval(secs => $4)))",
        job_id,
        app_user_id,
        fresh.as_secs_f64(),
        watched.as_secs_f64()
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    // A view this version cannot read is stale, not an error: Basiq is asked again.
    Ok(view.and_then(|v| serde_json::from_value(v).ok()))
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
    db: impl sqlx::PgExecutor<'_>,
    app_user_id: &str,
) -> Result<Vec<(String, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select distinct on (connection_id) connection_id as "connection_id!", status, error_code
             from jobs
            where app_user_id = $1 and connection_id is not null
            order by connection_id, created_at desc"#,
        app_user_id
    )
    .fetch_all(db)
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

/// What storing a watcher check did.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    /// The job shows progress over what was stored: its news is worth telling.
    pub moved: bool,
    /// This check took the job off the watch (it settled, or its window closed): what follows
    /// a job's end is done by this check alone.
    pub ended: bool,
}

/// Stores what a watcher check saw and when to look again (never, once final or past the
/// 7-day window); `None` when the job is no longer stored (its user was erased, or its
/// connection deleted).
pub async fn watched(
    tx: &mut PgConnection,
    view: &JobView,
    next_check_in_secs: f64,
) -> Result<Option<Watched>, sqlx::Error> {
    let json = serde_json::to_value(view).expect("a job view serialises");
    let Some(previous) = sqlx::query!(
        "select view, next_check_at from jobs where job_id = $1 for update",
        view.id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let next_check_at = sqlx::query_scalar!(
        "update jobs
            set status = $2,
                connection_id = coalesce($3, connection_id),
                error_code = $4,
                checks = checks + 1,
                next_check_at = case
                    when $5 or now() > watch_until then null
                    else now() + make_interval(secs => $6) end,
                view = $7,
                viewed_at = now(),
                updated_at = now()
          where job_id = $1
         returning next_check_at",
        view.id,
        view.status.as_str(),
        view.connection_id,
        view.error.as_ref().map(|e| &e.code),
        view.settled(),
        next_check_in_secs,
        json
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(Some(Watched {
        moved: progressed(previous.view.as_ref(), &json),
        ended: previous.next_check_at.is_some() && next_check_at.is_none(),
    }))
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

/// A job as `admin jobs` and `admin user` show it: ids and states only.
pub struct JobRow {
    pub job_id: String,
    pub app_user_id: String,
    pub connection_id: Option<String>,
    pub origin: String,
    pub status: String,
    pub checks: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub next_check_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Jobs created more than `older_than` ago that have not settled: still followed by the job
/// watcher, or given up on while pending or in progress (past Basiq's 7-day window). Oldest
/// first.
pub async fn stuck(pool: &PgPool, older_than: Duration) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "select job_id, app_user_id, connection_id, origin, status, checks, created_at,
                next_check_at
           from jobs
          where created_at < now() - make_interval(secs => $1)
            and (next_check_at is not null or status in ('pending', 'in_progress'))
          order by created_at",
        older_than.as_secs_f64()
    )
    .fetch_all(pool)
    .await
}

/// The user's jobs, newest first.
pub async fn of_user(pool: &PgPool, app_user_id: &str) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "select job_id, app_user_id, connection_id, origin, status, checks, created_at,
                next_check_at
           from jobs
          where app_user_id = $1
          order by created_at desc",
        app_user_id
    )
    .fetch_all(pool)
    .await
}
