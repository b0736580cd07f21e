//! The Redis store over TLS (`rediss://`), as managed Redis services require it.

mod support;

use std::time::Duration;

use logto_axum::RedisStore;
use logto_test_support::{ALICE, Browser, Redis, TestIdp};
use reqwest::StatusCode;
use support::{config, start_app};

#[tokio::test]
async fn sessions_and_locks_over_tls() {
    let redis = Redis::start_tls().await;
    assert!(redis.url.starts_with("rediss://"), "{}", redis.url);

    // A certificate nobody vouches for is refused, with a message that names the server.
    // (Within a few seconds: the bound here is only there to fail rather than hang.)
    let refused = tokio::time::timeout(Duration::from_secs(60), RedisStore::connect(&redis.url));
    let error = refused
        .await
        .expect("the refusal took minutes")
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("could not connect to Redis at rediss://127.0.0.1:")
            && message.contains("certificate")
            && message.contains("connect_with_root_certificate"),
        "{message}"
    );

    // Trusting its certificate (as the root a managed service hands out), everything works:
    // sign-in, the session on a later request, and the refresh lock around a token refresh.
    let root = std::fs::read(redis.certificate.as_ref().unwrap()).unwrap();
    let store = RedisStore::connect_with_root_certificate(&redis.url, &root)
        .await
        .unwrap();
    let idp = TestIdp::start().await;
    let lock = store.clone();
    let app = start_app(config(&idp), store, move |builder| {
        builder.refresh_lock(lock)
    })
    .await;
    let browser = Browser::new();
    assert_eq!(app.sign_in(&browser, &idp, ALICE).await, "/");
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], "user-alice");
    let (status, body) = browser.get_json(&app.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
}
