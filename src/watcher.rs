//! The job watcher: jobs the app started (consent, refresh) are followed to their end even if
//! no frontend polls, with back-off, for at most Basiq's 7-day job window, so `GET /v1/jobs`
//! and `GET /v1/connections` reflect reality. Safe with several replicas: jobs are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease.

use std::time::Duration;

use crate::{
    db,
    domain::jobs::{JobStatus, JobView},
    events::SeenConnection,
    monitoring,
    state::AppState,
    tasks::TaskContext,
};

/// How many due jobs one pass claims.
const BATCH: i64 = 50;
/// A job failing with `wait` is retried by Basiq every 2 hours: look again at that pace.
const BASIQ_RETRY_SECS: f64 = 2.0 * 3600.0;
const MAX_BACKOFF_SECS: f64 = 600.0;

/// Checks at [`STEADY_SECS`] while a job is young: a consent or refresh job usually ends within a
/// few minutes, and its users watch it step by step (`job.updated` events).
const STEADY_CHECKS: i32 = 90;
const STEADY_SECS: f64 = 2.0;

/// Seconds until the next check: every 2 s for the first 90 checks (about three minutes), then
/// doubling from 4 s to 10 minutes.
pub fn next_check_secs(checks: i32) -> f64 {
    if checks < STEADY_CHECKS {
        return STEADY_SECS;
    }
    (STEADY_SECS * 2f64.powi((checks - STEADY_CHECKS + 1).clamp(0, 16))).min(MAX_BACKOFF_SECS)
}

pub async fn run(state: AppState, interval: Duration, task: TaskContext) {
    loop {
        tokio::select! {
            _ = task.shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let due = match db::jobs::claim_due(&state.pool, BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "job watcher could not read due jobs; will retry");
                continue;
            }
        };
        for job in due {
            if task.shutdown.is_cancelled() {
                return;
            }
            check(&state, &job).await;
        }
        task.ran();
    }
}

#[tracing::instrument(skip_all, fields(job_id = %due.job_id, user_id = %due.app_user_id))]
async fn check(state: &AppState, due: &db::jobs::DueJob) {
    let job = match state.basiq.job(&due.job_id).await {
        Ok(job) => job,
        Err(e) if e.is_not_found() => {
            tracing::info!("Basiq no longer knows this job; no longer watching it");
            let _ = db::jobs::unwatch(&state.pool, &due.job_id).await;
            return;
        }
        Err(e) => {
            // The claim's lease brings it back later.
            tracing::warn!(error = %e, "job check failed");
            return;
        }
    };
    let view = state.job_view(&job);
    let next = match (view.settled(), view.status) {
        (true, _) => 0.0,
        (false, JobStatus::Failed) => BASIQ_RETRY_SECS,
        (false, _) => next_check_secs(due.checks),
    };
    // A job that ended changed its connection (created, refreshed, or in need of its user):
    // the connection is read now, to be told with the job's end.
    let seen = match (view.settled(), job.user(), view.connection_id.as_deref()) {
        (true, Some(user), Some(connection_id)) => {
            match state.sources().connection(&user, connection_id).await {
                Ok(seen) => Some(seen),
                Err(e) => {
                    // The claim's lease brings it back later.
                    tracing::warn!(error = %e, "could not read the job's connection");
                    return;
                }
            }
        }
        _ => None,
    };
    match settle(state, &due.app_user_id, &view, next, seen).await {
        Ok(true) => state.sync.wake(),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "could not store the job's state");
            return;
        }
    }
    if view.settled() {
        // Basiq names the job's bank; a job that does not is counted as `unknown`.
        let institution = job.institution_id().unwrap_or("unknown");
        monitoring::job_outcome(view.status.as_str(), institution);
        tracing::info!(status = view.status.as_str(), connection_id = ?view.connection_id, institution, "job finished");
    }
}

/// Stores what the watcher saw of the job (`job.updated` when it moved) and, when this check
/// ended the watch, what follows from that, in one transaction: a success clears an earlier
/// invalidation of its connection and changes the connection's data (a sync refresh, or
/// `data.updated`), and the connection is told (`connection.updated`, from `seen`). Said once:
/// only the check that takes the job off the watch does it, on whichever replica. Writes come
/// before the news: publishing takes the user's events lock, last in every transaction that
/// writes and publishes, so two of them never wait on each other in a circle. `true` when a
/// sync refresh was asked for.
async fn settle(
    state: &AppState,
    app_user_id: &str,
    view: &JobView,
    next_check_in_secs: f64,
    seen: Option<SeenConnection>,
) -> Result<bool, sqlx::Error> {
    let mut tx = state.pool.begin().await?;
    let Some(watched) = db::jobs::watched(&mut tx, view, next_check_in_secs).await? else {
        // Its user was erased, or its connection deleted, meanwhile.
        return Ok(false);
    };
    let seen = seen.filter(|_| watched.ended);
    // The data changed with a successful job: a refresh of the user's store is asked for here,
    // or, for a user without one, `data.updated` told after the job's own news.
    let mut wake = false;
    let mut tell_data = None;
    if view.status == JobStatus::Succeeded
        && let Some(connection_id) = &view.connection_id
        && seen.is_some()
    {
        let finished = view
            .updated_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if let Some(finished) = finished {
            // An invalidation before the job finished no longer stands.
            db::connections::clear_invalidated(&mut *tx, connection_id, finished.into()).await?;
        }
        wake = state.sync.request_in(&mut tx, app_user_id).await?;
        tell_data = (!wake).then_some(connection_id);
    }
    if watched.moved {
        state
            .events
            .job_moved_in(&mut tx, app_user_id, view)
            .await?;
    }
    if let Some(connection_id) = tell_data {
        state
            .sync
            .tell_in(&mut tx, app_user_id, Some(connection_id))
            .await?;
    }
    if let Some(seen) = seen {
        state
            .events
            .connection_updated_in(&mut tx, app_user_id, seen)
            .await?;
        crate::faults::crash_point("job.settled");
    }
    tx.commit().await?;
    Ok(wake)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_steady_while_a_job_is_young_then_back_off_to_ten_minutes() {
        assert_eq!(next_check_secs(0), 2.0);
        assert_eq!(next_check_secs(89), 2.0);
        assert_eq!(next_check_secs(90), 4.0);
        assert_eq!(next_check_secs(92), 16.0);
        assert_eq!(next_check_secs(200), 600.0);
    }
}
