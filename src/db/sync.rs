//! The sync store (`sync_state`, `sync_records`, `sync_changes`, `sync_refreshes`): see the migration
//! `20261205000001_sync_store.sql` for what each column holds, and `sync.rs` for how it is
//! kept.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Associated data of a sealed change: its user and sequence number, so a body moved to
/// another row does not open.
pub fn change_ad(app_user_id: &str, seq: i64) -> String {
    format!("sync/{app_user_id}/{seq}")
}

/// Changes are kept at least this long: a cursor unused for longer may expire.
pub const KEEP_DAYS: i32 = 30;

#[derive(Debug, Clone)]
pub struct State {
    pub epoch: Uuid,
    pub last_seq: i64,
    pub floor_seq: i64,
    pub fetched_at: Option<DateTime<Utc>>,
    pub requested_at: Option<DateTime<Utc>>,
}

pub async fn state(pool: &PgPool, app_user_id: &str) -> Result<Option<State>, sqlx::Error> {
    sqlx::query_as!(
        State,
        "select epoch, last_seq, floor_seq, fetched_at, requested_at
           from sync_state where app_user_id = $1",
        app_user_id
    )
    .fetch_optional(pool)
    .await
}

/// Asks for a refresh of the user's store; `false` when the user has none (has never synced).
pub async fn request(pool: &PgPool, app_user_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update sync_state set requested_at = clock_timestamp() where app_user_id = $1",
        app_user_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Users whose store was asked to refresh since it last read Basiq, oldest request first;
/// one whose last refresh failed waits a minute.
pub async fn requested(pool: &PgPool, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select app_user_id from sync_state
          where requested_at is not null
            and requested_at > coalesce(fetched_at, '-infinity')
            and (failed_at is null or failed_at < now() - interval '1 minute')
          order by requested_at limit $1",
        limit
    )
    .fetch_all(pool)
    .await
}

/// Takes the user's refresh lock for the rest of the transaction: waiting for it, or (with
/// `wait` false) `false` at once when another refresh holds it.
pub async fn lock(
    tx: &mut PgConnection,
    app_user_id: &str,
    wait: bool,
) -> Result<bool, sqlx::Error> {
    if wait {
        sqlx::query!(
            "select pg_advisory_xact_lock(hashtext('sync/' || $1))",
            app_user_id
        )
        .execute(&mut *tx)
        .await?;
        Ok(true)
    } else {
        sqlx::query_scalar!(
            "select pg_try_advisory_xact_lock(hashtext('sync/' || $1)) as \"taken!\"",
            app_user_id
        )
        .fetch_one(&mut *tx)
        .await
    }
}

/// The user's store state, made if there is none (the user must exist), and the time now.
pub async fn open(
    tx: &mut PgConnection,
    app_user_id: &str,
) -> Result<(State, DateTime<Utc>), sqlx::Error> {
    sqlx::query!(
        "insert into sync_state (app_user_id) values ($1) on conflict do nothing",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query!(
        "select epoch, last_seq, floor_seq, fetched_at, requested_at,
                clock_timestamp() as \"now!\"
           from sync_state where app_user_id = $1",
        app_user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok((
        State {
            epoch: row.epoch,
            last_seq: row.last_seq,
            floor_seq: row.floor_seq,
            fetched_at: row.fetched_at,
            requested_at: row.requested_at,
        },
        row.now,
    ))
}

/// What is stored of a record, without its body.
#[derive(Debug, Clone)]
pub struct Stored {
    pub kind: String,
    pub record_id: String,
    pub status: Option<String>,
    pub content_mac: Option<Vec<u8>>,
    pub removed: bool,
    pub replaced_by: Option<String>,
}

pub async fn stored(tx: &mut PgConnection, app_user_id: &str) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as!(
        Stored,
        "select kind, record_id, status, content_mac, removed_at is not null as \"removed!\",
                replaced_by
           from sync_records where app_user_id = $1",
        app_user_id
    )
    .fetch_all(&mut *tx)
    .await
}

/// The newest sealed body (and its sequence number) of each of the user's records of `kind`
/// among `ids`.
pub async fn latest_bodies(
    tx: &mut PgConnection,
    app_user_id: &str,
    kind: &str,
    ids: &[String],
) -> Result<Vec<(String, i64, Vec<u8>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select distinct on (record_id) record_id, seq, body_sealed as \"body_sealed!\"
           from sync_changes
          where app_user_id = $1 and kind = $2 and record_id = any($3)
            and body_sealed is not null
          order by record_id, seq desc",
        app_user_id,
        kind,
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.record_id, r.seq, r.body_sealed))
        .collect())
}

/// Changes to append to the log, each under its own new sequence number.
#[derive(Debug, Default)]
pub struct Entries {
    pub seq: Vec<i64>,
    pub kind: Vec<String>,
    pub record_id: Vec<String>,
    pub connection_id: Vec<Option<String>>,
    /// `added`, `modified` or `removed`.
    pub change: Vec<String>,
    /// `None` for a removal.
    pub body_sealed: Vec<Option<Vec<u8>>>,
}

pub async fn append(
    tx: &mut PgConnection,
    app_user_id: &str,
    entries: &Entries,
) -> Result<(), sqlx::Error> {
    if entries.seq.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into sync_changes (app_user_id, seq, kind, record_id, connection_id, change,
                                   body_sealed)
         select $1, e.seq, e.kind, e.record_id, e.connection_id, e.change, e.body_sealed
           from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])
                as e(seq, kind, record_id, connection_id, change, body_sealed)",
        app_user_id,
        &entries.seq,
        &entries.kind,
        &entries.record_id,
        &entries.connection_id as &[Option<String>],
        &entries.change,
        &entries.body_sealed as &[Option<Vec<u8>>],
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What the store now holds of records that changed. For a removal, what is not given
/// (`None`) keeps its stored value.
#[derive(Debug, Default)]
pub struct Records {
    pub kind: Vec<String>,
    pub record_id: Vec<String>,
    pub connection_id: Vec<Option<String>>,
    pub account_id: Vec<Option<String>>,
    pub status: Vec<Option<String>>,
    pub record_date: Vec<Option<NaiveDate>>,
    pub seq: Vec<i64>,
    pub removed: Vec<bool>,
    pub replaced_by: Vec<Option<String>>,
    pub content_mac: Vec<Option<Vec<u8>>>,
}

/// One record's row, as [`Records`] takes it.
pub struct Record {
    pub kind: String,
    pub record_id: String,
    pub connection_id: Option<String>,
    pub account_id: Option<String>,
    pub status: Option<String>,
    pub record_date: Option<NaiveDate>,
    pub seq: i64,
    pub removed: bool,
    pub replaced_by: Option<String>,
    pub content_mac: Option<Vec<u8>>,
}

impl Records {
    pub fn push(&mut self, r: Record) {
        self.kind.push(r.kind);
        self.record_id.push(r.record_id);
        self.connection_id.push(r.connection_id);
        self.account_id.push(r.account_id);
        self.status.push(r.status);
        self.record_date.push(r.record_date);
        self.seq.push(r.seq);
        self.removed.push(r.removed);
        self.replaced_by.push(r.replaced_by);
        self.content_mac.push(r.content_mac);
    }
}

pub async fn put(
    tx: &mut PgConnection,
    app_user_id: &str,
    records: &Records,
) -> Result<(), sqlx::Error> {
    if records.seq.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into sync_records (app_user_id, kind, record_id, connection_id, account_id,
                                   status, record_date, seq, removed_at, replaced_by,
                                   content_mac)
         select $1, r.kind, r.record_id, r.connection_id, r.account_id, r.status, r.record_date,
                r.seq, case when r.removed then now() end, r.replaced_by, r.content_mac
           from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[],
                       $8::bigint[], $9::bool[], $10::text[], $11::bytea[])
                as r(kind, record_id, connection_id, account_id, status, record_date, seq,
                     removed, replaced_by, content_mac)
         on conflict (app_user_id, kind, record_id) do update
            set connection_id = coalesce(excluded.connection_id, sync_records.connection_id),
                account_id = coalesce(excluded.account_id, sync_records.account_id),
                status = coalesce(excluded.status, sync_records.status),
                record_date = coalesce(excluded.record_date, sync_records.record_date),
                seq = greatest(excluded.seq, sync_records.seq),
                removed_at = case when excluded.removed_at is null then null
                                  else coalesce(sync_records.removed_at, excluded.removed_at) end,
                replaced_by = excluded.replaced_by,
                content_mac = excluded.content_mac",
        app_user_id,
        &records.kind,
        &records.record_id,
        &records.connection_id as &[Option<String>],
        &records.account_id as &[Option<String>],
        &records.status as &[Option<String>],
        &records.record_date as &[Option<NaiveDate>],
        &records.seq,
        &records.removed,
        &records.replaced_by as &[Option<String>],
        &records.content_mac as &[Option<Vec<u8>>],
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: i32,
    pub modified: i32,
    pub removed: i32,
}

impl Counts {
    pub fn total(&self) -> i32 {
        self.added + self.modified + self.removed
    }
}

/// Ends a refresh that began reading Basiq at `started_at`: the new last sequence number, a
/// request made since then left standing, old tombstones forgotten, and (when something
/// changed) the refresh logged.
pub async fn finish(
    tx: &mut PgConnection,
    app_user_id: &str,
    started_at: DateTime<Utc>,
    first_seq: i64,
    last_seq: i64,
    counts: Counts,
) -> Result<(), sqlx::Error> {
    // Changes older than KEEP_DAYS that a newer, also old, change of the same record
    // supersedes, and old removals that nothing followed, are forgotten; so are the records
    // removed that long ago. Cursors from before then expire.
    let old = sqlx::query_scalar!(
        "select max(seq) from sync_changes
          where app_user_id = $1 and created_at < now() - make_interval(days => $2)",
        app_user_id,
        KEEP_DAYS
    )
    .fetch_one(&mut *tx)
    .await?;
    let forgotten = sqlx::query!(
        "delete from sync_changes c
          where c.app_user_id = $1 and c.created_at < now() - make_interval(days => $2)
            and (exists (select 1 from sync_changes n
                          where n.app_user_id = c.app_user_id and n.kind = c.kind
                            and n.record_id = c.record_id and n.seq > c.seq
                            and n.created_at < now() - make_interval(days => $2))
                 or (c.change = 'removed'
                     and not exists (select 1 from sync_changes n
                                      where n.app_user_id = c.app_user_id and n.kind = c.kind
                                        and n.record_id = c.record_id and n.seq > c.seq)))",
        app_user_id,
        KEEP_DAYS
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from sync_records
          where app_user_id = $1 and removed_at < now() - make_interval(days => $2)",
        app_user_id,
        KEEP_DAYS
    )
    .execute(&mut *tx)
    .await?;
    let floor = match (forgotten.rows_affected(), old) {
        (0, _) | (_, None) => 0,
        (_, Some(seq)) => seq,
    };
    sqlx::query!(
        "update sync_state
            set last_seq = $2, fetched_at = $3, failed_at = null,
                floor_seq = greatest(floor_seq, $4)
          where app_user_id = $1",
        app_user_id,
        last_seq,
        started_at,
        floor
    )
    .execute(&mut *tx)
    .await?;
    if counts.total() > 0 {
        sqlx::query!(
            "insert into sync_refreshes (app_user_id, started_at, finished_at, added, modified,
                                         removed, first_seq, last_seq)
             values ($1, $2, clock_timestamp(), $3, $4, $5, $6, $7)",
            app_user_id,
            started_at,
            counts.added,
            counts.modified,
            counts.removed,
            first_seq,
            last_seq
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "delete from sync_refreshes
              where app_user_id = $1 and finished_at < now() - make_interval(days => $2)",
            app_user_id,
            KEEP_DAYS
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A refresh failed: the background refresher waits before trying the user again.
pub async fn failed(pool: &PgPool, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update sync_state set failed_at = now() where app_user_id = $1",
        app_user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A change of a transaction, as the log holds it.
pub struct Change {
    pub seq: i64,
    pub record_id: String,
    pub change: String,
    /// `None`: removed.
    pub body_sealed: Option<Vec<u8>>,
}

/// The user's transaction changes after `after` up to `upto`, in order.
pub async fn changes(
    pool: &PgPool,
    app_user_id: &str,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<Change>, sqlx::Error> {
    sqlx::query_as!(
        Change,
        "select seq, record_id, change, body_sealed from sync_changes
          where app_user_id = $1 and kind = 'transaction' and seq > $2 and seq <= $3
          order by seq limit $4",
        app_user_id,
        after,
        upto,
        limit
    )
    .fetch_all(pool)
    .await
}

/// Which of `ids` a client at `after` holds: those whose last change up to `after` was not a
/// removal.
pub async fn held_at(
    pool: &PgPool,
    app_user_id: &str,
    ids: &[String],
    after: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select record_id as \"record_id!\" from (
           select distinct on (record_id) record_id, change from sync_changes
            where app_user_id = $1 and kind = 'transaction' and record_id = any($2)
              and seq <= $3
            order by record_id, seq desc) last
          where change <> 'removed'",
        app_user_id,
        ids,
        after
    )
    .fetch_all(pool)
    .await
}

/// The refreshes logged for the user, newest first (for operators and tests).
pub async fn refreshes(pool: &PgPool, app_user_id: &str) -> Result<Vec<Counts>, sqlx::Error> {
    sqlx::query_as!(
        Counts,
        "select added, modified, removed from sync_refreshes
          where app_user_id = $1 order by id desc",
        app_user_id
    )
    .fetch_all(pool)
    .await
}

/// Removes the user's store and its change log (consent revoked or expired).
pub async fn erase(tx: &mut PgConnection, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from sync_changes where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from sync_records where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from sync_refreshes where app_user_id = $1",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from sync_state where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Removes what is stored of one connection and starts a new epoch: a client's cursor expires,
/// so it starts over and drops the connection's transactions from its copy too.
pub async fn forget_connection(
    tx: &mut PgConnection,
    app_user_id: &str,
    connection_id: &str,
) -> Result<(), sqlx::Error> {
    let gone = sqlx::query!(
        "delete from sync_records where app_user_id = $1 and connection_id = $2",
        app_user_id,
        connection_id
    )
    .execute(&mut *tx)
    .await?;
    let log = sqlx::query!(
        "delete from sync_changes where app_user_id = $1 and connection_id = $2",
        app_user_id,
        connection_id
    )
    .execute(&mut *tx)
    .await?;
    if gone.rows_affected() + log.rows_affected() > 0 {
        sqlx::query!(
            "update sync_state set epoch = gen_random_uuid() where app_user_id = $1",
            app_user_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "delete from sync_refreshes where app_user_id = $1",
            app_user_id
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
