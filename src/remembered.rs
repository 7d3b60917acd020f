//! What a replica remembers of its users to answer without a round trip: their Basiq link and
//! deleted connections (`user_cache.rs`) and their kept answers (`answers.rs`).
//!
//! Both are judged by one clock of changes: something remembered of a user is used only if it
//! was read after the user's last change was heard here. A change is heard when its event's
//! `NOTIFY` reaches this replica's listener (`Hub`), on every replica alike, and, for the
//! request that made it, right after its transaction commits (`App::changed`), so the user's
//! next request here sees it. A listener that lost its connection counts everything as
//! changed. Reading before a change and storing after it is harmless: what was read before
//! the change is never used.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::{notification::RemovalCause, sync::Cache};

use crate::{answers::Answers, user_cache::UserCache};

/// Users whose changes are remembered at once; beyond, the oldest are forgotten and the
/// moment of the newest forgotten one stands for every user.
const REMEMBERED_CHANGES: u64 = 200_000;

/// When each user's data last changed, as heard here.
pub struct Changes {
    at: Cache<Arc<str>, Instant>,
    /// Anything read before this (nanoseconds since `epoch`) is stale for every user.
    floor: Arc<AtomicU64>,
    epoch: Instant,
}

impl Changes {
    /// Changes are remembered for `horizon`: nothing read longer ago than that is used anyway.
    pub fn new(horizon: Duration) -> Self {
        let epoch = Instant::now();
        let floor = Arc::new(AtomicU64::new(0));
        let raise = floor.clone();
        Self {
            at: Cache::builder()
                .max_capacity(REMEMBERED_CHANGES)
                .time_to_live(horizon)
                .eviction_listener(move |_, at: Instant, cause| {
                    // A change forgotten while what was read before it may still be used.
                    if cause == RemovalCause::Size {
                        let nanos = at.saturating_duration_since(epoch).as_nanos() as u64;
                        raise.fetch_max(nanos, Ordering::AcqRel);
                    }
                })
                .build(),
            floor,
            epoch,
        }
    }

    pub fn changed(&self, app_user_id: &str) {
        self.at.insert(Arc::from(app_user_id), Instant::now());
    }

    pub fn changed_all(&self) {
        let nanos = self.epoch.elapsed().as_nanos() as u64;
        self.floor.fetch_max(nanos, Ordering::AcqRel);
    }

    /// What was read of the user at or before this is stale.
    pub fn stale_before(&self, app_user_id: &str) -> Instant {
        let floor = self.epoch + Duration::from_nanos(self.floor.load(Ordering::Acquire));
        match self.at.get(app_user_id) {
            Some(at) if at > floor => at,
            _ => floor,
        }
    }
}

pub struct Remembered {
    pub changes: Arc<Changes>,
    pub links: Arc<UserCache>,
    pub answers: Arc<Answers>,
}

impl Remembered {
    /// `answers` bounds what is kept; links live for `user_cache::USER_CACHE_TTL`.
    pub fn new(answers: crate::answers::Limits) -> Self {
        let horizon = answers.max_age.max(crate::user_cache::USER_CACHE_TTL);
        let changes = Arc::new(Changes::new(horizon));
        Self {
            links: Arc::new(UserCache::new(changes.clone())),
            answers: Arc::new(Answers::new(answers, changes.clone())),
            changes,
        }
    }

    /// Something changed for the user.
    pub fn forget(&self, app_user_id: &str) {
        self.changes.changed(app_user_id);
    }

    /// Anything may have changed for anyone.
    pub fn forget_all(&self) {
        self.changes.changed_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_makes_what_was_read_before_it_stale_for_that_user_only() {
        let changes = Changes::new(Duration::from_secs(60));
        let before = Instant::now();
        changes.changed("alice");
        assert!(changes.stale_before("alice") >= before);
        assert!(changes.stale_before("bob") < before);
        let later = Instant::now();
        changes.changed_all();
        assert!(changes.stale_before("bob") >= later);
    }
}
