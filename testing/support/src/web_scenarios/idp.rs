//! Scenarios against the test IdP (`testing/idp`), for what the real Logto cannot be made to do:
//! an ID token far beyond a cookie's size, forged logout tokens, a refresh token rotated on every
//! use with no grace for a reuse, a token response held while the request that asked is dropped.
//!
//! The app under test serves the routes of [`super`] and is configured with the IdP's `web-app`
//! client ([`WEB_APP_ID`]), the [`SHOPPING_API`] resource and the email,
//! custom data and organizations scopes; two instances share one Redis store (also their refresh
//! lock) behind one public URL.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Instance, burst, with_resource};
use crate::{
    ALICE, ALICE_SUB, Browser, Redis, SHOPPING_API, StoreFaults, TestIdp, WEB_APP_ID, location,
    signed_in_sessions,
};

/// Signs `user` in with `browser` through `app`'s `/sign-in` at the test IdP; returns where the
/// callback redirected to.
pub async fn sign_in(
    app: &Instance,
    browser: &Browser,
    idp: &TestIdp,
    user: (&str, &str),
) -> String {
    let (sign_in, callback) = (app.url("/sign-in"), app.url("/callback"));
    browser.sign_in(idp, &sign_in, &callback, user).await
}

/// The IdP settings of [`large_tokens_stay_on_the_server`]: Carol, whose name makes her ID token
/// and userinfo far beyond a cookie's 4 KB.
pub fn carol_with_a_long_name() -> Value {
    json!({
        "users": [{ "id": "user-carol", "username": "carol", "password": "carol-password",
                    "name": LONG_NAME.repeat(800) }]
    })
}

const LONG_NAME: &str = "Carol ";

/// Carol signs in (the IdP started with [`carol_with_a_long_name`]): her session works, its
/// tokens on the server, her whole name in the claims and userinfo.
pub async fn large_tokens_stay_on_the_server(idp: &TestIdp, app: &Instance) {
    let browser = Browser::new();
    let landing = sign_in(app, &browser, idp, ("carol", "carol-password")).await;
    assert_eq!(landing, "/");
    let length = LONG_NAME.len() * 800;
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["name"].as_str().unwrap().len(), length);
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["name"].as_str().unwrap().len(), length);
}

/// The logout tokens the back-channel logout route must refuse (`400`, never cached, the visitor
/// still signed in: wrong issuer, audience or event, a nonce, no `sub` nor `sid`, no `jti`,
/// expired, an access token's type, a key the IdP does not have, `alg: none`, not a JWT, no
/// token at all), then a valid one (`200`, the visitor's session gone), then its replay (`400`).
pub async fn back_channel_logout_verifies_the_token_and_ends_the_users_sessions(
    idp: &TestIdp,
    app: &Instance,
) {
    let browser = Browser::new();
    sign_in(app, &browser, idp, ALICE).await;
    let now = unix_now();
    let valid = alices_logout(idp, now, &format!("jti-{now}"));
    let with = |change: Value| {
        let mut token = valid.clone();
        for (name, value) in change.as_object().unwrap() {
            if value.is_null() {
                token.as_object_mut().unwrap().remove(name);
            } else {
                token[name] = value.clone();
            }
        }
        token
    };
    let logout_header = Some(json!({ "typ": "logout+jwt" }));
    let post = |token: String| {
        let url = app.url("/back-channel-logout");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap();
            let no_store = response.headers()["cache-control"] == "no-store";
            (response.status(), no_store)
        }
    };
    let sign = |claims: Value, header: Option<Value>, key: &'static str| async move {
        idp.sign(claims, header, key).await
    };

    let forged = [
        (
            "wrong issuer",
            sign(
                with(json!({"iss": "https://evil.example/oidc"})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "wrong audience",
            sign(
                with(json!({"aud": "another-app"})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "no events",
            sign(with(json!({"events": null})), logout_header.clone(), "idp").await,
        ),
        (
            "wrong event",
            sign(
                with(json!({"events": {"urn:other": {}}})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "a nonce",
            sign(with(json!({"nonce": "n"})), logout_header.clone(), "idp").await,
        ),
        (
            "no sub nor sid",
            sign(with(json!({"sub": null})), logout_header.clone(), "idp").await,
        ),
        (
            "no jti",
            sign(with(json!({"jti": null})), logout_header.clone(), "idp").await,
        ),
        (
            "expired",
            sign(
                with(json!({"iat": now - 7200, "exp": now - 3600})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "an access token's type",
            sign(valid.clone(), Some(json!({"typ": "at+jwt"})), "idp").await,
        ),
        (
            "a key the IdP does not have",
            sign(valid.clone(), logout_header.clone(), "foreign").await,
        ),
        ("alg none", unsigned(&valid)),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (what, token) in forged {
        assert_eq!(post(token).await, (StatusCode::BAD_REQUEST, true), "{what}");
        let (status, _) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::OK, "{what} ended the session");
    }
    let missing = reqwest::Client::new()
        .post(app.url("/back-channel-logout"))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    let token = sign(valid.clone(), logout_header.clone(), "idp").await;
    assert_eq!(post(token.clone()).await, (StatusCode::OK, true));
    let (status, body) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        post(token).await,
        (StatusCode::BAD_REQUEST, true),
        "a replay"
    );

    // The same browser signs in again: its session gets tokens that stay.
    sign_in(app, &browser, idp, ALICE).await;
    let (status, body) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "signed in again: {body}");
}

/// A back-channel logout that lands while a refresh of the session is under way (the IdP has
/// rotated the refresh token and holds its answer) is not undone when the refresh then writes the
/// new tokens: the request that refreshed gets its answer, and the next one is signed out.
pub async fn a_back_channel_logout_during_a_refresh_is_not_undone(idp: &TestIdp, app: &Instance) {
    let browser = Browser::new();
    sign_in(app, &browser, idp, ALICE).await;
    let shopping = app.url(&with_resource("/protected/resource", SHOPPING_API));
    let (status, body) = browser.get_json(&shopping).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = browser.get(&app.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);

    idp.hold_next_token_response().await;
    let refreshing = browser.get_json(&shopping);
    tokio::pin!(refreshing);
    tokio::select! {
        (status, body) = &mut refreshing => {
            panic!("answered while the token response is held: {status} {body}")
        }
        () = idp.wait_for_held_token_response() => {}
    }
    let now = unix_now();
    let claims = alices_logout(idp, now, &format!("mid-refresh-{now}"));
    let token = idp
        .sign(claims, Some(json!({ "typ": "logout+jwt" })), "idp")
        .await;
    let response = reqwest::Client::new()
        .post(app.url("/back-channel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    idp.release_token_response().await;
    // The request raced the logout: whatever it answers, the session ends with it.
    let _ = refreshing.await;

    for page in ["/protected", "/protected/resource"] {
        let (status, body) = browser.get_json(&app.url(page)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}: {body}");
    }
}

/// Alice signed in with `count` browsers (sessions of their own).
async fn alice_signed_in_on(idp: &TestIdp, app: &Instance, count: usize) -> Vec<Browser> {
    let mut browsers = Vec::new();
    for _ in 0..count {
        let browser = Browser::new();
        sign_in(app, &browser, idp, ALICE).await;
        let (status, body) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        browsers.push(browser);
    }
    browsers
}

/// A valid logout token for Alice (by `sub`) whose `jti` starts with `jti`.
async fn alices_logout_token(idp: &TestIdp, jti: &str) -> String {
    let now = unix_now();
    let claims = alices_logout(idp, now, &format!("{jti}-{now}"));
    idp.sign(claims, Some(json!({ "typ": "logout+jwt" })), "idp")
        .await
}

/// Posts `token` to `app`'s back-channel logout route.
async fn post_logout_token(app: &Instance, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/back-channel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls until none of `browsers` is signed in any more (or panics after a few seconds).
async fn until_all_signed_out(app: &Instance, browsers: &[Browser]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut signed_in = 0;
        for browser in browsers {
            let (status, _) = browser.get_json(&app.url("/protected")).await;
            if status == StatusCode::OK {
                signed_in += 1;
            }
        }
        if signed_in == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{signed_in} of {} sessions still signed in",
            browsers.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A back-channel logout whose request is dropped midway (Logto's HTTP client gave up and
/// disconnected, the server drops the handler) while the store holds the deletion of the first
/// of Alice's three sessions: once the store goes on, every session ends all the same, and the
/// token, whose logout went through, is refused as a replay. The app's store is wrapped to
/// obey `faults`, and its server drops a handler whose client went away.
pub async fn a_back_channel_logout_dropped_midway_still_ends_every_session(
    idp: &TestIdp,
    app: &Instance,
    faults: &StoreFaults,
) {
    let browsers = alice_signed_in_on(idp, app, 3).await;
    let token = alices_logout_token(idp, "dropped").await;
    faults.hold_next_delete();
    tokio::select! {
        status = post_logout_token(app, &token) => {
            panic!("answered while a deletion is held: {status}")
        }
        () = faults.wait_for_held_delete() => {}
    }
    // Time for the server to see the connection closed and drop the handler.
    tokio::time::sleep(Duration::from_millis(500)).await;
    faults.release_delete();
    until_all_signed_out(app, &browsers).await;
    assert_eq!(
        post_logout_token(app, &token).await,
        StatusCode::BAD_REQUEST,
        "a replay"
    );
}

/// A back-channel logout that fails midway (the store fails the deletion of the first of Alice's
/// two sessions) answers `500`, and Logto's retry of the same token is accepted and ends every
/// session; a replay after that is refused. The app's store is wrapped to obey `faults`.
pub async fn a_failed_back_channel_logout_accepts_a_retry_of_its_token(
    idp: &TestIdp,
    app: &Instance,
    faults: &StoreFaults,
) {
    let browsers = alice_signed_in_on(idp, app, 2).await;
    let token = alices_logout_token(idp, "retried").await;
    faults.fail_next_delete();
    assert_eq!(
        post_logout_token(app, &token).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        post_logout_token(app, &token).await,
        StatusCode::OK,
        "a retry"
    );
    for browser in &browsers {
        let (status, body) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    assert_eq!(
        post_logout_token(app, &token).await,
        StatusCode::BAD_REQUEST,
        "a replay"
    );
}

/// A sign-in started without a cookie leaves a session (its pending sign-in) that the store
/// keeps for 15 minutes (logto's `web::renewal::PENDING_SESSION_TTL`), not for the session TTL
/// (14 days by default); the callback that completes it leaves the signed-in session, kept for
/// the session TTL, and no session that is not signed in. `redis` holds the app's sessions, under
/// the keys `sessions` matches (a `KEYS` pattern).
pub async fn a_session_not_signed_in_is_kept_briefly(
    idp: &TestIdp,
    app: &Instance,
    redis: &Redis,
    sessions: &str,
) {
    let pending_only = |entries: Vec<(String, String)>| -> Vec<String> {
        entries
            .into_iter()
            .filter(|(_, value)| {
                value.contains("logto.sign_in_session") && !value.contains("logto.tokens_ref")
            })
            .map(|(key, _)| key)
            .collect()
    };
    let browser = Browser::new();
    let response = browser.get(&app.url("/sign-in")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let pending = pending_only(redis.entries(sessions).await);
    let [key] = &pending[..] else {
        panic!("one session holding the pending sign-in: {pending:?}")
    };
    let ttl = redis.ttl(key).await;
    assert!(
        (14 * 60..=15 * 60).contains(&ttl),
        "a session not signed in is kept 15 minutes: {ttl} s left"
    );

    let callback = idp.sign_in(&location(&response), ALICE.0, ALICE.1).await;
    let response = browser.get(&app.url_of(&callback)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let signed_in = signed_in_sessions(&redis.entries(sessions).await);
    let [(key, _)] = &signed_in[..] else {
        panic!("one signed-in session: {signed_in:?}")
    };
    let ttl = redis.ttl(key).await;
    assert!(
        ttl > 13 * 24 * 3600,
        "a signed-in session is kept for the session TTL: {ttl} s left"
    );
    assert_eq!(
        pending_only(redis.entries(sessions).await),
        Vec::<String>::new()
    );
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a valid logout token for Alice (by `sub`), issued at `now`.
fn alices_logout(idp: &TestIdp, now: u64, jti: &str) -> Value {
    json!({
        "iss": idp.issuer(), "aud": WEB_APP_ID, "iat": now, "exp": now + 120,
        "jti": jti, "sub": ALICE_SUB,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} }
    })
}

/// `claims` as a JWS with `alg: none` and no signature.
fn unsigned(claims: &Value) -> String {
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "logout+jwt"})),
        encode(claims)
    )
}

/// The IdP settings of the scenarios below: no grace for a reused refresh token (any reuse
/// revokes the grant), and with `always_expired`, access tokens of one second, never fresh (the
/// client refreshes on every use).
pub fn strict_rotation(always_expired: bool) -> Value {
    if always_expired {
        json!({ "access_token_ttl": 1, "refresh_token_reuse_grace_seconds": 0 })
    } else {
        json!({ "refresh_token_reuse_grace_seconds": 0 })
    }
}

/// The session's current refresh token, through the app's debug route.
async fn refresh_token(browser: &Browser, app: &Instance) -> String {
    let response = browser.get(&app.url("/debug/refresh-token")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// Two instances, Alice signed in through `a` with `on_a` (`on_b` holding the same session
/// cookie for `b`), the IdP started with [`strict_rotation`]`(true)`: the refresh token one
/// instance rotates is the one the other uses next, in both directions, and signing out on one
/// signs out on the other.
pub async fn a_session_moves_between_instances_and_both_see_rotations(
    idp: &TestIdp,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let shopping = with_resource("/protected/resource", SHOPPING_API);
    idp.reset_stats().await;
    let (status, claims) = on_b.get_json(&b.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], ALICE_SUB);
    let first = refresh_token(on_a, a).await;
    assert_eq!(refresh_token(on_b, b).await, first);

    // B refreshes; A sees the rotated refresh token.
    let (status, body) = on_b.get_json(&b.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = refresh_token(on_a, a).await;
    assert_ne!(second, first);

    // A refreshes with it; B sees that one.
    let (status, body) = on_a.get_json(&a.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let third = refresh_token(on_b, b).await;
    assert_ne!(third, second);
    assert_eq!(idp.stats().await.refresh_token_grants, 2);

    // Signing out on one instance signs out on the other.
    let response = on_b.get(&b.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = on_a.get_json(&a.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Two instances as for [`a_session_moves_between_instances_and_both_see_rotations`], the IdP
/// started with [`strict_rotation`]`(true)`: a burst on both instances refreshes once per
/// request, in turn, each with the refresh token the previous one got (a reuse would have
/// revoked the grant and failed the rest).
pub async fn always_expired_tokens_refresh_in_turn_without_reuse(
    idp: &TestIdp,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let shopping = with_resource("/protected/resource", SHOPPING_API);
    idp.reset_stats().await;
    let results = burst([(on_a, a), (on_b, b)], &shopping, 16).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    assert_eq!(idp.stats().await.refresh_token_grants, 16);
    let tokens: HashSet<_> = results
        .iter()
        .map(|(_, body)| body["access_token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 16, "each request its own refresh");
    let (status, body) = on_b.get_json(&b.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Two instances as for [`a_session_moves_between_instances_and_both_see_rotations`], the IdP
/// started with [`strict_rotation`]`(false)`: a request dropped while its refresh waits for the
/// IdP's answer (the browser went away, the server drops the handler): the refresh still
/// completes, stores the rotated refresh token and releases the lock, so the next request, on the
/// other instance, succeeds at once and the grant lives on.
pub async fn a_request_dropped_mid_refresh_loses_neither_the_grant_nor_the_lock(
    idp: &TestIdp,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let shopping = with_resource("/protected/resource", SHOPPING_API);
    let first = refresh_token(on_a, a).await;
    let response = on_a.get(&a.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    idp.reset_stats().await;

    // The refresh token is rotated at the IdP, and the answer held; the request is dropped then.
    idp.hold_next_token_response().await;
    let url = a.url(&shopping);
    tokio::select! {
        (status, body) = on_a.get_json(&url) => {
            panic!("answered while the token response is held: {status} {body}")
        }
        () = idp.wait_for_held_token_response() => {}
    }
    idp.release_token_response().await;

    let start = Instant::now();
    let (status, body) = on_b.get_json(&b.url(&shopping)).await;
    let took = start.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        took < Duration::from_secs(5),
        "the next request waited {took:?}, as for a lock left held"
    );
    let second = refresh_token(on_b, b).await;
    assert_ne!(second, first, "the rotated refresh token was stored");
    assert_eq!(idp.stats().await.refresh_token_grants, 1);

    // The grant is alive: the stored refresh token refreshes again.
    let response = on_b.get(&b.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = on_a.get_json(&a.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(refresh_token(on_a, a).await, second);
    assert_eq!(idp.stats().await.refresh_token_grants, 2);
}

/// Two instances as for [`a_session_moves_between_instances_and_both_see_rotations`], the IdP
/// started with [`strict_rotation`]`(false)` (its refresh tokens rotate on every use): bursts on
/// both instances, all needing a new access token, make exactly one refresh at the IdP each,
/// every request of a burst handed its one token, and the rotated refresh token the next burst
/// uses (a reuse would have revoked the grant).
pub async fn racing_refreshes_with_rotation_reach_the_idp_once(
    idp: &TestIdp,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let shopping = with_resource("/protected/resource", SHOPPING_API);
    let mut refresh_tokens = HashSet::from([refresh_token(on_a, a).await]);
    for round in 0..3 {
        // Forget the cached access tokens: every request of the burst needs a refresh.
        let response = on_a.get(&a.url("/debug/clear-access-tokens")).await;
        assert_eq!(response.status(), StatusCode::OK);
        idp.reset_stats().await;

        let results = burst([(on_a, a), (on_b, b)], &shopping, 12).await;
        for (status, body) in &results {
            assert_eq!(*status, StatusCode::OK, "round {round}: {body}");
        }
        let tokens: HashSet<_> = results
            .iter()
            .map(|(_, body)| body["access_token"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: every request shares the one refresh"
        );
        assert_eq!(idp.stats().await.refresh_token_grants, 1, "round {round}");
        assert!(
            refresh_tokens.insert(refresh_token(on_b, b).await),
            "round {round}: the refresh token rotated"
        );
    }
}
