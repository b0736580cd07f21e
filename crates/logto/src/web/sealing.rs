//! Session records sealed at rest, for the adapters' encrypted stores (`logto-axum`'s and
//! `logto-actix`'s `EncryptedStore`): AES-256-GCM-SIV under a 256-bit [`SealingKey`], bound to a
//! context (the record's id), opened by any of several keys so that a key can be rotated.
//!
//! A sealed value is `v1.` followed by the base64url (unpadded) of the 12-byte nonce, the
//! ciphertext and the 16-byte tag.
//!
//! ```
//! use logto::web::sealing::{SealingKey, open, seal};
//!
//! let (old, new) = (SealingKey::generate(), SealingKey::generate());
//! let sealed = seal(&old, "session 42", b"{\"tokens\":1}").unwrap();
//! assert!(sealed.starts_with("v1."));
//! // Any of the keys opens it, for the context it was sealed for only.
//! assert_eq!(open([&new, &old], "session 42", &sealed).unwrap(), b"{\"tokens\":1}");
//! assert!(open([&new, &old], "session 43", &sealed).is_none());
//! assert!(open([&new], "session 42", &sealed).is_none());
//! ```

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::error::LogtoError;

/// What a sealed value starts with: the format's version.
pub const FORMAT: &str = "v1.";

/// A 256-bit key that seals records. Its `Debug` never shows it.
///
/// ```
/// use logto::web::sealing::SealingKey;
///
/// // 32 random bytes, base64 (standard or URL-safe): e.g. `openssl rand -base64 32`.
/// let key = SealingKey::from_base64("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")?;
/// assert_eq!(format!("{key:?}"), "SealingKey(…)");
/// assert!(SealingKey::from_base64("too short").is_err());
/// # Ok::<(), logto::LogtoError>(())
/// ```
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SealingKey(bytes)
    }

    /// A key from the base64 (standard or URL-safe, padded or not) of 32 bytes, as kept in a
    /// configuration file or an environment variable.
    pub fn from_base64(encoded: &str) -> Result<Self, LogtoError> {
        let encoded = encoded.trim();
        let bytes = STANDARD
            .decode(encoded)
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')))
            .map_err(|_| {
                LogtoError::InvalidConfig(
                    "the session key is not base64: generate one with `openssl rand -base64 32`"
                        .into(),
                )
            })?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            LogtoError::InvalidConfig(format!(
                "the session key is {} bytes long, not 32: generate one with `openssl rand -base64 32`",
                bytes.len()
            ))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as standard base64, to keep it in a file or a secret store.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A new random key (for tests and development: records sealed with it are lost with it).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system's random number generator failed");
        Self::from_bytes(bytes)
    }

    fn aead(&self) -> LessSafeKey {
        let key = UnboundKey::new(&AES_256_GCM_SIV, &self.0).expect("a 32-byte key");
        LessSafeKey::new(key)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

/// `plaintext` sealed with `key`, bound to `context` (what the record is: its kind and id):
/// `v1.<base64url>`. `None` only if the system's random number generator fails.
pub fn seal(key: &SealingKey, context: &str, plaintext: &[u8]) -> Option<String> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).ok()?;
    let mut sealed = plaintext.to_vec();
    key.aead()
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut sealed,
        )
        .ok()?;
    let mut value = nonce.to_vec();
    value.extend_from_slice(&sealed);
    Some(format!("{FORMAT}{}", URL_SAFE_NO_PAD.encode(value)))
}

/// The plaintext of `sealed`, opened with the first of `keys` that opens it for `context`; `None`
/// when none does (a key no longer configured, an altered value, another context, not a sealed
/// value).
pub fn open<'a>(
    keys: impl IntoIterator<Item = &'a SealingKey>,
    context: &str,
    sealed: &str,
) -> Option<Vec<u8>> {
    let value = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(FORMAT)?).ok()?;
    if value.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = value.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    keys.into_iter().find_map(|key| {
        let mut buffer = ciphertext.to_vec();
        let length = key
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .ok()?
            .len();
        buffer.truncate(length);
        Some(buffer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_any_key_for_their_context_only() {
        let (key, other) = (SealingKey::generate(), SealingKey::generate());
        let sealed = seal(&key, "record a", b"secret").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            open([&other, &key], "record a", &sealed).unwrap(),
            b"secret"
        );
        assert!(open([&other], "record a", &sealed).is_none());
        assert!(open([&key], "record b", &sealed).is_none());
        // Every value differs (a random nonce).
        assert_ne!(seal(&key, "record a", b"secret").unwrap(), sealed);
        let last = if sealed.ends_with('A') { "B" } else { "A" };
        let tampered = format!("{}{last}", &sealed[..sealed.len() - 1]);
        for bad in [tampered.as_str(), "v1.", "v1.!!!", "v2.AAAA", "secret", ""] {
            assert!(open([&key], "record a", bad).is_none(), "{bad}");
        }
    }

    /// A value sealed by another implementation of AES-256-GCM-SIV (Python's `cryptography`), in
    /// the format logto-axum has always written: the stored format does not drift.
    #[test]
    fn a_known_sealed_value_opens() {
        let key = SealingKey::from_bytes([7; 32]);
        let sealed = "v1.CQkJCQkJCQkJCQkJffp8s3HZq9OB6r5ELLBmQ90MwdDRo7yntM7bMXw6A9CT6gcm";
        let context = "logto-axum session AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            open([&key], context, sealed).unwrap(),
            br#"{"logto.tokens":"t"}"#
        );
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let bytes = [7u8; 32];
        for encoded in [STANDARD.encode(bytes), URL_SAFE_NO_PAD.encode(bytes)] {
            let key = SealingKey::from_base64(&encoded).unwrap();
            assert_eq!(key.0, bytes);
            assert_eq!(key.to_base64(), STANDARD.encode(bytes));
            assert_eq!(format!("{key:?}"), "SealingKey(…)");
        }
        let err = SealingKey::from_base64(&STANDARD.encode([1u8; 16]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("16 bytes long, not 32"), "{err}");
    }
}
