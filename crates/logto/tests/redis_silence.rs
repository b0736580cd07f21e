//! The Redis building blocks of `logto::web` fail after `REDIS_COMMAND_TIMEOUT` when Redis stops
//! answering, whatever the connection they are given allows (here: no timeout at all), instead
//! of holding a request, and a session's refresh, forever; a lock taken by a command whose answer
//! never came is released.
#![cfg(feature = "redis")]

use std::time::Duration;

use logto::web::REDIS_COMMAND_TIMEOUT;
use logto::web::prefetch::{RecordHints, load_with_tokens};
use logto::web::redis_lock;
use logto_test_support::Redis;

#[tokio::test]
async fn a_silent_redis_fails_each_command_instead_of_hanging() {
    let redis = Redis::start().await;
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    // The connection manager's defaults: no response timeout.
    let connection = redis::aio::ConnectionManager::new(client).await.unwrap();
    let held = redis_lock::lock(&connection, "held".into(), Duration::from_secs(60))
        .await
        .unwrap();

    // For the next 8 seconds Redis takes commands and answers none of them (then it runs them).
    redis.reset_stats().await;
    redis.cli(&["CLIENT", "PAUSE", "8000", "ALL"]).await;
    let hints = RecordHints::default();
    let (load, release, lock) = tokio::join!(
        load_with_tokens(
            &connection,
            &hints,
            "session",
            "record:",
            "\"id\":\"([%w_-]+)\""
        ),
        held.release(),
        redis_lock::lock(&connection, "free".into(), Duration::from_secs(60)),
    );
    let silent = format!("did not answer within {REDIS_COMMAND_TIMEOUT:?}");
    let error = load.map(|_| ()).unwrap_err().to_string();
    assert!(error.contains(&silent), "{error}");
    let error = release.unwrap_err().to_string();
    assert!(error.contains(&silent), "{error}");
    // Not after the whole wait for the lock (its TTL plus 5 seconds): Redis's silence ends it.
    let error = lock.map(|_| ()).unwrap_err().to_string();
    assert!(error.contains(&silent), "{error}");

    // Redis answers again and runs what it was sent: the `SET` that took the lock "free" for a
    // caller that gave up on it, then the release sent after it on the same connection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while redis.command_calls(&["set"]).await == 0
        || redis.cli(&["EXISTS", "free"]).await.trim() != "0"
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lock taken by a SET whose answer never came is left held"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
