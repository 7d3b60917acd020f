//! Tokens that passed verification, remembered briefly: an app sends the same JWT with every
//! call for the token's life, and checking its signature each time is most of what an
//! authenticated request costs us.
//!
//! Entries are keyed by the token's SHA-256, so the map holds no bearer tokens. An entry lives
//! until the token's own `exp` (plus the verifier's leeway) or [`VERIFIED_TOKEN_TTL`], whichever
//! comes first: an expired token is refused exactly as without the cache, and once the JWKS
//! cache drops a withdrawn signing key, its tokens stop being honoured within the TTL. The map
//! is bounded: when full it is cleared, which only costs a few signature checks.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use super::AuthUser;

pub const VERIFIED_TOKEN_TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 100_000;

type TokenHash = [u8; 32];

#[derive(Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<TokenHash, (AuthUser, Instant)>>,
}

fn hash(token: &str) -> TokenHash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().try_into().expect("32 bytes")
}

impl VerifiedTokens {
    pub fn get(&self, token: &str) -> Option<AuthUser> {
        let key = hash(token);
        let entries = self.entries.read().expect("verified tokens lock");
        entries
            .get(&key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(user, _)| user.clone())
    }

    /// Remembers a verified token for `left` (its remaining validity), at most the TTL.
    pub fn put(&self, token: &str, user: &AuthUser, left: Duration) {
        let left = left.min(VERIFIED_TOKEN_TTL);
        if left.is_zero() {
            return;
        }
        let key = hash(token);
        let mut entries = self.entries.write().expect("verified tokens lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (user.clone(), Instant::now() + left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(sub: &str) -> AuthUser {
        AuthUser {
            sub: sub.into(),
            email: None,
            phone_number: None,
        }
    }

    #[test]
    fn a_token_is_remembered_no_longer_than_it_is_valid() {
        let cache = VerifiedTokens::default();
        cache.put("a.b.c", &user("u1"), Duration::from_secs(30));
        assert_eq!(cache.get("a.b.c").map(|u| u.sub).as_deref(), Some("u1"));
        assert!(cache.get("a.b.d").is_none(), "another token is not");

        cache.put("x.y.z", &user("u2"), Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("x.y.z").is_none(), "gone once its validity ends");

        cache.put("e.x.p", &user("u3"), Duration::ZERO);
        assert!(
            cache.get("e.x.p").is_none(),
            "an expired token is never kept"
        );
    }
}
