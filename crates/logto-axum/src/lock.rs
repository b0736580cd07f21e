//! [`RefreshLock`]: the cross-process lock around token refreshes.

use std::fmt;

use crate::BoxError;

/// An exclusive lock shared by every process of the app, taken around a token refresh so that two
/// processes never spend the same refresh token (Logto rotates a traditional web app's refresh
/// token once past 70 % of its lifetime, and revokes the whole grant when a rotated-out refresh
/// token is used again more than 3 seconds later).
///
/// `RedisStore` (feature `redis`) implements it. Within one process the
/// [`LogtoClient`](logto::LogtoClient) already runs one refresh at a time per session, so an app
/// running as a single process needs none.
///
/// ```
/// use logto_axum::{BoxError, RefreshLock};
///
/// /// A lock for one process only (what the client already does itself).
/// #[derive(Debug)]
/// struct NoLock;
///
/// #[logto_axum::async_trait]
/// impl RefreshLock for NoLock {
///     async fn lock(&self, _name: &str) -> Result<String, BoxError> {
///         Ok(String::new())
///     }
///     async fn unlock(&self, _name: &str, _token: &str) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait RefreshLock: fmt::Debug + Send + Sync + 'static {
    /// Takes the lock `name`, waiting (for a bounded time, then failing) while another holder has
    /// it, and returns a token identifying this holder. A hold must expire on its own after a
    /// while, so that a crashed process does not block the session forever.
    async fn lock(&self, name: &str) -> Result<String, BoxError>;

    /// Releases the lock `name` if `token` (from [`lock`](RefreshLock::lock)) still holds it.
    async fn unlock(&self, name: &str, token: &str) -> Result<(), BoxError>;
}
