//! [`RefreshLock`]: the lock that keeps several processes from refreshing one session at once, and
//! its [`LockGuard`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::BoxError;

/// A boxed, `Send` future: what [`RefreshLock`]'s methods return, so that the trait can be used
/// as `Arc<dyn RefreshLock>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many requests to Logto a refresh makes at most: discovery (when not cached yet), the token
/// request, and Logto's keys to verify the new ID token (fetched, then fetched again once for an
/// unknown key id).
const REQUESTS_PER_REFRESH: u32 = 4;
/// Time for what a refresh does besides requests to Logto: reading and writing the storage.
const LOCK_MARGIN: Duration = Duration::from_secs(15);

/// How long a refresh lock is held at most: every request of a refresh taking its whole
/// `http_timeout`, plus a margin for the storage. A refresh ends (by its timeouts) before its lock
/// expires, so a lock that expired belongs to a holder that crashed.
pub(crate) fn refresh_lock_ttl(http_timeout: Duration) -> Duration {
    http_timeout
        .saturating_mul(REQUESTS_PER_REFRESH)
        .saturating_add(LOCK_MARGIN)
}

/// An exclusive lock shared by every process of an app, taken around a token refresh so that two
/// processes never spend the same refresh token (Logto rotates a traditional web app's refresh
/// token once past 70 % of its lifetime, and revokes the whole grant when a rotated-out refresh
/// token is used again more than 3 seconds later).
///
/// Give one to [`LogtoClient::with_refresh_lock`](crate::LogtoClient::with_refresh_lock) (the
/// framework adapters take it in their builders). Within one process the client already runs one
/// refresh at a time per session, so an app running as a single process needs none.
///
/// Implementations return boxed futures, so that the lock can be shared as
/// `Arc<dyn RefreshLock>`:
///
/// ```
/// use std::time::Duration;
/// use logto::{BoxError, BoxFuture, LockGuard, RefreshLock};
///
/// /// A lock for one process only (what the client already does itself).
/// #[derive(Debug)]
/// struct NoLock;
///
/// impl RefreshLock for NoLock {
///     fn lock<'a>(
///         &'a self,
///         name: &'a str,
///         ttl: Duration,
///     ) -> BoxFuture<'a, Result<LockGuard, BoxError>> {
///         Box::pin(async move {
///             // Take `name` for at most `ttl` here; release it in the guard's future.
///             let _ = (name, ttl);
///             Ok(LockGuard::new(async { Ok(()) }))
///         })
///     }
/// }
/// ```
pub trait RefreshLock: fmt::Debug + Send + Sync + 'static {
    /// Takes the lock `name`, waiting (for a bounded time, then failing) while another holder has
    /// it, and returns the guard that releases it. The hold must expire on its own after `ttl`, so
    /// that a crashed process does not block the session for longer; the client derives `ttl`
    /// from its HTTP timeout so that a refresh always ends before its lock expires.
    fn lock<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LockGuard, BoxError>>;
}

impl<L: RefreshLock + ?Sized> RefreshLock for Arc<L> {
    fn lock<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LockGuard, BoxError>> {
        (**self).lock(name, ttl)
    }
}

/// A held [`RefreshLock`]: [`release`](Self::release) it; dropped unreleased, it releases itself
/// on the current tokio runtime (in a task of its own), or, outside one, leaves the hold to expire
/// after its TTL.
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    release: Option<BoxFuture<'static, Result<(), BoxError>>>,
}

impl LockGuard {
    /// A guard whose release runs `release` (a future that does nothing until awaited).
    pub fn new(release: impl Future<Output = Result<(), BoxError>> + Send + 'static) -> Self {
        LockGuard {
            release: Some(Box::pin(release)),
        }
    }

    /// Releases the lock.
    pub async fn release(mut self) -> Result<(), BoxError> {
        match self.release.take() {
            Some(release) => release.await,
            None => Ok(()),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(release) = self.release.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = release.await {
                        tracing::warn!(%error, "could not release a refresh lock; it expires on its own");
                    }
                });
            }
            Err(_) => {
                tracing::warn!("a refresh lock dropped outside a tokio runtime expires on its own")
            }
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("held", &self.release.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_lock_outlives_every_request_of_a_refresh() {
        assert_eq!(
            refresh_lock_ttl(Duration::from_secs(10)),
            Duration::from_secs(55)
        );
        let timeout = Duration::from_millis(2500);
        assert!(refresh_lock_ttl(timeout) >= timeout * REQUESTS_PER_REFRESH + LOCK_MARGIN);
        assert_eq!(refresh_lock_ttl(Duration::MAX), Duration::MAX);
    }

    #[tokio::test]
    async fn a_guard_releases_once_explicitly_or_when_dropped() {
        let released = Arc::new(AtomicUsize::new(0));
        let guard = |released: &Arc<AtomicUsize>| {
            let released = released.clone();
            LockGuard::new(async move {
                released.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        };
        guard(&released).release().await.unwrap();
        assert_eq!(released.load(Ordering::SeqCst), 1);

        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let released_too = released.clone();
        drop(LockGuard::new(async move {
            released_too.fetch_add(1, Ordering::SeqCst);
            let _ = done.send(());
            Ok(())
        }));
        finished.await.unwrap();
        assert_eq!(released.load(Ordering::SeqCst), 2);
    }
}
