//! Standard Webhooks (Svix) signatures, as Basiq signs its webhooks: HMAC-SHA256 over
//! `"{webhook-id}.{webhook-timestamp}.{raw body}"`, keyed by the base64 secret after `whsec_`,
//! sent as space-separated `v1,<base64>` entries in `webhook-signature`.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// Deliveries older or newer than this are refused (replays, badly skewed clocks).
pub const TOLERANCE_SECS: i64 = 5 * 60;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a webhook header is missing")]
    MissingHeader,
    #[error("the timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

pub struct WebhookKey(SecretBox<Vec<u8>>);

impl WebhookKey {
    /// From `whsec_<base64>` (the prefix is optional). Config validation already checked it.
    pub fn from_secret(secret: &str) -> Option<Self> {
        let raw = secret.trim();
        let raw = raw.strip_prefix("whsec_").unwrap_or(raw);
        let key = STANDARD.decode(raw).ok().filter(|k| !k.is_empty())?;
        Some(Self(SecretBox::new(Box::new(key))))
    }

    /// The `webhook-signature` of a delivery: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    pub fn verify(
        &self,
        id: Option<&str>,
        timestamp: Option<&str>,
        signatures: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let (Some(id), Some(timestamp), Some(signatures)) = (id, timestamp, signatures) else {
            return Err(SignatureError::MissingHeader);
        };
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| SignatureError::Stale)?;
        // `abs_diff`: a subtraction could overflow on a forged extreme timestamp.
        if now.abs_diff(ts) > TOLERANCE_SECS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.trim().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Every candidate is checked in constant time; any match is enough (key rotation sends
        // several).
        let matched = signatures
            .split_whitespace()
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|sig| STANDARD.decode(sig).ok())
            .any(|sig| mac.clone().verify_slice(&sig).is_ok());
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn key() -> WebhookKey {
        WebhookKey::from_secret(SECRET).unwrap()
    }

    #[test]
    fn a_signature_made_here_is_the_standard_webhooks_examples() {
        assert_eq!(key().sign(ID, 1614265330, BODY), SIG);
    }

    #[test]
    fn the_standard_webhooks_example_verifies() {
        assert_eq!(
            key().verify(Some(ID), Some(TS), Some(SIG), BODY, 1614265330),
            Ok(())
        );
        let several = format!("v1,bm9wZQ== {SIG}");
        assert_eq!(
            key().verify(Some(ID), Some(TS), Some(&several), BODY, 1614265330),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_a_wrong_id_or_a_stale_timestamp_is_refused() {
        let k = key();
        let t = 1614265330;
        assert_eq!(
            k.verify(Some(ID), Some(TS), Some(SIG), br#"{"test": 1}"#, t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            k.verify(Some("msg_other"), Some(TS), Some(SIG), BODY, t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            k.verify(Some(ID), Some(TS), Some(SIG), BODY, t + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            k.verify(Some(ID), Some(TS), Some(SIG), BODY, t - 301),
            Err(SignatureError::Stale)
        );
        for extreme in [i64::MIN, i64::MAX] {
            assert_eq!(
                k.verify(Some(ID), Some(&extreme.to_string()), Some(SIG), BODY, t),
                Err(SignatureError::Stale)
            );
        }
        assert_eq!(
            k.verify(Some(ID), None, Some(SIG), BODY, t),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            k.verify(Some(ID), Some(TS), Some("v2,abc"), BODY, t),
            Err(SignatureError::Mismatch)
        );
    }
}
