//! A [`RefreshLock`](crate::RefreshLock) on a Redis server (feature `redis`): `SET key token NX PX
//! ttl` to take it, a script that deletes the key only for its holder to release it.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script, SetExpiry, SetOptions};

use crate::error::BoxError;
use crate::lock::LockGuard;

/// Deletes the lock only if this holder still has it.
const UNLOCK: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// The longest hold Redis is asked for (a year): the TTL the client derives from its timeouts is
/// far shorter.
const MAX_TTL_MS: u64 = 365 * 24 * 3600 * 1000;

/// Takes the lock `key` on the Redis server behind `connection`, expiring after `ttl`, waiting
/// (as [`take_lock`](super::take_lock) does) while another holder has it. The guard releases it,
/// only if this holder still has it. What a session store on Redis returns from
/// [`RefreshLock::lock`](crate::RefreshLock::lock), with its own key prefix:
///
/// ```no_run
/// use std::time::Duration;
/// # async fn run(connection: redis::aio::ConnectionManager) -> Result<(), logto::BoxError> {
/// let guard = logto::web::redis_lock::lock(&connection, "app:lock:session-1".into(), Duration::from_secs(55)).await?;
/// // … refresh …
/// guard.release().await?;
/// # Ok(()) }
/// ```
///
/// Each command is bounded by [`REDIS_COMMAND_TIMEOUT`](super::REDIS_COMMAND_TIMEOUT); the wait
/// for the lock by `ttl` plus 5 seconds.
///
/// # Errors
/// Redis's error or silence, or the lock was not free after `ttl` plus 5 seconds.
pub async fn lock(
    connection: &ConnectionManager,
    key: String,
    ttl: Duration,
) -> Result<LockGuard, BoxError> {
    let token = crate::protocol::random::random_string(16);
    let millis = u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS);
    let options = SetOptions::default()
        .conditional_set(redis::ExistenceCheck::NX)
        .with_expiration(SetExpiry::PX(millis));
    let taken = super::take_lock(&key, ttl, || {
        let mut connection = connection.clone();
        let (key, token) = (&key, &token);
        async move {
            let taken: Option<String> =
                super::redis_command(connection.set_options(key, token, options)).await?;
            Ok(taken.is_some())
        }
    })
    .await;
    if let Err(error) = taken {
        // A `SET` whose answer never came may have taken the lock all the same: free it (if it
        // is ours) rather than leave the session's refreshes waiting for its TTL.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(unlock(connection.clone(), key, token));
        }
        return Err(error);
    }
    Ok(LockGuard::new(unlock(connection.clone(), key, token)))
}

/// Deletes the lock `key` if `token` holds it.
async fn unlock(
    mut connection: ConnectionManager,
    key: String,
    token: String,
) -> Result<(), BoxError> {
    let script = Script::new(UNLOCK);
    let mut unlock = script.key(key);
    unlock.arg(token);
    let _: i64 = super::redis_command(unlock.invoke_async(&mut connection)).await?;
    Ok(())
}
