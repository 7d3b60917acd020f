//! The one shared `SERVER_ACCESS` token: cached for the process, refreshed ahead of expiry by a
//! background task, with concurrent callers sharing a single refresh, and shared between
//! replicas through a [`TokenStore`].

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::{BasiqClient, BasiqError};
use crate::tasks::TaskContext;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// When to refresh and how to back off.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// Refresh once this fraction of the token's lifetime has passed. Basiq advises refreshing
    /// 2–3 times an hour for its one-hour tokens; 0.4 refreshes every 24 minutes.
    pub refresh_at: f64,
    /// First back-off step while the token endpoint fails; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            refresh_at: 0.4,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

pub(super) struct Cached {
    pub token: SecretString,
    /// `Bearer {token}`, written once and marked sensitive (never printed by `Debug`).
    pub bearer: HeaderValue,
    pub fetched_at: Instant,
    pub lifetime: Duration,
}

impl Cached {
    pub fn new(token: SecretString, lifetime: Duration) -> Self {
        Self::aged(token, Duration::ZERO, lifetime)
    }

    /// A token fetched `age` ago (read back from the shared store).
    pub fn aged(token: SecretString, age: Duration, lifetime: Duration) -> Self {
        // A token that is not a header value (Basiq's always are) is sent as an empty one,
        // which Basiq refuses like any bad token.
        let mut bearer = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        bearer.set_sensitive(true);
        Self {
            token,
            bearer,
            fetched_at: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
            lifetime,
        }
    }

    /// Still usable: not within a small margin of its expiry.
    pub fn is_usable(&self) -> bool {
        let margin = (self.lifetime / 10).min(Duration::from_secs(30));
        self.fetched_at.elapsed() + margin < self.lifetime
    }

    pub fn refresh_due_in(&self, policy: &TokenPolicy) -> Duration {
        self.lifetime
            .mul_f64(policy.refresh_at)
            .saturating_sub(self.fetched_at.elapsed())
    }
}

/// What `/readyz` and the metrics show of the token.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    /// A token is held and has not expired.
    pub valid: bool,
    pub age_seconds: Option<u64>,
    pub expires_in_seconds: Option<u64>,
    /// Failed refreshes since the last success.
    pub consecutive_failures: u32,
    pub refresh_failures_total: u64,
}

#[derive(Default)]
pub(super) struct TokenState {
    pub current: RwLock<Option<Arc<Cached>>>,
    /// Held while fetching, so concurrent callers share one refresh.
    pub refresh: tokio::sync::Mutex<()>,
    pub consecutive_failures: AtomicU32,
    pub failures_total: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// A hash of the last token Basiq refused as expired, so it is never adopted again.
    pub rejected: Mutex<Option<[u8; 32]>>,
}

impl TokenState {
    pub fn usable(&self) -> Option<Arc<Cached>> {
        let guard = self.current.read().expect("token lock poisoned");
        guard.as_ref().filter(|c| c.is_usable()).cloned()
    }

    pub fn peek(&self) -> Option<Arc<Cached>> {
        self.current.read().expect("token lock poisoned").clone()
    }

    pub fn store(&self, token: SecretString, lifetime: Duration) -> Arc<Cached> {
        self.adopt(Cached::new(token, lifetime))
    }

    pub fn adopt(&self, cached: Cached) -> Arc<Cached> {
        let cached = Arc::new(cached);
        *self.current.write().expect("token lock poisoned") = Some(cached.clone());
        self.consecutive_failures.store(0, Ordering::Relaxed);
        cached
    }

    /// Basiq told us `stale` expired: forget it if it is still ours, and never adopt it again.
    pub fn reject(&self, stale: &SecretString) {
        *self.rejected.lock().expect("token lock poisoned") =
            Some(Sha256::digest(stale.expose_secret().as_bytes()).into());
        let mut guard = self.current.write().expect("token lock poisoned");
        if guard
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret())
        {
            *guard = None;
        }
    }

    pub fn is_rejected(&self, token: &SecretString) -> bool {
        *self.rejected.lock().expect("token lock poisoned")
            == Some(Sha256::digest(token.expose_secret().as_bytes()).into())
    }

    pub fn record_failure(&self, error: &str) {
        self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        self.failures_total.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().expect("token lock poisoned") = Some(error.to_owned());
    }

    pub fn status(&self) -> TokenStatus {
        let current = self.peek();
        TokenStatus {
            valid: current.as_ref().is_some_and(|c| c.is_usable()),
            age_seconds: current.as_ref().map(|c| c.fetched_at.elapsed().as_secs()),
            expires_in_seconds: current
                .as_ref()
                .map(|c| c.lifetime.saturating_sub(c.fetched_at.elapsed()).as_secs()),
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            refresh_failures_total: self.failures_total.load(Ordering::Relaxed),
        }
    }
}

/// Exponential back-off with full jitter, capped.
pub(super) fn backoff(policy: &TokenPolicy, failures: u32) -> Duration {
    let exp = policy
        .min_backoff
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(policy.max_backoff);
    exp.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// The token as replicas share it.
pub struct SharedToken {
    pub token: SecretString,
    pub fetched_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub type StoreError = Box<dyn std::error::Error + Send + Sync>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where replicas on one database share the server token (`db::server_token` keeps it in
/// Postgres, sealed): one replica at a time looks at it and, if it will not do, replaces it.
pub trait TokenStore: Send + Sync {
    /// Takes the store's lock, held until the guard is saved, released or dropped.
    fn lock(&self) -> BoxFuture<'_, Result<Box<dyn LockedStore>, StoreError>>;
}

/// The shared token, locked for this replica.
pub trait LockedStore: Send {
    /// The token stored, if there is one that can be read.
    fn stored(&mut self) -> BoxFuture<'_, Result<Option<SharedToken>, StoreError>>;
    /// Stores `token` for the other replicas and releases the lock.
    fn save(self: Box<Self>, token: SharedToken) -> BoxFuture<'static, Result<(), StoreError>>;
    /// Releases the lock, changing nothing.
    fn release(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// What a stored token must be to be adopted instead of fetching a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Any token still usable (a caller needs one now).
    Usable,
    /// One not yet due for refresh (the refresher's turn).
    Fresh,
}

impl BasiqClient {
    /// Keeps the server token fresh until `cancel` fires: refreshes at the policy's fraction of
    /// its lifetime and backs off while the token endpoint fails (the old token stays in use).
    /// With a shared store, a replica whose token is due first adopts a fresher one that
    /// another replica stored, so only one of them calls Basiq.
    pub async fn run_token_refresher(self, task: TaskContext) {
        let tokens = &self.inner.tokens;
        loop {
            let failures = tokens
                .consecutive_failures
                .load(std::sync::atomic::Ordering::Relaxed);
            let wait = if failures > 0 {
                backoff(&self.inner.policy, failures)
            } else {
                tokens
                    .peek()
                    .map(|c| c.refresh_due_in(&self.inner.policy))
                    .unwrap_or_default()
            };
            tokio::select! {
                _ = task.shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let _guard = tokens.refresh.lock().await;
            // Someone may have refreshed while we waited for the lock.
            if failures == 0
                && tokens
                    .peek()
                    .is_some_and(|c| c.refresh_due_in(&self.inner.policy) > Duration::ZERO)
            {
                continue;
            }
            match self.refresh_now(Want::Fresh).await {
                Ok(_) => {
                    tracing::info!("basiq server token refreshed");
                    task.ran();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "basiq server token refresh failed; backing off")
                }
            }
        }
    }

    /// The shared server token, fetching one if none is usable.
    pub(super) async fn server_token(&self) -> Result<Arc<Cached>, BasiqError> {
        if let Some(c) = self.inner.tokens.usable() {
            return Ok(c);
        }
        // Boxed: every call's future would otherwise carry the refresh's (database and HTTP)
        // state, and be moved around at that size on each request.
        Box::pin(self.server_token_slow()).await
    }

    async fn server_token_slow(&self) -> Result<Arc<Cached>, BasiqError> {
        let tokens = &self.inner.tokens;
        let _guard = tokens.refresh.lock().await;
        if let Some(c) = tokens.usable() {
            return Ok(c);
        }
        // While the token endpoint fails, a token Basiq has not refused stays in use until it
        // truly expires.
        self.refresh_now(Want::Usable)
            .await
            .or_else(|e| match tokens.peek() {
                Some(c) if c.fetched_at.elapsed() < c.lifetime && !tokens.is_rejected(&c.token) => {
                    Ok(c)
                }
                _ => Err(BasiqError::TokenUnavailable(e.to_string())),
            })
    }

    /// Gets a new token: from the shared store when another replica already refreshed it, else
    /// from Basiq. Called with the in-process refresh lock held.
    async fn refresh_now(&self, want: Want) -> Result<Arc<Cached>, BasiqError> {
        let result = match &self.inner.shared {
            Some(store) => self.refresh_shared(store.as_ref(), want).await,
            None => self
                .fetch_new()
                .await
                .map(|(token, lifetime)| self.inner.tokens.store(token, lifetime)),
        };
        if let Err(e) = &result {
            self.inner.tokens.record_failure(&e.to_string());
        }
        result
    }

    async fn fetch_new(&self) -> Result<(SecretString, Duration), BasiqError> {
        let t = self.fetch_token(&[("scope", "SERVER_ACCESS")]).await?;
        Ok((
            SecretString::from(t.access_token),
            Duration::from_secs(t.expires_in.max(1)),
        ))
    }

    /// Under the store's lock: adopt the stored token if it will do, else fetch one from Basiq
    /// and store it for the other replicas.
    async fn refresh_shared(
        &self,
        store: &dyn TokenStore,
        want: Want,
    ) -> Result<Arc<Cached>, BasiqError> {
        let store_error =
            |e: StoreError| BasiqError::TokenUnavailable(format!("shared token store: {e}"));
        let tokens = &self.inner.tokens;
        let mut locked = store.lock().await.map_err(store_error)?;
        if let Some(stored) = locked.stored().await.map_err(store_error)? {
            let age = (Utc::now() - stored.fetched_at)
                .to_std()
                .unwrap_or_default();
            let lifetime = (stored.expires_at - stored.fetched_at)
                .to_std()
                .unwrap_or_default();
            let candidate = Cached::aged(stored.token, age, lifetime);
            let will_do = candidate.is_usable()
                && !tokens.is_rejected(&candidate.token)
                && (want == Want::Usable
                    || candidate.refresh_due_in(&self.inner.policy) > Duration::ZERO);
            if will_do {
                locked.release().await.map_err(store_error)?;
                return Ok(tokens.adopt(candidate));
            }
        }
        let (token, lifetime) = self.fetch_new().await?;
        let fetched_at = Utc::now();
        locked
            .save(SharedToken {
                token: token.clone(),
                fetched_at,
                expires_at: fetched_at + lifetime,
            })
            .await
            .map_err(store_error)?;
        Ok(tokens.store(token, lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_token_is_usable_and_refresh_is_due_at_the_policy_fraction() {
        let state = TokenState::default();
        let c = state.store(SecretString::from("t"), Duration::from_secs(3600));
        assert!(c.is_usable());
        let due = c.refresh_due_in(&TokenPolicy::default());
        assert!(due > Duration::from_secs(1430) && due <= Duration::from_secs(1440));
    }

    #[test]
    fn rejecting_only_forgets_the_stale_token_and_remembers_it() {
        let state = TokenState::default();
        state.store(SecretString::from("new"), Duration::from_secs(60));
        state.reject(&SecretString::from("old"));
        assert!(state.usable().is_some());
        assert!(state.is_rejected(&SecretString::from("old")));
        state.reject(&SecretString::from("new"));
        assert!(state.usable().is_none());
        assert!(!state.is_rejected(&SecretString::from("old")));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = TokenPolicy::default();
        assert!(backoff(&p, 1) <= Duration::from_millis(500));
        assert!(backoff(&p, 4) >= Duration::from_secs(2));
        assert!(backoff(&p, 30) <= Duration::from_secs(60));
    }
}
