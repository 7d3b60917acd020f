//! Typed simulator settings, read from `BASIQ_SIM_*` environment variables.

use std::net::SocketAddr;
use std::time::Duration;

/// Everything the simulator can be told at start.
///
/// Build it with `SimConfig { job_step: …, ..Default::default() }` so new fields do not break
/// callers.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// `BASIQ_SIM_ADDR`: listen address (port 0 picks a free port).
    pub addr: SocketAddr,
    /// `BASIQ_SIM_API_KEY`: the key `POST /token` accepts, compared verbatim.
    pub api_key: String,
    /// `BASIQ_SIM_TOKEN_TTL_SECS`: token lifetime.
    pub token_ttl: Duration,
    /// `BASIQ_SIM_REDIRECT_URL`: where the Consent UI sends the browser back.
    pub redirect_url: String,
    /// `BASIQ_SIM_JOB_STEP_MS`: how long each job step takes.
    pub job_step: Duration,
    /// `BASIQ_SIM_WEBHOOK_URL`: a webhook registered at start, subscribed to every event type.
    pub webhook_url: Option<String>,
    /// `BASIQ_SIM_WEBHOOK_SECRET`: that webhook's `whsec_<base64>` signing secret.
    pub webhook_secret: Option<String>,
    /// `BASIQ_SIM_SEED`: seed of the generated data.
    pub seed: u64,
    /// `BASIQ_SIM_WEBHOOK_RETRY_SCALE`: factor applied to Basiq's redelivery schedule
    /// (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); `0.001` turns 5 s into 5 ms for tests.
    pub webhook_retry_scale: f64,
    /// `BASIQ_SIM_PUBLIC_URL`: base of the absolute links in webhooks and events; defaults to
    /// `http://` plus the bound address. API responses build links from the request's `Host`.
    pub public_url: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 4010)),
            api_key: "sim-api-key".to_owned(),
            token_ttl: Duration::from_secs(3600),
            redirect_url: "http://localhost:8080/v1/consent/callback".to_owned(),
            job_step: Duration::from_millis(500),
            webhook_url: None,
            webhook_secret: None,
            seed: 42,
            webhook_retry_scale: 1.0,
            public_url: None,
        }
    }
}

impl SimConfig {
    /// Reads the configuration from the environment; the error names the bad variable.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`SimConfig::from_env`], reading variables through `get` (testable without
    /// touching the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config = Self::default();
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("BASIQ_SIM_ADDR") {
            config.addr = v.trim().parse().map_err(|_| {
                format!("BASIQ_SIM_ADDR: `{v}` is not a socket address like 127.0.0.1:4010")
            })?;
        }
        if let Some(v) = get("BASIQ_SIM_API_KEY") {
            if v.is_empty() {
                return Err("BASIQ_SIM_API_KEY: must not be empty".to_owned());
            }
            config.api_key = v;
        }
        if let Some(v) = non_empty("BASIQ_SIM_TOKEN_TTL_SECS") {
            let secs: u64 = v.trim().parse().map_err(|_| {
                format!("BASIQ_SIM_TOKEN_TTL_SECS: `{v}` is not a whole number of seconds")
            })?;
            if secs == 0 {
                return Err("BASIQ_SIM_TOKEN_TTL_SECS: must be at least 1".to_owned());
            }
            config.token_ttl = Duration::from_secs(secs);
        }
        if let Some(v) = non_empty("BASIQ_SIM_REDIRECT_URL") {
            url::Url::parse(&v)
                .map_err(|e| format!("BASIQ_SIM_REDIRECT_URL: `{v}` is not a URL ({e})"))?;
            config.redirect_url = v;
        }
        if let Some(v) = non_empty("BASIQ_SIM_JOB_STEP_MS") {
            let ms: u64 = v.trim().parse().map_err(|_| {
                format!("BASIQ_SIM_JOB_STEP_MS: `{v}` is not a whole number of milliseconds")
            })?;
            config.job_step = Duration::from_millis(ms);
        }
        if let Some(v) = non_empty("BASIQ_SIM_WEBHOOK_URL") {
            url::Url::parse(&v)
                .map_err(|e| format!("BASIQ_SIM_WEBHOOK_URL: `{v}` is not a URL ({e})"))?;
            config.webhook_url = Some(v);
        }
        if let Some(v) = non_empty("BASIQ_SIM_WEBHOOK_SECRET") {
            crate::webhooks::decode_secret(&v)
                .map_err(|e| format!("BASIQ_SIM_WEBHOOK_SECRET: {e}"))?;
            config.webhook_secret = Some(v);
        }
        if let Some(v) = non_empty("BASIQ_SIM_SEED") {
            config.seed = v
                .trim()
                .parse()
                .map_err(|_| format!("BASIQ_SIM_SEED: `{v}` is not an unsigned 64-bit integer"))?;
        }
        if let Some(v) = non_empty("BASIQ_SIM_WEBHOOK_RETRY_SCALE") {
            let scale: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("BASIQ_SIM_WEBHOOK_RETRY_SCALE: `{v}` is not a number"))?;
            if !(scale.is_finite() && scale >= 0.0) {
                return Err("BASIQ_SIM_WEBHOOK_RETRY_SCALE: must be a number >= 0".to_owned());
            }
            config.webhook_retry_scale = scale;
        }
        if let Some(v) = non_empty("BASIQ_SIM_PUBLIC_URL") {
            url::Url::parse(&v)
                .map_err(|e| format!("BASIQ_SIM_PUBLIC_URL: `{v}` is not a URL ({e})"))?;
            config.public_url = Some(v.trim_end_matches('/').to_owned());
        }
        if config.webhook_url.is_some() && config.webhook_secret.is_none() {
            return Err(
                "BASIQ_SIM_WEBHOOK_SECRET: required when BASIQ_SIM_WEBHOOK_URL is set".to_owned(),
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<SimConfig, String> {
        SimConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn no_variables_give_the_documented_defaults() {
        let c = from(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:4010");
        assert_eq!(c.api_key, "sim-api-key");
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.job_step, Duration::from_millis(500));
        assert_eq!(c.seed, 42);
    }

    #[test]
    fn a_bad_variable_is_named_in_the_error() {
        for (name, value) in [
            ("BASIQ_SIM_ADDR", "nowhere"),
            ("BASIQ_SIM_TOKEN_TTL_SECS", "soon"),
            ("BASIQ_SIM_JOB_STEP_MS", "-1"),
            ("BASIQ_SIM_SEED", "x"),
            ("BASIQ_SIM_REDIRECT_URL", "not a url"),
            ("BASIQ_SIM_WEBHOOK_SECRET", "whsec_%%%"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(name), "{err}");
        }
        let err = from(&[("BASIQ_SIM_WEBHOOK_URL", "http://x/hook")]).unwrap_err();
        assert!(err.starts_with("BASIQ_SIM_WEBHOOK_SECRET"), "{err}");
    }
}
