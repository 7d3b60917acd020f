//! The job watcher: jobs the app started (consent, refresh) are followed to their end even if
//! no frontend polls, with back-off, for at most Basiq's 7-day job window, so `GET /v1/jobs`
//! and `GET /v1/connections` reflect reality. Safe with several replicas: jobs are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease.

use std::time::Duration;

use crate::{
    db,
    domain::jobs::{JobStatus, JobView},
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
    let view = job.view();
    let next = match (view.settled(), view.status) {
        (true, _) => 0.0,
        (false, JobStatus::Failed) => BASIQ_RETRY_SECS,
        (false, _) => next_check_secs(due.checks),
    };
    if let Err(e) = state
        .events
        .job_watched(&due.app_user_id, &view, next)
        .await
    {
        tracing::warn!(error = %e, "could not store the job's state");
        return;
    }
    after_job(state, &view).await;
    // A job that ended changed its connection (created, refreshed, or in need of its user),
    // and, when it succeeded, the connection's data. Said once: the watcher sees a job settled
    // once, and stops watching it.
    if view.settled()
        && let (Some(user), Some(connection_id)) = (job.user(), view.connection_id.as_deref())
    {
        if view.status == JobStatus::Succeeded {
            state
                .sync
                .data_changed(&due.app_user_id, Some(connection_id))
                .await;
        }
        state
            .events
            .connection_changed(state.sources(), &due.app_user_id, &user, connection_id)
            .await;
    }
    if view.settled() {
        let institution = institution_of(state, &job, &view).await;
        monitoring::job_outcome(view.status.as_str(), &institution);
        tracing::info!(status = view.status.as_str(), connection_id = ?view.connection_id, institution, "job finished");
    }
}

/// The institution a job's connection is with, for the outcome metric.
async fn institution_of(
    state: &AppState,
    job: &crate::basiq::types::Job,
    view: &JobView,
) -> String {
    let (Some(user), Some(connection)) = (job.user(), view.connection_id.as_deref()) else {
        return "unknown".to_owned();
    };
    match state.basiq.connection(&user, connection).await {
        Ok(c) => c
            .institution
            .map(|i| i.id)
            .unwrap_or_else(|| "unknown".to_owned()),
        Err(_) => "unknown".to_owned(),
    }
}

/// A successful job clears an invalidation of its connection that happened before the job
/// finished.
pub async fn after_job(state: &AppState, view: &JobView) {
    let finished = view
        .updated_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if view.status == JobStatus::Succeeded
        && let (Some(connection_id), Some(finished)) = (&view.connection_id, finished)
        && let Err(e) =
            db::connections::clear_invalidated(&state.pool, connection_id, finished.into()).await
    {
        tracing::warn!(error = %e, "could not clear the connection's invalidation");
    }
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
