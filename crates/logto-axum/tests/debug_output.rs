//! `Debug` of the handle, the layer, its service and the extractors never shows a session's
//! tokens or the app secret, however many sessions the store holds.

mod support;

use axum::routing::get;
use logto_axum::{Auth, Logto};
use logto_test_support::{ALICE, BOB, Browser, TestIdp, WEB_APP_SECRET};
use reqwest::StatusCode;
use support::{config, routes};
use tokio::net::TcpListener;
use tower_layer::Layer;
use tower_sessions::MemoryStore;

/// The parts of `text` that must never show in `Debug`.
fn assert_no_secrets(what: &str, text: &str, refresh_tokens: &[String]) {
    for token in refresh_tokens {
        assert!(
            !text.contains(token.as_str()),
            "{what} shows a refresh token: {text}"
        );
    }
    for needle in [
        WEB_APP_SECRET,
        "eyJ",
        "refresh_token",
        "id_token",
        // The token record's field (a session shows the record's id, `logto.tokens_ref`).
        r#""logto.tokens""#,
    ] {
        assert!(!text.contains(needle), "{what} shows {needle:?}: {text}");
    }
}

#[tokio::test]
async fn debug_output_never_shows_tokens_or_secrets() {
    let idp = TestIdp::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let logto = Logto::builder(config(&idp), &base_url).build().unwrap();
    let layer = logto.layer(MemoryStore::default());
    let app = routes()
        .route(
            "/debug/formatted",
            get(|auth: Auth| async move { format!("{auth:?}\n{:?}", auth.session()) }),
        )
        .merge(logto.router())
        .layer(layer.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = |path: &str| format!("{base_url}{path}");

    let mut refresh_tokens = Vec::new();
    let mut browsers = Vec::new();
    for user in [ALICE, BOB] {
        let browser = Browser::new();
        browser
            .sign_in(&idp, &url("/sign-in"), &url("/callback"), user)
            .await;
        let response = browser.get(&url("/debug/refresh-token")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let token = response.text().await.unwrap();
        assert!(token.len() > 10, "no refresh token: {token:?}");
        refresh_tokens.push(token);
        browsers.push(browser);
    }

    assert_no_secrets("Logto", &format!("{logto:?}"), &refresh_tokens);
    assert_no_secrets("Logto (pretty)", &format!("{logto:#?}"), &refresh_tokens);
    assert_no_secrets("LogtoLayer", &format!("{layer:?}"), &refresh_tokens);
    assert_no_secrets(
        "LogtoLayer (pretty)",
        &format!("{layer:#?}"),
        &refresh_tokens,
    );
    let service = layer.layer(axum::Router::<()>::new());
    assert_no_secrets(
        "the layer's service",
        &format!("{service:?}"),
        &refresh_tokens,
    );
    let builder = Logto::builder(config(&idp), &base_url);
    assert_no_secrets("LogtoBuilder", &format!("{builder:?}"), &refresh_tokens);
    for browser in &browsers {
        // The page asked for stays out too (the callback's query holds a code).
        let response = browser.get(&url("/debug/formatted?code=page-code")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert_no_secrets("Auth and its session", &text, &refresh_tokens);
        assert!(!text.contains("page-code"), "Auth shows its page: {text}");
    }
    server.abort();
}
