//! Per-user rate limits, keyed by the JWT's `sub` (never by a header a client can forge):
//! `RATE_LIMIT_PER_MINUTE` for every `/v1` request, and a tighter cap on minting Consent UI
//! tokens. Each replica counts on its own, so N replicas allow up to N times the limit.

use std::{num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

use crate::error::ApiError;

/// At most this many consent links a user can ask for in a burst, then one every 6 minutes.
pub const CONSENT_BURST: u32 = 10;
const CONSENT_REPLENISH: Duration = Duration::from_secs(6 * 60);

pub struct Limits {
    requests: Option<DefaultKeyedRateLimiter<String>>,
    consents: DefaultKeyedRateLimiter<String>,
}

fn refused(code: &'static str, detail: &str, wait: Duration) -> ApiError {
    ApiError::TooManyRequests {
        code,
        detail: detail.to_owned(),
        retry_after_secs: wait.as_secs().max(1),
    }
}

impl Limits {
    /// `per_minute == 0` turns the request limit off.
    pub fn new(per_minute: u32) -> Self {
        let consent_quota = Quota::with_period(CONSENT_REPLENISH)
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(CONSENT_BURST).expect("non-zero"));
        Self {
            requests: NonZeroU32::new(per_minute)
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
            consents: DefaultKeyedRateLimiter::keyed(consent_quota),
        }
    }

    pub fn check_request(&self, user: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.requests else {
            return Ok(());
        };
        limiter.check_key(&user.to_owned()).map_err(|not_until| {
            refused(
                "rate_limited",
                "Too many requests for this user; retry after the given delay.",
                not_until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    pub fn check_consent(&self, user: &str) -> Result<(), ApiError> {
        self.consents
            .check_key(&user.to_owned())
            .map_err(|not_until| {
                refused(
                    "consent_rate_limited",
                    "Too many consent links requested for this user; retry after the given delay.",
                    not_until.wait_time_from(DefaultClock::default().now()),
                )
            })
    }

    /// Forgets users whose limits have fully replenished, so memory stays bounded.
    pub fn shrink(&self) {
        if let Some(l) = &self.requests {
            l.retain_recent();
            l.shrink_to_fit();
        }
        self.consents.retain_recent();
        self.consents.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_user_and_zero_turns_it_off() {
        let limits = Limits::new(3);
        for _ in 0..3 {
            assert!(limits.check_request("a").is_ok());
        }
        let err = limits.check_request("a").unwrap_err();
        assert!(
            matches!(err, ApiError::TooManyRequests { code: "rate_limited", retry_after_secs, .. } if retry_after_secs >= 1)
        );
        assert!(
            limits.check_request("b").is_ok(),
            "another user is not affected"
        );
        let off = Limits::new(0);
        for _ in 0..1000 {
            assert!(off.check_request("a").is_ok());
        }
    }

    #[test]
    fn consent_links_are_capped_per_user() {
        let limits = Limits::new(0);
        for _ in 0..CONSENT_BURST {
            assert!(limits.check_consent("a").is_ok());
        }
        assert!(limits.check_consent("a").is_err());
        assert!(limits.check_consent("b").is_ok());
    }
}
