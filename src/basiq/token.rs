//! The one shared `SERVER_ACCESS` token: cached for the process, refreshed ahead of expiry by a
//! background task, with concurrent callers sharing a single refresh.

use std::{
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

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
            Some(crate::crypto::sha256(stale.expose_secret().as_bytes()));
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
            == Some(crate::crypto::sha256(token.expose_secret().as_bytes()))
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
