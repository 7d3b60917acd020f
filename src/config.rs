//! Typed settings read from the environment (SPEC.md §3).
//!
//! Every credential is a [`SecretString`], exposed only where it is used. A missing or malformed
//! variable is reported as one line naming it, and start-up stops.

use std::{fmt, net::SocketAddr, time::Duration};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use jsonwebtoken::{Algorithm, DecodingKey};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;

/// A configuration problem, always naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

/// How app JWTs are verified.
#[derive(Clone)]
pub enum JwtMode {
    /// `APP_JWT_SECRET`: HS256 with a shared secret.
    Secret(SecretString),
    /// `APP_JWT_PUBLIC_KEY`: a PEM public key (RSA → RS256, EC P-256 → ES256), parsed.
    PublicKey(DecodingKey, Algorithm),
    /// `APP_JWT_JWKS_URL`: a JWKS fetched and cached, refreshed on an unknown `kid`.
    Jwks(Url),
}

impl fmt::Debug for JwtMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([REDACTED])"),
            Self::PublicKey(_, algorithm) => write!(f, "PublicKey({algorithm:?})"),
            Self::Jwks(url) => write!(f, "Jwks({url})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A 32-byte key that protects personal data and the shared token at rest, and from which the
/// keys signing consent `state` and cursors are derived.
pub type DataKey = SecretBox<[u8; 32]>;

#[derive(Debug)]
pub struct Settings {
    pub database_url: SecretString,
    pub bind_addr: SocketAddr,
    pub public_base_url: Url,
    pub basiq_api_key: SecretString,
    pub basiq_api_url: Url,
    pub basiq_consent_url: Url,
    pub jwt: JwtMode,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub allowed_return_urls: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    pub webhook_secret: Option<SecretString>,
    /// The company's backend, where events are delivered (`APP_WEBHOOK_URL`,
    /// `APP_WEBHOOK_SECRET`); `None` while unset.
    pub app_webhook: Option<AppWebhook>,
    /// Newest first. Empty only against a plain-http upstream (the simulator): an ephemeral
    /// key is used then.
    pub data_encryption_keys: Vec<DataKey>,
    pub rate_limit_per_minute: u32,
    pub log_format: LogFormat,
    /// The egress proxy for calls to an https Basiq, if one is configured.
    pub basiq_proxy: Option<EgressProxy>,
    pub connection_limits: ConnectionLimits,
    /// Kept answers: their byte budget and maximum age (`ANSWER_CACHE_BYTES`,
    /// `ANSWER_CACHE_MAX_AGE_SECS`).
    pub answer_cache: crate::answers::Limits,
    /// Spans go out over OTLP/HTTP: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not `true`). The
    /// OpenTelemetry SDK reads those and the other `OTEL_*` variables itself; they are
    /// checked here so that a bad one stops start-up with its name.
    pub traces: bool,
}

/// Where events go for the company's backend, and the `whsec_…` secret they are signed with.
pub struct AppWebhook {
    pub url: Url,
    pub secret: SecretString,
}

impl std::fmt::Debug for AppWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a token in its query; neither it nor the secret is shown.
        f.debug_struct("AppWebhook").finish_non_exhaustive()
    }
}

/// How long clients may take, and how many may be connected (`HTTP_HEADER_TIMEOUT_SECS`,
/// `HTTP_IDLE_TIMEOUT_SECS`, `MAX_CONNECTIONS`).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From the first byte of a request head (request line and headers) to its end.
    pub header_timeout: Duration,
    /// A connection with no request in flight is closed after this. Keep it above the idle
    /// timeout of the load balancer in front, so that the balancer closes idle connections
    /// first and never sends a request on one we are closing.
    pub idle_timeout: Duration,
    /// Connections open at once; at the bound, new ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(75),
            max_connections: 10_000,
        }
    }
}

/// `HTTPS_PROXY` (or `https_proxy`, `ALL_PROXY`, `all_proxy`, first set wins) with `NO_PROXY`
/// (or `no_proxy`): calls to an https Basiq, and the fetch of an https JWKS, go through this
/// HTTP proxy in a `CONNECT` tunnel. Read only when `BASIQ_API_URL` is https: against the
/// plain-http simulator the variables are ignored, whatever a developer's shell has in them.
#[derive(Debug, Clone)]
pub struct EgressProxy {
    /// Which variable it came from, for messages.
    pub var: &'static str,
    /// `http://[user:password@]host[:port]`: a secret, as it may carry a password.
    pub url: SecretString,
    /// Hosts and domains that go direct, comma-separated as curl reads them.
    pub no_proxy: Option<String>,
}

impl EgressProxy {
    /// Reads the proxy variables through `get`, for a Basiq at `basiq`.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        basiq: &Url,
    ) -> Result<Option<Self>, ConfigError> {
        if basiq.scheme() != "https" {
            return Ok(None);
        }
        let Some((var, raw)) = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .into_iter()
            .find_map(|var| get(var).map(|v| (var, v.trim().to_owned())))
        else {
            return Ok(None);
        };
        // As curl does, a proxy without a scheme is an HTTP proxy.
        let raw = if raw.contains("://") {
            raw
        } else {
            format!("http://{raw}")
        };
        let parsed = Url::parse(&raw).map_err(|_| {
            bad(
                var,
                "is not a valid proxy URL (http://[user:password@]host:port)",
            )
        })?;
        if parsed.scheme() != "http" {
            return Err(bad(
                var,
                "must be an http:// proxy (basiq-bff tunnels to Basiq with CONNECT; https:// and socks proxies are not supported)",
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) || !matches!(parsed.path(), "" | "/") {
            return Err(bad(
                var,
                "is not a valid proxy URL (http://[user:password@]host:port)",
            ));
        }
        Ok(Some(Self {
            var,
            // As parsed: anything a URL may not hold as it is (in a password, say) is now
            // percent-encoded, so the HTTP client reads the same proxy.
            url: SecretString::from(parsed.as_str().to_owned()),
            no_proxy: get("NO_PROXY").or_else(|| get("no_proxy")),
        }))
    }
}

/// Whether traces go out over OTLP, with the variables the SDK will read checked first.
fn traces(get: impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        if let Some(v) = get(var) {
            Url::parse(v.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| bad(var, "must be an http:// or https:// URL"))?;
        }
    }
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if get(var).is_some_and(|v| v.trim() != "http/protobuf") {
            return Err(bad(
                var,
                "only http/protobuf is supported (OTLP over HTTP, port 4318 on a collector)",
            ));
        }
    }
    let disabled = match get("OTEL_SDK_DISABLED").as_deref().map(str::trim) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(bad("OTEL_SDK_DISABLED", "must be true or false")),
    };
    let endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    Ok(endpoint && !disabled)
}

/// A PEM public key and the one algorithm its tokens are verified with.
fn public_key(pem: &str) -> Option<(DecodingKey, Algorithm)> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Some((key, Algorithm::RS256));
    }
    DecodingKey::from_ec_pem(pem.as_bytes())
        .ok()
        .map(|key| (key, Algorithm::ES256))
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // An empty value counts as unset: `FOO=` in an env file means "not given".
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or_else(|| bad(name, "is required"));
        let url = |name: &'static str, default: &str| -> Result<Url, ConfigError> {
            let raw = get(name).unwrap_or_else(|| default.to_owned());
            let parsed = Url::parse(raw.trim())
                .map_err(|e| bad(name, format!("is not a valid URL ({e})")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(bad(name, "must be an http or https URL"));
            }
            Ok(parsed)
        };

        let database_url = SecretString::from(required("DATABASE_URL")?);
        let bind_addr = get("BIND_ADDR")
            .unwrap_or_else(|| "0.0.0.0:8080".into())
            .trim()
            .parse()
            .map_err(|_| bad("BIND_ADDR", "must be host:port, e.g. 0.0.0.0:8080"))?;
        let public_base_url = url("PUBLIC_BASE_URL", "http://localhost:8080")?;
        let basiq_api_key = SecretString::from(required("BASIQ_API_KEY")?.trim().to_owned());
        let basiq_api_url = url("BASIQ_API_URL", "https://au-api.basiq.io")?;
        let basiq_consent_url = url("BASIQ_CONSENT_URL", "https://consent.basiq.io/home")?;

        let jwt_vars = [
            ("APP_JWT_SECRET", get("APP_JWT_SECRET")),
            ("APP_JWT_PUBLIC_KEY", get("APP_JWT_PUBLIC_KEY")),
            ("APP_JWT_JWKS_URL", get("APP_JWT_JWKS_URL")),
        ];
        let given: Vec<_> = jwt_vars.iter().filter(|(_, v)| v.is_some()).collect();
        let jwt = match given.as_slice() {
            [] => {
                return Err(bad(
                    "APP_JWT_SECRET",
                    "one of APP_JWT_SECRET, APP_JWT_PUBLIC_KEY or APP_JWT_JWKS_URL is required",
                ));
            }
            [(name, Some(value))] => match *name {
                "APP_JWT_SECRET" => {
                    if value.len() < 32 {
                        return Err(bad("APP_JWT_SECRET", "must be at least 32 characters"));
                    }
                    JwtMode::Secret(SecretString::from(value.clone()))
                }
                "APP_JWT_PUBLIC_KEY" => {
                    // Env files often carry PEM on one line with literal "\n".
                    let pem = value.replace("\\n", "\n");
                    let (key, algorithm) = public_key(&pem).ok_or_else(|| {
                        bad(
                            "APP_JWT_PUBLIC_KEY",
                            "must be a PEM RSA or EC (P-256) public key",
                        )
                    })?;
                    JwtMode::PublicKey(key, algorithm)
                }
                _ => JwtMode::Jwks(url("APP_JWT_JWKS_URL", "")?),
            },
            more => {
                let names: Vec<_> = more.iter().map(|(n, _)| *n).collect();
                return Err(bad(
                    names[0],
                    format!("set only one of {}", names.join(", ")),
                ));
            }
        };

        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let allowed_return_urls = list("ALLOWED_RETURN_URLS");
        for entry in &allowed_return_urls {
            crate::domain::return_url::check_allow_list_entry(entry)
                .map_err(|e| bad("ALLOWED_RETURN_URLS", format!("{entry:?} {e}")))?;
        }
        let cors_allowed_origins = list("CORS_ALLOWED_ORIGINS");
        for origin in &cors_allowed_origins {
            let parsed = Url::parse(origin).map_err(|_| {
                bad(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin:?} is not an origin"),
                )
            })?;
            if parsed.origin().ascii_serialization() != origin.trim_end_matches('/') {
                return Err(bad(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin:?} must be a bare origin like https://app.example.com"),
                ));
            }
        }

        let whsec = |name: &'static str| -> Result<Option<SecretString>, ConfigError> {
            let Some(v) = get(name) else { return Ok(None) };
            let raw = v.trim().strip_prefix("whsec_").unwrap_or(v.trim());
            if STANDARD.decode(raw).map(|k| k.is_empty()).unwrap_or(true) {
                return Err(bad(name, "must be whsec_ followed by base64"));
            }
            Ok(Some(SecretString::from(v.trim().to_owned())))
        };
        let webhook_secret = whsec("BASIQ_WEBHOOK_SECRET")?;
        let app_webhook = match (get("APP_WEBHOOK_URL"), whsec("APP_WEBHOOK_SECRET")?) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    "APP_WEBHOOK_SECRET",
                    "is required when APP_WEBHOOK_URL is set",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "APP_WEBHOOK_URL",
                    "is required when APP_WEBHOOK_SECRET is set",
                ));
            }
            (Some(raw), Some(secret)) => {
                let url = Url::parse(raw.trim())
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .ok_or_else(|| bad("APP_WEBHOOK_URL", "must be an http:// or https:// URL"))?;
                Some(AppWebhook { url, secret })
            }
        };

        // `new[,old…]`: the first key encrypts; all of them decrypt, so keys can rotate.
        let data_encryption_keys = match get("DATA_ENCRYPTION_KEY") {
            Some(v) => v
                .split(',')
                .map(|k| {
                    let bytes = STANDARD
                        .decode(k.trim())
                        .map_err(|_| bad("DATA_ENCRYPTION_KEY", "must be base64"))?;
                    let key: [u8; 32] = bytes.try_into().map_err(|_| {
                        bad(
                            "DATA_ENCRYPTION_KEY",
                            "each key must be exactly 32 bytes (openssl rand -base64 32)",
                        )
                    })?;
                    Ok(SecretBox::new(Box::new(key)))
                })
                .collect::<Result<Vec<DataKey>, ConfigError>>()?,
            None if basiq_api_url.scheme() == "https" => {
                return Err(bad(
                    "DATA_ENCRYPTION_KEY",
                    "is required when BASIQ_API_URL is https (generate one with: openssl rand -base64 32)",
                ));
            }
            None => Vec::new(),
        };

        let rate_limit_per_minute = match get("RATE_LIMIT_PER_MINUTE") {
            None => 600,
            Some(v) => v.trim().parse().map_err(|_| {
                bad(
                    "RATE_LIMIT_PER_MINUTE",
                    "must be a whole number (0 turns it off)",
                )
            })?,
        };
        let log_format = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(_) => return Err(bad("LOG_FORMAT", "must be json or pretty")),
        };

        let whole = |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        bad(
                            name,
                            format!(
                                "must be a whole number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        )
                    }),
            }
        };
        let defaults = ConnectionLimits::default();
        let connection_limits = ConnectionLimits {
            header_timeout: Duration::from_secs(whole(
                "HTTP_HEADER_TIMEOUT_SECS",
                defaults.header_timeout.as_secs(),
                1..=300,
            )?),
            idle_timeout: Duration::from_secs(whole(
                "HTTP_IDLE_TIMEOUT_SECS",
                defaults.idle_timeout.as_secs(),
                1..=3600,
            )?),
            max_connections: whole(
                "MAX_CONNECTIONS",
                defaults.max_connections as u64,
                1..=1_000_000,
            )? as usize,
        };

        let answer_defaults = crate::answers::Limits::default();
        let answer_cache = crate::answers::Limits {
            bytes: whole("ANSWER_CACHE_BYTES", answer_defaults.bytes, 0..=1 << 40)?,
            max_age: Duration::from_secs(whole(
                "ANSWER_CACHE_MAX_AGE_SECS",
                answer_defaults.max_age.as_secs(),
                0..=86_400,
            )?),
        };

        let traces = traces(get)?;
        let basiq_proxy = EgressProxy::from_lookup(get, &basiq_api_url)?;
        Ok(Self {
            database_url,
            bind_addr,
            public_base_url,
            basiq_api_key,
            basiq_api_url,
            basiq_consent_url,
            jwt,
            jwt_issuer: get("APP_JWT_ISSUER"),
            jwt_audience: get("APP_JWT_AUDIENCE"),
            allowed_return_urls,
            cors_allowed_origins,
            webhook_secret,
            app_webhook,
            data_encryption_keys,
            rate_limit_per_minute,
            log_format,
            basiq_proxy,
            connection_limits,
            answer_cache,
            traces,
        })
    }

    /// The keys for this process, newest first: the configured ones, or one random key for
    /// development.
    pub fn data_keys(&self) -> Vec<DataKey> {
        if self.data_encryption_keys.is_empty() {
            tracing::warn!(
                "DATA_ENCRYPTION_KEY is unset: using an ephemeral key (development only; stored personal data and consent links will not survive a restart)"
            );
            let mut key = [0u8; 32];
            rand::fill(&mut key);
            return vec![SecretBox::new(Box::new(key))];
        }
        self.data_encryption_keys
            .iter()
            .map(|k| SecretBox::new(Box::new(*k.expose_secret())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("DATABASE_URL", "postgres://localhost/x"),
        ("BASIQ_API_KEY", "key"),
        ("BASIQ_API_URL", "http://127.0.0.1:4010"),
        ("APP_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
    ];

    #[test]
    fn the_company_webhook_needs_both_its_url_and_its_secret() {
        assert!(settings(BASE).unwrap().app_webhook.is_none());
        let secret = (
            "APP_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        let both = settings(&with(&[
            ("APP_WEBHOOK_URL", "https://backend.example.com/hooks"),
            secret,
        ]))
        .unwrap()
        .app_webhook
        .unwrap();
        assert_eq!(both.url.as_str(), "https://backend.example.com/hooks");
        assert!(!format!("{both:?}").contains("MfKQ"));
        for (vars, named) in [
            (
                with(&[("APP_WEBHOOK_URL", "https://backend.example.com")]),
                "APP_WEBHOOK_SECRET",
            ),
            (with(&[secret]), "APP_WEBHOOK_URL"),
            (
                with(&[("APP_WEBHOOK_URL", "ftp://backend.example.com"), secret]),
                "APP_WEBHOOK_URL",
            ),
            (
                with(&[
                    ("APP_WEBHOOK_URL", "https://b.example.com"),
                    ("APP_WEBHOOK_SECRET", "plain"),
                ]),
                "APP_WEBHOOK_SECRET",
            ),
        ] {
            assert_eq!(settings(&vars).unwrap_err().var, named);
        }
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = BASE.to_vec();
        for (k, val) in extra {
            v.retain(|(key, _)| key != k);
            v.push((k, val));
        }
        v
    }

    #[test]
    fn defaults_follow_the_spec() {
        let s = settings(BASE).unwrap();
        assert_eq!(s.bind_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(s.public_base_url.as_str(), "http://localhost:8080/");
        assert_eq!(
            s.basiq_consent_url.as_str(),
            "https://consent.basiq.io/home"
        );
        assert_eq!(s.rate_limit_per_minute, 600);
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(s.webhook_secret.is_none());
    }

    #[test]
    fn an_egress_proxy_is_read_from_the_first_variable_set_and_checked() {
        assert!(settings(BASE).unwrap().basiq_proxy.is_none());
        // Against the plain-http simulator the variables are not read at all.
        assert!(
            settings(&with(&[("ALL_PROXY", "socks5://dev.internal:1080")]))
                .unwrap()
                .basiq_proxy
                .is_none()
        );
        let https: &[(&str, &str)] = &[
            ("BASIQ_API_URL", "https://au-api.basiq.io"),
            (
                "DATA_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = with(https);
            v.extend(extra.iter().copied());
            v
        };
        assert!(settings(&with(&[])).unwrap().basiq_proxy.is_none());
        let s = settings(&with(&[
            ("ALL_PROXY", "http://all.internal:1"),
            ("https_proxy", "proxy.internal:3128"),
            ("NO_PROXY", "localhost,.internal"),
        ]))
        .unwrap();
        let proxy = s.basiq_proxy.unwrap();
        assert_eq!(proxy.var, "https_proxy");
        assert_eq!(proxy.url.expose_secret(), "http://proxy.internal:3128/");
        assert_eq!(proxy.no_proxy.as_deref(), Some("localhost,.internal"));
        let s = settings(&with(&[("HTTPS_PROXY", "http://u:p@proxy.internal:3128")])).unwrap();
        assert!(
            !format!("{s:?}").contains("u:p@"),
            "the proxy password is a secret"
        );
        // What a URL may not hold as it is, in a password say, is kept percent-encoded.
        let s = settings(&with(&[(
            "HTTPS_PROXY",
            "http://u:p^s w@proxy.internal:3128",
        )]))
        .unwrap();
        assert_eq!(
            s.basiq_proxy.unwrap().url.expose_secret(),
            "http://u:p%5Es%20w@proxy.internal:3128/"
        );
        for (value, problem) in [
            ("socks5://proxy.internal:1080", "must be an http:// proxy"),
            ("https://proxy.internal:3128", "must be an http:// proxy"),
            ("http://", "is not a valid proxy URL"),
            (
                "http://proxy.internal:3128/path",
                "is not a valid proxy URL",
            ),
            ("http://proxy internal", "is not a valid proxy URL"),
        ] {
            let err = settings(&with(&[("HTTPS_PROXY", value)])).unwrap_err();
            assert_eq!(err.var, "HTTPS_PROXY", "{value}");
            assert!(err.problem.starts_with(problem), "{value}: {}", err.problem);
        }
    }

    #[test]
    fn traces_are_on_with_an_otlp_endpoint_and_its_variables_are_checked() {
        assert!(!settings(BASE).unwrap().traces);
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            assert!(
                settings(&with(&[(var, "http://otel-collector:4318")]))
                    .unwrap()
                    .traces
            );
            let err = settings(&with(&[(var, "otel-collector:4318")])).unwrap_err();
            assert_eq!(err.var, var);
        }
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318");
        assert!(
            !settings(&with(&[endpoint, ("OTEL_SDK_DISABLED", "true")]))
                .unwrap()
                .traces
        );
        for (var, value) in [
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ] {
            assert_eq!(
                settings(&with(&[endpoint, (var, value)])).unwrap_err().var,
                var
            );
        }
        assert!(
            settings(&with(&[
                endpoint,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            ]))
            .unwrap()
            .traces
        );
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        let vars: Vec<_> = BASE
            .iter()
            .filter(|(k, _)| *k != "BASIQ_API_KEY")
            .copied()
            .collect();
        let err = settings(&vars).unwrap_err();
        assert_eq!(err.var, "BASIQ_API_KEY");
        assert_eq!(err.to_string(), "BASIQ_API_KEY: is required");
    }

    #[test]
    fn malformed_variables_are_named() {
        for (var, value) in [
            ("BIND_ADDR", "nope"),
            ("BASIQ_API_URL", "not a url"),
            ("RATE_LIMIT_PER_MINUTE", "-3"),
            ("LOG_FORMAT", "xml"),
            ("DATA_ENCRYPTION_KEY", "c2hvcnQ="),
            ("BASIQ_WEBHOOK_SECRET", "whsec_!!!"),
            ("ALLOWED_RETURN_URLS", "javascript:alert(1)"),
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com/path"),
            ("APP_JWT_SECRET", "short"),
            ("ANSWER_CACHE_BYTES", "lots"),
            ("ANSWER_CACHE_MAX_AGE_SECS", "90000"),
        ] {
            let err = settings(&with(&[(var, value)])).unwrap_err();
            assert_eq!(err.var, var, "{value}");
        }
    }

    #[test]
    fn exactly_one_jwt_mode_is_accepted() {
        let err = settings(&with(&[(
            "APP_JWT_JWKS_URL",
            "https://idp.example.com/jwks",
        )]))
        .unwrap_err();
        assert!(err.problem.contains("only one"), "{err}");
        let vars: Vec<_> = BASE
            .iter()
            .filter(|(k, _)| *k != "APP_JWT_SECRET")
            .copied()
            .collect();
        assert_eq!(settings(&vars).unwrap_err().var, "APP_JWT_SECRET");
    }

    #[test]
    fn the_encryption_key_is_required_against_a_real_basiq() {
        let err = settings(&with(&[("BASIQ_API_URL", "https://au-api.basiq.io")])).unwrap_err();
        assert_eq!(err.var, "DATA_ENCRYPTION_KEY");
        let ok = settings(&with(&[
            ("BASIQ_API_URL", "https://au-api.basiq.io"),
            (
                "DATA_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]));
        assert!(ok.is_ok());
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let s = settings(&with(&[
            ("BASIQ_WEBHOOK_SECRET", "whsec_c2VjcmV0LXdlYmhvb2s="),
            (
                "DATA_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]))
        .unwrap();
        let debug = format!("{s:?}");
        for secret in [
            "postgres://localhost/x",
            "0123456789abcdef",
            "c2VjcmV0",
            "AAECAw",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        assert!(!debug.contains("\"key\""));
    }
}
