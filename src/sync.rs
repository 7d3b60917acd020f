//! The sync store (SPEC.md §8): for each user who syncs, the accounts and transactions Basiq
//! last gave, kept in `db/sync.rs`, and what changed, in order, for
//! `GET /v1/transactions/sync` (`http/sync.rs`).
//!
//! A store is made on a user's first sync. After that, whatever learns that Basiq's data
//! changed (the job watcher when a job succeeds, the webhook inbox on `transactions.updated` or
//! `account.updated`) asks for a refresh ([`SyncStore::data_changed_in`], in its own
//! transaction); the `sync_refresher` task does it and publishes `data.updated` in the
//! refresh's transaction, so an app that syncs on that event sees the change. A user without a
//! store gets `data.updated` at once, as before.
//!
//! A refresh reads every account and every page of transactions from Basiq holding no database
//! connection (one refresh of a user at a time in this process, and a lease in `sync_state`
//! across replicas), then, in one short transaction under the user's lock (a Postgres advisory
//! lock, which erasure and connection deletion take too), compares each record with the stored
//! one by a keyed MAC of its JSON: new ones are added, changed ones modified, ones gone from
//! Basiq removed, and a pending transaction whose posted copy arrived is removed even while
//! Basiq still lists it, and added back if that posted copy turns out to be another's
//! (`domain::sync` says when one replaces another). Each change takes the next sequence number
//! of the user; a sync cursor is a sequence number.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretBox;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;

use crate::{
    basiq::{BasiqClient, BasiqError, types as wire},
    crypto::{MacKey, Sealer},
    db::{self, sync::Counts},
    domain::sync::{Candidate, replacements},
    events::{Change, DataUpdated, Events},
    single_flight::KeyedLocks,
    tasks::TaskContext,
    views::{accounts::AccountView, transactions::TransactionView},
};

/// Basiq's largest page of transactions.
const PAGE: u32 = 500;
/// How often a first sync looks whether another replica's refresh of the user has finished.
const LEASE_POLL: Duration = Duration::from_millis(100);
/// How many users one pass of the refresher takes.
const BATCH: i64 = 10;
/// A pending transaction that disappeared without a posted copy stays a candidate for one this
/// long (by its date): a posting comes days after its purchase, a hotel's hold a week or two.
const GONE_PENDING_DAYS: i64 = 14;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Basiq(#[from] BasiqError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The refresh's task panicked, or the runtime is stopping.
    #[error("the refresh stopped: {0}")]
    Stopped(String),
}

/// Why a refresh runs, which decides when it is not needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A first sync: not needed once any refresh has read Basiq.
    FirstSync,
    /// Asked for: not needed once a refresh began reading Basiq after the request.
    Requested,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// Another refresh is reading Basiq for the user, or has already done what was asked, or
    /// the store was erased while this one read.
    Skipped,
    Done(Counts),
}

/// Keeps the sync store; cheap to clone.
#[derive(Clone)]
pub struct SyncStore(Arc<Inner>);

struct Inner {
    pool: PgPool,
    basiq: BasiqClient,
    sealer: Arc<Sealer>,
    /// Keys the content MACs that tell a changed record without opening it.
    content_key: MacKey,
    events: Events,
    /// Wakes this replica's refresher when a refresh is asked for here.
    wake: Notify,
    /// One refresh of a user at a time in this process.
    flights: KeyedLocks,
}

pub use db::sync::change_ad;

/// A record as Basiq now gives it.
struct Fetched {
    kind: &'static str,
    id: String,
    connection_id: Option<String>,
    account_id: Option<String>,
    status: Option<String>,
    date: Option<NaiveDate>,
    mac: Vec<u8>,
    /// Our JSON of it; `None` once [`compare`] found it unchanged.
    body: Option<Vec<u8>>,
    /// New in the store (or back after a removal).
    added: bool,
    /// What matching needs of a pending, or a newly posted, transaction.
    candidate: Option<Candidate>,
    pending: bool,
    /// A listed pending transaction the store keeps out: the posted one that replaced it.
    replaced_by: Option<String>,
}

fn date_of(text: Option<wire::Text<'_>>) -> Option<NaiveDate> {
    let text = text?.decoded();
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// What matching reads of a transaction, in Basiq's JSON or in our stored view's.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MatchFields<'a> {
    #[serde(borrow)]
    id: wire::Text<'a>,
    #[serde(borrow, default)]
    status: Option<wire::Text<'a>>,
    #[serde(borrow, default)]
    amount: Option<wire::Text<'a>>,
    #[serde(borrow, default)]
    description: Option<wire::Text<'a>>,
    #[serde(borrow, default)]
    account_id: Option<wire::Text<'a>>,
    #[serde(borrow, default)]
    transaction_date: Option<wire::Text<'a>>,
    #[serde(borrow, default)]
    post_date: Option<wire::Text<'a>>,
}

impl<'a> From<&wire::Transaction<'a>> for MatchFields<'a> {
    fn from(t: &wire::Transaction<'a>) -> Self {
        Self {
            id: t.id,
            status: t.status,
            amount: t.amount,
            description: t.description,
            account_id: t.account.map(|r| r.0),
            transaction_date: t.transaction_date,
            post_date: t.post_date,
        }
    }
}

/// What matching looks at in a transaction; `None` without an account, amount or
/// description.
fn candidate(t: &MatchFields<'_>, now: DateTime<Utc>) -> Option<Candidate> {
    let made = date_of(t.transaction_date);
    let pending = t.status.is_some_and(|s| s == "pending");
    let posted = date_of(t.post_date).filter(|_| !pending);
    Candidate::new(
        &t.id.decoded(),
        &t.account_id?.decoded(),
        &t.amount?.decoded(),
        made,
        posted.or(made).unwrap_or(now.date_naive()),
        &t.description?.decoded(),
    )
}

impl SyncStore {
    /// `data_key` is the first `DATA_ENCRYPTION_KEY`; the content MACs are keyed from it.
    pub fn new(
        pool: PgPool,
        basiq: BasiqClient,
        sealer: Arc<Sealer>,
        data_key: &SecretBox<[u8; 32]>,
        events: Events,
    ) -> Self {
        Self(Arc::new(Inner {
            pool,
            basiq,
            sealer,
            content_key: MacKey::derive(data_key, "basiq-bff/sync-content/v1"),
            events,
            wake: Notify::new(),
            flights: KeyedLocks::default(),
        }))
    }

    /// Basiq's data of the user changed (a job succeeded, a webhook said so), in the caller's
    /// transaction: for a user with a store, a refresh is asked for (`data.updated` follows
    /// it; call [`SyncStore::wake`] once the transaction commits, when this answers `true`);
    /// for a user who has never synced, `data.updated` is published now.
    pub async fn data_changed_in(
        &self,
        tx: &mut PgConnection,
        app_user_id: &str,
        connection_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        if self.request_in(tx, app_user_id).await? {
            return Ok(true);
        }
        self.tell_in(tx, app_user_id, connection_id).await?;
        Ok(false)
    }

    /// The first half of [`Self::data_changed_in`]: a refresh asked for, `false` when the user
    /// has no store (then [`Self::tell_in`] them).
    pub async fn request_in(
        &self,
        tx: &mut PgConnection,
        app_user_id: &str,
    ) -> Result<bool, sqlx::Error> {
        db::sync::request(&mut *tx, app_user_id).await
    }

    /// The second half: `data.updated`, for a user without a store.
    pub async fn tell_in(
        &self,
        tx: &mut PgConnection,
        app_user_id: &str,
        connection_id: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let change = Change::Data(DataUpdated {
            connection_id: connection_id.map(str::to_owned),
        });
        self.0.events.publish_in(tx, app_user_id, &change).await?;
        Ok(())
    }

    /// Wakes this replica's refresher: a refresh was asked for here.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Brings the user's store in line with Basiq, unless another refresh is doing so or already
    /// did what `why` needs. A first sync waits for another replica's refresh of the same user
    /// (and reads what it stored); a requested refresh leaves it to that one, or to the next pass.
    ///
    /// No database connection is held while Basiq is read or while waiting on another refresh:
    /// one refresh of a user runs at a time in this process (the others wait in memory), and a
    /// lease in `sync_state` keeps other replicas from reading Basiq for the same user at once.
    /// What was read is then written in one short transaction under the user's lock, which
    /// erasure takes too: a store erased meanwhile is not written again.
    #[tracing::instrument(skip_all, fields(why = ?why))]
    pub async fn refresh(
        &self,
        app_user_id: &str,
        basiq_user_id: &str,
        why: Why,
    ) -> Result<Refreshed, SyncError> {
        // In a task of its own: it runs to its end (its lease given back, its writes done) even
        // when the request that asked goes away, timed out or cancelled.
        let store = self.clone();
        let (user, basiq_user) = (app_user_id.to_owned(), basiq_user_id.to_owned());
        let refresh = async move { store.refresh_here(&user, &basiq_user, why).await };
        tokio::spawn(tracing::Instrument::in_current_span(refresh))
            .await
            .map_err(|e| SyncError::Stopped(e.to_string()))?
    }

    async fn refresh_here(
        &self,
        app_user_id: &str,
        basiq_user_id: &str,
        why: Why,
    ) -> Result<Refreshed, SyncError> {
        let inner = &self.0;
        let _one_at_a_time = inner.flights.lock(app_user_id).await;
        let lease = loop {
            match db::sync::begin(&inner.pool, app_user_id, why == Why::FirstSync).await? {
                db::sync::Begin::Leased(lease) => break lease,
                db::sync::Begin::NotNeeded => return Ok(Refreshed::Skipped),
                db::sync::Begin::Busy if why == Why::FirstSync => {
                    // Another replica reads Basiq for this user: its store will answer.
                    tokio::time::sleep(LEASE_POLL).await;
                }
                db::sync::Begin::Busy => return Ok(Refreshed::Skipped),
            }
        };
        let result = self
            .read_and_write(app_user_id, basiq_user_id, &lease, why)
            .await;
        if result.is_err()
            && let Err(e) = db::sync::release(&inner.pool, app_user_id).await
        {
            tracing::warn!(error = %e, "could not give back the refresh lease; it lapses by itself");
        }
        result
    }

    /// Reads everything Basiq has of the user, then writes what changed, and, for a refresh
    /// that was asked for, tells the user (`data.updated`) in the same transaction.
    async fn read_and_write(
        &self,
        app_user_id: &str,
        basiq_user_id: &str,
        lease: &db::sync::Lease,
        why: Why,
    ) -> Result<Refreshed, SyncError> {
        let inner = &self.0;
        let mut fetched = Vec::new();
        let accounts = inner.basiq.accounts(basiq_user_id).await?;
        fetched.extend(
            accounts
                .borrow_dependent()
                .iter()
                .filter_map(|a| self.account(a)),
        );
        drop(accounts);
        let mut query = format!("limit={PAGE}");
        loop {
            let page = inner.basiq.transactions(basiq_user_id, &query).await?;
            let rows = page.borrow_dependent();
            fetched.extend(
                rows.rows
                    .iter()
                    .filter_map(|t| self.transaction(t, lease.started_at)),
            );
            match &rows.next_query {
                Some(next) if *next != query => query = next.clone(),
                _ => break,
            }
        }

        let mut tx = inner.pool.begin().await?;
        let Some(last_seq) = db::sync::lock_for_write(&mut tx, app_user_id, lease).await? else {
            tracing::info!("the sync store was erased or remade during the refresh; not written");
            return Ok(Refreshed::Skipped);
        };
        // What Basiq still lists of a deleted connection is left out: read under the lock,
        // so a deletion while Basiq was read is seen.
        let deleted = db::connections::deleted(&mut *tx, app_user_id).await?;
        fetched.retain(|f| {
            f.connection_id
                .as_deref()
                .is_none_or(|c| !deleted.contains(c))
        });
        let stored: HashMap<(String, String), db::sync::Stored> =
            db::sync::stored(&mut tx, app_user_id)
                .await?
                .into_iter()
                .map(|s| ((s.kind.clone(), s.record_id.clone()), s))
                .collect();
        let fetched = compare(fetched, &stored);
        // On a first refresh there is nothing to tell a posted copy from another purchase by:
        // every transaction Basiq lists is kept.
        let matching = !stored.is_empty();
        let gone = if matching {
            self.gone_pending(&mut tx, app_user_id, &stored, &fetched)
                .await?
        } else {
            Vec::new()
        };
        let plan = plan(fetched, &stored, gone, matching, last_seq, |body, seq| {
            inner.sealer.seal(body, &change_ad(app_user_id, seq))
        });
        let (counts, new_last_seq) = (plan.counts, plan.last_seq);
        db::sync::append(&mut tx, app_user_id, &plan.entries).await?;
        db::sync::put(&mut tx, app_user_id, &plan.records).await?;
        db::sync::finish(
            &mut tx,
            app_user_id,
            lease.started_at,
            last_seq + 1,
            new_last_seq,
            counts,
        )
        .await?;
        if why == Why::Requested && counts.total() > 0 {
            let change = Change::Data(DataUpdated {
                connection_id: None,
            });
            inner
                .events
                .publish_in(&mut tx, app_user_id, &change)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(
            added = counts.added,
            modified = counts.modified,
            removed = counts.removed,
            "sync store refreshed"
        );
        metrics::counter!("sync_refreshes_total").increment(1);
        metrics::counter!("sync_changes_total").increment(counts.total() as u64);
        Ok(Refreshed::Done(counts))
    }

    /// The stored pending transactions Basiq no longer lists and no posted copy has replaced,
    /// for matching: those that disappear in this refresh, and those that disappeared lately
    /// without one (a bank may drop the pending one a refresh before the posted one arrives).
    /// One of them is the likelier original of a new posted copy than one Basiq still lists.
    async fn gone_pending(
        &self,
        tx: &mut sqlx::PgConnection,
        app_user_id: &str,
        stored: &HashMap<(String, String), db::sync::Stored>,
        fetched: &[Fetched],
    ) -> Result<Vec<Candidate>, sqlx::Error> {
        let seen: std::collections::HashSet<&str> = fetched
            .iter()
            .filter(|f| f.kind == "transaction")
            .map(|f| f.id.as_str())
            .collect();
        let lately = Utc::now().date_naive() - chrono::TimeDelta::days(GONE_PENDING_DAYS);
        let ids: Vec<String> = stored
            .values()
            .filter(|s| {
                s.kind == "transaction"
                    && s.status.as_deref() == Some("pending")
                    && !seen.contains(s.record_id.as_str())
                    && (!s.removed
                        || s.replaced_by.is_none() && s.record_date.is_some_and(|d| d >= lately))
            })
            .map(|s| s.record_id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (_, seq, sealed) in
            db::sync::latest_bodies(tx, app_user_id, "transaction", &ids).await?
        {
            let Ok(body) = self.0.sealer.open(&sealed, &change_ad(app_user_id, seq)) else {
                tracing::warn!("a stored transaction does not open; not matched");
                continue;
            };
            if let Ok(t) = serde_json::from_slice::<MatchFields<'_>>(&body)
                && let Some(mut c) = candidate(&t, Utc::now())
            {
                c.gone = true;
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The record of an account; `None` if Basiq's is unreadable.
    fn account(&self, a: &wire::Account<'_>) -> Option<Fetched> {
        let id = a.id.decoded().into_owned();
        let body = serde_json::to_vec(&AccountView::from(a)).ok()?;
        Some(Fetched {
            kind: "account",
            connection_id: a.connection.map(|r| r.0.decoded().into_owned()),
            account_id: Some(id.clone()),
            mac: self.mac("account", &id, &body),
            id,
            status: None,
            date: None,
            body: Some(body),
            added: false,
            candidate: None,
            pending: false,
            replaced_by: None,
        })
    }

    /// The record of a transaction, with what matching needs.
    fn transaction(&self, t: &wire::Transaction<'_>, now: DateTime<Utc>) -> Option<Fetched> {
        let id = t.id.decoded().into_owned();
        let body = serde_json::to_vec(&TransactionView::from(t)).ok()?;
        let status = t.status.map(|s| s.decoded().into_owned());
        let pending = status.as_deref() == Some("pending");
        Some(Fetched {
            kind: "transaction",
            connection_id: t.connection.map(|r| r.0.decoded().into_owned()),
            account_id: t.account.map(|r| r.0.decoded().into_owned()),
            date: date_of(t.post_date).or_else(|| date_of(t.transaction_date)),
            candidate: candidate(&t.into(), now),
            mac: self.mac("transaction", &id, &body),
            id,
            status,
            body: Some(body),
            added: false,
            pending,
            replaced_by: None,
        })
    }

    /// The keyed MAC of a record's JSON, which tells a changed record without opening the
    /// stored one.
    fn mac(&self, kind: &str, id: &str, body: &[u8]) -> Vec<u8> {
        self.0
            .content_key
            .sign(&[kind.as_bytes(), id.as_bytes(), body])
            .to_vec()
    }

    /// The user's Basiq user, if they still have one.
    async fn basiq_user(&self, app_user_id: &str) -> Result<Option<String>, sqlx::Error> {
        db::users::basiq_user_id(&self.0.pool, app_user_id).await
    }
}

/// The records Basiq listed, against what the store holds (`stored`): each marked new (or back
/// after a removal), its body kept only when it is new or changed, and a pending transaction
/// its posted copy replaced marked so (it stays removed while Basiq lists both, unless matching
/// gives its posted copy to another; one that can no longer be matched is left out).
fn compare(
    fetched: Vec<Fetched>,
    stored: &HashMap<(String, String), db::sync::Stored>,
) -> Vec<Fetched> {
    fetched
        .into_iter()
        .filter_map(|mut f| {
            let before = stored.get(&(f.kind.to_owned(), f.id.clone()));
            if let Some(by) = before.and_then(|s| s.replaced_by.as_ref().filter(|_| s.removed)) {
                if !f.pending || f.candidate.is_none() {
                    return None;
                }
                f.replaced_by = Some(by.clone());
            }
            let live = before.filter(|s| !s.removed);
            f.added = live.is_none();
            if live.and_then(|s| s.content_mac.as_deref()) == Some(f.mac.as_slice()) {
                f.body = None;
            }
            Some(f)
        })
        .collect()
}

/// What a refresh writes.
struct Plan {
    entries: db::sync::Entries,
    records: db::sync::Records,
    counts: Counts,
    last_seq: i64,
}

impl Plan {
    fn record(&mut self, f: &Fetched, seq: i64, removed: bool, replaced_by: Option<String>) {
        self.records.push(db::sync::Record {
            kind: f.kind.to_owned(),
            record_id: f.id.clone(),
            connection_id: f.connection_id.clone(),
            account_id: f.account_id.clone(),
            status: f.status.clone(),
            record_date: f.date,
            seq,
            removed,
            replaced_by,
            content_mac: (!removed).then(|| f.mac.clone()),
        });
    }

    fn entry(
        &mut self,
        kind: &str,
        id: &str,
        connection: Option<String>,
        change: &str,
        body: Option<Vec<u8>>,
    ) -> i64 {
        self.last_seq += 1;
        let e = &mut self.entries;
        e.seq.push(self.last_seq);
        e.kind.push(kind.to_owned());
        e.record_id.push(id.to_owned());
        e.connection_id.push(connection);
        e.change.push(change.to_owned());
        e.body_sealed.push(body);
        self.last_seq
    }
}

/// What to write: each change under the next sequence number after `last_seq`, removals
/// first (so a client applying a page never holds both a pending transaction and its posted
/// copy), then changes, then additions; `seal` seals a body for its sequence number.
fn plan(
    fetched: Vec<Fetched>,
    stored: &HashMap<(String, String), db::sync::Stored>,
    gone_pending: Vec<Candidate>,
    matching: bool,
    last_seq: i64,
    seal: impl Fn(&[u8], i64) -> Vec<u8>,
) -> Plan {
    // Pending transactions (those gone from Basiq, then those it lists, oldest first), and
    // posted ones new in this refresh or keeping a listed pending one out. Which fetched record
    // each pending one is: `None` for a gone one.
    let hiding: std::collections::HashSet<&str> = fetched
        .iter()
        .filter_map(|f| f.replaced_by.as_deref())
        .collect();
    let mut pending: Vec<(Option<usize>, Candidate)> =
        gone_pending.into_iter().map(|c| (None, c)).collect();
    let mut posted: Vec<Candidate> = Vec::new();
    for (i, f) in fetched.iter().enumerate() {
        match &f.candidate {
            Some(c) if matching && f.pending => {
                let mut c = c.clone();
                c.replaced_by.clone_from(&f.replaced_by);
                pending.push((Some(i), c));
            }
            Some(c)
                if matching
                    && f.kind == "transaction"
                    && (f.added || hiding.contains(f.id.as_str())) =>
            {
                posted.push(c.clone());
            }
            _ => {}
        }
    }
    pending.sort_by(|a, b| (a.1.date, &a.1.id).cmp(&(b.1.date, &b.1.id)));
    let candidates: Vec<Candidate> = pending.iter().map(|(_, c)| c.clone()).collect();
    // A listed pending transaction replaced by its posted copy: by whom; and a gone one.
    let mut replaced: HashMap<usize, String> = HashMap::new();
    let mut gone_replaced: HashMap<String, String> = HashMap::new();
    for (p, q) in replacements(&candidates, &posted) {
        let by = posted[q].id.clone();
        match pending[p].0 {
            Some(i) => {
                replaced.insert(i, by);
            }
            None => {
                gone_replaced.insert(pending[p].1.id.clone(), by);
            }
        }
    }

    let mut plan = Plan {
        entries: Default::default(),
        records: Default::default(),
        counts: Counts::default(),
        last_seq,
    };
    // Gone from Basiq.
    let seen: std::collections::HashSet<(&str, &str)> =
        fetched.iter().map(|f| (f.kind, f.id.as_str())).collect();
    let mut gone: Vec<&db::sync::Stored> = stored
        .values()
        .filter(|s| !s.removed && !seen.contains(&(s.kind.as_str(), s.record_id.as_str())))
        .collect();
    gone.sort_by(|a, b| (&a.kind, &a.record_id).cmp(&(&b.kind, &b.record_id)));
    let removal = |s: &db::sync::Stored, seq: i64, replaced_by: Option<String>| {
        // What is not given keeps its stored value.
        db::sync::Record {
            kind: s.kind.clone(),
            record_id: s.record_id.clone(),
            connection_id: None,
            account_id: None,
            status: None,
            record_date: None,
            seq,
            removed: true,
            replaced_by,
            content_mac: None,
        }
    };
    for s in gone {
        plan.counts.removed += 1;
        let seq = plan.entry(&s.kind, &s.record_id, None, "removed", None);
        let by = gone_replaced.remove(&s.record_id);
        plan.records.push(removal(s, seq, by));
    }
    // Gone before, and now replaced by their posted copy: so that no other takes it.
    for (id, by) in gone_replaced {
        if let Some(s) = stored.get(&("transaction".to_owned(), id)) {
            plan.records.push(removal(s, 0, Some(by)));
        }
    }
    // Replaced by their posted copy: removed if a client may hold them, else only kept out. One
    // kept out before and no longer replaced is among the new ones below: added back.
    let mut rest = Vec::new();
    for (i, f) in fetched.into_iter().enumerate() {
        match replaced.remove(&i) {
            // Kept out as it was.
            Some(by) if f.replaced_by.as_ref() == Some(&by) => {}
            Some(by) => {
                let seq = if f.added {
                    0
                } else {
                    plan.counts.removed += 1;
                    plan.entry(f.kind, &f.id, f.connection_id.clone(), "removed", None)
                };
                plan.record(&f, seq, true, Some(by));
            }
            None if f.body.is_some() => rest.push(f),
            None => {}
        }
    }
    // Changed, then new.
    rest.sort_by_key(|f| f.added);
    for mut f in rest {
        let body = f.body.take().expect("only changed records are written");
        let change = if f.added { "added" } else { "modified" };
        if f.added {
            plan.counts.added += 1;
        } else {
            plan.counts.modified += 1;
        }
        let seq = plan.last_seq + 1;
        let sealed = seal(&body, seq);
        plan.entry(f.kind, &f.id, f.connection_id.clone(), change, Some(sealed));
        plan.record(&f, seq, false, None);
    }
    plan
}

/// Refreshes the stores that were asked to refresh, on this replica as soon as it is asked
/// here, and every `interval` for requests made on other replicas; then tells each user.
pub async fn run(store: SyncStore, interval: Duration, task: TaskContext) {
    loop {
        tokio::select! {
            () = task.shutdown.cancelled() => return,
            () = store.0.wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
        let users = match db::sync::requested(&store.0.pool, BATCH).await {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!(error = %e, "the sync refresher could not read requests; will retry");
                continue;
            }
        };
        for user in users {
            if task.shutdown.is_cancelled() {
                return;
            }
            refresh_requested(&store, &user).await;
        }
        task.ran();
    }
}

#[tracing::instrument(skip_all, fields(user_id = %app_user_id))]
async fn refresh_requested(store: &SyncStore, app_user_id: &str) {
    let basiq_user_id = match store.basiq_user(app_user_id).await {
        Ok(Some(id)) => id,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the user's Basiq user");
            return;
        }
    };
    match store
        .refresh(app_user_id, &basiq_user_id, Why::Requested)
        .await
    {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "refreshing the sync store failed; will retry");
            metrics::counter!("sync_refresh_failures_total").increment(1);
            if let Err(e) = db::sync::failed(&store.0.pool, app_user_id).await {
                tracing::warn!(error = %e, "could not record the failed refresh");
            }
        }
    }
}
