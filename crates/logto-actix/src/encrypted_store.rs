//! [`EncryptedStore`]: sessions and token records sealed with AES-256-GCM-SIV before they reach
//! the store.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as TimeDuration;
use logto::BoxFuture;
use logto::web::sealing::{self, SealingKey};

use crate::BoxError;
use crate::store::TokenStore;

/// A 256-bit key for [`EncryptedStore`] (logto's [`SealingKey`]). Its `Debug` never shows it.
///
/// ```
/// use logto_actix::SessionKey;
///
/// // 32 random bytes, base64 (standard or URL-safe): e.g. `openssl rand -base64 32`.
/// let key = SessionKey::from_base64("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")?;
/// assert!(SessionKey::from_base64("too short").is_err());
/// # Ok::<(), logto::LogtoError>(())
/// ```
pub type SessionKey = SealingKey;

/// The one field of a sealed session.
const SEALED_FIELD: &str = "sealed";

type ActixKey = actix_session::storage::SessionKey;

/// A store whose sessions and token records are encrypted and authenticated before they reach
/// `Store` (a [`SqliteStore`](crate::SqliteStore), a `RedisStore`): whoever reads the store sees
/// no token, and a record altered or moved to another id reads as no session.
///
/// Records are sealed with the current key (AES-256-GCM-SIV, bound to the session key or the
/// record id, the same sealing as logto-axum's); any of the keys opens them, so a key is rotated
/// without signing anyone out: make the new key current, keep the old one with
/// [`decrypt_with`](Self::decrypt_with) until the session TTL has passed. A record that no key
/// opens (a lost key, a tampered or plaintext record) reads as signed out, with a warning in the
/// logs; never as an error page.
///
/// ```
/// use logto_actix::{EncryptedStore, MemoryStore, SessionKey};
///
/// let store = EncryptedStore::new(MemoryStore::default(), SessionKey::generate())
///     // After a rotation: the old key still opens the sessions it sealed.
///     .decrypt_with(SessionKey::generate());
/// assert!(format!("{store:?}").starts_with("EncryptedStore"));
/// ```
#[derive(Clone)]
pub struct EncryptedStore<Store> {
    store: Store,
    /// The current key first, then the old ones.
    keys: Arc<Vec<SealingKey>>,
}

impl<Store> fmt::Debug for EncryptedStore<Store> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedStore")
            .field("store", &std::any::type_name::<Store>())
            .field("old_keys", &(self.keys.len() - 1))
            .finish_non_exhaustive()
    }
}

impl<Store> EncryptedStore<Store> {
    /// Seals every session and record written to `store` with `key`.
    pub fn new(store: Store, key: SessionKey) -> Self {
        EncryptedStore {
            store,
            keys: Arc::new(vec![key]),
        }
    }

    /// Also opens sessions and records sealed with `old_key` (a key being rotated out); new ones
    /// are sealed with the current key only.
    #[must_use]
    pub fn decrypt_with(mut self, old_key: SessionKey) -> Self {
        Arc::make_mut(&mut self.keys).push(old_key);
        self
    }

    fn seal(&self, context: &str, plaintext: &[u8]) -> Option<String> {
        sealing::seal(&self.keys[0], context, plaintext)
    }

    fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let opened = sealing::open(self.keys.iter(), context, sealed);
        if opened.is_none() {
            tracing::warn!(
                "a session record could not be decrypted (a key no longer configured, or an \
                 altered record): the visitor is treated as signed out"
            );
        }
        opened
    }

    /// `state` sealed for the session `key`.
    fn seal_state(
        &self,
        key: &str,
        state: &HashMap<String, String>,
    ) -> Result<HashMap<String, String>, anyhow::Error> {
        let plaintext = serde_json::to_vec(state)?;
        let sealed = self
            .seal(&session_context(key), &plaintext)
            .ok_or_else(|| anyhow::anyhow!("the session could not be sealed (no random nonce)"))?;
        Ok(HashMap::from([(SEALED_FIELD.to_owned(), sealed)]))
    }
}

/// What a sealed session is bound to: its key.
fn session_context(key: &str) -> String {
    format!("logto-actix session {key}")
}

/// What a sealed token record is bound to: its id.
fn record_context(id: &str) -> String {
    format!("logto-actix record {id}")
}

impl<Store: SessionStore> SessionStore for EncryptedStore<Store> {
    async fn load(&self, key: &ActixKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let Some(state) = self.store.load(key).await? else {
            return Ok(None);
        };
        let opened = state
            .get(SEALED_FIELD)
            .and_then(|sealed| self.open(&session_context(key.as_ref()), sealed));
        Ok(opened.and_then(|plaintext| serde_json::from_slice(&plaintext).ok()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<ActixKey, SaveError> {
        // The store picks the key, and the session is bound to it: an empty session first, then
        // the sealed one under its key.
        let key = self.store.save(HashMap::new(), ttl).await?;
        self.update(key, state, ttl).await.map_err(|e| match e {
            UpdateError::Serialization(e) => SaveError::Serialization(e),
            UpdateError::Other(e) => SaveError::Other(e),
        })
    }

    async fn update(
        &self,
        key: ActixKey,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<ActixKey, UpdateError> {
        let mut key = key;
        // A session expired meanwhile comes back under a new key: sealed again for that one.
        for _ in 0..3 {
            let name = key.as_ref().to_owned();
            let sealed = self
                .seal_state(&name, &state)
                .map_err(UpdateError::Serialization)?;
            key = self.store.update(key, sealed, ttl).await?;
            if key.as_ref() == name {
                return Ok(key);
            }
        }
        Err(UpdateError::Other(anyhow::anyhow!(
            "the session store keeps changing the session key"
        )))
    }

    async fn update_ttl(&self, key: &ActixKey, ttl: &TimeDuration) -> anyhow::Result<()> {
        self.store.update_ttl(key, ttl).await
    }

    async fn delete(&self, key: &ActixKey) -> anyhow::Result<()> {
        self.store.delete(key).await
    }
}

impl<Store: TokenStore> TokenStore for EncryptedStore<Store> {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        Box::pin(async move {
            let Some(sealed) = self.store.load(id).await? else {
                return Ok(None);
            };
            Ok(self
                .open(&record_context(id), &sealed)
                .and_then(|plaintext| String::from_utf8(plaintext).ok()))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let sealed = self
                .seal(&record_context(id), value.as_bytes())
                .ok_or("the token record could not be sealed (no random nonce)")?;
            self.store.save(id, &sealed, ttl).await
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        self.store.delete(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    fn state(value: &str) -> HashMap<String, String> {
        HashMap::from([("logto.tokens_ref".to_owned(), format!("\"{value}\""))])
    }

    #[tokio::test]
    async fn sessions_and_records_round_trip_and_the_store_sees_no_plaintext() {
        let inner = MemoryStore::default();
        let store = EncryptedStore::new(inner.clone(), SessionKey::generate());
        let ttl = TimeDuration::minutes(5);
        let key = SessionStore::save(&store, state("ref-secret"), &ttl)
            .await
            .unwrap();
        let raw = SessionStore::load(&inner, &key).await.unwrap().unwrap();
        let raw_text = serde_json::to_string(&raw).unwrap();
        assert!(!raw_text.contains("ref-secret"), "{raw_text}");
        assert!(raw_text.contains("v1."), "{raw_text}");
        let read = SessionStore::load(&store, &key).await.unwrap().unwrap();
        assert_eq!(read, state("ref-secret"));

        TokenStore::save(&store, "r", "refresh-token-secret", Duration::from_secs(60))
            .await
            .unwrap();
        let raw = TokenStore::load(&inner, "r").await.unwrap().unwrap();
        assert!(raw.starts_with("v1.") && !raw.contains("secret"), "{raw}");
        assert_eq!(
            TokenStore::load(&store, "r").await.unwrap().as_deref(),
            Some("refresh-token-secret")
        );
        TokenStore::delete(&store, "r").await.unwrap();
        assert_eq!(TokenStore::load(&inner, "r").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_rotated_key_still_opens_old_records_and_others_open_nothing() {
        let inner = MemoryStore::default();
        let (old, new) = (SessionKey::generate(), SessionKey::generate());
        let ttl = TimeDuration::minutes(5);
        let before = EncryptedStore::new(inner.clone(), old.clone());
        let key = SessionStore::save(&before, state("a"), &ttl).await.unwrap();
        TokenStore::save(&before, "r", "t", Duration::from_secs(60))
            .await
            .unwrap();

        let after = EncryptedStore::new(inner.clone(), new.clone()).decrypt_with(old);
        assert_eq!(
            SessionStore::load(&after, &key).await.unwrap(),
            Some(state("a"))
        );
        assert_eq!(
            TokenStore::load(&after, "r").await.unwrap().as_deref(),
            Some("t")
        );
        let key = SessionStore::update(&after, key, state("b"), &ttl)
            .await
            .unwrap();
        let only_new = EncryptedStore::new(inner.clone(), new);
        assert_eq!(
            SessionStore::load(&only_new, &key).await.unwrap(),
            Some(state("b"))
        );
        let stranger = EncryptedStore::new(inner, SessionKey::generate());
        assert!(SessionStore::load(&stranger, &key).await.unwrap().is_none());
        assert!(TokenStore::load(&stranger, "r").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn moved_and_plaintext_records_read_as_no_session() {
        let inner = MemoryStore::default();
        let store = EncryptedStore::new(inner.clone(), SessionKey::generate());
        let ttl = TimeDuration::minutes(5);
        let victim = SessionStore::save(&store, state("victim"), &ttl)
            .await
            .unwrap();
        let sealed = SessionStore::load(&inner, &victim).await.unwrap().unwrap();
        // The victim's sealed session copied into another (an attacker's own) session.
        let moved = SessionStore::save(&inner, sealed, &ttl).await.unwrap();
        assert!(SessionStore::load(&store, &moved).await.unwrap().is_none());
        // A plaintext session.
        let plain = SessionStore::save(&inner, state("plain"), &ttl)
            .await
            .unwrap();
        assert!(SessionStore::load(&store, &plain).await.unwrap().is_none());

        // A token record moved to another id, or in clear.
        TokenStore::save(&store, "victim", "tokens", Duration::from_secs(60))
            .await
            .unwrap();
        let sealed = TokenStore::load(&inner, "victim").await.unwrap().unwrap();
        TokenStore::save(&inner, "moved", &sealed, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(TokenStore::load(&store, "moved").await.unwrap().is_none());
        TokenStore::save(&inner, "plain", "tokens", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(TokenStore::load(&store, "plain").await.unwrap().is_none());
    }
}
