//! JwksCache against a local JWKS server that counts its requests.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use logto_jwt::{Error, JwksCache, JwksOptions};
use serde_json::json;
use support::{Server, TestKey, claims, jwks, until};

fn cache(uri: url::Url, interval: Duration) -> JwksCache {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    JwksCache::new(
        uri,
        http,
        JwksOptions::default()
            .min_refresh_interval(interval)
            .timeout(Duration::from_millis(500)),
    )
}

#[tokio::test]
async fn fetches_lazily_once() {
    let k = TestKey::generate("ES384", "k1");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri, Duration::ZERO);
    assert_eq!(server.hits(), 0);
    let token = k.sign(&claims(), json!({}));
    for _ in 0..20 {
        cache.verify(&token).await.unwrap();
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_fetch_whose_caller_went_away_does_not_hold_back_the_next() {
    let k = TestKey::generate("ES384", "k1");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    // The default minimum interval between fetches.
    let cache = cache(uri, Duration::from_secs(30));
    let token = k.sign(&claims(), json!({}));
    // The first request's client hangs up while the first fetch is on its way.
    server.set_delay(Duration::from_millis(300));
    let hung_up = tokio::time::timeout(Duration::from_millis(50), cache.verify(&token)).await;
    assert!(hung_up.is_err(), "the fetch was meant to be cut short");
    // The next request fetches the keys again, now.
    server.set_delay(Duration::ZERO);
    cache.verify(&token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kids_share_one_fetch_and_rotation_succeeds() {
    let old = TestKey::generate("ES384", "old");
    let new = TestKey::generate("ES384", "new");
    let (server, uri) = Server::start(jwks(&[&old])).await;
    let cache = cache(uri, Duration::ZERO);
    cache.verify(&old.sign(&claims(), json!({}))).await.unwrap();
    assert_eq!(server.hits(), 1);

    // Rotation: the issuer now signs with `new`; the JWKS holds both.
    server.set(StatusCode::OK, jwks(&[&new, &old]));
    server.set_delay(Duration::from_millis(200));
    let token = Arc::new(new.sign(&claims(), json!({})));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let cache = cache.clone();
            let token = token.clone();
            tokio::spawn(async move { cache.verify(&token).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        server.hits(),
        2,
        "50 concurrent misses must share one fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_on_cold_cache_share_one_fetch() {
    let k = TestKey::generate("ES256", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    server.set_delay(Duration::from_millis(200));
    let cache = cache(uri, Duration::ZERO);
    let bad = Arc::new(TestKey::generate("ES256", "unknown").sign(&claims(), json!({})));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let cache = cache.clone();
            let bad = bad.clone();
            tokio::spawn(async move { cache.verify(&bad).await })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(Error::UnknownKey { .. })));
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn flood_of_bad_kids_is_rate_limited() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri, Duration::from_secs(60));
    cache.verify(&k.sign(&claims(), json!({}))).await.unwrap();
    for i in 0..200 {
        let mut header = json!({});
        header["kid"] = json!(format!("bad-{i}"));
        let err = cache.verify(&k.sign(&claims(), header)).await.unwrap_err();
        assert!(matches!(err, Error::UnknownKey { .. }));
    }
    assert_eq!(server.hits(), 1, "no fetch within the interval");
}

#[tokio::test]
async fn refetch_allowed_after_interval() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri, Duration::from_millis(1000));
    cache.verify(&k.sign(&claims(), json!({}))).await.unwrap();
    let bad = k.sign(&claims(), json!({"kid": "nope"}));
    for _ in 0..10 {
        assert!(cache.verify(&bad).await.is_err());
    }
    assert_eq!(server.hits(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(cache.verify(&bad).await.is_err());
    assert!(cache.verify(&bad).await.is_err());
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_kids_never_wait_for_a_fetch() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let http = reqwest::Client::new();
    let cache = JwksCache::new(
        uri,
        http,
        JwksOptions::default()
            .min_refresh_interval(Duration::ZERO)
            .timeout(Duration::from_secs(5)),
    );
    let good = k.sign(&claims(), json!({}));
    cache.verify(&good).await.unwrap();
    server.set_delay(Duration::from_secs(2));
    let slow = {
        let cache = cache.clone();
        let bad = k.sign(&claims(), json!({"kid": "rotated"}));
        tokio::spawn(async move { cache.verify(&bad).await })
    };
    until("the refetch reaches the server", || server.hits() == 2).await;
    let started = Instant::now();
    for _ in 0..10 {
        tokio::time::timeout(Duration::from_millis(500), cache.verify(&good))
            .await
            .expect("a known kid waited for the fetch")
            .unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(slow.await.unwrap().is_err());
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_key_set_is_refetched_in_the_background() {
    let removed = TestKey::generate("ES384", "removed");
    let kept = TestKey::generate("ES384", "kept");
    let (server, uri) = Server::start(jwks(&[&removed, &kept])).await;
    let cache = JwksCache::new(
        uri,
        reqwest::Client::new(),
        JwksOptions::default()
            .min_refresh_interval(Duration::ZERO)
            .max_age(Duration::ZERO)
            .timeout(Duration::from_secs(10)),
    );
    let old_token = removed.sign(&claims(), json!({}));
    cache.verify(&old_token).await.unwrap();
    assert_eq!((server.hits(), cache.generation()), (1, 1));

    // The issuer drops a key. The stale set still verifies, without waiting for the (slow) refetch
    // the first verification starts: the new set is not in force when they return.
    server.set(StatusCode::OK, jwks(&[&kept]));
    server.set_delay(Duration::from_secs(2));
    for _ in 0..20 {
        cache.verify(&old_token).await.unwrap();
    }
    assert_eq!(
        cache.generation(),
        1,
        "a verification waited for the refetch"
    );
    until("the new key set is in force", || cache.generation() == 2).await;
    assert_eq!(
        server.hits(),
        2,
        "one background refetch, however many verifications"
    );

    // Once it is, the dropped key verifies nothing; the kept one still works.
    server.set_delay(Duration::ZERO);
    assert!(matches!(
        cache.verify(&old_token).await,
        Err(Error::UnknownKey { .. })
    ));
    cache
        .verify(&kept.sign(&claims(), json!({})))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refetching_the_same_key_set_keeps_its_generation() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = JwksCache::new(
        uri,
        reqwest::Client::new(),
        JwksOptions::default()
            .min_refresh_interval(Duration::ZERO)
            .max_age(Duration::ZERO),
    );
    let token = k.sign(&claims(), json!({}));
    cache.verify(&token).await.unwrap();
    // Every verification finds the set stale; a third fetch starts only once the second one is
    // done (one background refetch at a time).
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.hits() < 3 {
        assert!(Instant::now() < deadline, "no background refetch");
        cache.verify(&token).await.unwrap();
        tokio::task::yield_now().await;
    }
    assert_eq!(
        cache.generation(),
        1,
        "the same document made a new generation"
    );
}

#[tokio::test]
async fn a_fresh_key_set_is_not_refetched() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri, Duration::ZERO);
    let token = k.sign(&claims(), json!({}));
    for _ in 0..20 {
        cache.verify(&token).await.unwrap();
        cache.refresh_if_stale();
    }
    assert_eq!((server.hits(), cache.generation()), (1, 1));
}

#[tokio::test]
async fn fetch_timeout() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    server.set_delay(Duration::from_secs(30));
    let cache = cache(uri, Duration::ZERO);
    let started = Instant::now();
    let err = cache
        .verify(&k.sign(&claims(), json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::JwksFetch(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn http_and_document_errors_are_typed_and_keep_old_keys() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start("<html>oops</html>".into()).await;
    let cache = cache(uri.clone(), Duration::ZERO);
    let token = k.sign(&claims(), json!({}));
    assert!(matches!(
        cache.verify(&token).await,
        Err(Error::InvalidJwks(_))
    ));
    server.set(StatusCode::INTERNAL_SERVER_ERROR, jwks(&[&k]));
    let err = cache.verify(&token).await.unwrap_err();
    assert!(
        matches!(err, Error::JwksFetch(ref m) if m.contains("500")),
        "{err:?}"
    );
    assert!(err.is_key_source_error());
    server.set(StatusCode::OK, json!({"keys": []}).to_string());
    assert!(matches!(
        cache.verify(&token).await,
        Err(Error::InvalidJwks(_))
    ));
    server.set(StatusCode::OK, jwks(&[&k]));
    cache.verify(&token).await.unwrap();
    // Issuer down: known keys keep working, unknown kids are unknown.
    server.set(StatusCode::SERVICE_UNAVAILABLE, String::new());
    cache.verify(&token).await.unwrap();
    let other = k.sign(&claims(), json!({"kid": "other"}));
    assert!(matches!(
        cache.verify(&other).await,
        Err(Error::UnknownKey { .. })
    ));
    // Connection refused.
    let closed = cache_for_closed_port().await;
    assert!(matches!(
        closed.verify(&token).await,
        Err(Error::JwksFetch(_))
    ));
}

async fn cache_for_closed_port() -> JwksCache {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    cache(
        format!("http://{addr}/jwks").parse().unwrap(),
        Duration::ZERO,
    )
}

#[tokio::test]
async fn failed_first_fetch_is_rate_limited_too() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(String::new()).await;
    server.set(StatusCode::INTERNAL_SERVER_ERROR, String::new());
    let cache = cache(uri, Duration::from_secs(60));
    let token = k.sign(&claims(), json!({}));
    for _ in 0..20 {
        assert!(matches!(
            cache.verify(&token).await,
            Err(Error::JwksFetch(_))
        ));
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn garbage_never_reaches_the_network() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri, Duration::ZERO);
    for bad in ["", "garbage", "a.b.c", &"x".repeat(1 << 20)] {
        assert!(cache.verify(bad).await.is_err());
    }
    let none = format!("{}.e30.", support::b64(br#"{"alg":"none"}"#));
    assert!(matches!(
        cache.verify(&none).await,
        Err(Error::UnsupportedAlgorithm(_))
    ));
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn key_set_prefetch_and_oversize_documents() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let c = cache(uri, Duration::ZERO);
    let set = c.key_set().await.unwrap();
    assert_eq!(set.len(), 1);
    c.key_set().await.unwrap();
    assert_eq!(
        server.hits(),
        1,
        "key_set fetches only when nothing is held"
    );

    let (big, uri) = Server::start(String::new()).await;
    let padding = "x".repeat(600 * 1024);
    big.set(
        StatusCode::OK,
        json!({"keys": [k.jwk(true)], "pad": padding}).to_string(),
    );
    let c = cache(uri, Duration::ZERO);
    assert!(matches!(c.key_set().await, Err(Error::InvalidJwks(_))));
}

#[tokio::test]
async fn a_kid_shared_by_several_keys_verifies_tokens_of_each() {
    let first = TestKey::generate("ES384", "dup");
    let second = TestKey::generate("ES384", "dup");
    let (server, uri) = Server::start(jwks(&[&first, &second])).await;
    let cache = cache(uri, Duration::from_secs(60));
    cache
        .verify(&first.sign(&claims(), json!({})))
        .await
        .unwrap();
    cache
        .verify(&second.sign(&claims(), json!({})))
        .await
        .unwrap();
    cache
        .verify_from_issuer(&second.sign(&claims(), json!({})))
        .await
        .unwrap();
    let stranger = TestKey::generate("ES384", "dup").sign(&claims(), json!({}));
    assert_eq!(
        cache.verify(&stranger).await.unwrap_err(),
        Error::InvalidSignature
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_jwks_with_too_many_keys_is_refused_and_the_old_keys_kept() {
    let k = TestKey::generate("ES384", "k");
    let new = TestKey::generate("ES384", "new");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let c = cache(uri.clone(), Duration::ZERO);
    let token = k.sign(&claims(), json!({}));
    c.verify(&token).await.unwrap();
    let many: Vec<_> = std::iter::once(new.jwk(true))
        .chain(std::iter::repeat_n(k.jwk(true), 100))
        .collect();
    server.set(StatusCode::OK, json!({ "keys": many }).to_string());
    // The new key is in the document, but the document is refused.
    assert!(matches!(
        c.verify(&new.sign(&claims(), json!({}))).await,
        Err(Error::UnknownKey { .. })
    ));
    assert_eq!(server.hits(), 2);
    c.verify(&token).await.unwrap();
    // Nothing held yet: the error itself.
    let fresh = cache(uri, Duration::ZERO);
    assert!(matches!(fresh.key_set().await, Err(Error::InvalidJwks(_))));
}

/// A cache whose failing fetches back off from `interval` up to `cap`.
fn backoff_cache(uri: url::Url, interval: Duration, cap: Duration) -> JwksCache {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    JwksCache::new(
        uri,
        http,
        JwksOptions::default()
            .min_refresh_interval(interval)
            .max_retry_interval(cap)
            .max_age(interval)
            .timeout(Duration::from_millis(500)),
    )
}

#[test]
fn the_retry_cap_defaults_to_five_minutes() {
    let options = JwksOptions::default();
    assert!(format!("{options:?}").contains("max_retry_interval: 300s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_first_fetches_back_off_across_requests_and_reset_on_success() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(String::new()).await;
    server.set(StatusCode::SERVICE_UNAVAILABLE, String::new());
    let interval = Duration::from_millis(100);
    let cache = backoff_cache(uri, interval, Duration::from_millis(800));
    let token = Arc::new(k.sign(&claims(), json!({})));
    // 1.6 s of requests, in bursts of concurrent ones: at a fetch per
    // interval that would be 16 fetches; backing off (100, 200, 400, 800,
    // 800 ms) it is about 5.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1600) {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (cache, token) = (cache.clone(), token.clone());
                tokio::spawn(async move {
                    let at = Instant::now();
                    let result = cache.verify(&token).await;
                    (result, at.elapsed())
                })
            })
            .collect();
        for task in tasks {
            let (result, took) = task.await.unwrap();
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::JwksFetch(ref m) if m.contains("503")),
                "{err:?}"
            );
            // Nobody waits for the backoff, nor longer than one fetch.
            assert!(took < Duration::from_millis(1000), "{took:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let failing = server.hits();
    assert!((2..=8).contains(&failing), "{failing} fetches in 1.6 s");

    // Back up: served once the wait is over (at most the 800 ms cap).
    server.set(StatusCode::OK, jwks(&[&k]));
    let started = Instant::now();
    while cache.verify(&token).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(3), "never retried");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The success reset the backoff: after a new failure, the next fetch
    // comes one interval later, not 800 ms.
    server.set(StatusCode::SERVICE_UNAVAILABLE, String::new());
    let before = server.hits();
    for i in 0..2 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let unknown = k.sign(&claims(), json!({"kid": format!("new-{i}")}));
        assert!(matches!(
            cache.verify(&unknown).await,
            Err(Error::UnknownKey { .. })
        ));
    }
    assert_eq!(server.hits(), before + 2);
    cache.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_stale_key_set_retries_a_failing_issuer_with_backoff() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = backoff_cache(uri, Duration::from_millis(50), Duration::from_millis(400));
    let token = k.sign(&claims(), json!({}));
    cache.verify(&token).await.unwrap();
    server.set(StatusCode::SERVICE_UNAVAILABLE, String::new());
    // 1.5 s of verifications with the stale keys: a background refetch per
    // 50 ms would be about 30; backing off (50 … 400 ms) it is about 7.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        cache.verify(&token).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hits = server.hits();
    assert!((3..=12).contains(&hits), "{hits} fetches in 1.5 s");
}
