//! Two processes of the sample sharing one Redis session store, for both samples (axum and
//! actix-web).

use futures_util::future::join_all;
use logto_test_support::{ALICE, Browser, ORG_ACME, Redis, TestIdp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{WebApp, for_each_app};

/// Logto revokes the whole grant when a rotated-out refresh token is reused; the IdP here does
/// so without any grace period, so one reuse anywhere fails the rest of the test.
const NO_REUSE_GRACE: &str = "refresh_token_reuse_grace_seconds";

/// Two processes of the sample sharing one Redis server, and Alice signed in through the first:
/// a browser on each process, both holding her one session.
async fn alice_on_two_processes(
    sample: &str,
    idp_settings: Value,
) -> (TestIdp, Redis, (WebApp, Browser), (WebApp, Browser)) {
    let idp = TestIdp::start_with(idp_settings).await;
    let redis = Redis::start().await;
    let (first, second) = tokio::join!(
        WebApp::start(sample, &idp, &redis.url),
        WebApp::start(sample, &idp, &redis.url)
    );
    let on_first = Browser::new();
    first.sign_in(&on_first, &idp, ALICE).await;
    let on_second = on_first.with_cookies_for(&first.url, &second.url);
    (idp, redis, (first, on_first), (second, on_second))
}

for_each_app!(
    one_session: one_session_across_two_processes,
    one_session_across_two_processes_actix
);

async fn one_session(sample: &str) {
    let (idp, _redis, (first, on_first), (second, on_second)) =
        alice_on_two_processes(sample, json!({ NO_REUSE_GRACE: 0 })).await;

    // The second process knows the session.
    let (status, body) = on_second.get_json(&second.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], "user-alice");

    // It refreshes (rotating the refresh token) to get a resource token…
    idp.reset_stats().await;
    let (status, from_second) = on_second.get_json(&second.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{from_second}");
    assert_eq!(idp.stats().await.refresh_token_grants, 1);

    // …and the first process sees the rotated tokens: the same access token, no refresh of its
    // own, and its next refresh uses the new refresh token (the old one would revoke the grant).
    let (status, from_first) = on_first.get_json(&first.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{from_first}");
    assert_eq!(from_first["access_token"], from_second["access_token"]);
    assert_eq!(idp.stats().await.refresh_token_grants, 1);
    let (status, body) = on_first
        .get_json(&first.url(&format!("/protected/organizations/{ORG_ACME}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, again) = on_second
        .get_json(&second.url(&format!("/protected/organizations/{ORG_ACME}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["organization_token"], body["organization_token"]);
    assert_eq!(idp.stats().await.refresh_token_grants, 2);

    // Signing out through one process signs out of both.
    let response = on_second.get(&second.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = on_first.get_json(&first.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

for_each_app!(
    racing_refreshes: refreshes_racing_in_two_processes_never_reuse_a_refresh_token,
    refreshes_racing_in_two_processes_never_reuse_a_refresh_token_actix
);

async fn racing_refreshes(sample: &str) {
    // Access tokens the client never considers fresh (it refreshes a 1 s token on every use): every
    // request of the burst refreshes, half of them in each process, all at once.
    let (idp, _redis, (first, on_first), (second, on_second)) =
        alice_on_two_processes(sample, json!({ "access_token_ttl": 1, NO_REUSE_GRACE: 0 })).await;
    idp.reset_stats().await;

    const REQUESTS: usize = 20;
    let results = join_all((0..REQUESTS).map(|i| {
        let (client, app) = if i % 2 == 0 {
            (&on_first, &first)
        } else {
            (&on_second, &second)
        };
        let path = if i % 3 == 0 {
            format!("/protected/organizations/{ORG_ACME}")
        } else {
            "/protected/resource".to_owned()
        };
        async move { client.get_json(&app.url(&path)).await }
    }))
    .await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    // One refresh per request, one after the other, each with the refresh token the previous
    // one received.
    assert_eq!(idp.stats().await.refresh_token_grants, REQUESTS as u64);
    let (status, _) = on_second.get_json(&second.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK);
}

for_each_app!(
    sealed_in_redis: sessions_in_redis_are_sealed_with_session_key_and_its_rotation,
    sessions_in_redis_are_sealed_with_session_key_and_its_rotation_actix
);

/// With `SESSION_KEY`, Redis holds no token in clear; a new key with the old one in
/// `SESSION_OLD_KEYS` still opens the sessions; another key opens none (signed out, no error).
/// Without it, Redis holds them in clear (what the first check would see).
async fn sealed_in_redis(sample: &str) {
    use base64::Engine;
    let key = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    let (old, new, stranger) = (key(1), key(2), key(3));
    let idp = TestIdp::start().await;
    let redis = Redis::start_persistent().await;

    let first = WebApp::start_with_env(sample, &idp, &redis.url, &[("SESSION_KEY", &old)]).await;
    let browser = Browser::new();
    first.sign_in(&browser, &idp, ALICE).await;
    let (status, token) = browser.get_json(&first.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(
        !redis.persisted().contains("eyJhbGci"),
        "a JWT is in Redis in clear"
    );

    // The key rotated: the session still opens.
    let rotated = WebApp::start_with_env(
        sample,
        &idp,
        &redis.url,
        &[("SESSION_KEY", &new), ("SESSION_OLD_KEYS", &old)],
    )
    .await;
    let on_rotated = browser.with_cookies_for(&first.url, &rotated.url);
    let (status, again) = on_rotated
        .get_json(&rotated.url("/protected/resource"))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["access_token"], token["access_token"]);

    // Another key: signed out.
    let other =
        WebApp::start_with_env(sample, &idp, &redis.url, &[("SESSION_KEY", &stranger)]).await;
    let on_other = browser.with_cookies_for(&first.url, &other.url);
    let (status, body) = on_other.get_json(&other.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // No key: in clear.
    let clear = WebApp::start_with_env(sample, &idp, &redis.url, &[("SESSION_KEY", "")]).await;
    let on_clear = Browser::new();
    clear.sign_in(&on_clear, &idp, ALICE).await;
    let (status, _) = on_clear.get_json(&clear.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(redis.persisted().contains("eyJhbGci"));
}
