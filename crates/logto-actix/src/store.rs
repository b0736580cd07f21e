//! Where the tokens live: [`TokenStore`] (records read and written the moment they change, never
//! in a cookie), and [`MemoryStore`] (that, plus actix-session's `SessionStore`, in this process's
//! memory).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as TimeDuration;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use logto::BoxFuture;

use crate::BoxError;

/// Records of their own for the tokens of each signed-in session (the session holds only the
/// record's id): read from the store and written to it immediately, so that a request that loaded
/// its session before another process rotated the refresh token never writes the spent one back.
///
/// [`MemoryStore`] and `RedisStore` (feature `redis`) implement it, together with actix-session's
/// `SessionStore`. Its methods return boxed futures ([`logto::BoxFuture`]), so that it can be
/// shared as `Arc<dyn TokenStore>`: implement them with `Box::pin(async move { … })`.
pub trait TokenStore: fmt::Debug + Send + Sync + 'static {
    /// The record `id`, if it exists and has not expired.
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>>;
    /// Writes the record `id`, expiring after `ttl`.
    fn save<'a>(
        &'a self,
        id: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
    /// Deletes the record `id`; deleting a missing record is not an error.
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BoxError>>;

    /// For a store that reads a session's token record together with the session (see
    /// [`logto::web::prefetch`]; `RedisStore` does): the record `id` as read with the session
    /// whose `logto.tokens_prefetched` value is `slot`, once. `Some(None)`: the record did not
    /// exist. `None` (the default): nothing was read alongside, read the record.
    fn take_prefetched(&self, slot: u64, id: &str) -> Option<Option<String>> {
        let _ = (slot, id);
        None
    }
}

/// 128 random bits (as many as tower-sessions' ids), base64url: session keys and record ids. Short,
/// so that the encrypted session cookie stays small.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A `time` duration as a std one (negative: zero).
pub(crate) fn std_duration(ttl: &TimeDuration) -> Duration {
    Duration::try_from(*ttl).unwrap_or(Duration::ZERO)
}

/// Sessions and token records in this process's memory: for development and single-process apps
/// (everything is lost when the process ends). Cheap to clone; clones share the records.
///
/// ```
/// use logto_actix::MemoryStore;
///
/// let store = MemoryStore::default();
/// assert_eq!(format!("{store:?}"), "MemoryStore { .. }");
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    records: Arc<Mutex<HashMap<String, (String, Instant)>>>,
    /// Calls since the last sweep of the expired records.
    calls: Arc<AtomicUsize>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    fn records(&self) -> MutexGuard<'_, HashMap<String, (String, Instant)>> {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // The expired records go once per as many calls as there are records (O(1) a call, not a
        // sweep of every record each time); `get` passes over one that expired meanwhile.
        let calls = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if calls >= records.len().max(64) {
            self.calls.store(0, Ordering::Relaxed);
            let now = Instant::now();
            records.retain(|_, (_, expires)| *expires > now);
        }
        records
    }

    fn get(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        self.records()
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(value, _)| value.clone())
    }

    fn put(&self, key: String, value: String, ttl: Duration) {
        let expires = Instant::now()
            .checked_add(ttl)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600));
        self.records().insert(key, (value, expires));
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        Box::pin(async move { Ok(self.get(&format!("record:{id}"))) })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.put(format!("record:{id}"), value.to_owned(), ttl);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.records().remove(&format!("record:{id}"));
            Ok(())
        })
    }
}

fn session_key(key: &SessionKey) -> String {
    format!("session:{}", key.as_ref())
}

fn new_key() -> SessionKey {
    SessionKey::try_from(random_id()).expect("a 22-character key")
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        match self.get(&session_key(key)) {
            Some(value) => serde_json::from_str(&value)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
            None => Ok(None),
        }
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, SaveError> {
        let value =
            serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = new_key();
        self.put(session_key(&key), value, std_duration(ttl));
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, UpdateError> {
        if self.get(&session_key(&key)).is_none() {
            // Expired meanwhile: a new key, as a new session.
            return SessionStore::save(self, state, ttl)
                .await
                .map_err(|e| match e {
                    SaveError::Serialization(e) => UpdateError::Serialization(e),
                    SaveError::Other(e) => UpdateError::Other(e),
                });
        }
        let value =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        self.put(session_key(&key), value, std_duration(ttl));
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &TimeDuration) -> anyhow::Result<()> {
        if let Some(value) = self.get(&session_key(key)) {
            self.put(session_key(key), value, std_duration(ttl));
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        self.records().remove(&session_key(key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_sessions_and_records_expire_and_keys_change() {
        let store = MemoryStore::default();
        let ttl = TimeDuration::minutes(5);
        let state = HashMap::from([("k".to_owned(), "\"v\"".to_owned())]);
        let key = SessionStore::save(&store, state.clone(), &ttl)
            .await
            .unwrap();
        assert_eq!(key.as_ref().len(), 22);
        let loaded = SessionStore::load(&store, &key).await.unwrap();
        assert_eq!(loaded.as_ref(), Some(&state));
        // A new key every save: an id is never reused.
        let other = SessionStore::save(&store, state.clone(), &ttl)
            .await
            .unwrap();
        assert_ne!(key.as_ref(), other.as_ref());
        SessionStore::delete(&store, &key).await.unwrap();
        assert!(SessionStore::load(&store, &key).await.unwrap().is_none());
        // Updating a session gone meanwhile makes a new one.
        let again = SessionStore::update(&store, key, state.clone(), &ttl)
            .await
            .unwrap();
        assert!(SessionStore::load(&store, &again).await.unwrap().is_some());

        TokenStore::save(&store, "r", "tokens", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            TokenStore::load(&store, "r").await.unwrap().as_deref(),
            Some("tokens")
        );
        TokenStore::save(&store, "gone", "tokens", Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(TokenStore::load(&store, "gone").await.unwrap(), None);
        TokenStore::delete(&store, "r").await.unwrap();
        assert_eq!(TokenStore::load(&store, "r").await.unwrap(), None);
    }
}
