//! Kept answers: the JSON of `GET /v1/accounts[/{id}]` and `GET /v1/transactions[/{id}]`, per
//! app user and query, served again without calling Basiq until the user's data changes.
//!
//! Basiq's data is itself a cache that changes only when a job succeeds or Basiq's events say
//! so (seeds/basiq-connect-flow.txt: "the Basiq API will return the cached data that was last
//! obtained"), and every such change is published as an event of the user (`data.updated`,
//! `connection.updated`, `consent.updated`, `user.erased`, `job.updated`). Publishing one
//! forgets the user's kept answers here at once, and on every other replica when its listener
//! hears the event's `NOTIFY` (`events.rs`, `Hub`).
//!
//! "Forget" is a time: an answer is served only if it began reading Basiq after the user's
//! last change was heard, so an answer that was being read while its data changed is never
//! kept past the change (whatever order the read and the notice finish in). Answers live
//! within a byte budget (least recently used go first) and for at most a maximum age, the
//! safety net for a change never heard of; they are keyed by the app user, so one user's
//! answer is never another's.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use moka::{policy::EvictionPolicy, sync::Cache};
use sha2::{Digest, Sha256};

use crate::remembered::Changes;

/// Which answer of a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum What {
    Accounts,
    Account(String),
    /// A page of transactions: its canonical query (filters, limit, cursor).
    Transactions(String),
    Transaction(String),
}

/// An answer kept: its JSON, its strong entity tag, and when its data was read from Basiq.
#[derive(Debug)]
pub struct Kept {
    pub body: Bytes,
    /// `"<base64url of SHA-256 of the body, 16 bytes>"`.
    pub etag: String,
    pub read_at: DateTime<Utc>,
    /// When reading Basiq began, on this process's clock.
    read_started: Instant,
}

impl Kept {
    /// An answer read from Basiq, which began at `read_started` (`read_at` on the wall clock).
    pub fn new(body: Bytes, read_at: DateTime<Utc>, read_started: Instant) -> Self {
        use base64::Engine;
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
        );
        Self {
            body,
            etag,
            read_at,
            read_started,
        }
    }
}

/// The settings: a byte budget and a maximum age (`ANSWER_CACHE_BYTES`,
/// `ANSWER_CACHE_MAX_AGE_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub bytes: u64,
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            bytes: 64 * 1024 * 1024,
            max_age: Duration::from_secs(600),
        }
    }
}

pub struct Answers {
    kept: Cache<(Arc<str>, What), Arc<Kept>>,
    /// When each user's data last changed, as heard here.
    changes: Arc<Changes>,
    max_age: Duration,
    on: bool,
}

impl Answers {
    pub fn new(limits: Limits, changes: Arc<Changes>) -> Self {
        Self {
            kept: Cache::builder()
                .max_capacity(limits.bytes)
                .weigher(|(user, what): &(Arc<str>, What), kept: &Arc<Kept>| {
                    let key = user.len()
                        + match what {
                            What::Accounts => 0,
                            What::Account(s) | What::Transactions(s) | What::Transaction(s) => {
                                s.len()
                            }
                        };
                    // What an entry costs beyond its bytes, roughly.
                    u32::try_from(kept.body.len() + key + 256).unwrap_or(u32::MAX)
                })
                .eviction_policy(EvictionPolicy::lru())
                .time_to_live(limits.max_age)
                .build(),
            changes,
            max_age: limits.max_age,
            on: limits.bytes > 0 && !limits.max_age.is_zero(),
        }
    }

    /// The user's answer, if one is kept that began reading Basiq after their last change.
    pub fn get(&self, app_user_id: &str, what: What) -> Option<Arc<Kept>> {
        if !self.on {
            return None;
        }
        let key: (Arc<str>, What) = (Arc::from(app_user_id), what);
        let kept = self.kept.get(&key);
        let fresh = kept.as_ref().is_some_and(|kept| {
            kept.read_started.elapsed() < self.max_age
                && kept.read_started > self.changes.stale_before(&key.0)
        });
        metrics::counter!("answers_kept_total", "outcome" => if fresh { "hit" } else { "miss" })
            .increment(1);
        kept.filter(|_| fresh)
    }

    /// Keeps an answer of the user (which began reading Basiq at `kept`'s start).
    pub fn put(&self, app_user_id: &str, what: What, kept: Arc<Kept>) {
        if self.on && kept.read_started > self.changes.stale_before(app_user_id) {
            self.kept.insert((Arc::from(app_user_id), what), kept);
        }
    }

    /// The bytes kept now (for `/metrics`).
    pub fn bytes(&self) -> u64 {
        self.kept.run_pending_tasks();
        self.kept.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str, read_started: Instant) -> Arc<Kept> {
        Arc::new(Kept::new(
            Bytes::from(body.to_owned()),
            Utc::now(),
            read_started,
        ))
    }

    fn kept_with(limits: Limits) -> (Answers, Arc<Changes>) {
        let changes = Arc::new(Changes::new(limits.max_age));
        (Answers::new(limits, changes.clone()), changes)
    }

    #[test]
    fn an_answer_is_kept_for_its_user_until_their_data_changes() {
        let (answers, changes) = kept_with(Limits::default());
        answers.put("alice", What::Accounts, answer("[1]", Instant::now()));
        assert_eq!(
            answers.get("alice", What::Accounts).unwrap().body,
            Bytes::from("[1]")
        );
        assert!(
            answers.get("bob", What::Accounts).is_none(),
            "never another user's"
        );
        assert!(
            answers
                .get("alice", What::Transactions(String::new()))
                .is_none()
        );
        changes.changed("bob");
        assert!(answers.get("alice", What::Accounts).is_some());
        changes.changed("alice");
        assert!(answers.get("alice", What::Accounts).is_none());
    }

    #[test]
    fn an_answer_read_while_the_data_changed_is_never_served() {
        let (answers, changes) = kept_with(Limits::default());
        let began = Instant::now();
        changes.changed("alice");
        // It finishes after the change was heard: it may hold the old data.
        answers.put("alice", What::Accounts, answer("[old]", began));
        assert!(answers.get("alice", What::Accounts).is_none());
        answers.put("alice", What::Accounts, answer("[new]", Instant::now()));
        assert!(answers.get("alice", What::Accounts).is_some());
        changes.changed_all();
        assert!(answers.get("alice", What::Accounts).is_none());
    }

    #[test]
    fn entity_tags_are_strong_and_follow_the_body() {
        let a = answer("[1]", Instant::now());
        let b = answer("[2]", Instant::now());
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"') && !a.etag.starts_with("W/"));
        assert_ne!(a.etag, b.etag);
        assert_eq!(a.etag, answer("[1]", Instant::now()).etag);
    }

    #[test]
    fn answers_older_than_the_maximum_age_or_beyond_the_budget_are_not_served() {
        let (answers, _) = kept_with(Limits {
            bytes: 64 * 1024 * 1024,
            max_age: Duration::from_millis(50),
        });
        answers.put("alice", What::Accounts, answer("[1]", Instant::now()));
        std::thread::sleep(Duration::from_millis(80));
        assert!(answers.get("alice", What::Accounts).is_none());

        let (small, _) = kept_with(Limits {
            bytes: 4096,
            max_age: Duration::from_secs(60),
        });
        for i in 0..50 {
            small.put(
                "alice",
                What::Transaction(i.to_string()),
                answer(&"x".repeat(500), Instant::now()),
            );
        }
        assert!(small.bytes() <= 4096, "{}", small.bytes());
        let (off, _) = kept_with(Limits {
            bytes: 0,
            max_age: Duration::from_secs(60),
        });
        off.put("alice", What::Accounts, answer("[1]", Instant::now()));
        assert!(off.get("alice", What::Accounts).is_none());
    }
}
