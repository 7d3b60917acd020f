use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm},
};
use url::Url;

/// Refetch at most this often when tokens arrive with an unknown `kid`, so a flood of made-up
/// kids cannot turn into a flood of requests to the identity provider.
const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(1);
/// Refetch keys this old on the next request, to pick up removals.
const MAX_AGE: Duration = Duration::from_secs(3600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A cached JWKS, refreshed when a token names a key we do not have.
pub struct JwksCache {
    url: Url,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, (DecodingKey, Algorithm)>>,
    fetched_at: RwLock<Option<Instant>>,
    fetch: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(url: Url, http: reqwest::Client) -> Self {
        Self {
            url,
            http,
            keys: RwLock::default(),
            fetched_at: RwLock::default(),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        self.keys.read().expect("jwks lock").get(kid).cloned()
    }

    fn age(&self) -> Option<Duration> {
        self.fetched_at
            .read()
            .expect("jwks lock")
            .map(|t| t.elapsed())
    }

    pub async fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let stale = self.age().is_none_or(|age| age > MAX_AGE);
        if !stale && let Some(k) = self.cached(kid) {
            return Some(k);
        }
        let _guard = self.fetch.lock().await;
        // Another request may have fetched while we waited.
        let may_fetch = self.age().is_none_or(|age| age > UNKNOWN_KID_COOLDOWN);
        if let Some(k) = self.cached(kid)
            && !(stale && may_fetch)
        {
            return Some(k);
        }
        if may_fetch {
            self.refetch().await;
        }
        self.cached(kid)
    }

    async fn refetch(&self) {
        *self.fetched_at.write().expect("jwks lock") = Some(Instant::now());
        let set: JwkSet = match self
            .http
            .get(self.url.clone())
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        {
            Ok(r) => match r.json().await {
                Ok(set) => set,
                Err(e) => {
                    tracing::warn!(error = %e, "the JWKS is not valid JSON; keeping the cached keys");
                    return;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "fetching the JWKS failed; keeping the cached keys");
                return;
            }
        };
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            // Only asymmetric keys: an `oct` key in a public JWKS would let anyone sign.
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS384)) => Algorithm::RS384,
                (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS512)) => Algorithm::RS512,
                (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::PS256)) => Algorithm::PS256,
                (AlgorithmParameters::EllipticCurve(_), None | Some(KeyAlgorithm::ES256)) => {
                    Algorithm::ES256
                }
                (AlgorithmParameters::EllipticCurve(_), Some(KeyAlgorithm::ES384)) => {
                    Algorithm::ES384
                }
                (AlgorithmParameters::OctetKeyPair(_), None | Some(KeyAlgorithm::EdDSA)) => {
                    Algorithm::EdDSA
                }
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (key, algorithm));
            }
        }
        tracing::info!(keys = keys.len(), "JWKS refreshed");
        *self.keys.write().expect("jwks lock") = keys;
    }
}
