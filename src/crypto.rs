//! Encryption at rest and keyed MACs, all from `DATA_ENCRYPTION_KEY`:
//! - [`Sealer`]: AES-256-GCM for personal data and the shared server token, a fresh nonce per
//!   value, associated data binding each value to its row and column, and a key id so keys can
//!   rotate (the newest key encrypts, every configured key decrypts);
//! - [`MacKey`]: HMAC-SHA256 for the values we hand to browsers (consent `state`, cursors).

use std::collections::HashMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
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

/// Format version of a sealed value: `1 | key id (4) | nonce (12) | ciphertext | tag (16)`.
const SEALED_V1: u8 = 1;
type KeyId = [u8; 4];

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the value was sealed with a key that is not configured")]
    UnknownKey,
    #[error("the value is malformed, or was tampered with or moved to another row")]
    Invalid,
}

/// Encrypts values at rest. The associated data names where a value lives (table, row,
/// column), so a ciphertext copied into another row does not decrypt.
pub struct Sealer {
    current: KeyId,
    keys: HashMap<KeyId, LessSafeKey>,
}

fn key_id(key: &[u8; 32]) -> KeyId {
    let digest = mac_raw(key, &[b"basiq-bff/key-id"]);
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Sealer {
    /// `keys` newest first; the first one encrypts.
    pub fn new(keys: &[SecretBox<[u8; 32]>]) -> Self {
        assert!(!keys.is_empty(), "at least one data key");
        let keys_by_id: HashMap<KeyId, LessSafeKey> = keys
            .iter()
            .map(|k| {
                let aead = UnboundKey::new(&AES_256_GCM, k.expose_secret()).expect("32-byte key");
                (key_id(k.expose_secret()), LessSafeKey::new(aead))
            })
            .collect();
        Self {
            current: key_id(keys[0].expose_secret()),
            keys: keys_by_id,
        }
    }

    pub fn seal(&self, plaintext: &[u8], associated: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let mut buffer = plaintext.to_vec();
        self.keys[&self.current]
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated.as_bytes()),
                &mut buffer,
            )
            .expect("AES-GCM sealing does not fail for small values");
        let mut out = Vec::with_capacity(1 + 4 + NONCE_LEN + buffer.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&self.current);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        out
    }

    pub fn open(&self, sealed: &[u8], associated: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 1 + 4 + NONCE_LEN + 16 || sealed[0] != SEALED_V1 {
            return Err(OpenError::Invalid);
        }
        let id: KeyId = sealed[1..5].try_into().expect("4 bytes");
        let key = self.keys.get(&id).ok_or(OpenError::UnknownKey)?;
        let nonce: [u8; NONCE_LEN] = sealed[5..5 + NONCE_LEN].try_into().expect("nonce");
        let mut buffer = sealed[5 + NONCE_LEN..].to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| OpenError::Invalid)?;
        Ok(plain.to_vec())
    }

    /// Whether a value was sealed with an older key (and should be re-sealed).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.get(1..5) == Some(&self.current[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(purpose: &str) -> MacKey {
        MacKey::derive(&SecretBox::new(Box::new([7u8; 32])), purpose)
    }

    fn secret(byte: u8) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new([byte; 32]))
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let sealer = Sealer::new(&[secret(1)]);
        let sealed = sealer.seal(b"alice@example.com", "app_users/alice/email");
        assert!(!sealed.windows(5).any(|w| w == b"alice"), "no plaintext");
        assert_eq!(
            sealer.open(&sealed, "app_users/alice/email").unwrap(),
            b"alice@example.com"
        );
        assert!(matches!(
            sealer.open(&sealed, "app_users/bob/email"),
            Err(OpenError::Invalid)
        ));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(sealer.open(&tampered, "app_users/alice/email").is_err());
        assert_ne!(
            sealed,
            sealer.seal(b"alice@example.com", "app_users/alice/email"),
            "fresh nonce"
        );
        let other = Sealer::new(&[secret(2)]);
        assert!(matches!(
            other.open(&sealed, "app_users/alice/email"),
            Err(OpenError::UnknownKey)
        ));
    }

    #[test]
    fn after_rotation_old_values_still_open_and_new_ones_use_the_new_key() {
        let old = Sealer::new(&[secret(1)]);
        let sealed = old.seal(b"x", "a");
        let rotated = Sealer::new(&[secret(2), secret(1)]);
        assert_eq!(rotated.open(&sealed, "a").unwrap(), b"x");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal(b"x", "a")));
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
