//! [`SessionStorage`]: the [`logto::Storage`] of one visitor, over their tower-sessions session.
//!
//! The pending sign-in lives in the session itself. The tokens live in a record of their own in
//! the same store (the session holds its id), read from the store and written to it immediately:
//! the session middleware saves whole sessions at the end of each request, and a request that
//! loaded the session before another process rotated the refresh token would otherwise write the
//! spent token back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use logto::web::prefetch::{Prefetched, SLOT_KEY};
use logto::web::renewal::{self, RENEWED_AT};
use logto::{BoxError, Storage, StorageKey};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::{Session, SessionStore};

/// The session key holding the id of the token record.
pub(crate) const TOKENS_REF: &str = "logto.tokens_ref";
/// The field of the token record holding the tokens.
const TOKENS_FIELD: &str = "logto.tokens";

/// One visitor's [`Storage`]: their tower-sessions [`Session`] and, for the tokens, a record of
/// their own in the same store. Built by the [`Auth`](crate::Auth) extractor.
pub struct SessionStorage {
    session: Session,
    store: Arc<dyn SessionStore>,
    prefetched: Arc<Prefetched>,
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The tokens as last read or written by this request; `None`: read them from the store.
    tokens: Option<Option<Arc<String>>>,
    /// Whether the tokens read with the session were taken (or may no longer be used).
    prefetch_spent: bool,
    /// Whether the next tokens written go to a new record (see `tokens_to_new_record`).
    new_record: bool,
}

impl fmt::Debug for SessionStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStorage")
            .field("session_id", &self.session.id().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

impl SessionStorage {
    pub(crate) fn new(
        session: Session,
        store: Arc<dyn SessionStore>,
        prefetched: Arc<Prefetched>,
        ttl: Duration,
    ) -> Self {
        SessionStorage {
            session,
            store,
            prefetched,
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    /// The visitor's session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The id of the token record the session names, and that id as the session holds it.
    async fn named_record(&self) -> Result<Option<(Id, String)>, BoxError> {
        let raw: Option<String> = self.session.get(TOKENS_REF).await?;
        Ok(raw.and_then(|raw| Some((raw.parse().ok()?, raw))))
    }

    async fn tokens_ref(&self) -> Result<Option<Id>, BoxError> {
        Ok(self.named_record().await?.map(|(id, _)| id))
    }

    async fn load_tokens(&self) -> Result<Option<Arc<String>>, BoxError> {
        let cached = self.state().tokens.clone();
        if let Some(cached) = cached {
            return Ok(cached);
        }
        let tokens = match self.named_record().await? {
            Some((id, raw)) => match self.take_prefetched(&raw).await? {
                Some(tokens) => tokens,
                None => self.store.load(&id).await?.and_then(tokens_of),
            },
            None => None,
        }
        .map(Arc::new);
        self.state().tokens = Some(tokens.clone());
        Ok(tokens)
    }

    /// The tokens of record `raw_ref` (the id as the session holds it) read with the session
    /// (see `prefetch`), the first time only. The store parks only ids in their canonical form,
    /// which is the form the record is read and written under.
    async fn take_prefetched(&self, raw_ref: &str) -> Result<Option<Option<String>>, BoxError> {
        if std::mem::replace(&mut self.state().prefetch_spent, true) {
            return Ok(None);
        }
        let slot: Option<u64> = self.session.get(SLOT_KEY).await?;
        Ok(slot.and_then(|slot| self.prefetched.take(slot, raw_ref)))
    }

    /// The next tokens written (a sign-in's) go to a new token record, and the one the session
    /// named goes: a back-channel logout may have marked that one ended, which would end the new
    /// sign-in as soon as its tokens were written.
    pub(crate) fn tokens_to_new_record(&self) {
        self.state().new_record = true;
    }

    async fn save_tokens(&self, value: String) -> Result<(), BoxError> {
        // A TTL past the end of time (year 9999) saturates, as the session's own expiry does.
        let expiry_date = OffsetDateTime::now_utc().saturating_add(saturating_duration(self.ttl));
        let mut record = token_record(Id::default(), value.clone(), expiry_date);
        let new_record = std::mem::take(&mut self.state().new_record);
        let named = self.tokens_ref().await?;
        match named.filter(|_| !new_record) {
            Some(id) => {
                record.id = id;
                self.store.save(&record).await?;
                if crate::back_channel::was_ended(&self.store, id).await? {
                    // A back-channel logout ended the session while these tokens were on their
                    // way (a refresh or renewal that read them before): it stays ended.
                    self.store.delete(&id).await?;
                    self.state().tokens = Some(None);
                    return Ok(());
                }
            }
            None => {
                self.store.create(&mut record).await?;
                self.session
                    .insert(TOKENS_REF, record.id.to_string())
                    .await?;
                if let Some(replaced) = named {
                    self.store.delete(&replaced).await?;
                }
            }
        }
        self.state().tokens = Some(Some(Arc::new(value)));
        Ok(())
    }

    /// Whether the session is signed in and due for renewal (see [`renewal`]).
    pub(crate) async fn renewal_due(&self) -> Result<bool, BoxError> {
        let renewed_at: Option<serde_json::Value> = self.session.get(RENEWED_AT).await?;
        let renewed_at = renewed_at.as_ref().and_then(serde_json::Value::as_u64);
        if !renewal::is_due(renewed_at, renewal::now(), self.ttl) {
            return Ok(false);
        }
        Ok(self.named_record().await?.is_some())
    }

    /// After a sign-in or the tokens' renewal: lists this session's token record under the `sid`
    /// and `sub` of its ID token, for back-channel logout, and records the time as the session's
    /// last renewal, which changes the session, so it is written with a fresh expiry.
    pub(crate) async fn record_renewal(
        &self,
        sid: Option<&str>,
        sub: &str,
    ) -> Result<(), BoxError> {
        if let Some(tokens_ref) = self.tokens_ref().await? {
            crate::back_channel::index_session(&self.store, sid, sub, tokens_ref, self.ttl).await?;
        }
        self.session.insert(RENEWED_AT, renewal::now()).await?;
        Ok(())
    }

    async fn delete_tokens(&self) -> Result<(), BoxError> {
        if let Some(id) = self.tokens_ref().await? {
            self.store.delete(&id).await?;
            self.session.remove_value(TOKENS_REF).await?;
        }
        self.state().tokens = Some(None);
        Ok(())
    }
}

/// The tokens of `record` when it is a token record (the tokens and nothing else).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn token_record_text(record: &Record) -> Option<&str> {
    match record.data.get(TOKENS_FIELD) {
        Some(serde_json::Value::String(tokens)) if record.data.len() == 1 => Some(tokens),
        _ => None,
    }
}

/// The token record `id` holding `tokens`.
pub(crate) fn token_record(id: Id, tokens: String, expiry_date: OffsetDateTime) -> Record {
    Record {
        id,
        data: HashMap::from([(TOKENS_FIELD.to_owned(), tokens.into())]),
        expiry_date,
    }
}

/// The tokens held by a token record (the text is moved out of the record, not copied).
pub(crate) fn tokens_of(mut record: Record) -> Option<String> {
    match record.data.remove(TOKENS_FIELD) {
        Some(serde_json::Value::String(tokens)) => Some(tokens),
        _ => None,
    }
}

/// `ttl` as a `time` duration, saturating at its largest.
pub(crate) fn saturating_duration(ttl: Duration) -> tower_sessions::cookie::time::Duration {
    tower_sessions::cookie::time::Duration::try_from(ttl)
        .unwrap_or(tower_sessions::cookie::time::Duration::MAX)
}

impl Storage for SessionStorage {
    async fn get(&self, key: StorageKey) -> Result<Option<String>, BoxError> {
        match key {
            StorageKey::Tokens => Ok(self.load_tokens().await?.map(|tokens| tokens.to_string())),
            other => Ok(self.session.get(other.as_str()).await?),
        }
    }

    async fn get_shared(&self, key: StorageKey) -> Result<Option<Arc<String>>, BoxError> {
        match key {
            StorageKey::Tokens => self.load_tokens().await,
            other => Ok(self.get(other).await?.map(Arc::new)),
        }
    }

    async fn set(&self, key: StorageKey, value: String) -> Result<(), BoxError> {
        match key {
            StorageKey::Tokens => self.save_tokens(value).await,
            other => Ok(self.session.insert(other.as_str(), value).await?),
        }
    }

    async fn delete(&self, key: StorageKey) -> Result<(), BoxError> {
        match key {
            StorageKey::Tokens => self.delete_tokens().await,
            other => {
                self.session.remove_value(other.as_str()).await?;
                Ok(())
            }
        }
    }

    async fn get_latest(&self, key: StorageKey) -> Result<Option<String>, BoxError> {
        if key == StorageKey::Tokens {
            // Another process may have rotated the tokens since this request read them (or
            // since its session was loaded, with the tokens read alongside).
            let mut state = self.state();
            state.tokens = None;
            state.prefetch_spent = true;
        }
        self.get(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::MemoryStore;

    fn storage() -> SessionStorage {
        let store = Arc::new(MemoryStore::default());
        let session = Session::new(None, store.clone(), None);
        SessionStorage::new(session, store, Arc::default(), Duration::from_secs(60))
    }

    /// The tokens as `get_shared` hands them out.
    async fn shared(storage: &SessionStorage) -> Option<Arc<String>> {
        storage.get_shared(StorageKey::Tokens).await.unwrap()
    }

    #[tokio::test]
    async fn the_tokens_are_handed_out_shared_not_copied_and_agree_with_get() {
        let storage = storage();
        assert_eq!(shared(&storage).await, None);
        storage.set(StorageKey::Tokens, "v1".into()).await.unwrap();
        let (first, second) = (
            shared(&storage).await.unwrap(),
            shared(&storage).await.unwrap(),
        );
        assert!(Arc::ptr_eq(&first, &second), "the same text, not a copy");
        assert_eq!(&*first, "v1");
        let get = storage.get(StorageKey::Tokens).await.unwrap();
        assert_eq!(get.as_deref(), Some("v1"));
        // Read back from the store (the request's copy dropped): the same text.
        let latest = storage.get_latest(StorageKey::Tokens).await.unwrap();
        assert_eq!(latest.as_deref(), Some("v1"));
        storage.set(StorageKey::Tokens, "v2".into()).await.unwrap();
        assert_eq!(
            shared(&storage).await.as_deref().map(String::as_str),
            Some("v2")
        );
        storage.delete(StorageKey::Tokens).await.unwrap();
        assert_eq!(shared(&storage).await, None);
        assert_eq!(storage.get(StorageKey::Tokens).await.unwrap(), None);
    }
}
