//! App-JWT verification (HS256 secret, PEM public key, or JWKS) and the [`AuthUser`] extractor.

mod jwks;
mod verified;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{extract::FromRequestParts, http::request::Parts};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::{config::JwtMode, error::ApiError, limits::Limits};

pub use jwks::JwksCache;
use verified::VerifiedTokens;

/// The app user making the request: the JWT's `sub`, plus contact claims used to create the
/// Basiq user when the request body gives none.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub sub: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<u64>,
    email: Option<String>,
    phone_number: Option<String>,
}

enum KeySource {
    Static {
        key: DecodingKey,
        /// Built once: the checks never change for a static key.
        validation: Box<Validation>,
    },
    Jwks(JwksCache),
}

pub struct JwtVerifier {
    keys: KeySource,
    issuer: Option<String>,
    audience: Option<String>,
    /// Tokens that passed every check, so an app's repeated calls with one token verify once.
    verified: VerifiedTokens,
}

/// Leeway on `exp` and `nbf`, for clocks a little apart.
const LEEWAY_SECS: u64 = 30;

/// The checks for tokens signed with `algorithm`: pinned by our configuration, never taken
/// from the token.
fn validation(
    algorithm: Algorithm,
    issuer: &Option<String>,
    audience: &Option<String>,
) -> Validation {
    let mut v = Validation::new(algorithm);
    v.leeway = LEEWAY_SECS;
    // A token not valid yet is refused, with the same leeway as `exp`.
    v.validate_nbf = true;
    let mut required = vec!["exp", "sub"];
    match issuer {
        Some(iss) => {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        None => v.iss = None,
    }
    match audience {
        Some(aud) => {
            v.set_audience(&[aud]);
            required.push("aud");
        }
        None => v.validate_aud = false,
    }
    // A configured claim must be present, not merely correct when present.
    v.set_required_spec_claims(&required);
    v
}

impl JwtVerifier {
    pub fn new(
        mode: &JwtMode,
        issuer: Option<String>,
        audience: Option<String>,
        http: reqwest::Client,
    ) -> anyhow::Result<Self> {
        let static_key = |key, algorithm| KeySource::Static {
            key,
            validation: Box::new(validation(algorithm, &issuer, &audience)),
        };
        let keys = match mode {
            JwtMode::Secret(secret) => static_key(
                DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                Algorithm::HS256,
            ),
            JwtMode::PublicKey(key, algorithm) => static_key(key.clone(), *algorithm),
            JwtMode::Jwks(url) => KeySource::Jwks(JwksCache::new(url.clone(), http)),
        };
        Ok(Self {
            keys,
            issuer,
            audience,
            verified: VerifiedTokens::default(),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<AuthUser, ApiError> {
        if let Some(user) = self.verified.get(token) {
            return Ok(user);
        }
        self.verify_uncached(token).await
    }

    async fn verify_uncached(&self, token: &str) -> Result<AuthUser, ApiError> {
        let invalid = |_| ApiError::Unauthorized("the bearer token is not a valid JWT");
        let fetched;
        let jwks_validation;
        let (key, validation) = match &self.keys {
            KeySource::Static {
                key, validation, ..
            } => (key, &**validation),
            KeySource::Jwks(cache) => {
                let header = decode_header(token).map_err(invalid)?;
                let kid = header
                    .kid
                    .ok_or(ApiError::Unauthorized("the JWT has no kid"))?;
                fetched = cache
                    .key(&kid)
                    .await
                    .ok_or(ApiError::Unauthorized("the JWT's signing key is unknown"))?;
                jwks_validation = validation(fetched.1, &self.issuer, &self.audience);
                (&fetched.0, &jwks_validation)
            }
        };
        let data = decode::<Claims>(token, key, validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            ApiError::Unauthorized(match e.kind() {
                K::ExpiredSignature => "the JWT has expired",
                K::ImmatureSignature => "the JWT is not valid yet",
                K::InvalidIssuer => "the JWT's issuer is not accepted",
                K::InvalidAudience => "the JWT's audience is not accepted",
                K::InvalidAlgorithm => "the JWT's algorithm is not accepted",
                K::InvalidSignature => "the JWT's signature is invalid",
                K::MissingRequiredClaim(_) => "the JWT lacks a required claim",
                _ => "the bearer token is not a valid JWT",
            })
        })?;
        // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` names extensions it
        // does not understand, and we understand none.
        if data.header.crit.is_some() {
            return Err(ApiError::Unauthorized(
                "the JWT names critical header extensions this API does not understand",
            ));
        }
        let sub = data
            .claims
            .sub
            .filter(|s| !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control))
            .ok_or(ApiError::Unauthorized("the JWT's sub is empty or too long"))?;
        let user = AuthUser {
            sub,
            email: data.claims.email,
            phone_number: data.claims.phone_number,
        };
        // `exp` is required, so it is there; the token stays accepted exactly as long as the
        // checks above would accept it (its `exp` plus the leeway), never past the cache TTL.
        if let Some(exp) = data.claims.exp {
            let unix_now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let left = Duration::from_secs((exp + LEEWAY_SECS).saturating_sub(unix_now));
            self.verified.put(token, &user, left);
        }
        Ok(user)
    }
}

/// What the [`AuthUser`] extractor needs of the app's state.
pub trait Authenticates {
    fn jwt(&self) -> &JwtVerifier;
    /// Each authenticated request counts against its user's rate limit.
    fn limits(&self) -> &Limits;
}

impl<S: Authenticates + Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let mut given = parts
            .headers
            .get_all(axum::http::header::AUTHORIZATION)
            .iter();
        let header = given.next().ok_or(ApiError::Unauthorized(
            "the Authorization header is missing",
        ))?;
        // Two credentials are ambiguous (a proxy and the app may disagree on which counts).
        if given.next().is_some() {
            return Err(ApiError::Unauthorized("more than one Authorization header"));
        }
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be: Bearer <JWT>",
            ))?;
        let user = state.jwt().verify(token).await?;
        tracing::Span::current().record("user_id", user.sub.as_str());
        state.limits().check_request(&user.sub)?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}
