//! [`EncryptedStore`]: session records sealed with AES-256-GCM-SIV before they reach the store.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

#[cfg(test)]
use base64::Engine;
#[cfg(test)]
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use logto::web::sealing::{self, SealingKey};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// The one field of a sealed record.
const SEALED_FIELD: &str = "sealed";

/// A 256-bit key for [`EncryptedStore`] (logto's [`SealingKey`], the same as logto-actix's).
/// Its `Debug` never shows it.
///
/// ```
/// use logto_axum::SessionKey;
///
/// // 32 random bytes, base64 (standard or URL-safe): e.g. `openssl rand -base64 32`.
/// let key = SessionKey::from_base64("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")?;
/// assert!(SessionKey::from_base64("too short").is_err());
/// # Ok::<(), logto::LogtoError>(())
/// ```
pub type SessionKey = SealingKey;

/// A tower-sessions store whose records are encrypted and authenticated before they reach `Store`
/// (Redis, SQLite, a database): whoever reads the store sees no token, and a record altered or
/// moved to another session id reads as no session.
///
/// Records are sealed with the current key (AES-256-GCM-SIV, bound to the session id); any of the
/// keys opens them, so a key is rotated without signing anyone out: make the new key current, keep
/// the old one with [`decrypt_with`](Self::decrypt_with) until the session TTL has passed.
/// A record that no key opens (a lost key, a tampered or plaintext record) reads as signed out,
/// with a warning in the logs; never as an error page.
///
/// ```no_run
/// use logto::LogtoConfig;
/// use logto_axum::{EncryptedStore, Logto, SessionKey};
/// use tower_sessions::MemoryStore;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SessionKey::from_base64(&std::env::var("SESSION_KEY")?)?;
/// let store = EncryptedStore::new(MemoryStore::default(), key);
/// // After a rotation: .decrypt_with(SessionKey::from_base64(&std::env::var("OLD_SESSION_KEY")?)?)
/// let config = LogtoConfig::builder("https://tenant.logto.app", "app-id").build()?;
/// let logto = Logto::builder(config, "https://app.example.com").build()?;
/// let app: axum::Router = logto.router().layer(logto.layer(store));
/// # Ok(()) }
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
    /// Seals every record written to `store` with `key`.
    pub fn new(store: Store, key: SessionKey) -> Self {
        EncryptedStore {
            store,
            keys: Arc::new(vec![key]),
        }
    }

    /// Also opens records sealed with `old_key` (a key being rotated out); new records are
    /// sealed with the current key only.
    pub fn decrypt_with(mut self, old_key: SessionKey) -> Self {
        Arc::make_mut(&mut self.keys).push(old_key);
        self
    }

    /// `record` sealed: one field holding the encrypted data.
    fn seal(&self, record: &Record) -> session_store::Result<Record> {
        let plaintext = serde_json::to_vec(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let sealed = sealing::seal(&self.keys[0], &context(&record.id), &plaintext)
            .ok_or_else(|| session_store::Error::Encode("no random nonce".into()))?;
        Ok(Record {
            id: record.id,
            data: HashMap::from([(SEALED_FIELD.to_owned(), sealed.into())]),
            expiry_date: record.expiry_date,
        })
    }

    /// The data of a sealed record, or `None` when no key opens it.
    fn open(&self, record: &Record) -> Option<HashMap<String, serde_json::Value>> {
        let sealed = record.data.get(SEALED_FIELD)?.as_str()?;
        let plaintext = sealing::open(self.keys.iter(), &context(&record.id), sealed)?;
        serde_json::from_slice(&plaintext).ok()
    }
}

/// What a sealed record is bound to: its session id.
fn context(id: &Id) -> String {
    format!("logto-axum session {id}")
}

#[async_trait::async_trait]
impl<Store: SessionStore> SessionStore for EncryptedStore<Store> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut sealed = self.seal(record)?;
        self.store.create(&mut sealed).await?;
        if sealed.id != record.id {
            // The store picked another id (a collision): seal again, bound to that id.
            record.id = sealed.id;
            self.store.save(&self.seal(record)?).await?;
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(&self.seal(record)?).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(record) = self.store.load(id).await? else {
            return Ok(None);
        };
        match self.open(&record) {
            Some(data) if record.id == *id => Ok(Some(Record { data, ..record })),
            _ => {
                tracing::warn!(
                    "a session record could not be decrypted (a key no longer configured, or an \
                     altered record): the visitor is treated as signed out"
                );
                Ok(None)
            }
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::MemoryStore;
    use tower_sessions::cookie::time::OffsetDateTime;

    fn record(value: &str) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::from([("logto.tokens".to_owned(), value.into())]),
            expiry_date: OffsetDateTime::now_utc() + tower_sessions::cookie::time::Duration::HOUR,
        }
    }

    #[tokio::test]
    async fn records_round_trip_and_the_store_sees_no_plaintext() {
        let inner = MemoryStore::default();
        let store = EncryptedStore::new(inner.clone(), SessionKey::generate());
        let mut written = record("refresh-token-secret");
        store.create(&mut written).await.unwrap();
        let raw = inner.load(&written.id).await.unwrap().unwrap();
        let raw_text = serde_json::to_string(&raw.data).unwrap();
        assert!(!raw_text.contains("refresh-token-secret"), "{raw_text}");
        assert!(raw_text.contains("v1."), "{raw_text}");
        let read = store.load(&written.id).await.unwrap().unwrap();
        assert_eq!(read.data, written.data);
        assert_eq!(read.expiry_date, written.expiry_date);
    }

    #[tokio::test]
    async fn a_rotated_key_still_opens_old_records_and_new_ones_use_the_new_key() {
        let inner = MemoryStore::default();
        let (old, new) = (SessionKey::generate(), SessionKey::generate());
        let before = EncryptedStore::new(inner.clone(), old.clone());
        let mut written = record("t");
        before.create(&mut written).await.unwrap();

        let after = EncryptedStore::new(inner.clone(), new.clone()).decrypt_with(old);
        assert_eq!(
            after.load(&written.id).await.unwrap().unwrap().data,
            written.data
        );
        after.save(&written).await.unwrap();
        // Sealed with the new key now: a store with only the new key opens it.
        let only_new = EncryptedStore::new(inner.clone(), new);
        assert!(only_new.load(&written.id).await.unwrap().is_some());
        // And one without the right key sees no session.
        let stranger = EncryptedStore::new(inner, SessionKey::generate());
        assert!(stranger.load(&written.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn tampered_moved_and_plaintext_records_read_as_no_session() {
        let inner = MemoryStore::default();
        let store = EncryptedStore::new(inner.clone(), SessionKey::generate());
        let mut victim = record("victim");
        store.create(&mut victim).await.unwrap();
        let sealed = inner.load(&victim.id).await.unwrap().unwrap();

        // Moved under another id (an attacker's own session).
        let mut moved = Record {
            id: Id::default(),
            ..sealed.clone()
        };
        inner.create(&mut moved).await.unwrap();
        assert!(store.load(&moved.id).await.unwrap().is_none());

        // One character changed.
        let text = sealed.data[SEALED_FIELD].as_str().unwrap().to_owned();
        let last = if text.ends_with('A') { "B" } else { "A" };
        let mut tampered = sealed.clone();
        tampered.data.insert(
            SEALED_FIELD.into(),
            format!("{}{last}", &text[..text.len() - 1]).into(),
        );
        inner.save(&tampered).await.unwrap();
        assert!(store.load(&victim.id).await.unwrap().is_none());

        // Plaintext, truncated, garbage.
        for data in [
            serde_json::json!({"logto.tokens": "plain"}),
            serde_json::json!({"sealed": "v1."}),
            serde_json::json!({"sealed": "v1.!!!"}),
            serde_json::json!({"sealed": 7}),
            serde_json::json!({"sealed": "v2.AAAA"}),
        ] {
            let record = Record {
                data: serde_json::from_value(data).unwrap(),
                ..sealed.clone()
            };
            inner.save(&record).await.unwrap();
            assert!(store.load(&victim.id).await.unwrap().is_none());
        }
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let bytes = [7u8; 32];
        let standard = STANDARD.encode(bytes);
        let url_safe = URL_SAFE_NO_PAD.encode(bytes);
        for encoded in [standard.as_str(), url_safe.as_str()] {
            let key = SessionKey::from_base64(encoded).unwrap();
            assert_eq!(*key.as_bytes(), bytes);
            assert_eq!(key.to_base64(), standard);
            assert!(
                !format!("{key:?}").contains(&standard[..8]),
                "never printed"
            );
        }
        let short = STANDARD.encode([1u8; 16]);
        let err = SessionKey::from_base64(&short).unwrap_err().to_string();
        assert!(err.contains("16 bytes long, not 32"), "{err}");
        assert!(SessionKey::from_base64("not base64 at all!").is_err());
    }
}
