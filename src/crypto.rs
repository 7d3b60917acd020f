//! Keyed MACs for the values we hand to browsers (consent `state`, transaction cursors), with
//! keys derived from `DATA_ENCRYPTION_KEY` so one secret protects everything at rest.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// A MAC key for one purpose.
pub struct MacKey(SecretBox<[u8; 32]>);

impl MacKey {
    /// Derives the key for `purpose` from the data key (HMAC-based, like HKDF-Expand's one block).
    pub fn derive(root: &SecretBox<[u8; 32]>, purpose: &str) -> Self {
        let tag = mac_raw(root.expose_secret(), &[purpose.as_bytes()]);
        Self(SecretBox::new(Box::new(tag)))
    }

    /// The MAC over `parts`, each length-prefixed so no two part lists collide.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        mac_raw(self.0.expose_secret(), parts)
    }

    /// Constant-time check of `tag` over `parts`.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(self.0.expose_secret()).expect("any key length");
        feed(&mut mac, parts);
        mac.verify_slice(tag).is_ok()
    }
}

fn feed(mac: &mut HmacSha256, parts: &[&[u8]]) {
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
}

fn mac_raw(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    feed(&mut mac, parts);
    mac.finalize().into_bytes().into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(purpose: &str) -> MacKey {
        MacKey::derive(&SecretBox::new(Box::new([7u8; 32])), purpose)
    }

    #[test]
    fn a_tag_verifies_only_for_its_own_parts_and_purpose() {
        let k = key("a");
        let tag = k.sign(&[b"ab", b"c"]);
        assert!(k.verify(&[b"ab", b"c"], &tag));
        assert!(!k.verify(&[b"a", b"bc"], &tag), "parts are length-prefixed");
        assert!(!key("b").verify(&[b"ab", b"c"], &tag));
        assert!(!k.verify(&[b"ab", b"c"], &tag[..31]));
    }
}
