//! Events (`events`), the outbox to the company's backend (`outbox`) and stream tickets
//! (`stream_tickets`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// The channel replicas listen on; the payload is the app user whose events changed.
pub const CHANNEL: &str = "basiq_bff_events";

/// Associated data of a sealed event payload: its user, so a row moved to another user does
/// not open.
pub fn payload_ad(app_user_id: &str) -> String {
    format!("events/{app_user_id}")
}

/// Associated data of a sealed outbox body: its event.
pub fn outbox_ad(event_id: i64) -> String {
    format!("outbox/{event_id}")
}

/// Writes an event for `app_user_id` and tells every replica's listener, in the caller's
/// transaction. Events of one user are written one at a time (a per-user lock held to the
/// end of the transaction), so their ids grow in the order they commit and a stream that
/// reads "after id N" never skips one.
pub async fn insert(
    tx: &mut PgConnection,
    app_user_id: &str,
    event_type: &str,
    payload_sealed: &[u8],
) -> Result<(i64, DateTime<Utc>), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtext('events/' || $1))",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query!(
        "insert into events (app_user_id, event_type, payload_sealed) values ($1, $2, $3)
         returning id, created_at",
        app_user_id,
        event_type,
        payload_sealed
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!("select pg_notify($1, $2)", CHANNEL, app_user_id)
        .execute(&mut *tx)
        .await?;
    Ok((row.id, row.created_at))
}

pub struct StoredEvent {
    pub id: i64,
    pub event_type: String,
    pub payload_sealed: Vec<u8>,
}

/// The user's events after `after_id`, oldest first.
pub async fn after(
    pool: &PgPool,
    app_user_id: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as!(
        StoredEvent,
        "select id, event_type, payload_sealed from events
          where app_user_id = $1 and id > $2
          order by id limit $3",
        app_user_id,
        after_id,
        limit
    )
    .fetch_all(pool)
    .await
}

/// The id of the user's newest event (0 for none): a stream without `Last-Event-ID` starts
/// after it.
pub async fn latest_id(pool: &PgPool, app_user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select coalesce(max(id), 0) as "id!" from events where app_user_id = $1"#,
        app_user_id
    )
    .fetch_one(pool)
    .await
}

/// Forgets events older than `keep`, expired tickets, and deliveries done with long ago.
pub async fn prune(pool: &PgPool, keep: std::time::Duration) -> Result<u64, sqlx::Error> {
    let keep_secs = keep.as_secs_f64();
    let events = sqlx::query!(
        "delete from events where created_at < now() - make_interval(secs => $1)",
        keep_secs
    )
    .execute(pool)
    .await?
    .rows_affected();
    sqlx::query!("delete from stream_tickets where expires_at < now() - interval '1 hour'")
        .execute(pool)
        .await?;
    sqlx::query!(
        "delete from outbox where delivered_at < now() - interval '7 days'
                               or dead_at < now() - interval '30 days'"
    )
    .execute(pool)
    .await?;
    Ok(events)
}

/// Removes the user's events and their deliveries to the company's backend, delivered or not
/// (erasure). What concerns the erasure itself is published after it, in the same transaction,
/// and delivered.
pub async fn erase(tx: &mut PgConnection, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from events where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("delete from outbox where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Queues an event for the company's backend, in the event's transaction.
pub async fn enqueue(
    tx: &mut PgConnection,
    event_id: i64,
    app_user_id: &str,
    body_sealed: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into outbox (event_id, app_user_id, body_sealed) values ($1, $2, $3)",
        event_id,
        app_user_id,
        body_sealed
    )
    .execute(tx)
    .await?;
    Ok(())
}

pub struct Due {
    pub event_id: i64,
    pub app_user_id: String,
    pub body_sealed: Vec<u8>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// The claim's SQL, for tests that look at its plan.
pub const CLAIM_DUE_SQL: &str = include_str!("outbox_claim.sql");

/// Claims up to `limit` deliveries that are due and first in line for their user (an older
/// undelivered one of the same user waits, so a user's events arrive in order). Users take
/// turns: the walk starts after `after` (the last user of the previous claim; `""` for the
/// first) and goes round once. The claim pushes their next attempt out by a lease, so replicas
/// never deliver one at once. Answers in walk order.
pub async fn claim_due(pool: &PgPool, limit: i64, after: &str) -> Result<Vec<Due>, sqlx::Error> {
    let mut due = claim_after(pool, limit, after).await?;
    let short = limit - due.len() as i64;
    if short > 0 && !after.is_empty() {
        // The walk passed the last user: on from the first.
        due.extend(claim_after(pool, short, "").await?);
    }
    Ok(due)
}

/// One claim (`outbox_claim.sql`, which says how it stays cheap): users after `after` only.
async fn claim_after(pool: &PgPool, limit: i64, after: &str) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_file_as!(Due, "src/db/outbox_claim.sql", limit, after)
        .fetch_all(pool)
        .await
}

/// What a delivery attempt came to.
pub enum Attempt<'a> {
    Delivered(u16),
    /// Tried again after this many seconds.
    Retry {
        status: Option<u16>,
        error: &'a str,
        in_secs: f64,
    },
    /// Given up on.
    Dead {
        status: Option<u16>,
        error: &'a str,
    },
}

pub async fn attempted(
    pool: &PgPool,
    event_id: i64,
    attempt: Attempt<'_>,
) -> Result<(), sqlx::Error> {
    let (status, error, delivered, dead, retry_in) = match attempt {
        Attempt::Delivered(status) => (Some(status), None, true, false, 0.0),
        Attempt::Retry {
            status,
            error,
            in_secs,
        } => (status, Some(error), false, false, in_secs),
        Attempt::Dead { status, error } => (status, Some(error), false, true, 0.0),
    };
    sqlx::query!(
        "update outbox
            set attempts = attempts + 1,
                last_status = $2,
                last_error = $3,
                delivered_at = case when $4 then now() end,
                dead_at = case when $5 then now() end,
                next_attempt_at = now() + make_interval(secs => $6)
          where event_id = $1",
        event_id,
        status.map(i32::from),
        error,
        delivered,
        dead,
        retry_in
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Deliveries waiting, and how old the oldest is (seconds), for `/metrics`.
pub async fn backlog(pool: &PgPool) -> Result<(i64, f64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where delivered_at is null and dead_at is null) as "pending!",
                  coalesce(extract(epoch from now() - min(created_at)
                      filter (where delivered_at is null and dead_at is null)), 0)::float8 as "oldest!",
                  count(*) filter (where dead_at is not null) as "dead!"
             from outbox"#
    )
    .fetch_one(pool)
    .await?;
    Ok((row.pending, row.oldest, row.dead))
}

/// Stores a new stream ticket's hash for `app_user_id` (whose row must exist:
/// `users::ensure_row`).
pub async fn insert_ticket(
    pool: &PgPool,
    ticket_hash: &[u8],
    app_user_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into stream_tickets (ticket_hash, app_user_id, expires_at) values ($1, $2, $3)",
        ticket_hash,
        app_user_id,
        expires_at
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The user a ticket was issued to, if it is unused and unexpired; it stays so.
pub async fn ticket_user(pool: &PgPool, ticket_hash: &[u8]) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select app_user_id from stream_tickets
          where ticket_hash = $1 and used_at is null and expires_at > now()",
        ticket_hash
    )
    .fetch_optional(pool)
    .await
}

/// Uses a ticket: the user it was issued to, if it was unused and unexpired. Of two at once,
/// one uses it.
pub async fn redeem_ticket(
    pool: &PgPool,
    ticket_hash: &[u8],
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "update stream_tickets set used_at = now()
          where ticket_hash = $1 and used_at is null and expires_at > now()
          returning app_user_id",
        ticket_hash
    )
    .fetch_optional(pool)
    .await
}

/// How many events are stored for the user, and how many deliveries of them to the company's
/// backend are still pending.
pub async fn counts(pool: &PgPool, app_user_id: &str) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select (select count(*) from events where app_user_id = $1) as "events!",
                  (select count(*) from outbox
                    where app_user_id = $1 and delivered_at is null and dead_at is null)
                      as "pending!""#,
        app_user_id
    )
    .fetch_one(pool)
    .await?;
    Ok((row.events, row.pending))
}
