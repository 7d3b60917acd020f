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
    /// How many times a connection's deletion erased changes from the log.
    pub version: i64,
    pub last_seq: i64,
    pub floor_seq: i64,
    pub fetched_at: Option<DateTime<Utc>>,
    pub requested_at: Option<DateTime<Utc>>,
}

pub async fn state(pool: &PgPool, app_user_id: &str) -> Result<Option<State>, sqlx::Error> {
    sqlx::query_as!(
        State,
        "select epoch, version, last_seq, floor_seq, fetched_at, requested_at
           from sync_state where app_user_id = $1",
        app_user_id
    )
    .fetch_optional(pool)
    .await
}

/// Asks for a refresh of the user's store; `false` when the user has none (has never synced).
pub async fn request(
    db: impl sqlx::PgExecutor<'_>,
    app_user_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update sync_state set requested_at = clock_timestamp() where app_user_id = $1",
        app_user_id
    )
    .execute(db)
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

/// Takes the user's store lock for the rest of the transaction, waiting for it: a refresh
/// writes under it, and erasure and connection deletion take it, so neither happens in the
/// middle of the other.
pub async fn lock(tx: &mut PgConnection, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtext('sync/' || $1))",
        app_user_id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// How long a replica may read Basiq for a user before another may take over.
const LEASE_SECS: f64 = 120.0;

/// A refresh that may read Basiq: the store it began with, and when it began reading.
#[derive(Debug, Clone)]
pub struct Lease {
    pub epoch: Uuid,
    pub started_at: DateTime<Utc>,
}

/// Whether a refresh may begin.
#[derive(Debug)]
pub enum Begin {
    Leased(Lease),
    /// Another replica is reading Basiq for the user.
    Busy,
    /// Nothing to do: a refresh already read Basiq since it was asked for, or (without
    /// `create`) the user has no store.
    NotNeeded,
}

/// Takes the user's refresh lease if a refresh is needed: for a first sync (`create`, which
/// makes the store if there is none; the user's row must exist) until any refresh has read
/// Basiq, else while a request is newer than the last read.
pub async fn begin(pool: &PgPool, app_user_id: &str, create: bool) -> Result<Begin, sqlx::Error> {
    if create {
        sqlx::query!(
            "insert into sync_state (app_user_id) values ($1) on conflict do nothing",
            app_user_id
        )
        .execute(pool)
        .await?;
    }
    let leased = sqlx::query!(
        "update sync_state
            set refreshing_until = clock_timestamp() + make_interval(secs => $3)
          where app_user_id = $1
            and (refreshing_until is null or refreshing_until < clock_timestamp())
            and case when $2 then fetched_at is null
                     else requested_at > coalesce(fetched_at, '-infinity') end
         returning epoch, clock_timestamp() as \"started_at!\"",
        app_user_id,
        create,
        LEASE_SECS
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = leased {
        return Ok(Begin::Leased(Lease {
            epoch: row.epoch,
            started_at: row.started_at,
        }));
    }
    let needed = sqlx::query_scalar!(
        "select case when $2 then fetched_at is null
                     else requested_at > coalesce(fetched_at, '-infinity') end as needed
           from sync_state where app_user_id = $1",
        app_user_id,
        create
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(match needed {
        Some(true) => Begin::Busy,
        _ => Begin::NotNeeded,
    })
}

/// Gives the lease back after a refresh that failed.
pub async fn release(pool: &PgPool, app_user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update sync_state set refreshing_until = null where app_user_id = $1",
        app_user_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes the user's store lock to write what a refresh under `lease` read: the store's last
/// sequence number, or `None` when the store was erased (or erased and made again) since the
/// refresh began, or a refresh that began reading later has written already (this one's lease
/// lapsed and another took over): it must then write nothing.
pub async fn lock_for_write(
    tx: &mut PgConnection,
    app_user_id: &str,
    lease: &Lease,
) -> Result<Option<i64>, sqlx::Error> {
    lock(tx, app_user_id).await?;
    let last_seq = sqlx::query_scalar!(
        "select last_seq from sync_state
          where app_user_id = $1 and epoch = $2 and (fetched_at is null or fetched_at < $3)
            for update",
        app_user_id,
        lease.epoch,
        lease.started_at
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(last_seq)
}

/// What is stored of a record, without its body.
#[derive(Debug, Clone)]
pub struct Stored {
    pub kind: String,
    pub record_id: String,
    pub status: Option<String>,
    pub record_date: Option<NaiveDate>,
    pub content_mac: Option<Vec<u8>>,
    pub removed: bool,
    pub replaced_by: Option<String>,
}

pub async fn stored(tx: &mut PgConnection, app_user_id: &str) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as!(
        Stored,
        "select kind, record_id, status, record_date, content_mac,
                removed_at is not null as \"removed!\", replaced_by
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
            set last_seq = $2, fetched_at = $3, failed_at = null, refreshing_until = null,
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
        "update sync_state set failed_at = now(), refreshing_until = null where app_user_id = $1",
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
            and change <> 'erased'
          order by seq limit $4",
        app_user_id,
        after,
        upto,
        limit
    )
    .fetch_all(pool)
    .await
}

/// Which of `ids` a client at `after` holds: those whose last change up to `after` added or
/// modified them. (What an erasure took from a client is reported by [`erased_since`].)
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
          where change in ('added', 'modified')",
        app_user_id,
        ids,
        after
    )
    .fetch_all(pool)
    .await
}

/// The transactions a client at `after`, whose cursor was issued at store `version`, held
/// when a later erasure (a connection's deletion) took them from the log: their last change up
/// to `after` is one that erasure erased. The client is told they are gone now, since its
/// next cursor is past that erasure.
pub async fn erased_since(
    pool: &PgPool,
    app_user_id: &str,
    after: i64,
    version: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select record_id as \"record_id!\" from (
           select distinct on (record_id) record_id, change, erased_in from sync_changes
            where app_user_id = $1 and kind = 'transaction' and seq <= $2
              and record_id in (select record_id from sync_changes
                                 where app_user_id = $1 and kind = 'transaction'
                                   and erased_in > $3)
            order by record_id, seq desc) last
          where change = 'erased' and erased_in > $3",
        app_user_id,
        after,
        version
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

/// Removes the user's store and its change log (consent revoked or expired), after any refresh
/// of it now writing (its lock): the records, changes and refreshes go with the state.
pub async fn erase(tx: &mut PgConnection, app_user_id: &str) -> Result<(), sqlx::Error> {
    lock(tx, app_user_id).await?;
    sqlx::query!("delete from sync_state where app_user_id = $1", app_user_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The connection was deleted: each of its records a client may hold is reported removed
/// once (a new change each), and what the log held of them is erased (their changes keep their
/// sequence numbers, without bodies).
pub async fn remove_connection(
    tx: &mut PgConnection,
    app_user_id: &str,
    connection_id: &str,
) -> Result<(), sqlx::Error> {
    lock(tx, app_user_id).await?;
    let Some(last_seq) = sqlx::query_scalar!(
        "select last_seq from sync_state where app_user_id = $1 for update",
        app_user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(());
    };
    // An erasure with nothing to erase (the connection's deletion heard of twice) changes
    // nothing, not even the store's version.
    let erased = sqlx::query!(
        "update sync_changes set change = 'erased', body_sealed = null,
                erased_in = (select version + 1 from sync_state where app_user_id = $1)
          where app_user_id = $1 and connection_id = $2 and change in ('added', 'modified')",
        app_user_id,
        connection_id
    )
    .execute(&mut *tx)
    .await?;
    if erased.rows_affected() > 0 {
        sqlx::query!(
            "update sync_state set version = version + 1 where app_user_id = $1",
            app_user_id
        )
        .execute(&mut *tx)
        .await?;
    }
    let removed = sqlx::query_scalar!(
        "with live as (
             select kind, record_id,
                    $3::bigint + row_number() over (order by kind, record_id) as seq
               from sync_records
              where app_user_id = $1 and connection_id = $2 and removed_at is null),
         logged as (
             insert into sync_changes (app_user_id, seq, kind, record_id, connection_id, change)
             select $1, seq, kind, record_id, $2, 'removed' from live),
         marked as (
             update sync_records r
                set removed_at = now(), content_mac = null, seq = live.seq, replaced_by = null
               from live
              where r.app_user_id = $1 and r.kind = live.kind and r.record_id = live.record_id)
         select count(*) as \"removed!\" from live",
        app_user_id,
        connection_id,
        last_seq
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "update sync_state set last_seq = last_seq + $2 where app_user_id = $1",
        app_user_id,
        removed
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
