//! App user → Basiq user (and the connections the user deleted), remembered in memory so a
//! known user costs no database round trip.
//!
//! An entry is forgotten when anything is published for its user, on every replica (the events
//! listener hears each replica's `NOTIFY`), so a deleted connection or an erasure is seen at
//! once; entries also live for a short TTL, in case a notice was lost. The map is bounded: when
//! full it is cleared, which only costs a few database reads.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

pub const USER_CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 100_000;

/// What is known of an app user with a Basiq user.
#[derive(Debug, Clone)]
pub struct Link {
    pub basiq_user_id: String,
    /// Connections the user deleted: Basiq keeps their data, which is never answered.
    pub deleted_connections: Arc<HashSet<String>>,
}

impl Link {
    /// Whether data of `connection_id` may be answered (`None`: Basiq did not say whose it is).
    pub fn shows(&self, connection_id: Option<&str>) -> bool {
        connection_id.is_none_or(|c| !self.deleted_connections.contains(c))
    }
}

#[derive(Default)]
pub struct UserCache {
    entries: RwLock<HashMap<String, (Link, Instant)>>,
}

impl UserCache {
    pub fn get(&self, app_user_id: &str) -> Option<Link> {
        let entries = self.entries.read().expect("user cache lock");
        entries
            .get(app_user_id)
            .filter(|(_, at)| at.elapsed() < USER_CACHE_TTL)
            .map(|(link, _)| link.clone())
    }

    pub fn put(&self, app_user_id: &str, link: Link) {
        let mut entries = self.entries.write().expect("user cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(app_user_id.to_owned(), (link, Instant::now()));
    }

    pub fn forget(&self, app_user_id: &str) {
        self.entries
            .write()
            .expect("user cache lock")
            .remove(app_user_id);
    }

    /// Forgets everyone (notices may have been missed).
    pub fn clear(&self) {
        self.entries.write().expect("user cache lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets() {
        let cache = UserCache::default();
        assert!(cache.get("a").is_none());
        let link = Link {
            basiq_user_id: "basiq-a".into(),
            deleted_connections: Arc::new(HashSet::from(["c-gone".to_owned()])),
        };
        cache.put("a", link);
        let got = cache.get("a").unwrap();
        assert_eq!(got.basiq_user_id, "basiq-a");
        assert!(got.shows(Some("c-1")) && got.shows(None) && !got.shows(Some("c-gone")));
        cache.forget("a");
        assert!(cache.get("a").is_none());
        cache.put("b", got);
        cache.clear();
        assert!(cache.get("b").is_none());
    }
}
