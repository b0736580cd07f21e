//! `JwksCache::verify_from_issuer`: tokens the caller received from the issuer itself refetch the
//! key set on an unknown key id whatever the minimum refresh interval, in a single flight; tokens
//! from anywhere else (`verify`) stay rate limited.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use logto_jwt::{Error, JwksCache, JwksOptions};
use serde_json::json;
use support::{Server, TestKey, claims, jwks, until};

/// A cache with the production default minimum refresh interval (30 s).
fn cache(uri: url::Url) -> JwksCache {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let options = JwksOptions::default().timeout(Duration::from_millis(2000));
    assert!(format!("{options:?}").contains("min_refresh_interval: 30s"));
    JwksCache::new(uri, http, options)
}

#[tokio::test]
async fn a_token_from_the_issuer_refetches_right_after_a_fetch() {
    let old = TestKey::generate("ES384", "old");
    let new = TestKey::generate("ES384", "new");
    let (server, uri) = Server::start(jwks(&[&old])).await;
    let cache = cache(uri);
    cache.verify(&old.sign(&claims(), json!({}))).await.unwrap();
    assert_eq!(server.hits(), 1);

    // The issuer rotates its key a moment after our fetch.
    server.set(StatusCode::OK, jwks(&[&new]));
    let token = new.sign(&claims(), json!({}));
    // From elsewhere, the token waits for the minimum interval.
    assert!(matches!(
        cache.verify(&token).await,
        Err(Error::UnknownKey { .. })
    ));
    assert_eq!(server.hits(), 1);
    // From the issuer itself, it refetches now.
    cache.verify_from_issuer(&token).await.unwrap();
    assert_eq!(server.hits(), 2);
    // The new key is in force for everyone.
    cache.verify(&token).await.unwrap();
    cache.verify_from_issuer(&token).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_refetch_for_the_issuer_leaves_the_flood_guard_in_place() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri);
    cache.verify(&k.sign(&claims(), json!({}))).await.unwrap();
    for i in 0..50 {
        let bad = k.sign(&claims(), json!({"kid": format!("bad-{i}")}));
        assert!(matches!(
            cache.verify(&bad).await,
            Err(Error::UnknownKey { .. })
        ));
    }
    assert_eq!(server.hits(), 1, "verify stays rate limited");
    // A key id the issuer itself does not know: refetched, then refused as unknown.
    let unknown = TestKey::generate("ES384", "unknown").sign(&claims(), json!({}));
    let err = cache.verify_from_issuer(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::UnknownKey { .. }), "{err:?}");
    assert_eq!(server.hits(), 2);
    // …and the refetch reset the interval for tokens from elsewhere.
    for i in 0..50 {
        let bad = k.sign(&claims(), json!({"kid": format!("bad-{i}")}));
        assert!(cache.verify(&bad).await.is_err());
    }
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tokens_from_the_issuer_share_one_refetch() {
    let old = TestKey::generate("ES384", "old");
    let new = TestKey::generate("ES384", "new");
    let (server, uri) = Server::start(jwks(&[&old])).await;
    let cache = cache(uri);
    cache.verify(&old.sign(&claims(), json!({}))).await.unwrap();

    server.set(StatusCode::OK, jwks(&[&new, &old]));
    server.set_delay(Duration::from_millis(300));
    let token = Arc::new(new.sign(&claims(), json!({})));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let cache = cache.clone();
            let token = token.clone();
            tokio::spawn(async move { cache.verify_from_issuer(&token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 2, "50 concurrent misses share one refetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_that_completes_after_the_miss_counts_as_its_refetch() {
    let old = TestKey::generate("ES384", "old");
    let new = TestKey::generate("ES384", "new");
    let (server, uri) = Server::start(jwks(&[&old])).await;
    let cache = cache(uri);
    cache.verify(&old.sign(&claims(), json!({}))).await.unwrap();

    server.set(StatusCode::OK, jwks(&[&new, &old]));
    server.set_delay(Duration::from_millis(500));
    let token = Arc::new(new.sign(&claims(), json!({})));
    let first = {
        let (cache, token) = (cache.clone(), token.clone());
        tokio::spawn(async move { cache.verify_from_issuer(&token).await })
    };
    // A second caller meets the unknown key id while the first one's fetch is under way.
    until("the first refetch is under way", || server.hits() == 2).await;
    cache.verify_from_issuer(&token).await.unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_failed_refetch_is_a_key_source_error_not_an_unknown_key() {
    let old = TestKey::generate("ES384", "old");
    let new = TestKey::generate("ES384", "new");
    let (server, uri) = Server::start(jwks(&[&old])).await;
    let cache = cache(uri);
    let old_token = old.sign(&claims(), json!({}));
    cache.verify(&old_token).await.unwrap();

    // The issuer rotated, and its JWKS endpoint fails just now.
    server.set(StatusCode::SERVICE_UNAVAILABLE, String::new());
    let token = new.sign(&claims(), json!({}));
    let err = cache.verify_from_issuer(&token).await.unwrap_err();
    assert!(
        matches!(err, Error::JwksFetch(ref m) if m.contains("503")),
        "{err:?}"
    );
    assert!(err.is_key_source_error());
    server.set(StatusCode::OK, "<html>oops</html>".into());
    let err = cache.verify_from_issuer(&token).await.unwrap_err();
    assert!(matches!(err, Error::InvalidJwks(_)), "{err:?}");
    assert_eq!(server.hits(), 3, "every call refetched");
    // Known keys kept working meanwhile.
    cache.verify(&old_token).await.unwrap();

    // Back up: the next call succeeds at once.
    server.set(StatusCode::OK, jwks(&[&new, &old]));
    cache.verify_from_issuer(&token).await.unwrap();
    assert_eq!(server.hits(), 4);
}

#[tokio::test]
async fn a_failed_first_fetch_does_not_hold_back_a_token_from_the_issuer() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(String::new()).await;
    server.set(StatusCode::INTERNAL_SERVER_ERROR, String::new());
    let cache = cache(uri);
    let token = k.sign(&claims(), json!({}));
    assert!(matches!(
        cache.verify(&token).await,
        Err(Error::JwksFetch(_))
    ));
    server.set(StatusCode::OK, jwks(&[&k]));
    // From elsewhere: the failure is remembered for the minimum interval.
    assert!(matches!(
        cache.verify(&token).await,
        Err(Error::JwksFetch(_))
    ));
    assert_eq!(server.hits(), 1);
    cache.verify_from_issuer(&token).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_bad_signature_from_the_issuer_is_not_a_reason_to_fetch() {
    let k = TestKey::generate("ES384", "k");
    let (server, uri) = Server::start(jwks(&[&k])).await;
    let cache = cache(uri);
    let token = k.sign(&claims(), json!({}));
    cache.verify_from_issuer(&token).await.unwrap();
    let (head, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", support::b64(&[0u8; 96]));
    assert!(matches!(
        cache.verify_from_issuer(&forged).await,
        Err(Error::InvalidSignature)
    ));
    assert_eq!(server.hits(), 1);
}
