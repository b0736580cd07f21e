//! The Redis commands of the refresh lock: `SET NX PX` to take it, a script to release it.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script, SetExpiry, SetOptions};

use crate::BoxError;

/// Deletes the lock only if this holder still has it.
const UNLOCK: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// The longest hold Redis is asked for (a year): the TTL the client derives from its timeouts is
/// far shorter.
const MAX_TTL_MS: u64 = 365 * 24 * 3600 * 1000;

/// Takes the lock `key` for `token`, expiring after `ttl`, waiting while another holder has it.
pub(crate) async fn acquire(
    connection: &ConnectionManager,
    key: &str,
    token: &str,
    ttl: Duration,
) -> Result<(), BoxError> {
    let millis = u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS);
    let options = SetOptions::default()
        .conditional_set(redis::ExistenceCheck::NX)
        .with_expiration(SetExpiry::PX(millis));
    logto::web::take_lock(key, ttl, || {
        let mut connection = connection.clone();
        async move {
            let taken: Option<String> = connection.set_options(key, token, options).await?;
            Ok(taken.is_some())
        }
    })
    .await
}

/// Releases the lock `key` if `token` still holds it.
pub(crate) async fn release(
    mut connection: ConnectionManager,
    key: String,
    token: String,
) -> Result<(), BoxError> {
    let _: i64 = Script::new(UNLOCK)
        .key(key)
        .arg(token)
        .invoke_async(&mut connection)
        .await?;
    Ok(())
}
