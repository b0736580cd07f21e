//! Sessions shared by several app instances through one Redis server: the Redis store, its lock,
//! and refreshes racing across instances against the test IdP, for what the real Logto does not
//! do (a refresh token rotated on every use with no grace for a reuse, a token response held
//! while the request is dropped). The same against the real Logto, for every integration, is in
//! logto-test-support's `web_scenarios`, run by `real_logto.rs`.
//!
//! Each app instance here has its own `LogtoConfig` (so its own in-process refresh coordination,
//! discovery cache and HTTP pool) and its own Redis connection: the only thing two instances
//! share is Redis, exactly as with two processes. (The sample app's tests run real processes.)

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration as StdDuration, Instant};

use futures_util::future::join_all;
use logto_axum::{RedisStore, RefreshLock};
use logto_test_support::web_scenarios::idp as idp_scenarios;
use logto_test_support::{ALICE, Browser, Redis, TestIdp, sets_cookie_for, signed_in_sessions};
use serde_json::{Value, json};
use support::{App, config, start_app};
use tower_sessions::SessionStore;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};

async fn redis_app(idp: &TestIdp, redis: &Redis) -> App {
    let store = RedisStore::connect(&redis.url).await.unwrap();
    let lock = store.clone();
    start_app(config(idp), store, move |builder| {
        builder.refresh_lock(lock)
    })
    .await
}

/// Two app instances sharing one Redis server, and Alice signed in through the first: a browser
/// on each instance, both holding her one session.
async fn alice_on_two_instances(
    idp_settings: Value,
) -> (TestIdp, Redis, (App, Browser), (App, Browser)) {
    let idp = TestIdp::start_with(idp_settings).await;
    let redis = Redis::start().await;
    let (a, b) = (redis_app(&idp, &redis).await, redis_app(&idp, &redis).await);
    let on_a = Browser::new();
    assert_eq!(a.sign_in(&on_a, &idp, ALICE).await, "/");
    let on_b = on_a.with_cookies_for(&a.base_url, &b.base_url);
    (idp, redis, (a, on_a), (b, on_b))
}

#[tokio::test]
async fn redis_store_keeps_records_until_they_expire() {
    let redis = Redis::start().await;
    let store = RedisStore::connect(&redis.url).await.unwrap();
    let other = RedisStore::connect(&redis.url).await.unwrap();

    let mut record = Record {
        id: Id::default(),
        data: [("k".to_owned(), json!("v"))].into_iter().collect(),
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    };
    let planned = record.id;
    store.create(&mut record).await.unwrap();
    assert_eq!(record.id, planned);
    assert_eq!(other.load(&record.id).await.unwrap(), Some(record.clone()));

    record.data.insert("k".into(), json!("w"));
    store.save(&record).await.unwrap();
    assert_eq!(
        other.load(&record.id).await.unwrap().unwrap().data["k"],
        "w"
    );

    // Creating over an existing id picks another one.
    let mut clash = record.clone();
    store.create(&mut clash).await.unwrap();
    assert_ne!(clash.id, record.id);

    store.delete(&record.id).await.unwrap();
    assert_eq!(other.load(&record.id).await.unwrap(), None);

    let mut expired = clash.clone();
    expired.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.save(&expired).await.unwrap();
    assert_eq!(other.load(&expired.id).await.unwrap(), None);

    // Keys are prefixed: another app on the same Redis sees nothing.
    let prefixed = RedisStore::connect(&redis.url)
        .await
        .unwrap()
        .with_prefix("other-app:");
    assert_eq!(prefixed.load(&clash.id).await.unwrap(), None);
}

#[tokio::test]
async fn redis_store_keeps_token_records_unnested_and_reads_older_ones() {
    let redis = Redis::start().await;
    let store = RedisStore::connect(&redis.url).await.unwrap();
    let mut connection = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // A token record: the tokens alone (Redis keeps whole seconds of its expiry).
    let tokens = r#"{"id_token":"a.b.c","access_tokens":{"k":{"token":"x\"y"}}}"#;
    let expiry_date = OffsetDateTime::from_unix_timestamp(
        (OffsetDateTime::now_utc() + Duration::hours(1)).unix_timestamp(),
    )
    .unwrap();
    let mut record = Record {
        id: Id::default(),
        data: [("logto.tokens".to_owned(), json!(tokens))]
            .into_iter()
            .collect(),
        expiry_date,
    };
    store.create(&mut record).await.unwrap();
    let key = format!("logto:session:{}", record.id);
    let stored: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        stored,
        format!("tokens:{}:{tokens}", expiry_date.unix_timestamp()),
        "the tokens as they are, not escaped into a JSON record"
    );
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record.clone()));

    // A token record written as JSON by an earlier version still loads.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(serde_json::to_string(&record).unwrap())
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record.clone()));

    // An expired one is gone; a damaged one is an error, not a panic.
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(format!(
            "tokens:{}:{tokens}",
            OffsetDateTime::now_utc().unix_timestamp() - 1
        ))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
    for damaged in [
        "tokens:",
        "tokens:soon:{}",
        "tokens:99999999999999999999:{}",
    ] {
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(damaged)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(store.load(&record.id).await.is_err(), "{damaged}");
    }
}

#[tokio::test]
async fn redis_lock_is_exclusive_across_connections() {
    let redis = Redis::start().await;
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(RedisStore::connect(&redis.url).await.unwrap());
    }
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let tasks = (0..16).map(|i| {
        let store = stores[i % stores.len()].clone();
        let (inside, most) = (inside.clone(), most.clone());
        tokio::spawn(async move {
            let guard = store.lock("refresh:s1", TTL).await.unwrap();
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // A round trip to Redis while holding the lock, as a refresh would.
            let _ = store.load(&Id::default()).await.unwrap();
            inside.fetch_sub(1, Ordering::SeqCst);
            guard.release().await.unwrap();
        })
    });
    for task in join_all(tasks).await {
        task.unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 1);

    // Other names are independent; a dropped guard releases its lock.
    let guard = stores[0].lock("refresh:s2", TTL).await.unwrap();
    let other = stores[1].lock("refresh:s3", TTL).await.unwrap();
    other.release().await.unwrap();
    drop(guard);
    let start = Instant::now();
    let again = stores[1].lock("refresh:s2", TTL).await.unwrap();
    assert!(
        start.elapsed() < StdDuration::from_secs(5),
        "released on drop"
    );
    again.release().await.unwrap();
}

/// A TTL far longer than these tests take.
const TTL: StdDuration = StdDuration::from_secs(60);

#[tokio::test]
async fn a_redis_lock_expires_after_the_ttl_given() {
    let redis = Redis::start().await;
    let (a, b) = (
        RedisStore::connect(&redis.url).await.unwrap(),
        RedisStore::connect(&redis.url).await.unwrap(),
    );
    let ttl = StdDuration::from_millis(400);
    let start = Instant::now();
    let held = a.lock("refresh:s", ttl).await.unwrap();
    // A holder that crashed: its lock is never released, and expires after its TTL.
    std::mem::forget(held);
    let guard = b.lock("refresh:s", TTL).await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= StdDuration::from_millis(350), "{waited:?}");
    assert!(waited < StdDuration::from_secs(5), "{waited:?}");
    // Released (the release of a stale holder, were it to come, would not touch it).
    guard.release().await.unwrap();
    let start = Instant::now();
    a.lock("refresh:s", TTL)
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    assert!(start.elapsed() < StdDuration::from_secs(5));
}

#[tokio::test]
async fn a_session_moves_between_instances_and_both_see_rotations() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(true)).await;
    let (a, b) = (a.instance(), b.instance());
    idp_scenarios::a_session_moves_between_instances_and_both_see_rotations(
        &idp,
        (&a, &on_a),
        (&b, &on_b),
    )
    .await;
}

#[tokio::test]
async fn racing_refreshes_with_rotation_reach_the_idp_once() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(false)).await;
    let (a, b) = (a.instance(), b.instance());
    idp_scenarios::racing_refreshes_with_rotation_reach_the_idp_once(
        &idp,
        (&a, &on_a),
        (&b, &on_b),
    )
    .await;
}

#[tokio::test]
async fn always_expired_tokens_refresh_in_turn_without_reuse() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(true)).await;
    let (a, b) = (a.instance(), b.instance());
    idp_scenarios::always_expired_tokens_refresh_in_turn_without_reuse(
        &idp,
        (&a, &on_a),
        (&b, &on_b),
    )
    .await;
}

#[tokio::test]
async fn a_request_dropped_mid_refresh_loses_neither_the_grant_nor_the_lock() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(false)).await;
    let (a, b) = (a.instance(), b.instance());
    idp_scenarios::a_request_dropped_mid_refresh_loses_neither_the_grant_nor_the_lock(
        &idp,
        (&a, &on_a),
        (&b, &on_b),
    )
    .await;
}

/// The Redis commands one request to `url` made: (scripts, GETs, MGETs), a script's own reads
/// counted as GETs; and the answer.
async fn redis_reads(redis: &Redis, browser: &Browser, url: &str) -> ((usize, usize, usize), u16) {
    redis.reset_stats().await;
    let (status, body) = browser.get_json(url).await;
    if status == 200 {
        assert!(body["access_token"].is_string() && body["claims"]["sub"].is_string());
    }
    let reads = (
        redis.command_calls(&["evalsha", "eval"]).await,
        redis.command_calls(&["get"]).await,
        redis.command_calls(&["mget"]).await,
    );
    (reads, status.as_u16())
}

#[tokio::test]
async fn a_signed_in_request_reads_its_session_and_tokens_in_one_round_trip() {
    let (_idp, redis, (a, on_a), (b, on_b)) = alice_on_two_instances(json!({})).await;
    let (on_a_url, on_b_url) = (a.url("/protected/resource"), b.url("/protected/resource"));
    // The first request fetches the access token (the refresh lock runs scripts).
    assert_eq!(on_a.get_json(&on_a_url).await.0, 200);
    // Instance a wrote the session at sign-in, so it knows which token record the session names:
    // one MGET reads both.
    assert_eq!(
        redis_reads(&redis, &on_a, &on_a_url).await,
        ((0, 0, 1), 200)
    );
    // Instance b has never seen the session: a script finds the record (its two reads count as
    // GETs); from then on b knows it too.
    assert_eq!(
        redis_reads(&redis, &on_b, &on_b_url).await,
        ((1, 2, 0), 200)
    );
    assert_eq!(
        redis_reads(&redis, &on_b, &on_b_url).await,
        ((0, 0, 1), 200)
    );

    // What a instance remembers only picks the key to read: the session decides. Pointed at a
    // record that does not exist, Alice's session is signed out on a, although a still reads
    // her old token record with it (then reads the named one, and learns it).
    let entries = redis.entries("logto:session:*").await;
    let [(key, value)] = &signed_in_sessions(&entries)[..] else {
        panic!("one signed-in session: {entries:?}")
    };
    let stored: Value = serde_json::from_str(value).unwrap();
    let named = stored["data"]["logto.tokens_ref"].as_str().unwrap();
    let elsewhere = value.replace(named, &Id::default().to_string());
    redis.cli(&["SET", key, &elsewhere, "KEEPTTL"]).await;
    assert_eq!(
        redis_reads(&redis, &on_a, &on_a_url).await,
        ((0, 1, 1), 401)
    );
    assert_eq!(
        redis_reads(&redis, &on_a, &on_a_url).await,
        ((0, 0, 1), 401)
    );
    // Named again, the record is Alice's again.
    redis.cli(&["SET", key, value, "KEEPTTL"]).await;
    assert_eq!(
        redis_reads(&redis, &on_a, &on_a_url).await,
        ((0, 1, 1), 200)
    );
    assert_eq!(
        redis_reads(&redis, &on_a, &on_a_url).await,
        ((0, 0, 1), 200)
    );

    // A token record an earlier version wrote as JSON is read with its session too, then on its
    // own (only the current form is handed over): the visitor stays signed in.
    let record_key = format!("logto:session:{named}");
    let current = redis.cli(&["GET", &record_key]).await;
    let (expiry, tokens) = current
        .trim_end()
        .strip_prefix("tokens:")
        .and_then(|rest| rest.split_once(':'))
        .expect("a token record in its current form");
    let older = Record {
        id: named.parse().unwrap(),
        data: [("logto.tokens".to_owned(), json!(tokens))]
            .into_iter()
            .collect(),
        expiry_date: OffsetDateTime::from_unix_timestamp(expiry.parse().unwrap()).unwrap(),
    };
    let older = serde_json::to_string(&older).unwrap();
    redis.cli(&["SET", &record_key, &older, "KEEPTTL"]).await;
    for _ in 0..2 {
        assert_eq!(
            redis_reads(&redis, &on_a, &on_a_url).await,
            ((0, 1, 1), 200)
        );
    }
    redis
        .cli(&["SET", &record_key, current.trim_end(), "KEEPTTL"])
        .await;
    assert_eq!(
        redis_reads(&redis, &on_a, &on_a_url).await,
        ((0, 0, 1), 200)
    );

    // The slot that hands the tokens over is never stored: a signed-in session that is changed
    // (signing in again stores a pending sign-in) is saved without it.
    let response = on_a.get(&a.url("/sign-in")).await;
    assert!(response.status().is_redirection());
    let values = redis.values("logto:session:*").await;
    assert!(values.len() >= 2, "a session and its token record");
    for value in values {
        assert!(!value.contains("logto.tokens_prefetched"), "{value}");
    }
    // And the session still works.
    let (status, _) = on_a.get_json(&on_a_url).await;
    assert_eq!(status, 200);
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn an_active_session_is_renewed_and_requests_between_renewals_write_nothing() {
    let (_idp, redis, (a, on_a), _) = alice_on_two_instances(json!({})).await;
    let url = a.url("/protected/resource");
    // The first request fetches the access token; the next writes nothing.
    assert_eq!(on_a.get_json(&url).await.0, 200);
    redis.reset_stats().await;
    assert_eq!(on_a.get_json(&url).await.0, 200);
    assert_eq!(redis.write_calls().await, 0);

    // Alice's session, its token record and the back-channel logout indexes (of sub, and sid).
    let entries = redis.entries("logto:session:*").await;
    let [(session_key, value)] = &signed_in_sessions(&entries)[..] else {
        panic!("one signed-in session: {entries:?}")
    };
    let indexes: Vec<&String> = entries
        .iter()
        .filter(|(_, value)| value.contains(r#""sessions""#))
        .map(|(key, _)| key)
        .collect();
    assert!(!indexes.is_empty(), "indexed under sub (and sid)");
    let stored: Value = serde_json::from_str(value).unwrap();
    let signed_in_at = stored["data"]["logto.renewed_at"].as_i64().unwrap();
    assert!(
        (unix_now() - signed_in_at).abs() < 60,
        "recorded at sign-in"
    );
    let record_key = format!(
        "logto:session:{}",
        stored["data"]["logto.tokens_ref"].as_str().unwrap()
    );
    let tokens_of = |value: &str| value.trim_end().splitn(3, ':').nth(2).unwrap().to_owned();
    let tokens = tokens_of(&redis.cli(&["GET", &record_key]).await);

    // Renewed two days ago, with a TTL of 14 days: due. Every key expires in 1000 s. (The
    // record's id, an i128, does not survive a trip through `Value`: the text is edited.)
    let renewed_at = |at: i64| format!(r#""logto.renewed_at":{at}"#);
    let aged = value.replace(
        &renewed_at(signed_in_at),
        &renewed_at(unix_now() - 2 * 24 * 3600),
    );
    assert_ne!(&aged, value);
    redis.cli(&["SET", session_key, &aged, "KEEPTTL"]).await;
    let keys: Vec<&String> = [session_key, &record_key]
        .into_iter()
        .chain(indexes)
        .collect();
    for key in &keys {
        redis.cli(&["EXPIRE", key, "1000"]).await;
    }
    let response = on_a.get(&url).await;
    assert_eq!(response.status(), 200);
    assert!(
        sets_cookie_for(&response, "logto_session", 14 * 24 * 3600),
        "the cookie is renewed too"
    );
    for key in &keys {
        let ttl = redis.ttl(key).await;
        assert!(ttl > 13 * 24 * 3600, "{key} renewed: {ttl} s left");
    }
    let renewed: Value = serde_json::from_str(&redis.cli(&["GET", session_key]).await).unwrap();
    let renewed_at = renewed["data"]["logto.renewed_at"].as_i64().unwrap();
    assert!((unix_now() - renewed_at).abs() < 60, "{renewed_at}");
    assert_eq!(
        tokens_of(&redis.cli(&["GET", &record_key]).await),
        tokens,
        "the tokens are written again unchanged"
    );
    for index in &keys[2..] {
        let listed: Value = serde_json::from_str(&redis.cli(&["GET", index]).await).unwrap();
        assert_eq!(
            listed["data"]["sessions"].as_array().unwrap().len(),
            1,
            "{listed}"
        );
    }

    // Renewed, the session is quiet again until the next renewal is due.
    redis.reset_stats().await;
    assert_eq!(on_a.get_json(&url).await.0, 200);
    assert_eq!(redis.write_calls().await, 0);
}

#[tokio::test]
async fn a_session_not_signed_in_is_kept_briefly() {
    let idp = TestIdp::start().await;
    let redis = Redis::start().await;
    let app = redis_app(&idp, &redis).await;
    idp_scenarios::a_session_not_signed_in_is_kept_briefly(
        &idp,
        &app.instance(),
        &redis,
        "logto:session:*",
    )
    .await;
}
