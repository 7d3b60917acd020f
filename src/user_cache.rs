//! App user → Basiq user (and the connections the user deleted), remembered in memory so a
//! known user costs no database round trip.
//!
//! An entry is used only if it was read after the user's last change was heard here
//! (`remembered.rs`): a deleted connection or an erasure is seen at the user's next request on
//! this replica, and on the others once their listener hears the change. Entries also live for
//! a short TTL, in case a notice was lost. The map is bounded: when full it is cleared, which
//! only costs a few database reads.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use crate::remembered::Changes;

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

pub struct UserCache {
    /// Each link, and when it began to be read from the database.
    entries: RwLock<HashMap<String, (Link, Instant)>>,
    changes: Arc<Changes>,
}

impl UserCache {
    pub fn new(changes: Arc<Changes>) -> Self {
        Self {
            entries: RwLock::default(),
            changes,
        }
    }

    pub fn get(&self, app_user_id: &str) -> Option<Link> {
        let entries = self.entries.read().expect("user cache lock");
        let (link, read) = entries.get(app_user_id)?;
        (read.elapsed() < USER_CACHE_TTL && *read > self.changes.stale_before(app_user_id))
            .then(|| link.clone())
    }

    /// Remembers the user's link, read from the database from `read` on (unless the user
    /// changed since).
    pub fn put(&self, app_user_id: &str, link: Link, read: Instant) {
        if read <= self.changes.stale_before(app_user_id) {
            return;
        }
        let mut entries = self.entries.write().expect("user cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(app_user_id.to_owned(), (link, read));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_user_changes() {
        let changes = Arc::new(Changes::new(Duration::from_secs(60)));
        let cache = UserCache::new(changes.clone());
        assert!(cache.get("a").is_none());
        let link = Link {
            basiq_user_id: "basiq-a".into(),
            deleted_connections: Arc::new(HashSet::from(["c-gone".to_owned()])),
        };
        cache.put("a", link.clone(), Instant::now());
        let got = cache.get("a").unwrap();
        assert_eq!(got.basiq_user_id, "basiq-a");
        assert!(got.shows(Some("c-1")) && got.shows(None) && !got.shows(Some("c-gone")));
        changes.changed("a");
        assert!(cache.get("a").is_none());
        // Read before the change, stored after it: never used.
        let before = Instant::now();
        changes.changed("b");
        cache.put("b", link, before);
        assert!(cache.get("b").is_none());
    }
}
