//! App user → Basiq user, remembered in memory so a known user costs no database round trip.
//!
//! Entries live for a short TTL: a replica that did not see an erasure (another replica
//! handled it) forgets the old mapping within that time. The map is bounded: when full it is
//! cleared, which only costs a few database reads.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

pub const USER_CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct UserCache {
    entries: RwLock<HashMap<String, (String, Instant)>>,
}

impl UserCache {
    pub fn get(&self, app_user_id: &str) -> Option<String> {
        let entries = self.entries.read().expect("user cache lock");
        entries
            .get(app_user_id)
            .filter(|(_, at)| at.elapsed() < USER_CACHE_TTL)
            .map(|(id, _)| id.clone())
    }

    pub fn put(&self, app_user_id: &str, basiq_user_id: &str) {
        let mut entries = self.entries.write().expect("user cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            app_user_id.to_owned(),
            (basiq_user_id.to_owned(), Instant::now()),
        );
    }

    pub fn forget(&self, app_user_id: &str) {
        self.entries
            .write()
            .expect("user cache lock")
            .remove(app_user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets() {
        let cache = UserCache::default();
        assert_eq!(cache.get("a"), None);
        cache.put("a", "basiq-a");
        assert_eq!(cache.get("a").as_deref(), Some("basiq-a"));
        cache.forget("a");
        assert_eq!(cache.get("a"), None);
    }
}
