//! The sign-in flow through the ready-made routes and the extractors against the test IdP, with
//! the default in-memory session store, for what the real Logto cannot produce (an ID token far
//! beyond a cookie's size, forged logout tokens) and what only axum has (the layer missing, the
//! builder's session TTL, a back-channel logout whose request is dropped or whose store fails).
//! The flow itself against the real Logto, for every integration, is in
//! logto-test-support's `web_scenarios`, run by `real_logto.rs`.

mod support;

use logto_test_support::web_scenarios::{idp as idp_scenarios, session_cookie};
use logto_test_support::{ALICE, Browser, StoreFaults, TestIdp, location, set_cookies};
use reqwest::StatusCode;
use support::{config, start_app, start_memory_app};
use tower_sessions::MemoryStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// A [`MemoryStore`] whose deletions obey [`StoreFaults`].
#[derive(Clone, Debug, Default)]
struct FaultyStore {
    store: MemoryStore,
    faults: StoreFaults,
}

#[async_trait::async_trait]
impl SessionStore for FaultyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.store.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.faults
            .before_delete()
            .await
            .map_err(session_store::Error::Backend)?;
        self.store.delete(id).await
    }
}

#[tokio::test]
async fn large_tokens_stay_on_the_server() {
    let idp = TestIdp::start_with(idp_scenarios::carol_with_a_long_name()).await;
    let app = start_memory_app(&idp).await;
    idp_scenarios::large_tokens_stay_on_the_server(&idp, &app.instance()).await;
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

#[tokio::test]
async fn a_back_channel_logout_during_a_refresh_is_not_undone() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    idp_scenarios::a_back_channel_logout_during_a_refresh_is_not_undone(&idp, &app.instance())
        .await;
}

#[tokio::test]
async fn back_channel_logout_verifies_the_token_and_ends_the_users_sessions() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    idp_scenarios::back_channel_logout_verifies_the_token_and_ends_the_users_sessions(
        &idp,
        &app.instance(),
    )
    .await;
}

/// axum (hyper) drops a handler whose client went away.
#[tokio::test]
async fn a_back_channel_logout_dropped_midway_still_ends_every_session() {
    let idp = TestIdp::start().await;
    let store = FaultyStore::default();
    let app = start_app(config(&idp), store.clone(), |builder| builder).await;
    idp_scenarios::a_back_channel_logout_dropped_midway_still_ends_every_session(
        &idp,
        &app.instance(),
        &store.faults,
    )
    .await;
}

#[tokio::test]
async fn a_failed_back_channel_logout_accepts_a_retry_of_its_token() {
    let idp = TestIdp::start().await;
    let store = FaultyStore::default();
    let app = start_app(config(&idp), store.clone(), |builder| builder).await;
    idp_scenarios::a_failed_back_channel_logout_accepts_a_retry_of_its_token(
        &idp,
        &app.instance(),
        &store.faults,
    )
    .await;
}
