//! The actix-web integration against the real Logto (testing/logto), at production defaults,
//! through the scenarios logto-test-support's `web_scenarios` runs against any integration: the
//! routes and extractors with a browser signing in at Logto (cookie flags, session id renewed,
//! tokens never in the cookie, sign-out), and two app instances sharing one Redis store and
//! refreshing one session at once.
//!
//! Each test provisions its own apps, API resources and users (a `World`); its app listens on a
//! port chosen before the world is created, since Logto only accepts registered redirect URIs.

use std::collections::HashMap;

use actix_web::{App, HttpResponse, HttpServer, web};
use logto::{LogtoConfig, UserInfo, UserInfoScope};
use logto_actix::{
    Auth, Authenticated, Logto, LogtoBuilder, MemoryStore, RedisStore, Rejection, TokenStore,
};
use logto_test_support::web_scenarios::{self, Instance, idp as idp_scenarios};
use logto_test_support::{
    ALICE, Browser, LogtoBrowser, RealLogto, Redis, SHOPPING_API, TestIdp, WEB_APP_ID,
    WEB_APP_SECRET, World, set_cookies, sets_cookie_for, signed_in_sessions,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
fn listen() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    (listener, base_url)
}

/// A world whose web app accepts `base_url`'s callback and home page as redirect URIs.
async fn world_for(logto: &RealLogto, base_url: &str) -> World {
    logto
        .world(&format!("{base_url}/callback"), &format!("{base_url}/"))
        .await
}

/// A running test app; stopped on drop.
struct Running {
    instance: Instance,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Serves the test app on `listener` for users at `public_base_url`, sessions in `store`, its
/// [`Logto`] set up by `configure`.
fn start_app_on<S>(
    listener: std::net::TcpListener,
    public_base_url: &str,
    config: LogtoConfig,
    store: S,
    configure: impl FnOnce(LogtoBuilder) -> LogtoBuilder,
) -> Running
where
    S: actix_session::storage::SessionStore + TokenStore + Clone + Send + 'static,
{
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let logto = configure(Logto::builder(config, public_base_url))
        .build()
        .unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .configure(routes)
            .configure(|routes| logto.configure(routes))
            .wrap(logto.middleware(store.clone()))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Running {
        instance: Instance {
            base_url,
            public_base_url: public_base_url.to_owned(),
        },
        handle,
    }
}

/// The app's own routes, as a user of the crate writes them (those `web_scenarios` expects).
fn routes(routes: &mut web::ServiceConfig) {
    routes
        .route("/", web::get().to(home))
        .route("/protected", web::get().to(protected))
        .route("/protected/userinfo", web::get().to(userinfo))
        .route("/protected/resource", web::get().to(resource))
        .route("/protected/organizations/{id}", web::get().to(organization))
        .route("/debug/refresh-token", web::get().to(refresh_token))
        .route(
            "/debug/clear-access-tokens",
            web::get().to(clear_access_tokens),
        );
}

async fn home(auth: Auth) -> Result<HttpResponse, Rejection> {
    if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
        return Ok(HttpResponse::Ok().json(json!({ "authenticated": false, "claims": null })));
    }
    let claims = auth
        .get_id_token_claims()
        .await
        .map_err(|e| auth.reject(e))?;
    Ok(HttpResponse::Ok().json(json!({ "authenticated": true, "claims": claims })))
}

async fn protected(Authenticated { user, .. }: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(user)
}

async fn userinfo(Authenticated { user, .. }: Authenticated<UserInfo>) -> HttpResponse {
    HttpResponse::Ok().json(user)
}

#[derive(serde::Deserialize)]
struct ResourceQuery {
    resource: String,
}

async fn resource(
    Authenticated { auth, .. }: Authenticated<()>,
    query: web::Query<ResourceQuery>,
) -> Result<HttpResponse, Rejection> {
    let (token, claims) = auth
        .get_access_token_and_claims(&query.resource)
        .await
        .map_err(|e| auth.reject(e))?;
    Ok(HttpResponse::Ok().json(json!({ "access_token": token, "claims": claims })))
}

async fn organization(
    Authenticated { auth, .. }: Authenticated<()>,
    id: web::Path<String>,
) -> Result<HttpResponse, Rejection> {
    let (token, claims) = auth
        .get_organization_token_and_claims(&id)
        .await
        .map_err(|e| auth.reject(e))?;
    Ok(HttpResponse::Ok().json(json!({ "organization_token": token, "claims": claims })))
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

#[tokio::test]
async fn sign_in_claims_tokens_and_sign_out_through_the_routes() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::sign_in_use_tokens_and_sign_out(&logto, &world, &app.instance).await;
}

/// One app with memory sessions for a fresh world; `None` when the real-Logto tier is skipped.
async fn memory_app() -> Option<(RealLogto, World, Running)> {
    let logto = RealLogto::connect().await?;
    let (listener, base_url) = listen();
    let world = world_for(&logto, &base_url).await;
    let app = start_app_on(
        listener,
        &base_url,
        config(&logto, &world),
        MemoryStore::default(),
        |builder| builder,
    );
    Some((logto, world, app))
}

#[tokio::test]
async fn sign_ins_in_two_tabs_land_each_on_its_page() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::sign_ins_in_two_tabs_land_each_on_its_page(&logto, &world, &app.instance).await;
}

#[tokio::test]
async fn a_grant_revoked_in_logto_signs_the_visitor_out() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::a_grant_revoked_in_logto_signs_the_visitor_out(&logto, &world, &app.instance)
        .await;
}

#[tokio::test]
async fn sign_in_route_options_reach_logtos_pages() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::sign_in_options_reach_logtos_pages(&logto, &world, &app.instance).await;
}

#[tokio::test]
async fn a_user_without_organizations_gets_no_organization_token() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::a_user_without_organizations_gets_no_organization_token(
        &logto,
        &world,
        &app.instance,
    )
    .await;
}

#[tokio::test]
async fn failed_callbacks_show_an_error_page() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::failed_callbacks_show_an_error_page(&logto, &world, &app.instance).await;
}

#[tokio::test]
async fn cross_site_sign_out_is_refused() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    web_scenarios::cross_site_sign_out_is_refused(&logto, &world, &app.instance).await;
}

/// Two instances behind one public URL (as behind a load balancer), each with its own
/// `LogtoConfig` (so its own in-process refresh coordination) and its own Redis connection, the
/// Redis store also their refresh lock, and the same cookie key; Alice signed in through the
/// first, a browser on each.
struct TwoInstances {
    logto: RealLogto,
    world: World,
    redis: Redis,
    instances: [Running; 2],
    at_logto: LogtoBrowser,
    on_a: Browser,
    on_b: Browser,
}

impl TwoInstances {
    /// `back_channel_logout`: whether the world's web app has its back-channel logout URI set.
    async fn start(back_channel_logout: bool) -> Option<TwoInstances> {
        let logto = RealLogto::connect().await?;
        let redis = Redis::start().await;
        let (listener_a, public_url) = listen();
        let (listener_b, _) = listen();
        let world = world_for(&logto, &public_url).await;
        if back_channel_logout {
            logto
                .set_back_channel_logout_uri(
                    &world.web_app.id,
                    &format!("{public_url}/back-channel-logout"),
                )
                .await;
        }
        let secret = world.web_app.secret.clone().unwrap();
        let mut instances = Vec::new();
        for listener in [listener_a, listener_b] {
            let store = RedisStore::connect(&redis.url).await.unwrap();
            let lock = store.clone();
            let secret = secret.clone();
            instances.push(start_app_on(
                listener,
                &public_url,
                config(&logto, &world),
                store,
                move |builder| builder.refresh_lock(lock).cookie_key_from_secret(&secret),
            ));
        }
        let instances: [Running; 2] = instances.try_into().ok().unwrap();
        let on_a = Browser::new();
        let at_logto = logto.browser();
        let a = &instances[0].instance;
        assert_eq!(a.sign_in(&on_a, &at_logto, &world.alice).await, "/");
        let on_b = on_a.with_cookies_for(&a.base_url, &instances[1].instance.base_url);
        Some(TwoInstances {
            logto,
            world,
            redis,
            instances,
            at_logto,
            on_a,
            on_b,
        })
    }
}

#[tokio::test]
async fn racing_refreshes_across_instances_reach_logto_once() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    web_scenarios::racing_refreshes_across_instances_reach_logto_once(
        &t.logto,
        &t.world,
        (&t.instances[0].instance, &t.on_a),
        (&t.instances[1].instance, &t.on_b),
    )
    .await;
}

/// The Redis commands one request to `url` made: (scripts, GETs, MGETs), a script's own reads
/// counted as GETs; and the answer's status.
async fn redis_reads(redis: &Redis, browser: &Browser, url: &str) -> ((usize, usize, usize), u16) {
    redis.reset_stats().await;
    let (status, body) = browser.get_json(url).await;
    if status == 200 {
        assert!(body["claims"]["aud"].is_string(), "{body}");
    }
    let reads = (
        redis.command_calls(&["evalsha", "eval"]).await,
        redis.command_calls(&["get"]).await,
        redis.command_calls(&["mget"]).await,
    );
    (reads, status.as_u16())
}

#[tokio::test]
async fn a_signed_in_request_reads_its_session_and_tokens_in_one_round_trip() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    let (a, b) = (&t.instances[0].instance, &t.instances[1].instance);
    let query = format!(
        "/protected/resource?resource={}",
        t.world.shopping.indicator
    );
    let (resource, on_b_resource) = (a.url(&query), b.url(&query));
    // The first request fetches the access token (the refresh lock runs scripts).
    let (status, body) = t.on_a.get_json(&resource).await;
    assert_eq!(status, 200);
    assert_eq!(body["claims"]["aud"], json!(t.world.shopping.indicator));

    // Instance a wrote the session: it knows which token record the session names, and one MGET
    // reads both.
    assert_eq!(
        redis_reads(&t.redis, &t.on_a, &resource).await,
        ((0, 0, 1), 200)
    );
    // Instance b has never seen the session: a script finds the record (its two reads count as
    // GETs); from then on b knows it too.
    for expected in [(1, 2, 0), (0, 0, 1)] {
        let reads = redis_reads(&t.redis, &t.on_b, &on_b_resource).await;
        assert_eq!(reads, (expected, 200));
    }

    // What an instance remembers only picks the key to read: the session decides. Pointed at a
    // record that does not exist, Alice's session is signed out on a, although a still reads her
    // old token record with it (then reads the named one, and learns it).
    let sessions = signed_in_sessions(&t.redis.entries("logto-actix:session:*").await);
    let [(key, value)] = &sessions[..] else {
        panic!("one signed-in session: {sessions:?}")
    };
    let stored: HashMap<String, String> = serde_json::from_str(value).unwrap();
    let named: String = serde_json::from_str(&stored["logto.tokens_ref"]).unwrap();
    let elsewhere = value.replace(&named, "no-such-record");
    t.redis.cli(&["SET", key, &elsewhere, "KEEPTTL"]).await;
    assert_eq!(
        redis_reads(&t.redis, &t.on_a, &resource).await,
        ((0, 1, 1), 401)
    );
    assert_eq!(
        redis_reads(&t.redis, &t.on_a, &resource).await,
        ((0, 0, 1), 401)
    );
    // Named again, the record is Alice's again.
    t.redis.cli(&["SET", key, value, "KEEPTTL"]).await;
    assert_eq!(
        redis_reads(&t.redis, &t.on_a, &resource).await,
        ((0, 1, 1), 200)
    );
    assert_eq!(
        redis_reads(&t.redis, &t.on_a, &resource).await,
        ((0, 0, 1), 200)
    );

    // The slot that hands the tokens over is never stored: a signed-in session that is changed
    // (signing in again stores a pending sign-in) is saved without it.
    let response = t.on_a.get(&a.url("/sign-in")).await;
    assert!(response.status().is_redirection());
    let sessions = t.redis.values("logto-actix:session:*").await;
    assert!(!sessions.is_empty());
    for value in sessions {
        assert!(!value.contains("logto.tokens_prefetched"), "{value}");
    }
    let (status, _) = t.on_a.get_json(&resource).await;
    assert_eq!(status, 200);
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(now.unwrap().as_secs()).unwrap()
}

/// The session's `logto.renewed_at` (Unix seconds) in Redis.
async fn renewed_at(redis: &Redis, session_key: &str) -> i64 {
    let state: HashMap<String, String> =
        serde_json::from_str(&redis.cli(&["GET", session_key]).await).unwrap();
    let at: String = serde_json::from_str(&state["logto.renewed_at"]).unwrap();
    at.parse().unwrap()
}

#[tokio::test]
async fn an_active_session_is_renewed_and_requests_between_renewals_write_nothing() {
    // With a back-channel logout URI, Logto's ID tokens carry `sid`: the session is indexed twice.
    let Some(t) = TwoInstances::start(true).await else {
        return;
    };
    let a = &t.instances[0].instance;
    let url = a.url(&format!(
        "/protected/resource?resource={}",
        t.world.shopping.indicator
    ));
    // The first request fetches the access token; the next writes nothing (nor extends the
    // session's expiry: that is left to the renewals).
    assert_eq!(t.on_a.get_json(&url).await.0, 200);
    t.redis.reset_stats().await;
    let response = t.on_a.get(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(set_cookies(&response), Vec::<String>::new());
    assert_eq!(t.redis.write_calls().await, 0);

    // Alice's session, its token record and the back-channel logout indexes (of sid and sub).
    let sessions = signed_in_sessions(&t.redis.entries("logto-actix:session:*").await);
    let [(session_key, value)] = &sessions[..] else {
        panic!("one signed-in session: {sessions:?}")
    };
    let stored: HashMap<String, String> = serde_json::from_str(value).unwrap();
    let named: String = serde_json::from_str(&stored["logto.tokens_ref"]).unwrap();
    let record_key = format!("logto-actix:record:{named}");
    let signed_in_at = renewed_at(&t.redis, session_key).await;
    assert!(
        (unix_now() - signed_in_at).abs() < 60,
        "recorded at sign-in"
    );
    let indexes: Vec<String> = t
        .redis
        .entries("logto-actix:record:*")
        .await
        .into_iter()
        .filter(|(_, value)| value.contains(&format!("\"{named}\"")))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(indexes.len(), 2, "indexed under sid and sub");
    let tokens = t.redis.cli(&["GET", &record_key]).await;

    // Renewed two days ago, with a TTL of 14 days: due. Every key expires in 1000 s.
    let mut aged = stored.clone();
    let two_days_ago = (unix_now() - 2 * 24 * 3600).to_string();
    aged.insert(
        "logto.renewed_at".into(),
        serde_json::to_string(&two_days_ago).unwrap(),
    );
    let aged = serde_json::to_string(&aged).unwrap();
    t.redis.cli(&["SET", session_key, &aged, "KEEPTTL"]).await;
    let keys: Vec<&String> = [session_key, &record_key]
        .into_iter()
        .chain(&indexes)
        .collect();
    for key in &keys {
        t.redis.cli(&["EXPIRE", key, "1000"]).await;
    }
    let response = t.on_a.get(&url).await;
    assert_eq!(response.status(), 200);
    assert!(
        sets_cookie_for(&response, "logto_session", 14 * 24 * 3600),
        "the cookie is renewed too"
    );
    for key in &keys {
        let ttl = t.redis.ttl(key).await;
        assert!(ttl > 13 * 24 * 3600, "{key} renewed: {ttl} s left");
    }
    assert!((unix_now() - renewed_at(&t.redis, session_key).await).abs() < 60);
    assert_eq!(
        t.redis.cli(&["GET", &record_key]).await,
        tokens,
        "the tokens are written again unchanged"
    );
    for index in &indexes {
        let listed: Vec<String> =
            serde_json::from_str(&t.redis.cli(&["GET", index]).await).unwrap();
        assert_eq!(listed, std::slice::from_ref(&named));
    }

    // Renewed, the session is quiet again until the next renewal is due.
    t.redis.reset_stats().await;
    assert_eq!(t.on_a.get_json(&url).await.0, 200);
    assert_eq!(t.redis.write_calls().await, 0);

    // A handler that takes `Auth` (the home page) renews the session too.
    t.redis.cli(&["SET", session_key, &aged, "KEEPTTL"]).await;
    let (status, home) = t.on_a.get_json(&a.url("/")).await;
    assert_eq!(
        (status, &home["authenticated"]),
        (StatusCode::OK, &json!(true))
    );
    assert!((unix_now() - renewed_at(&t.redis, session_key).await).abs() < 60);
}

#[tokio::test]
async fn a_session_moves_between_instances_sharing_redis() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    web_scenarios::a_session_moves_between_instances(
        &t.logto,
        &t.world,
        (&t.instances[0].instance, &t.on_a),
        (&t.instances[1].instance, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn short_lived_access_tokens_refresh_in_turn_across_instances() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    web_scenarios::short_lived_access_tokens_refresh_in_turn_across_instances(
        &t.logto,
        &t.world,
        (&t.instances[0].instance, &t.on_a),
        (&t.instances[1].instance, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn an_aging_refresh_token_rotates_once_across_instances() {
    let Some(t) = TwoInstances::start(false).await else {
        return;
    };
    web_scenarios::an_aging_refresh_token_rotates_once_across_instances(
        &t.logto,
        &t.world,
        (&t.instances[0].instance, &t.on_a),
        (&t.instances[1].instance, &t.on_b),
    )
    .await;
}

#[tokio::test]
async fn signing_out_of_another_app_ends_the_session_through_back_channel_logout() {
    let Some(t) = TwoInstances::start(true).await else {
        return;
    };
    web_scenarios::signing_out_of_another_app_ends_the_session_through_back_channel_logout(
        &t.logto,
        &t.world,
        &t.at_logto,
        (&t.instances[0].instance, &t.on_a),
        (&t.instances[1].instance, &t.on_b),
    )
    .await;
}

/// The cookie of an app served over https (or on a host other than loopback) is `Secure`; the
/// routes without the middleware say how to fix it.
#[tokio::test]
async fn secure_cookie_and_a_missing_middleware() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (listener, _) = listen();
    let world = world_for(&logto, "https://app.example.com").await;
    let app = start_app_on(
        listener,
        "https://app.example.com",
        config(&logto, &world),
        MemoryStore::default(),
        |builder| builder,
    );
    web_scenarios::cookie_is_secure_for_an_https_base_url(&logto, &app.instance).await;

    // Routes and extractors without the middleware: 500 with what to do.
    let logto_handle = Logto::builder(config(&logto, &world), "http://127.0.0.1:9")
        .build()
        .unwrap();
    let (listener, base_url) = listen();
    let server = HttpServer::new(move || {
        App::new()
            .configure(routes)
            .configure(|routes| logto_handle.configure(routes))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let (status, body) = Browser::new()
        .get_json(&format!("{base_url}/protected"))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "server_misconfigured");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("logto.middleware(store)"),
        "{body}"
    );
    handle.stop(false).await;
}

/// A session store that fails (Redis gone) answers as every other error of the integration:
/// `500 {"error": "session_store_failed", …}` for scripts, an error page for browsers, not
/// actix-session's empty `500`.
#[tokio::test]
async fn a_failing_session_store_answers_like_every_other_error() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let redis = Redis::start().await;
    let (listener, base_url) = listen();
    let world = world_for(&logto, &base_url).await;
    let store = RedisStore::connect(&redis.url).await.unwrap();
    let app = start_app_on(
        listener,
        &base_url,
        config(&logto, &world),
        store,
        |builder| builder,
    );
    let browser = Browser::new();
    let response = browser.get(&app.instance.url("/sign-in")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, home) = browser.get_json(&app.instance.url("/")).await;
    assert_eq!(
        (status, &home["authenticated"]),
        (StatusCode::OK, &json!(false))
    );

    drop(redis);
    // The kill is asynchronous: the first requests may still reach the dying server.
    let mut answer = None;
    for _ in 0..50 {
        let (status, body) = browser.get_json(&app.instance.url("/")).await;
        if status != StatusCode::OK {
            answer = Some((status, body));
            break;
        }
    }
    let (status, body) = answer.expect("Redis never went away");
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"], "session_store_failed", "{body}");
    let response = browser.get(&app.instance.url("/")).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("data-code=\"session_store_failed\""),
        "{page}"
    );
}

// ------------------------------------------------------------------ against the test IdP

/// The config of the test IdP's `web-app` client, as `web_scenarios::idp` expects it.
fn idp_config(idp: &TestIdp) -> LogtoConfig {
    LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(WEB_APP_SECRET)
        .scopes([
            UserInfoScope::Email,
            UserInfoScope::CustomData,
            UserInfoScope::Organizations,
        ])
        .scopes(["shopping:read"])
        .resources([SHOPPING_API])
        .build()
        .unwrap()
}

/// An app on the test IdP with memory sessions.
fn idp_app(idp: &TestIdp) -> Running {
    let (listener, base_url) = listen();
    start_app_on(
        listener,
        &base_url,
        idp_config(idp),
        MemoryStore::default(),
        |builder| builder,
    )
}

/// Two instances on the test IdP (started with `settings`) sharing one Redis store, its lock
/// and the cookie key; Alice signed in through the first, a browser on each.
async fn alice_on_two_instances(
    settings: Value,
) -> (TestIdp, Redis, (Running, Browser), (Running, Browser)) {
    let idp = TestIdp::start_with(settings).await;
    let redis = Redis::start().await;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let (listener, base_url) = listen();
        let store = RedisStore::connect(&redis.url).await.unwrap();
        let lock = store.clone();
        instances.push(start_app_on(
            listener,
            &base_url,
            idp_config(&idp),
            store,
            move |builder| {
                builder
                    .refresh_lock(lock)
                    .cookie_key_from_secret(WEB_APP_SECRET)
            },
        ));
    }
    let (b, a) = (instances.pop().unwrap(), instances.pop().unwrap());
    let on_a = Browser::new();
    assert_eq!(
        idp_scenarios::sign_in(&a.instance, &on_a, &idp, ALICE).await,
        "/"
    );
    let on_b = on_a.with_cookies_for(&a.instance.base_url, &b.instance.base_url);
    (idp, redis, (a, on_a), (b, on_b))
}

#[tokio::test]
async fn large_tokens_stay_on_the_server() {
    let idp = TestIdp::start_with(idp_scenarios::carol_with_a_long_name()).await;
    let app = idp_app(&idp);
    idp_scenarios::large_tokens_stay_on_the_server(&idp, &app.instance).await;
}

#[tokio::test]
async fn a_session_not_signed_in_is_kept_briefly() {
    let idp = TestIdp::start().await;
    let redis = Redis::start().await;
    let (listener, base_url) = listen();
    let store = RedisStore::connect(&redis.url).await.unwrap();
    let app = start_app_on(listener, &base_url, idp_config(&idp), store, |builder| {
        builder
    });
    idp_scenarios::a_session_not_signed_in_is_kept_briefly(
        &idp,
        &app.instance,
        &redis,
        "logto-actix:session:*",
    )
    .await;
}

#[tokio::test]
async fn a_back_channel_logout_during_a_refresh_is_not_undone() {
    let idp = TestIdp::start().await;
    let app = idp_app(&idp);
    idp_scenarios::a_back_channel_logout_during_a_refresh_is_not_undone(&idp, &app.instance).await;
}

#[tokio::test]
async fn back_channel_logout_verifies_the_token_and_ends_the_users_sessions() {
    let idp = TestIdp::start().await;
    let app = idp_app(&idp);
    idp_scenarios::back_channel_logout_verifies_the_token_and_ends_the_users_sessions(
        &idp,
        &app.instance,
    )
    .await;
}

#[tokio::test]
async fn a_session_moves_between_instances_and_both_see_rotations() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(true)).await;
    idp_scenarios::a_session_moves_between_instances_and_both_see_rotations(
        &idp,
        (&a.instance, &on_a),
        (&b.instance, &on_b),
    )
    .await;
}

#[tokio::test]
async fn racing_refreshes_with_rotation_reach_the_idp_once() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(false)).await;
    idp_scenarios::racing_refreshes_with_rotation_reach_the_idp_once(
        &idp,
        (&a.instance, &on_a),
        (&b.instance, &on_b),
    )
    .await;
}

#[tokio::test]
async fn always_expired_tokens_refresh_in_turn_without_reuse() {
    let (idp, _redis, (a, on_a), (b, on_b)) =
        alice_on_two_instances(idp_scenarios::strict_rotation(true)).await;
    idp_scenarios::always_expired_tokens_refresh_in_turn_without_reuse(
        &idp,
        (&a.instance, &on_a),
        (&b.instance, &on_b),
    )
    .await;
}

// The dropped-request scenario runs for actix in `cancellation.rs`, whose servers drop a handler
// when its client goes away (`h1_allow_half_closed(false)`): with actix-web's default servers the
// handler is never dropped, so the shared scenario could not fail here.
