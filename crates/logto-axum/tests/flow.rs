//! The sign-in flow through the ready-made routes and the extractors against the test IdP, with
//! the default in-memory session store, for what the real Logto cannot produce (an ID token far
//! beyond a cookie's size, forged logout tokens) and what only axum has (the layer missing, the
//! builder's session TTL). The flow itself against the real Logto, for every integration, is in
//! logto-test-support's `web_scenarios`, run by `real_logto.rs`.

mod support;

use logto_test_support::web_scenarios::session_cookie;
use logto_test_support::{
    ALICE, BOB, Browser, ORG_GLOBEX, TestIdp, WEB_APP_ID, location, set_cookies,
};
use reqwest::StatusCode;
use serde_json::json;
use support::{config, start_app, start_memory_app};
use tower_sessions::MemoryStore;

#[tokio::test]
async fn large_tokens_stay_on_the_server() {
    // A profile whose ID token is far beyond a cookie's 4 KB.
    let long_name = "Carol ".repeat(800);
    let idp = TestIdp::start_with(json!({
        "users": [{ "id": "user-carol", "username": "carol", "password": "carol-password",
                    "name": long_name }]
    }))
    .await;
    let app = start_app(config(&idp), MemoryStore::default(), |b| b).await;
    let browser = Browser::new();
    let landing = app
        .sign_in(&browser, &idp, ("carol", "carol-password"))
        .await;
    assert_eq!(landing, "/");
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims["name"].as_str().unwrap().len(), long_name.len());
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["name"].as_str().unwrap().len(), long_name.len());
}

#[tokio::test]
async fn userinfo_and_org_tokens_for_a_user_without_organizations() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let browser = Browser::new();
    app.sign_in(&browser, &idp, BOB).await;
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["sub"], "user-bob");
    let (status, body) = browser
        .get_json(&app.url(&format!("/protected/organizations/{ORG_GLOBEX}")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn routes_without_the_layer_say_how_to_fix_it() {
    let idp = TestIdp::start().await;
    let logto = logto_axum::Logto::builder(config(&idp), "http://127.0.0.1")
        .build()
        .unwrap();
    let app: axum::Router = logto.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (status, body) = Browser::new()
        .get_json(&format!("http://{addr}/sign-in"))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("logto.layer(store)"),
        "{body}"
    );
    server.abort();
}

/// An `http` base URL on a host other than the local machine (a production misconfiguration)
/// still never lets the session cookie travel in clear.
#[tokio::test]
async fn cookie_is_secure_for_a_non_loopback_http_base_url() {
    let idp = TestIdp::start().await;
    for (base_url, secure) in [
        ("http://app.example.com", true),
        ("http://10.1.2.3:8080", true),
        ("http://localhost:3000", false),
        ("http://127.0.0.2:3000", false),
        ("http://[::1]:3000", false),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let logto = logto_axum::Logto::builder(config(&idp), base_url)
            .build()
            .unwrap();
        let app = logto.router().layer(logto.layer(MemoryStore::default()));
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let response = Browser::new().get(&format!("http://{addr}/sign-in")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = session_cookie(&set_cookies(&response)).unwrap();
        assert_eq!(cookie.contains("Secure"), secure, "{base_url}: {cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        server.abort();
    }
}

/// A session TTL far beyond year 9999 saturates: sign-in, pages and sign-out work.
#[tokio::test]
async fn a_huge_session_ttl_saturates() {
    let idp = TestIdp::start().await;
    for ttl in [
        std::time::Duration::from_secs(1_000_000_000_000),
        std::time::Duration::MAX,
    ] {
        let app = start_app(config(&idp), MemoryStore::default(), |builder| {
            builder.session_ttl(ttl)
        })
        .await;
        let browser = Browser::new();
        let response = browser.get(&app.url("/sign-in")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{ttl:?}");
        let cookie = session_cookie(&set_cookies(&response)).unwrap();
        assert!(cookie.contains("Max-Age="), "{ttl:?}: {cookie}");
        let callback = idp.sign_in(&location(&response), ALICE.0, ALICE.1).await;
        let response = browser.get(&callback).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{ttl:?}: {}",
            response.text().await.unwrap()
        );
        let (status, claims) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::OK, "{ttl:?}: {claims}");
        assert_eq!(claims["sub"], "user-alice");
        let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
        assert_eq!(status, StatusCode::OK, "{ttl:?}: {user}");
        let response = browser.get(&app.url("/sign-out")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{ttl:?}");
    }
}

/// The logout tokens a back-channel logout route must refuse (400, the visitor still signed in),
/// then a valid one (200, the visitor's session gone), then its replay (400).
#[tokio::test]
async fn back_channel_logout_verifies_the_token_and_ends_the_users_sessions() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let browser = Browser::new();
    app.sign_in(&browser, &idp, ALICE).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let valid = json!({
        "iss": idp.issuer(), "aud": WEB_APP_ID, "iat": now, "exp": now + 120,
        "jti": format!("jti-{now}"), "sub": logto_test_support::ALICE_SUB,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} }
    });
    let with = |change: serde_json::Value| {
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

    let forged = [
        (
            "wrong issuer",
            idp.sign(
                with(json!({"iss": "https://evil.example/oidc"})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "wrong audience",
            idp.sign(
                with(json!({"aud": "another-app"})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "no events",
            idp.sign(with(json!({"events": null})), logout_header.clone(), "idp")
                .await,
        ),
        (
            "wrong event",
            idp.sign(
                with(json!({"events": {"urn:other": {}}})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "a nonce",
            idp.sign(with(json!({"nonce": "n"})), logout_header.clone(), "idp")
                .await,
        ),
        (
            "no sub nor sid",
            idp.sign(with(json!({"sub": null})), logout_header.clone(), "idp")
                .await,
        ),
        (
            "no jti",
            idp.sign(with(json!({"jti": null})), logout_header.clone(), "idp")
                .await,
        ),
        (
            "expired",
            idp.sign(
                with(json!({"iat": now - 7200, "exp": now - 3600})),
                logout_header.clone(),
                "idp",
            )
            .await,
        ),
        (
            "an access token's type",
            idp.sign(valid.clone(), Some(json!({"typ": "at+jwt"})), "idp")
                .await,
        ),
        (
            "a key Logto does not have",
            idp.sign(valid.clone(), logout_header.clone(), "foreign")
                .await,
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

    let token = idp.sign(valid.clone(), logout_header.clone(), "idp").await;
    assert_eq!(post(token.clone()).await, (StatusCode::OK, true));
    let (status, body) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        post(token).await,
        (StatusCode::BAD_REQUEST, true),
        "a replay"
    );
}

/// `valid` as a JWS with `alg: none` and no signature.
fn unsigned(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let encode = |value: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "logout+jwt"})),
        encode(claims)
    )
}
