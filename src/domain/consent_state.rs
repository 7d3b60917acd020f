//! The consent `state` that travels through Basiq's Consent UI: `v1.<nonce>.<expiry>.<mac>`.
//! The MAC binds the nonce and the expiry to the app user and `returnTo`, which stay
//! server-side (only a hash of the nonce is stored), so a state cannot be forged, edited, or
//! redeemed for another user or another return URL.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{DateTime, Utc};

use crate::crypto::{MacKey, sha256};

/// A new state, and the hash of its nonce to store.
pub struct Issued {
    pub value: String,
    pub nonce_hash: [u8; 32],
}

/// A new state for `app_user_id` returning to `return_to`, good until `expires_at`.
pub fn issue(
    key: &MacKey,
    app_user_id: &str,
    return_to: &str,
    expires_at: DateTime<Utc>,
) -> Issued {
    let mut nonce = [0u8; 32];
    rand::fill(&mut nonce);
    let exp = expires_at.timestamp().to_string();
    let tag = key.sign(&parts(&nonce, &exp, app_user_id, return_to));
    Issued {
        value: format!("v1.{}.{}.{}", B64.encode(nonce), exp, B64.encode(tag)),
        nonce_hash: sha256(&nonce),
    }
}

fn parts<'a>(nonce: &'a [u8], exp: &'a str, user: &'a str, return_to: &'a str) -> [&'a [u8]; 5] {
    [
        b"v1",
        nonce,
        exp.as_bytes(),
        user.as_bytes(),
        return_to.as_bytes(),
    ]
}

/// A state as a browser brought it back: well formed, not yet checked.
pub struct Presented {
    nonce: Vec<u8>,
    exp_text: String,
    exp: i64,
    tag: Vec<u8>,
}

/// `raw` if it has the shape of a state of ours.
pub fn parse(raw: &str) -> Option<Presented> {
    let parts: Vec<&str> = raw.split('.').collect();
    let [version, nonce, exp, tag] = parts.as_slice() else {
        return None;
    };
    let (Ok(nonce), Ok(exp_secs), Ok(tag)) =
        (B64.decode(nonce), exp.parse::<i64>(), B64.decode(tag))
    else {
        return None;
    };
    (*version == "v1" && nonce.len() == 32).then(|| Presented {
        nonce,
        exp_text: (*exp).to_owned(),
        exp: exp_secs,
        tag,
    })
}

impl Presented {
    /// What the issuer stored.
    pub fn nonce_hash(&self) -> [u8; 32] {
        sha256(&self.nonce)
    }

    /// Signed by us, for this user and return URL (constant-time).
    pub fn is_authentic(&self, key: &MacKey, app_user_id: &str, return_to: &str) -> bool {
        key.verify(
            &parts(&self.nonce, &self.exp_text, app_user_id, return_to),
            &self.tag,
        )
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.exp < now.timestamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretBox;

    fn key(byte: u8) -> MacKey {
        MacKey::derive(&SecretBox::new(Box::new([byte; 32])), "test/state")
    }

    #[test]
    fn a_state_verifies_only_for_its_user_and_return_url_and_key() {
        let later = Utc::now() + chrono::Duration::minutes(30);
        let issued = issue(&key(1), "alice", "https://app.example.com/", later);
        let presented = parse(&issued.value).expect("well formed");
        assert_eq!(presented.nonce_hash(), issued.nonce_hash);
        assert!(presented.is_authentic(&key(1), "alice", "https://app.example.com/"));
        assert!(!presented.is_authentic(&key(1), "bob", "https://app.example.com/"));
        assert!(!presented.is_authentic(&key(1), "alice", "https://evil.example/"));
        assert!(!presented.is_authentic(&key(2), "alice", "https://app.example.com/"));
        assert!(!presented.is_expired(Utc::now()));
        assert!(presented.is_expired(later + chrono::Duration::seconds(1)));
    }

    #[test]
    fn a_state_with_an_edited_expiry_or_the_wrong_shape_is_refused() {
        let issued = issue(&key(1), "alice", "r", Utc::now());
        let mut parts: Vec<String> = issued.value.split('.').map(str::to_owned).collect();
        parts[2] = (parts[2].parse::<i64>().unwrap() + 3600).to_string();
        let edited = parse(&parts.join(".")).unwrap();
        assert!(!edited.is_authentic(&key(1), "alice", "r"));
        for bad in [
            "",
            "v1.a.b",
            "v2.AAAA.1.AAAA",
            "v1.AAAA.1.AAAA",
            "v1.!!.1.AAAA",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
