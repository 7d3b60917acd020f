//! Basiq's connectors (its institutions), cached: the list changes rarely and Basiq advises
//! caching it. The first use fetches it; from then on a background task refreshes it once it
//! is older than the TTL, and requests are answered from the cache meanwhile, stale if a
//! refresh fails.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use tokio::sync::Notify;

use crate::{
    basiq::{BasiqClient, BasiqError, types::Connector},
    domain::connections::{InstitutionInfo, Names},
    tasks::TaskContext,
};

pub const INSTITUTIONS_TTL: Duration = Duration::from_secs(60 * 60);
/// However short the TTL, refreshes are at least this far apart.
const MIN_REFRESH_GAP: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

struct Snapshot {
    fetched_at: Instant,
    list: Arc<Vec<Connector>>,
}

#[derive(Clone)]
pub struct Institutions {
    inner: Arc<Inner>,
}

struct Inner {
    basiq: BasiqClient,
    ttl: Duration,
    current: RwLock<Option<Snapshot>>,
    /// Held while fetching on demand, so concurrent first requests share one fetch.
    fetch: tokio::sync::Mutex<()>,
    /// Wakes the refresher once there is a list to keep fresh.
    filled: Notify,
}

impl Institutions {
    pub fn new(basiq: BasiqClient, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                basiq,
                ttl,
                current: RwLock::new(None),
                fetch: tokio::sync::Mutex::new(()),
                filled: Notify::new(),
            }),
        }
    }

    fn snapshot(&self) -> Option<(Arc<Vec<Connector>>, Duration)> {
        let guard = self.inner.current.read().expect("institutions lock");
        guard
            .as_ref()
            .map(|s| (s.list.clone(), s.fetched_at.elapsed()))
    }

    async fn fetch(&self) -> Result<Arc<Vec<Connector>>, BasiqError> {
        let list = Arc::new(self.inner.basiq.connectors().await?);
        let first = self
            .inner
            .current
            .write()
            .expect("institutions lock")
            .replace(Snapshot {
                fetched_at: Instant::now(),
                list: list.clone(),
            })
            .is_none();
        if first {
            self.inner.filled.notify_one();
        }
        Ok(list)
    }

    /// The list from the cache, fresh or stale; fetched now if there is none yet.
    pub async fn get(&self) -> Result<Arc<Vec<Connector>>, BasiqError> {
        if let Some((list, _)) = self.snapshot() {
            return Ok(list);
        }
        let _guard = self.inner.fetch.lock().await;
        match self.snapshot() {
            Some((list, _)) => Ok(list),
            None => self.fetch().await,
        }
    }

    /// Institution names and statuses by id, best effort (empty if Basiq cannot be reached).
    pub async fn names(&self) -> Names {
        match self.get().await {
            Ok(list) => list
                .iter()
                .map(|c| {
                    let info = InstitutionInfo {
                        name: c.institution.as_ref().and_then(|i| i.name.clone()),
                        status: c.status.clone(),
                    };
                    (c.id.clone(), info)
                })
                .collect(),
            Err(_) => HashMap::new(),
        }
    }

    /// The bank's status in the cached connectors list (`operational`, `major-outage`, …), best
    /// effort and at once: with no list yet, `None`, and the list is fetched in the background
    /// for next time (a job's view never waits on Basiq's connectors).
    pub fn status(&self, institution_id: &str) -> Option<String> {
        let Some((list, _)) = self.snapshot() else {
            let me = self.clone();
            tokio::spawn(async move {
                let _ = me.get().await;
            });
            return None;
        };
        list.iter()
            .find(|c| c.id == institution_id)
            .and_then(|c| c.status.clone())
    }

    /// The refresher: once the list is first fetched, refetches it whenever it is older than
    /// the TTL, backing off while Basiq fails (the stale list is served meanwhile).
    pub async fn run(self, task: TaskContext) {
        let mut failures = 0u32;
        loop {
            let wait = match self.snapshot() {
                None => {
                    tokio::select! {
                        () = task.shutdown.cancelled() => return,
                        () = self.inner.filled.notified() => continue,
                    }
                }
                Some(_) if failures > 0 => MIN_REFRESH_GAP
                    .saturating_mul(1 << failures.min(10))
                    .min(MAX_BACKOFF),
                Some((_, age)) => self.inner.ttl.saturating_sub(age).max(MIN_REFRESH_GAP),
            };
            tokio::select! {
                () = task.shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            match self.fetch().await {
                Ok(_) => {
                    failures = 0;
                    task.ran();
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, "institutions refresh failed; serving the stale list");
                }
            }
        }
    }
}
