//! Missed webhooks, recovered by themselves: on start and periodically, one replica at a time
//! (a Postgres advisory lock), the BFF reads Basiq's `GET /events` and processes each event
//! created since the newest it saw that no webhook, recovery or replay processed yet, through
//! the inbox's own [`inbox::handle`]. `admin replay-events` reads the same list from a given
//! time on.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    db,
    inbox::{self, Handled, Source, Worker},
    monitoring,
    tasks::TaskContext,
};

/// Events created this long before the newest one seen are read again (and skipped when
/// processed): Basiq's clock, ours and an event's delivery need not agree to the second.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(30);

/// What a pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events Basiq listed since the starting time.
    pub listed: usize,
    /// Processed now.
    pub processed: usize,
    /// Processed before (their webhook came, or an earlier pass).
    pub already: usize,
    /// Failed now; a later pass tries again.
    pub failed: usize,
}

/// Why a pass did not run.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("another replica is recovering events")]
    Busy,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("Basiq: {0}")]
    Basiq(#[from] crate::basiq::BasiqError),
}

/// One pass, under the recovery lock: events created from `since` on (or, when `None`, from
/// shortly before the newest one a pass saw), oldest first.
pub async fn pass(
    worker: &Worker,
    since: Option<DateTime<Utc>>,
    source: Source,
) -> Result<Pass, PassError> {
    let mut conn = worker.pool.acquire().await?;
    if !db::webhooks::try_lock_recovery(&mut conn).await? {
        return Err(PassError::Busy);
    }
    let result = locked_pass(worker, &mut conn, since, source).await;
    let _ = db::webhooks::unlock_recovery(&mut conn).await;
    result
}

async fn locked_pass(
    worker: &Worker,
    conn: &mut sqlx::PgConnection,
    since: Option<DateTime<Utc>>,
    source: Source,
) -> Result<Pass, PassError> {
    let since = match since {
        Some(t) => t,
        None => db::webhooks::recovery_seen_until(conn).await? - OVERLAP,
    };
    let mut events: Vec<(DateTime<Utc>, String, crate::basiq::types::Event)> = worker
        .basiq
        .events()
        .await?
        .into_iter()
        .filter_map(|e| {
            let created = e
                .created_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())?
                .with_timezone(&Utc);
            let id = e.id.clone().filter(|id| !id.is_empty())?;
            (created >= since).then_some((created, id, e))
        })
        .collect();
    events.sort_by_key(|e| e.0);
    let ids: Vec<String> = events.iter().map(|(_, id, _)| id.clone()).collect();
    let done = db::webhooks::processed_among(&worker.pool, &ids).await?;
    let mut pass = Pass {
        listed: events.len(),
        ..Pass::default()
    };
    let mut seen_until = None;
    for (created, id, event) in &events {
        if done.contains(id) {
            pass.already += 1;
        } else {
            match inbox::handle(worker, id, event, source).await {
                Handled::Processed => {
                    pass.processed += 1;
                    monitoring::event_recovered(source.as_str());
                }
                Handled::AlreadyProcessed => pass.already += 1,
                Handled::Failed => {
                    pass.failed += 1;
                    // Not past a failure: the next pass starts here again.
                    break;
                }
            }
        }
        seen_until = Some(*created);
    }
    if let Some(t) = seen_until {
        db::webhooks::set_recovery_seen_until(conn, t).await?;
    }
    db::webhooks::forget_old_claims(&worker.pool).await?;
    Ok(pass)
}

/// Runs a pass on start and every `interval` until shutdown.
pub async fn run(worker: Worker, interval: Duration, task: TaskContext) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = task.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match pass(&worker, None, Source::Recovered).await {
            Ok(p) if p.processed > 0 || p.failed > 0 => {
                tracing::info!(
                    listed = p.listed,
                    processed = p.processed,
                    failed = p.failed,
                    "recovered events whose webhooks were missed"
                );
            }
            Ok(_) => {}
            Err(PassError::Busy) => tracing::debug!("another replica is recovering events"),
            Err(e) => tracing::warn!(error = %e, "event recovery pass failed; trying again later"),
        }
        task.ran();
    }
}
