//! The axum integration against the real Logto (testing/logto), at production defaults, through
//! the scenarios logto-test-support's `web_scenarios` runs against every integration (the routes
//! and extractors with a browser signing in at Logto: cookie flags, session id renewed, tokens
//! never in the cookie, options, failed callbacks, cross-site sign-out, a grant revoked in Logto,
//! sign-out; two app instances sharing one Redis store and refreshing one session at once;
//! back-channel logout), and axum's own: sessions sealed at rest in Redis across a crash.
//!
//! Each test provisions its own apps, API resources and users (a `World`); its app listens on a
//! port chosen before the world is created, since Logto only accepts registered redirect URIs.

mod support;

use std::time::Instant;

use futures_util::future::join_all;
use logto::{LogtoConfig, UserInfoScope};
use logto_axum::{EncryptedStore, RedisStore, SessionKey};
use logto_test_support::web_scenarios::{self, with_resource};
use logto_test_support::{Browser, LogtoBrowser, RealLogto, Redis, World};
use reqwest::StatusCode;
use serde_json::json;
use support::{App, start_app_on};
use tokio::net::TcpListener;
use tower_sessions::MemoryStore;

/// The config of the world's traditional web app: the claims of email, custom data, identities
/// and organizations, both API resources and the organization scopes.
fn config(logto: &RealLogto, world: &World) -> LogtoConfig {
    LogtoConfig::builder(logto.endpoint(), &world.web_app.id)
        .app_secret(world.web_app.secret.as_ref().expect("a traditional app"))
        .scopes([
            UserInfoScope::Email,
            UserInfoScope::CustomData,
            UserInfoScope::Identities,
            UserInfoScope::Organizations,
        ])
        .scopes([
            "shopping:read",
            "shopping:write",
            "store:read",
            "read:projects",
            "write:projects",
        ])
        .resources([&world.shopping.indicator, &world.store.indicator])
        .build()
        .unwrap()
}

/// A listener on a free port and the app's URL there.
async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    (listener, base_url)
}

/// A world whose web app accepts `base_url`'s callback and home page as redirect URIs.
async fn world_for(logto: &RealLogto, base_url: &str) -> World {
    logto
        .world(&format!("{base_url}/callback"), &format!("{base_url}/"))
        .await
}

/// The real Logto, a fresh world and an app with the in-memory session store; `None` when the
/// real-Logto tier is skipped.
async fn memory_app() -> Option<(RealLogto, World, App)> {
    let logto = RealLogto::connect().await?;
    let (listener, base_url) = listen().await;
    let world = world_for(&logto, &base_url).await;
    let app = start_app_on(
        listener,
        &base_url,
        config(&logto, &world),
        MemoryStore::default(),
        |builder| builder,
    )
    .await;
    Some((logto, world, app))
}

#[tokio::test]
async fn sign_in_claims_tokens_and_sign_out_through_the_routes() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::sign_in_use_tokens_and_sign_out(&logto, &world, &app.instance()).await;
}

#[tokio::test]
async fn sign_in_route_options_reach_logtos_pages() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::sign_in_options_reach_logtos_pages(&logto, &world, &app.instance()).await;
}

#[tokio::test]
async fn a_user_without_organizations_gets_no_organization_token() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::a_user_without_organizations_gets_no_organization_token(
        &logto,
        &world,
        &app.instance(),
    )
    .await;
}

#[tokio::test]
async fn failed_callbacks_show_an_error_page() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::failed_callbacks_show_an_error_page(&logto, &world, &app.instance()).await;
}

#[tokio::test]
async fn sign_ins_in_two_tabs_land_each_on_its_page() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::sign_ins_in_two_tabs_land_each_on_its_page(&logto, &world, &app.instance())
        .await;
}

#[tokio::test]
async fn a_grant_revoked_in_logto_signs_the_visitor_out() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::a_grant_revoked_in_logto_signs_the_visitor_out(&logto, &world, &app.instance())
        .await;
}

#[tokio::test]
async fn cross_site_sign_out_is_refused() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::cross_site_sign_out_is_refused(&logto, &world, &app.instance()).await;
}

#[tokio::test]
async fn cookie_is_secure_for_an_https_base_url() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (listener, _) = listen().await;
    let world = world_for(&logto, "https://app.example.com").await;
    let app = start_app_on(
        listener,
        "https://app.example.com",
        config(&logto, &world),
        MemoryStore::default(),
        |builder| builder,
    )
    .await;
    web_scenarios::cookie_is_secure_for_an_https_base_url(&logto, &app.instance()).await;
}

// ------------------------------------------------------------------ two instances, one Redis

/// Two app instances behind one public URL (as behind a load balancer), each with its own
/// `LogtoConfig` (so its own in-process refresh coordination) and its own Redis connection, the
/// Redis store also their refresh lock; Alice signed in through the first, a browser on each.
struct TwoInstances {
    logto: RealLogto,
    world: World,
    _redis: Redis,
    a: App,
    on_a: Browser,
    b: App,
    on_b: Browser,
    /// The browser's cookie jar at Logto, where Alice signed in.
    at_logto: LogtoBrowser,
}

impl TwoInstances {
    /// `back_channel_logout`: whether the web app has its back-channel logout URI set.
    async fn start(back_channel_logout: bool) -> Option<TwoInstances> {
        let logto = RealLogto::connect().await?;
        let redis = Redis::start().await;
        let (listener_a, public_url) = listen().await;
        let (listener_b, _) = listen().await;
        let world = world_for(&logto, &public_url).await;
        if back_channel_logout {
            logto
                .set_back_channel_logout_uri(
                    &world.web_app.id,
                    &format!("{public_url}/back-channel-logout"),
                )
                .await;
        }
        let mut instances = Vec::new();
        for listener in [listener_a, listener_b] {
            let store = RedisStore::connect(&redis.url).await.unwrap();
            let lock = store.clone();
            let app = start_app_on(
                listener,
                &public_url,
                config(&logto, &world),
                store,
                move |builder| builder.refresh_lock(lock),
            )
            .await;
            instances.push(app);
        }
        let (b, a) = (instances.pop().unwrap(), instances.pop().unwrap());
        let on_a = Browser::new();
        let at_logto = logto.browser();
        let landing = a.instance().sign_in(&on_a, &at_logto, &world.alice).await;
        assert_eq!(landing, "/");
        let on_b = on_a.with_cookies_for(&a.base_url, &b.base_url);
        Some(TwoInstances {
            logto,
            world,
            _redis: redis,
            a,
            on_a,
            b,
            on_b,
            at_logto,
        })
    }
}

#[tokio::test]
async fn a_session_moves_between_instances_sharing_redis() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    let (a, b) = (t.a.instance(), t.b.instance());
    web_scenarios::a_session_moves_between_instances(
        &t.logto,
        &t.world,
        (&a, &t.on_a),
        (&b, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn racing_refreshes_across_instances_reach_logto_once() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    let (a, b) = (t.a.instance(), t.b.instance());
    web_scenarios::racing_refreshes_across_instances_reach_logto_once(
        &t.logto,
        &t.world,
        (&a, &t.on_a),
        (&b, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn short_lived_access_tokens_refresh_in_turn_across_instances() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    let (a, b) = (t.a.instance(), t.b.instance());
    web_scenarios::short_lived_access_tokens_refresh_in_turn_across_instances(
        &t.logto,
        &t.world,
        (&a, &t.on_a),
        (&b, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn an_aging_refresh_token_rotates_once_across_instances() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    let (a, b) = (t.a.instance(), t.b.instance());
    web_scenarios::an_aging_refresh_token_rotates_once_across_instances(
        &t.logto,
        &t.world,
        (&a, &t.on_a),
        (&b, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn signing_out_of_another_app_ends_the_session_through_back_channel_logout() {
    let Some(t) = TwoInstances::start(true).await else {
        return;
    };
    let (a, b) = (t.a.instance(), t.b.instance());
    web_scenarios::signing_out_of_another_app_ends_the_session_through_back_channel_logout(
        &t.logto,
        &t.world,
        &t.at_logto,
        (&a, &t.on_a),
        (&b, &t.on_b),
    )
    .await;
}

/// Sessions sealed at rest in Redis (append-only file on, every write on disk): no token ever
/// reaches Redis in clear. Redis crashes and restarts under load: no session is lost, and only
/// requests sent while Redis was down fail.
#[tokio::test]
async fn encrypted_sessions_survive_a_redis_crash_under_load() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let mut redis = Redis::start_persistent().await;
    let (listener, base_url) = listen().await;
    let world = world_for(&logto, &base_url).await;
    let store = RedisStore::connect(&redis.url).await.unwrap();
    let lock = store.clone();
    let key = SessionKey::generate();
    let app = start_app_on(
        listener,
        &base_url,
        config(&logto, &world),
        EncryptedStore::new(store, key.clone()),
        move |builder| builder.refresh_lock(lock),
    )
    .await;
    let browser = Browser::new();
    let landing = app
        .instance()
        .sign_in(&browser, &logto.browser(), &world.alice)
        .await;
    assert_eq!(landing, "/");
    let shopping = with_resource("/protected/resource", &world.shopping.indicator);
    let (status, token) = browser.get_json(&app.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{token}");

    let persisted = redis.persisted();
    assert!(
        persisted.contains("logto:session:"),
        "sessions are in Redis"
    );
    assert!(persisted.contains("v1."), "sealed records");
    // Every JWT of Logto's starts so (`{"alg":`); random ciphertext does not (odds 2^-48).
    assert!(
        !persisted.contains("eyJhbGci"),
        "a JWT reached Redis in clear"
    );
    assert!(!persisted.contains(token["access_token"].as_str().unwrap()));

    // Four request loops; Redis crashes once every loop has had answers, and comes back.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let answered = std::sync::atomic::AtomicUsize::new(0);
    let back = tokio::sync::OnceCell::<Instant>::new();
    let protected = app.url("/protected");
    let run = || async {
        let mut log = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let started = Instant::now();
            let (status, body) = browser.get_json(&protected).await;
            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            log.push((started, status, body["sub"].clone()));
            tokio::task::yield_now().await;
        }
        log
    };
    let chaos = async {
        while answered.load(std::sync::atomic::Ordering::SeqCst) < 20 {
            tokio::task::yield_now().await;
        }
        redis.crash_and_restart().await;
        back.set(Instant::now()).unwrap();
        let after = answered.load(std::sync::atomic::Ordering::SeqCst);
        while answered.load(std::sync::atomic::Ordering::SeqCst) < after + 100 {
            tokio::task::yield_now().await;
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (logs, ()) = tokio::join!(join_all((0..4).map(|_| run())), chaos);
    let back = *back.get().unwrap();
    let mut after_restart = 0;
    let mut failed_in_outage = 0;
    for (started, status, sub) in logs.into_iter().flatten() {
        if started >= back {
            after_restart += 1;
            assert_eq!(
                status,
                StatusCode::OK,
                "a request after Redis came back failed"
            );
            assert_eq!(sub, json!(world.alice.id));
        } else if status != StatusCode::OK {
            failed_in_outage += 1;
        }
    }
    // Of the 100 answers after the restart, the few in flight across it started before.
    assert!(after_restart >= 90, "{after_restart}");
    eprintln!("{failed_in_outage} requests failed while Redis was down");
    // The tokens too survived: the same access token, from the sealed record.
    let (status, again) = browser.get_json(&app.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["access_token"], token["access_token"]);

    // Another instance on the same Redis: with a key that opens nothing the visitor is signed
    // out (401, not an error); with a new key and the old one kept for decryption, still in.
    let instance = |store: EncryptedStore<RedisStore>| {
        let (logto, world, base_url) = (&logto, &world, &base_url);
        async move {
            let (listener, _) = listen().await;
            start_app_on(listener, base_url, config(logto, world), store, |b| b).await
        }
    };
    let store = || async { RedisStore::connect(&redis.url).await.unwrap() };
    let stranger = instance(EncryptedStore::new(store().await, SessionKey::generate())).await;
    let on_stranger = browser.with_cookies_for(&app.base_url, &stranger.base_url);
    let (status, body) = on_stranger.get_json(&stranger.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body, json!({ "error": "not_authenticated" }));
    let rotated =
        instance(EncryptedStore::new(store().await, SessionKey::generate()).decrypt_with(key))
            .await;
    let on_rotated = browser.with_cookies_for(&app.base_url, &rotated.base_url);
    let (status, claims) = on_rotated.get_json(&rotated.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], world.alice.id);
}
