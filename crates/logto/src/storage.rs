//! Where a client keeps one user's sign-in state: the [`Storage`] trait and [`MemoryStorage`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::error::BoxError;

/// The values a [`LogtoClient`](crate::LogtoClient) keeps in its storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageKey {
    /// The pending sign-ins (PKCE verifier, state, nonce, redirect URI of each), between
    /// `sign_in` and `handle_sign_in_callback`.
    SignInSession,
    /// The signed-in session: ID token, refresh token and cached access tokens, in one value so
    /// that a refresh replaces them all at once.
    Tokens,
}

impl StorageKey {
    /// The key as a string, for stores keyed by strings.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKey::SignInSession => "logto.sign_in_session",
            StorageKey::Tokens => "logto.tokens",
        }
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One user's storage: string values under a few [`StorageKey`]s. Implement it over your session
/// store (cookie session, Redis, a database row); the values hold tokens, so keep them
/// server-side or encrypted. It is a plain key-value store: the lock that keeps several processes
/// from refreshing one session at once is a [`RefreshLock`](crate::RefreshLock) of its own.
///
/// A storage is `'static` (it owns its data, or shares it through an `Arc`): a refresh runs in a
/// task of its own, sharing the client's storage, so that it completes even when its caller is
/// dropped.
///
/// Implementations use plain `async fn`s:
///
/// ```
/// use logto::{BoxError, Storage, StorageKey};
/// use std::collections::HashMap;
/// use tokio::sync::Mutex;
///
/// #[derive(Default)]
/// struct MyStore(Mutex<HashMap<StorageKey, String>>);
///
/// impl Storage for MyStore {
///     async fn get(&self, key: StorageKey) -> Result<Option<String>, BoxError> {
///         Ok(self.0.lock().await.get(&key).cloned())
///     }
///     async fn set(&self, key: StorageKey, value: String) -> Result<(), BoxError> {
///         self.0.lock().await.insert(key, value);
///         Ok(())
///     }
///     async fn delete(&self, key: StorageKey) -> Result<(), BoxError> {
///         self.0.lock().await.remove(&key);
///         Ok(())
///     }
/// }
/// ```
pub trait Storage: Send + Sync + 'static {
    /// The value under `key`, if any.
    fn get(&self, key: StorageKey)
    -> impl Future<Output = Result<Option<String>, BoxError>> + Send;
    /// Stores `value` under `key`, replacing any previous value.
    fn set(
        &self,
        key: StorageKey,
        value: String,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
    /// Removes the value under `key`; removing a missing key is not an error.
    fn delete(&self, key: StorageKey) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The value under `key` as the back end holds it now, bypassing any copy this storage kept.
    /// The client reads the tokens this way once it holds the session's refresh lock, since
    /// another process may have just rotated them; later [`get`](Storage::get)s must return it
    /// too. The default calls `get`, right for a storage that keeps no copy.
    fn get_latest(
        &self,
        key: StorageKey,
    ) -> impl Future<Output = Result<Option<String>, BoxError>> + Send {
        self.get(key)
    }

    /// The value under `key`, shared rather than copied. The client reads the session tokens (a
    /// few kilobytes) this way, several times a request: a storage that keeps its own copy for
    /// the request can keep it as an `Arc<String>` and hand it out without copying it each time
    /// (an `Arc<String>` takes the `String` as it is, where an `Arc<str>` would copy the text).
    /// It returns what [`get`](Storage::get) would; the default calls `get`.
    fn get_shared(
        &self,
        key: StorageKey,
    ) -> impl Future<Output = Result<Option<Arc<String>>, BoxError>> + Send {
        async move { Ok(self.get(key).await?.map(Arc::new)) }
    }
}

/// A storage in memory, owned by one client (one user). Nothing is shared between two
/// `MemoryStorage` values, so two clients can never see each other's tokens.
///
/// ```
/// use logto::{MemoryStorage, Storage, StorageKey};
/// # tokio_test_block_on(async {
/// let storage = MemoryStorage::new();
/// storage.set(StorageKey::Tokens, "v".into()).await.unwrap();
/// assert_eq!(storage.get(StorageKey::Tokens).await.unwrap().as_deref(), Some("v"));
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Default)]
pub struct MemoryStorage {
    values: Mutex<HashMap<StorageKey, String>>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<StorageKey> = self
            .values
            .lock()
            .map(|values| values.keys().copied().collect())
            .unwrap_or_default();
        f.debug_struct("MemoryStorage")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl Storage for MemoryStorage {
    async fn get(&self, key: StorageKey) -> Result<Option<String>, BoxError> {
        Ok(self.lock()?.get(&key).cloned())
    }

    async fn set(&self, key: StorageKey, value: String) -> Result<(), BoxError> {
        self.lock()?.insert(key, value);
        Ok(())
    }

    async fn delete(&self, key: StorageKey) -> Result<(), BoxError> {
        self.lock()?.remove(&key);
        Ok(())
    }
}

impl MemoryStorage {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<StorageKey, String>>, BoxError> {
        self.values
            .lock()
            .map_err(|_| "the memory storage lock was poisoned by a panic".into())
    }
}

/// A storage shared behind an `Arc` (e.g. one handed to several clients of the same user) is a
/// storage too.
impl<S: Storage> Storage for Arc<S> {
    fn get(
        &self,
        key: StorageKey,
    ) -> impl Future<Output = Result<Option<String>, BoxError>> + Send {
        (**self).get(key)
    }
    fn set(
        &self,
        key: StorageKey,
        value: String,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        (**self).set(key, value)
    }
    fn delete(&self, key: StorageKey) -> impl Future<Output = Result<(), BoxError>> + Send {
        (**self).delete(key)
    }
    fn get_latest(
        &self,
        key: StorageKey,
    ) -> impl Future<Output = Result<Option<String>, BoxError>> + Send {
        (**self).get_latest(key)
    }
    fn get_shared(
        &self,
        key: StorageKey,
    ) -> impl Future<Output = Result<Option<Arc<String>>, BoxError>> + Send {
        (**self).get_shared(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn get_shared_returns_what_get_returns_by_default_and_through_an_arc() {
        let storage = Arc::new(MemoryStorage::new());
        assert_eq!(storage.get_shared(StorageKey::Tokens).await.unwrap(), None);
        storage
            .set(StorageKey::Tokens, "tokens".into())
            .await
            .unwrap();
        let shared = storage.get_shared(StorageKey::Tokens).await.unwrap();
        assert_eq!(shared.as_deref().map(String::as_str), Some("tokens"));
        assert_eq!(
            storage.get(StorageKey::Tokens).await.unwrap().as_deref(),
            shared.as_deref().map(String::as_str)
        );
    }
}
