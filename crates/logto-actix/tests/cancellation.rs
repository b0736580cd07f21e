//! Requests whose client goes away midway: a token refresh, on two app instances sharing one
//! Redis server (the test IdP holds Logto's answer to the refresh meanwhile), still completes,
//! stores the rotated refresh token and releases the Redis lock; a back-channel logout (the
//! store holds a deletion meanwhile) still ends every session it names. And a back-channel
//! logout whose store fails accepts a retry of its token.
//!
//! actix-web lets a handler run to completion when its client goes away, unless the server drops
//! half-closed connections (`HttpServer::h1_allow_half_closed(false)`): the instances here do, so
//! that the handler is dropped midway, as an app configured so (or a timeout) would see.
//!
//! Each refreshing instance has its own `LogtoConfig` (its own in-process refresh coordination)
//! and its own Redis connection: they share only Redis, as two processes do.

use std::time::{Duration, Instant};

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as TimeDuration;
use actix_web::{App, HttpResponse, HttpServer, web};
use logto::{BoxFuture, LogtoConfig, UserInfoScope};
use logto_actix::{Authenticated, BoxError, Logto, MemoryStore, RedisStore, Rejection, TokenStore};
use logto_test_support::web_scenarios::{Instance as Scenarios, idp as idp_scenarios};
use logto_test_support::{
    ALICE, Browser, Redis, SHOPPING_API, StoreFaults, TestIdp, WEB_APP_ID, WEB_APP_SECRET,
};
use reqwest::StatusCode;
use serde_json::json;

fn config(idp: &TestIdp) -> LogtoConfig {
    LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(WEB_APP_SECRET)
        .scopes([UserInfoScope::Email])
        .scopes(["shopping:read"])
        .resources([SHOPPING_API])
        .build()
        .unwrap()
}

/// Signalled when a `resource` handler is dropped before it finished (its client went away).
static DROPPED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Notifies [`DROPPED`] unless defused.
struct DropSignal(bool);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if !self.0 {
            DROPPED.notify_one();
        }
    }
}

async fn resource(
    Authenticated { auth, .. }: Authenticated<()>,
) -> Result<HttpResponse, Rejection> {
    let mut signal = DropSignal(false);
    let token = auth
        .get_access_token(SHOPPING_API)
        .await
        .map_err(|e| auth.reject(e));
    signal.0 = true;
    Ok(HttpResponse::Ok().json(json!({ "access_token": token? })))
}

/// The session's current refresh token (test app only: never expose tokens like this).
async fn refresh_token(Authenticated { auth, .. }: Authenticated<()>) -> Result<String, Rejection> {
    let token = auth.get_refresh_token().await.map_err(|e| auth.reject(e))?;
    Ok(token.unwrap_or_default())
}

async fn clear_access_tokens(
    Authenticated { auth, .. }: Authenticated<()>,
) -> Result<HttpResponse, Rejection> {
    auth.clear_access_token()
        .await
        .map_err(|e| auth.reject(e))?;
    Ok(HttpResponse::Ok().finish())
}

/// One app instance, its sessions and refresh lock in `redis`; stopped on drop.
struct Instance {
    base_url: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Instance {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Instance {
    async fn start(idp: &TestIdp, redis: &Redis) -> Instance {
        let store = RedisStore::connect(&redis.url).await.unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let logto = Logto::builder(config(idp), &base_url)
            .refresh_lock(store.clone())
            .cookie_key_from_secret(WEB_APP_SECRET)
            .build()
            .unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .route("/protected/resource", web::get().to(resource))
                .route("/debug/refresh-token", web::get().to(refresh_token))
                .route(
                    "/debug/clear-access-tokens",
                    web::get().to(clear_access_tokens),
                )
                .configure(|routes| logto.configure(routes))
                .wrap(logto.middleware(store.clone()))
        })
        .workers(1)
        // A client that closes its side of the connection ends the request: actix-web drops the
        // handler (by default it lets the handler run to completion).
        .h1_allow_half_closed(false)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Instance { base_url, handle }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn refresh_token(&self, browser: &Browser) -> String {
        let response = browser.get(&self.url("/debug/refresh-token")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    async fn clear_access_tokens(&self, browser: &Browser) {
        let response = browser.get(&self.url("/debug/clear-access-tokens")).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// A request dropped while its refresh waits for Logto's answer (the browser went away, actix-web
/// drops the handler): the refresh still completes, stores the rotated refresh token and releases
/// the Redis lock, so the next request, on the other instance, succeeds at once and the grant
/// lives on.
#[tokio::test]
async fn a_request_dropped_mid_refresh_loses_neither_the_grant_nor_the_lock() {
    let idp = TestIdp::start_with(json!({ "refresh_token_reuse_grace_seconds": 0 })).await;
    let redis = Redis::start().await;
    let (a, b) = (
        Instance::start(&idp, &redis).await,
        Instance::start(&idp, &redis).await,
    );
    let on_a = Browser::new();
    let (sign_in, callback) = (a.url("/sign-in"), a.url("/callback"));
    assert_eq!(on_a.sign_in(&idp, &sign_in, &callback, ALICE).await, "/");
    let on_b = on_a.with_cookies_for(&a.base_url, &b.base_url);

    let first = a.refresh_token(&on_a).await;
    a.clear_access_tokens(&on_a).await;
    idp.reset_stats().await;

    // The refresh token is rotated at the IdP, and the answer held; the request is dropped then
    // (its connection closed).
    idp.hold_next_token_response().await;
    let url = a.url("/protected/resource");
    tokio::select! {
        (status, body) = on_a.get_json(&url) => {
            panic!("answered while the token response is held: {status} {body}")
        }
        () = idp.wait_for_held_token_response() => {}
    }
    // The handler is gone (the refresh, if spawned, waits on), then Logto answers.
    tokio::time::timeout(Duration::from_secs(10), DROPPED.notified())
        .await
        .expect("actix-web did not drop the handler of the abandoned request");
    idp.release_token_response().await;

    let start = Instant::now();
    let (status, body) = on_b.get_json(&b.url("/protected/resource")).await;
    let took = start.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        took < Duration::from_secs(5),
        "the next request waited {took:?}, as for a lock left held"
    );
    let second = b.refresh_token(&on_b).await;
    assert_ne!(second, first, "the rotated refresh token was stored");
    assert_eq!(idp.stats().await.refresh_token_grants, 1);

    // The grant is alive: the stored refresh token refreshes again.
    b.clear_access_tokens(&on_b).await;
    let (status, body) = on_a.get_json(&a.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(a.refresh_token(&on_a).await, second);
    assert_eq!(idp.stats().await.refresh_token_grants, 2);
}

/// A [`MemoryStore`] whose deletions of token records obey [`StoreFaults`].
#[derive(Clone, Debug, Default)]
struct FaultyStore {
    store: MemoryStore,
    faults: StoreFaults,
}

impl TokenStore for FaultyStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        TokenStore::load(&self.store, id)
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        TokenStore::save(&self.store, id, value, ttl)
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.faults.before_delete().await?;
            TokenStore::delete(&self.store, id).await
        })
    }
}

impl SessionStore for FaultyStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        SessionStore::load(&self.store, key).await
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, SaveError> {
        SessionStore::save(&self.store, state, ttl).await
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, UpdateError> {
        SessionStore::update(&self.store, key, state, ttl).await
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &TimeDuration) -> anyhow::Result<()> {
        SessionStore::update_ttl(&self.store, key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        SessionStore::delete(&self.store, key).await
    }
}

async fn protected(Authenticated { user, .. }: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!(user))
}

/// An app on the test IdP with its sessions in a [`FaultyStore`], which drops the handler of a
/// request whose client went away; stopped on drop.
struct FaultyApp {
    instance: Scenarios,
    faults: StoreFaults,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FaultyApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl FaultyApp {
    fn start(idp: &TestIdp) -> FaultyApp {
        let store = FaultyStore::default();
        let faults = store.faults.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let logto = Logto::builder(config(idp), &base_url).build().unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .route("/protected", web::get().to(protected))
                .configure(|routes| logto.configure(routes))
                .wrap(logto.middleware(store.clone()))
        })
        .workers(1)
        .h1_allow_half_closed(false)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FaultyApp {
            instance: Scenarios::new(&base_url),
            faults,
            handle,
        }
    }
}

#[tokio::test]
async fn a_back_channel_logout_dropped_midway_still_ends_every_session() {
    let idp = TestIdp::start().await;
    let app = FaultyApp::start(&idp);
    idp_scenarios::a_back_channel_logout_dropped_midway_still_ends_every_session(
        &idp,
        &app.instance,
        &app.faults,
    )
    .await;
}

#[tokio::test]
async fn a_failed_back_channel_logout_accepts_a_retry_of_its_token() {
    let idp = TestIdp::start().await;
    let app = FaultyApp::start(&idp);
    idp_scenarios::a_failed_back_channel_logout_accepts_a_retry_of_its_token(
        &idp,
        &app.instance,
        &app.faults,
    )
    .await;
}
