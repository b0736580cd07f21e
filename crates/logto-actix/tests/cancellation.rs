//! A request whose client goes away in the middle of a token refresh, on two app instances
//! sharing one Redis server (the test IdP holds Logto's answer to the refresh meanwhile): the
//! refresh still completes, stores the rotated refresh token and releases the Redis lock.
//!
//! actix-web lets a handler run to completion when its client goes away, unless the server drops
//! half-closed connections (`HttpServer::h1_allow_half_closed(false)`): the instances here do, so
//! that the handler is dropped mid-refresh, as an app configured so (or a timeout) would see.
//!
//! Each instance has its own `LogtoConfig` (its own in-process refresh coordination) and its own
//! Redis connection: they share only Redis, as two processes do.

use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use logto::{LogtoConfig, UserInfoScope};
use logto_actix::{Authenticated, Logto, RedisStore, Rejection};
use logto_test_support::{
    ALICE, Browser, Redis, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET,
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
