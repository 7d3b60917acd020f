//! The transactions cursor: opaque to a client, never a URL. `<payload>.<mac>`, where the
//! payload holds the first page's query (so later pages keep its filters) and Basiq's
//! next-page query, and the MAC binds both to the Basiq user: a cursor cannot be forged,
//! edited or used by someone else.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::{Deserialize, Serialize};

use crate::crypto::MacKey;

/// What a cursor carries.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The first-page query it was issued for.
    #[serde(rename = "f")]
    pub first: String,
    /// Basiq's next-page query.
    #[serde(rename = "n")]
    pub next: String,
}

impl Cursor {
    pub fn encode(&self, key: &MacKey, user: &str) -> String {
        let payload = serde_json::to_vec(self).expect("two strings serialise");
        let tag = key.sign(&[b"cursor-v1", user.as_bytes(), &payload]);
        format!("{}.{}", B64.encode(payload), B64.encode(tag))
    }

    /// The cursor, if `value` is one issued to `user` with `key`.
    pub fn decode(key: &MacKey, user: &str, value: &str) -> Option<Self> {
        let (payload, tag) = value.split_once('.')?;
        let payload = B64.decode(payload).ok()?;
        let tag = B64.decode(tag).ok()?;
        if !key.verify(&[b"cursor-v1", user.as_bytes(), &payload], &tag) {
            return None;
        }
        serde_json::from_slice(&payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretBox;

    #[test]
    fn a_cursor_opens_only_for_its_user_and_unedited() {
        let key = MacKey::derive(&SecretBox::new(Box::new([3u8; 32])), "test/cursor");
        let cursor = Cursor {
            first: "limit=5".into(),
            next: "limit=5&next=abc".into(),
        };
        let value = cursor.encode(&key, "u1");
        assert_eq!(Cursor::decode(&key, "u1", &value), Some(cursor));
        assert_eq!(Cursor::decode(&key, "u2", &value), None);
        let (payload, tag) = value.split_once('.').unwrap();
        let edited = format!("{}A.{tag}", payload);
        assert_eq!(Cursor::decode(&key, "u1", &edited), None);
        assert_eq!(Cursor::decode(&key, "u1", "garbage"), None);
    }
}
