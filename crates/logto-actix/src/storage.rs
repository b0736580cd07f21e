//! [`SessionStorage`]: the [`logto::Storage`] of one visitor.
//!
//! The pending sign-ins live in the visitor's actix-session session; the tokens in a record of
//! their own in the [`TokenStore`] (the session holds its id), read and written immediately.
//! actix-session's `Session` lives on one thread, while the client's storage must be `Send`: the
//! storage works on a copy of the session's values, and the [`Logto`](crate::Logto) middleware
//! writes the changed values back into the session before actix-session saves it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use logto::web::renewal::{self, RENEWED_AT};
use logto::{BoxError, Storage, StorageKey};

use crate::store::{TokenStore, random_id};

/// The session key holding the id of the token record.
pub(crate) const TOKENS_REF: &str = "logto.tokens_ref";

/// One visitor's [`Storage`]; built by the [`Auth`](crate::Auth) extractor.
pub struct SessionStorage {
    tokens: Arc<dyn TokenStore>,
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The session's values this storage uses, as read from the session and changed since.
    values: HashMap<&'static str, String>,
    /// The values changed since the last write-back: `None` = removed.
    changed: HashMap<&'static str, Option<String>>,
    /// The tokens as last read or written by this request; `None`: read them from the store.
    tokens: Option<Option<Arc<String>>>,
    /// The slot of the tokens read with the session, until taken (or no longer usable).
    prefetch_slot: Option<u64>,
    /// Whether the next tokens written go to a new record (see `tokens_to_new_record`).
    new_record: bool,
}

impl fmt::Debug for SessionStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStorage").finish_non_exhaustive()
    }
}

/// The session keys the storage copies.
pub(crate) const SESSION_KEYS: [&str; 3] = [TOKENS_REF, "logto.sign_in_session", RENEWED_AT];

fn session_key(key: StorageKey) -> &'static str {
    key.as_str()
}

impl SessionStorage {
    /// `prefetch_slot`: the session's `logto.tokens_prefetched` (see
    /// [`TokenStore::take_prefetched`]).
    pub(crate) fn new(
        values: HashMap<&'static str, String>,
        prefetch_slot: Option<u64>,
        tokens: Arc<dyn TokenStore>,
        ttl: Duration,
    ) -> Self {
        SessionStorage {
            tokens,
            ttl,
            state: Mutex::new(State {
                values,
                prefetch_slot,
                ..State::default()
            }),
        }
    }

    /// Whether the session is signed in and due for renewal (see [`renewal`]).
    pub(crate) fn renewal_due(&self) -> bool {
        let state = self.state();
        let renewed_at = state.values.get(RENEWED_AT).and_then(|at| at.parse().ok());
        renewal::is_due(renewed_at, renewal::now(), self.ttl)
            && state.values.contains_key(TOKENS_REF)
    }

    /// After a sign-in or the tokens' renewal: lists this session's token record under the `sid`
    /// and `sub` of its ID token, for back-channel logout, and records the time as the session's
    /// last renewal, which changes the session, so it is written with a fresh expiry.
    pub(crate) async fn record_renewal(
        &self,
        sid: Option<&str>,
        sub: &str,
    ) -> Result<(), BoxError> {
        if let Some(tokens_ref) = self.tokens_ref() {
            crate::back_channel::index_session(
                self.tokens.as_ref(),
                sid,
                sub,
                &tokens_ref,
                self.ttl,
            )
            .await?;
        }
        self.set_value(RENEWED_AT, Some(renewal::now().to_string()));
        Ok(())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session values changed since the last call, to write into the session.
    pub(crate) fn take_changes(&self) -> HashMap<&'static str, Option<String>> {
        std::mem::take(&mut self.state().changed)
    }

    fn set_value(&self, key: &'static str, value: Option<String>) {
        let mut state = self.state();
        match &value {
            Some(value) => state.values.insert(key, value.clone()),
            None => state.values.remove(key),
        };
        state.changed.insert(key, value);
    }

    pub(crate) fn tokens_ref(&self) -> Option<String> {
        self.state().values.get(TOKENS_REF).cloned()
    }

    async fn load_tokens(&self) -> Result<Option<Arc<String>>, BoxError> {
        let cached = self.state().tokens.clone();
        if let Some(cached) = cached {
            return Ok(cached);
        }
        let slot = self.state().prefetch_slot.take();
        let tokens = match self.tokens_ref() {
            Some(id) => match slot.and_then(|slot| self.tokens.take_prefetched(slot, &id)) {
                Some(tokens) => tokens,
                None => self.tokens.load(&id).await?,
            },
            None => None,
        }
        .map(Arc::new);
        self.state().tokens = Some(tokens.clone());
        Ok(tokens)
    }

    /// The next tokens written (a sign-in's) go to a new token record, and the one the session
    /// named goes: a back-channel logout may have marked that one ended, which would end the new
    /// sign-in as soon as its tokens were written.
    pub(crate) fn tokens_to_new_record(&self) {
        self.state().new_record = true;
    }

    async fn save_tokens(&self, value: String) -> Result<(), BoxError> {
        let new_record = std::mem::take(&mut self.state().new_record);
        let named = self.tokens_ref();
        let (id, rewrite) = match named.clone().filter(|_| !new_record) {
            Some(id) => (id, true),
            None => {
                let id = random_id();
                self.set_value(TOKENS_REF, Some(id.clone()));
                (id, false)
            }
        };
        self.tokens.save(&id, &value, self.ttl).await?;
        if let Some(replaced) = named.filter(|_| new_record) {
            self.tokens.delete(&replaced).await?;
        }
        if rewrite && crate::back_channel::was_ended(self.tokens.as_ref(), &id).await? {
            // A back-channel logout ended the session while these tokens were on their way (a
            // refresh or renewal that read them before): it stays ended.
            self.tokens.delete(&id).await?;
            self.state().tokens = Some(None);
            return Ok(());
        }
        self.state().tokens = Some(Some(Arc::new(value)));
        Ok(())
    }

    async fn delete_tokens(&self) -> Result<(), BoxError> {
        if let Some(id) = self.tokens_ref() {
            self.tokens.delete(&id).await?;
            self.set_value(TOKENS_REF, None);
        }
        self.state().tokens = Some(None);
        Ok(())
    }
}

impl Storage for SessionStorage {
    async fn get(&self, key: StorageKey) -> Result<Option<String>, BoxError> {
        match key {
            StorageKey::Tokens => Ok(self.load_tokens().await?.map(|tokens| tokens.to_string())),
            other => Ok(self.state().values.get(session_key(other)).cloned()),
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
            other => {
                self.set_value(session_key(other), Some(value));
                Ok(())
            }
        }
    }

    async fn delete(&self, key: StorageKey) -> Result<(), BoxError> {
        match key {
            StorageKey::Tokens => self.delete_tokens().await,
            other => {
                self.set_value(session_key(other), None);
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
            state.prefetch_slot = None;
        }
        self.get(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn storage() -> SessionStorage {
        let tokens = Arc::new(MemoryStore::default());
        SessionStorage::new(HashMap::new(), None, tokens, Duration::from_secs(60))
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
