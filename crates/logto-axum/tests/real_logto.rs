//! The axum integration against the real Logto (testing/logto), at production defaults: the
//! ready-made routes and the extractors with a browser signing in at Logto, a grant revoked in
//! Logto, and two app instances sharing one Redis store and refreshing one session at once.
//!
//! Each test provisions its own apps, API resources and users (a `World`); its app listens on a
//! port chosen before the world is created, since Logto only accepts registered redirect URIs.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use logto::{LogtoConfig, UserInfoScope};
use logto_axum::{EncryptedStore, RedisStore, SessionKey};
use logto_test_support::{Browser, RealLogto, Redis, World, location, set_cookies};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{App, start_app_on};
use tokio::net::TcpListener;
use tower_sessions::MemoryStore;
use url::Url;

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

fn session_cookie(set_cookies: &[String]) -> Option<String> {
    set_cookies
        .iter()
        .find(|c| c.starts_with("logto_session="))
        .cloned()
}

/// `name=value` of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `path` with `resource` as its `resource` query parameter.
fn with_resource(path: &str, resource: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("resource", resource)
        .finish();
    format!("{path}?{query}")
}

/// A request with only this session cookie (a client that planted or kept an old session id).
async fn get_json_with_cookie(url: &str, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(url)
        .header("cookie", cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .status()
}

/// A refresh-token grant sent straight to Logto with the web app's credentials: status and body.
async fn refresh_directly(logto: &RealLogto, world: &World, refresh_token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(logto.url("/oidc/token"))
        .basic_auth(&world.web_app.id, world.web_app.secret.as_ref())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The session's current refresh token, through the test app's debug route.
async fn refresh_token(browser: &Browser, app: &App) -> String {
    let response = browser.get(&app.url("/debug/refresh-token")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.text().await.unwrap();
    assert!(!token.is_empty(), "the session has no refresh token");
    token
}

/// Logto's audit log of the refresh-token grants of the web app (newest first): one entry per
/// refresh Logto served, with `payload.result` `Success` or `Error`.
async fn refresh_grants(logto: &RealLogto, world: &World) -> Vec<Value> {
    let logs = logto
        .api(
            Method::GET,
            &format!(
                "/api/logs?applicationId={}&logKey=ExchangeTokenBy.RefreshToken&page_size=100",
                world.web_app.id
            ),
            None,
        )
        .await;
    let logs = logs.as_array().expect("a list of logs").clone();
    assert!(logs.len() < 100, "more refreshes than one page of logs");
    logs
}

fn failed(grants: &[Value]) -> Vec<&Value> {
    grants
        .iter()
        .filter(|log| log["payload"]["result"] != "Success")
        .collect()
}

#[tokio::test]
async fn sign_in_claims_tokens_and_sign_out_through_the_routes() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    let browser = Browser::new();
    let at_logto = logto.browser();

    // Signed out: the home page says so, protected pages redirect browsers and 401 scripts.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home, json!({ "authenticated": false, "claims": null }));
    let (status, body) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({ "error": "not_authenticated" }));
    let response = browser.get(&app.url("/protected/userinfo?x=1")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let sign_in = location(&response);
    assert_eq!(
        sign_in,
        "/sign-in?return_to=%2Fprotected%2Fuserinfo%3Fx%3D1"
    );

    // /sign-in sets the session cookie and sends the browser to Logto's authorization endpoint.
    let response = browser.get(&app.url(&sign_in)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let before = session_cookie(&set_cookies(&response)).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(before.contains(attribute), "{attribute} missing: {before}");
    }
    assert!(!before.contains("Secure"), "{before}");
    let authorization_url = location(&response);
    assert!(
        authorization_url.starts_with(&logto.url("/oidc/auth?")),
        "{authorization_url}"
    );
    let params = query(&authorization_url);
    assert_eq!(params["client_id"], world.web_app.id);
    assert_eq!(params["redirect_uri"], app.url("/callback"));

    // Alice signs in at Logto, which sends her back to the callback: it signs her in, renews
    // the session id and returns her to the page she asked for.
    let callback = at_logto.sign_in(&authorization_url, &world.alice).await;
    assert!(callback.starts_with(&app.url("/callback?")), "{callback}");
    let response = browser.get(&callback).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the callback failed"
    );
    assert_eq!(location(&response), "/protected/userinfo?x=1");
    let after = session_cookie(&set_cookies(&response)).expect("a renewed session cookie");
    assert_ne!(
        cookie_pair(&before),
        cookie_pair(&after),
        "the session id must change at sign-in"
    );
    assert!(
        after.len() < 200,
        "tokens must not be in the cookie: {after}"
    );
    // The session id from before the sign-in is worthless.
    assert_eq!(
        get_json_with_cookie(&app.url("/protected"), &cookie_pair(&before)).await,
        StatusCode::UNAUTHORIZED
    );
    // Logto's callback replayed: an error page, and the session stays signed in.
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("no sign-in is pending"), "{page}");

    // The claims of the real ID token, through `Auth` and through `Authenticated`.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["authenticated"], true);
    assert_eq!(home["claims"]["sub"], world.alice.id);
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["iss"], logto.issuer());
    assert_eq!(claims["sub"], world.alice.id);
    assert_eq!(claims["aud"], world.web_app.id);
    assert_eq!(claims["name"], "Alice Liddell");
    assert_eq!(claims["username"], world.alice.username);
    assert_eq!(claims["email"], world.alice_email);
    assert_eq!(claims["email_verified"], true);
    let organizations = claims["organizations"].as_array().unwrap();
    assert!(organizations.contains(&json!(world.acme)), "{claims}");
    assert!(organizations.contains(&json!(world.globex)), "{claims}");
    assert!(
        claims.get("custom_data").is_none(),
        "userinfo only: {claims}"
    );

    // Userinfo from Logto, through `Authenticated<UserInfo>`.
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["sub"], world.alice.id);
    assert_eq!(user["custom_data"], json!({ "plan": "pro", "seats": 3 }));
    assert!(
        user["identities"]["github"]["userId"]
            .as_str()
            .unwrap()
            .starts_with("gh-"),
        "{user}"
    );
    let organization_data = user["organization_data"].as_array().unwrap();
    assert_eq!(organization_data.len(), 2, "{user}");

    // API resource tokens, with the scopes of Alice's roles.
    let path = with_resource("/protected/resource", &world.shopping.indicator);
    let (status, shopping) = browser.get_json(&app.url(&path)).await;
    assert_eq!(status, StatusCode::OK, "{shopping}");
    assert_eq!(shopping["claims"]["aud"], world.shopping.indicator);
    assert_eq!(shopping["claims"]["sub"], world.alice.id);
    assert_eq!(shopping["claims"]["client_id"], world.web_app.id);
    let mut scopes: Vec<&str> = shopping["claims"]["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["shopping:read", "shopping:write"]);
    let path = with_resource("/protected/resource", &world.store.indicator);
    let (status, store) = browser.get_json(&app.url(&path)).await;
    assert_eq!(status, StatusCode::OK, "{store}");
    assert_eq!(store["claims"]["aud"], world.store.indicator);
    assert_eq!(store["claims"]["scope"], "store:read");

    // Organization tokens: the scopes of her role in each; a stranger's organization is refused.
    let (status, acme) = browser
        .get_json(&app.url(&format!("/protected/organizations/{}", world.acme)))
        .await;
    assert_eq!(status, StatusCode::OK, "{acme}");
    assert_eq!(
        acme["claims"]["aud"],
        format!("urn:logto:organization:{}", world.acme)
    );
    let mut scopes: Vec<&str> = acme["claims"]["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["read:projects", "write:projects"]);
    let (status, globex) = browser
        .get_json(&app.url(&format!("/protected/organizations/{}", world.globex)))
        .await;
    assert_eq!(status, StatusCode::OK, "{globex}");
    assert_eq!(globex["claims"]["scope"], "read:projects");
    let stranger = logto.create_organization(&logto.unique("Initech")).await;
    let (status, body) = browser
        .get_json(&app.url(&format!("/protected/organizations/{stranger}")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "forbidden");
    // …and the session goes on.
    let (status, _) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);

    // Sign-out clears the session and its cookie, revokes the refresh token at Logto, and sends
    // the browser to Logto's end-session endpoint, which comes back to the post sign-out URI.
    let refresh_token = refresh_token(&browser, &app).await;
    let response = browser.get(&app.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert!(
        end_session.starts_with(&logto.url("/oidc/session/end?")),
        "{end_session}"
    );
    let cleared = session_cookie(&set_cookies(&response)).expect("a removal cookie");
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("1970"),
        "{cleared}"
    );
    let back = at_logto.visit(&end_session).await;
    assert_eq!(back, app.url("/"));
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);
    let (status, body) = refresh_directly(&logto, &world, &refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the refresh token must be revoked: {body}"
    );
    // The signed-in session id is gone too.
    assert_eq!(
        get_json_with_cookie(&app.url("/protected"), &cookie_pair(&after)).await,
        StatusCode::UNAUTHORIZED
    );
    // Logto's session ended: the next sign-in in this browser asks for the password again.
    let response = browser.get(&app.url("/sign-in")).await;
    let page = at_logto.first_page(&location(&response)).await;
    assert_eq!(page.path(), "/sign-in");
}

#[tokio::test]
async fn sign_in_route_options_reach_logtos_pages() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    let browser = Browser::new();
    let first_page = |query: String| {
        let (browser, app, logto) = (&browser, &app, &logto);
        async move {
            let response = browser.get(&app.url(&format!("/sign-in?{query}"))).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{query}");
            logto.browser().first_page(&location(&response)).await
        }
    };

    assert_eq!(first_page(String::new()).await.path(), "/sign-in");
    assert_eq!(
        first_page("interaction_mode=signUp".into()).await.path(),
        "/register"
    );
    assert_eq!(
        first_page("first_screen=register".into()).await.path(),
        "/register"
    );
    assert_eq!(
        first_page("direct_sign_in=social:github".into())
            .await
            .path(),
        "/direct/social/github"
    );
    assert_eq!(
        first_page(format!("direct_sign_in=sso:{}", world.sso_connector_id))
            .await
            .path(),
        format!("/direct/sso/{}", world.sso_connector_id)
    );
    assert_eq!(
        first_page("first_screen=single_sign_on".into())
            .await
            .path(),
        "/single-sign-on"
    );
    let hinted = first_page(format!(
        "first_screen=identifier:sign_in&login_hint={}",
        world.alice_email
    ))
    .await;
    assert_eq!(hinted.path(), "/identifier-sign-in");
    assert_eq!(query(hinted.as_str())["login_hint"], world.alice_email);

    // return_to only ever points into the app.
    let landing = app
        .sign_in_from_at_logto(
            &browser,
            &logto.browser(),
            &world.bob,
            &app.url("/sign-in?return_to=%2F%2Fevil.example"),
        )
        .await;
    assert_eq!(landing, "/");
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims["sub"], world.bob.id);
}

/// One browser, two tabs: each starts a sign-in to a different page, and Logto's callbacks come
/// back in the other order. Both complete, and each lands on its own tab's page.
#[tokio::test]
async fn sign_ins_in_two_tabs_land_each_on_its_page() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    let browser = Browser::new();
    let at_logto = logto.browser();
    let start = |page: &'static str| {
        let (browser, app) = (&browser, &app);
        async move {
            let url = app.url(&format!("/sign-in?return_to={page}"));
            let response = browser.get(&url).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            location(&response)
        }
    };
    let first_tab = start("%2Fprotected").await;
    let second_tab = start("%2Fprotected%2Fuserinfo").await;
    let second_callback = at_logto.sign_in(&second_tab, &world.alice).await;
    let first_callback = logto.browser().sign_in(&first_tab, &world.alice).await;

    let response = browser.get(&first_callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the first tab");
    assert_eq!(location(&response), "/protected");
    let response = browser.get(&second_callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the second tab");
    assert_eq!(location(&response), "/protected/userinfo");
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims["sub"], world.alice.id);
}

/// Logto revokes the grant (an administrator ended the user's sessions): whatever the app asks
/// Logto next fails, and the visitor is signed out, not shown an error.
#[tokio::test]
async fn a_grant_revoked_in_logto_signs_the_visitor_out() {
    let Some((logto, world, app)) = memory_app().await else {
        return;
    };
    // Alice on two devices: two sessions in the app, two sessions at Logto.
    let (laptop, laptop_at_logto) = (Browser::new(), logto.browser());
    let (phone, phone_at_logto) = (Browser::new(), logto.browser());
    for (browser, at_logto) in [(&laptop, &laptop_at_logto), (&phone, &phone_at_logto)] {
        assert_eq!(
            app.sign_in_at_logto(browser, at_logto, &world.alice).await,
            "/"
        );
        let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let path = with_resource("/protected/resource", &world.shopping.indicator);
        let (status, body) = browser.get_json(&app.url(&path)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    logto.revoke_user_grants(&world.alice.id).await;

    // The laptop's browser asks for userinfo (its access token is revoked with the grant): it
    // is sent to sign in again, and back here afterwards.
    let response = laptop.get(&app.url("/protected/userinfo")).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "signed out, not an error: {}",
        response.text().await.unwrap()
    );
    assert_eq!(
        location(&response),
        "/sign-in?return_to=%2Fprotected%2Fuserinfo"
    );
    // A script on the phone needs a token it does not have yet: 401, not an error.
    let path = with_resource("/protected/resource", &world.store.indicator);
    let (status, body) = phone.get_json(&app.url(&path)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body, json!({ "error": "not_authenticated" }));
    let (status, body) = phone.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Both sessions are signed out now.
    for browser in [&laptop, &phone] {
        let (status, body) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (_, home) = browser.get_json(&app.url("/")).await;
        assert_eq!(home["authenticated"], false);
    }

    // Signing in again works, and lands where the laptop was going; Logto asks for the password
    // again (its session was ended too).
    let response = laptop
        .get(&app.url("/sign-in?return_to=%2Fprotected%2Fuserinfo"))
        .await;
    let authorization_url = location(&response);
    assert_eq!(
        laptop_at_logto.first_page(&authorization_url).await.path(),
        "/sign-in"
    );
    let callback = laptop_at_logto
        .sign_in(&authorization_url, &world.alice)
        .await;
    let response = laptop.get(&callback).await;
    assert_eq!(location(&response), "/protected/userinfo");
    let (status, user) = laptop.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["sub"], world.alice.id);
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
}

impl TwoInstances {
    /// `access_token_ttl`: the shopping API's access-token lifetime in seconds.
    async fn start(access_token_ttl: Option<u64>) -> Option<TwoInstances> {
        let logto = RealLogto::connect().await?;
        let redis = Redis::start().await;
        let (listener_a, public_url) = listen().await;
        let (listener_b, _) = listen().await;
        let world = world_for(&logto, &public_url).await;
        if let Some(ttl) = access_token_ttl {
            logto.set_access_token_ttl(&world.shopping.id, ttl).await;
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
        let landing = a
            .sign_in_at_logto(&on_a, &logto.browser(), &world.alice)
            .await;
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
        })
    }

    /// `count` concurrent requests for `path` with `Accept: application/json`, alternating
    /// between the instances.
    async fn burst(&self, path: &str, count: usize) -> Vec<(StatusCode, Value)> {
        let browsers = [(&self.on_a, &self.a), (&self.on_b, &self.b)];
        join_all((0..count).map(|i| {
            let (browser, app) = browsers[i % 2];
            let url = app.url(path);
            async move { browser.get_json(&url).await }
        }))
        .await
    }

    fn shopping_path(&self) -> String {
        with_resource("/protected/resource", &self.world.shopping.indicator)
    }
}

#[tokio::test]
async fn a_session_moves_between_instances_sharing_redis() {
    let Some(t) = TwoInstances::start(None).await else {
        return;
    };
    let (status, claims) = t.on_b.get_json(&t.b.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], t.world.alice.id);
    let (status, user) = t.on_b.get_json(&t.b.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["custom_data"]["plan"], "pro");

    // A token B fetched is the one A hands out: the session's tokens live in Redis.
    let (status, from_b) = t.on_b.get_json(&t.b.url(&t.shopping_path())).await;
    assert_eq!(status, StatusCode::OK, "{from_b}");
    let (status, from_a) = t.on_a.get_json(&t.a.url(&t.shopping_path())).await;
    assert_eq!(status, StatusCode::OK, "{from_a}");
    assert_eq!(from_a["access_token"], from_b["access_token"]);
    assert_eq!(refresh_grants(&t.logto, &t.world).await.len(), 1);

    // Signing out on B signs out on A, and B's end-session URL (the public URL's) brings the
    // browser back.
    let response = t.on_b.get(&t.b.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert_eq!(
        query(&end_session)["post_logout_redirect_uri"],
        t.a.url("/")
    );
    let (status, _) = t.on_a.get_json(&t.a.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Logto gives a traditional web app the same refresh token back (until 70 % of its lifetime):
/// a burst of requests on both instances, all needing a new access token, still makes exactly
/// one refresh at Logto, and the grant lives on.
#[tokio::test]
async fn racing_refreshes_across_instances_reach_logto_once() {
    let Some(t) = TwoInstances::start(None).await else {
        return;
    };
    let refresh_token_at_sign_in = refresh_token(&t.on_a, &t.a).await;

    for round in 0..3 {
        // Forget the cached access tokens: every request of the burst needs a refresh.
        let response = t.on_a.get(&t.a.url("/debug/clear-access-tokens")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let before = refresh_grants(&t.logto, &t.world).await.len();

        let results = t.burst(&t.shopping_path(), 12).await;
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
        let grants = refresh_grants(&t.logto, &t.world).await;
        assert_eq!(grants.len() - before, 1, "round {round}: {grants:#?}");
        assert!(failed(&grants).is_empty(), "{grants:#?}");
        // Logto kept the refresh token, and both instances see that.
        assert_eq!(refresh_token(&t.on_b, &t.b).await, refresh_token_at_sign_in);
    }

    let (status, body) = t.on_b.get_json(&t.b.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = refresh_directly(&t.logto, &t.world, &refresh_token_at_sign_in).await;
    assert_eq!(status, 200, "the grant is alive: {body}");
}

/// Access tokens of two seconds (fresh for one): requests keep coming to both instances for a
/// while, refreshes happen as the tokens age, one at a time, each one's token handed out, and
/// Logto never sees a refresh it refuses.
#[tokio::test]
async fn short_lived_access_tokens_refresh_in_turn_across_instances() {
    let Some(t) = TwoInstances::start(Some(2)).await else {
        return;
    };
    let refresh_token_at_sign_in = refresh_token(&t.on_a, &t.a).await;
    let path = t.shopping_path();

    let mut tokens = HashSet::new();
    let mut requests = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        for (status, body) in t.burst(&path, 6).await {
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["claims"]["aud"], t.world.shopping.indicator);
            tokens.insert(body["access_token"].as_str().unwrap().to_owned());
            requests += 1;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    let grants = refresh_grants(&t.logto, &t.world).await;
    assert!(failed(&grants).is_empty(), "{grants:#?}");
    assert!(
        grants.len() >= 4,
        "the tokens aged: {} refreshes for {requests} requests",
        grants.len()
    );
    // Every refresh's token was handed out, and no two requests refreshed for one stale token.
    assert_eq!(
        tokens.len(),
        grants.len(),
        "{requests} requests, {} refreshes",
        grants.len()
    );
    assert_eq!(refresh_token(&t.on_b, &t.b).await, refresh_token_at_sign_in);
    let (status, body) = refresh_directly(&t.logto, &t.world, &refresh_token_at_sign_in).await;
    assert_eq!(status, 200, "the grant is alive: {body}");
}

/// Makes Logto see the web app's refresh tokens as past 70 % of their lifetime (their issue time
/// moved 40 days back, their expiry kept), the point from which Logto rotates a traditional web
/// app's refresh token on every use. Logto offers no way to do this but its database.
async fn age_refresh_tokens(logto: &RealLogto, world: &World) {
    let sql = format!(
        "update oidc_model_instances \
         set payload = jsonb_set(payload, '{{iat}}', to_jsonb((payload->>'iat')::bigint - 40 * 86400)) \
         where model_name = 'RefreshToken' and payload->>'clientId' = '{}'",
        world.web_app.id.replace('\'', "''")
    );
    logto.sql(&sql).await;
}

/// Past 70 % of its lifetime, Logto rotates a traditional web app's refresh token and consumes
/// the old one (reused more than 3 s later, it revokes the grant): a burst on both instances
/// still refreshes once, both adopt the new refresh token, and the grant lives on.
#[tokio::test]
async fn an_aging_refresh_token_rotates_once_across_instances() {
    let Some(t) = TwoInstances::start(None).await else {
        return;
    };
    let first = refresh_token(&t.on_a, &t.a).await;
    age_refresh_tokens(&t.logto, &t.world).await;

    let response = t.on_a.get(&t.a.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let results = t.burst(&t.shopping_path(), 12).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    let tokens: HashSet<_> = results
        .iter()
        .map(|(_, body)| body["access_token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1, "every request shares the one refresh");
    let grants = refresh_grants(&t.logto, &t.world).await;
    assert_eq!(grants.len(), 1, "{grants:#?}");
    assert!(failed(&grants).is_empty(), "{grants:#?}");

    let second = refresh_token(&t.on_b, &t.b).await;
    assert_ne!(second, first, "Logto rotated the aging refresh token");
    assert_eq!(refresh_token(&t.on_a, &t.a).await, second);

    // Past Logto's 3 s reuse leeway, a request still holding the old token would revoke the
    // grant: the next refreshes use the new one, on both instances.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for round in 0..2 {
        let response = t.on_b.get(&t.b.url("/debug/clear-access-tokens")).await;
        assert_eq!(response.status(), StatusCode::OK);
        for (status, body) in t.burst(&t.shopping_path(), 8).await {
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        }
    }
    let grants = refresh_grants(&t.logto, &t.world).await;
    assert_eq!(grants.len(), 3, "{grants:#?}");
    assert!(failed(&grants).is_empty(), "{grants:#?}");
    // The new refresh token is young: Logto keeps it.
    assert_eq!(refresh_token(&t.on_a, &t.a).await, second);
    let (status, body) = t.on_a.get_json(&t.a.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // What a reuse would have done: the old refresh token, spent, makes Logto revoke the grant,
    // and the session ends on both instances at their next refresh (signed out, not an error).
    let (status, body) = refresh_directly(&t.logto, &t.world, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let response = t.on_a.get(&t.a.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = t.on_b.get_json(&t.b.url(&t.shopping_path())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = t.on_a.get_json(&t.a.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
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
        .sign_in_at_logto(&browser, &logto.browser(), &world.alice)
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

/// OpenID Connect Back-Channel Logout with the real Logto: alice signs in to the app (two
/// processes on one Redis) and, in the same Logto session, to another app; she signs out of the
/// other app, and Logto posts a logout token to this app's back-channel logout URI: both
/// processes find her session gone.
#[tokio::test]
async fn signing_out_of_another_app_ends_the_session_through_back_channel_logout() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let redis = Redis::start().await;
    let (listener_a, public_url) = listen().await;
    let (listener_b, _) = listen().await;
    let world = world_for(&logto, &public_url).await;
    logto
        .set_back_channel_logout_uri(
            &world.web_app.id,
            &format!("{public_url}/back-channel-logout"),
        )
        .await;
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
    let at_logto = logto.browser();
    let on_a = Browser::new();
    let landing = a.sign_in_at_logto(&on_a, &at_logto, &world.alice).await;
    assert_eq!(landing, "/");
    let on_b = on_a.with_cookies_for(&a.base_url, &b.base_url);
    let (status, claims) = on_b.get_json(&b.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert!(claims["sid"].is_string(), "Logto sends sid: {claims}");

    // The same Logto session signs her in to another app (no password asked), then out of it.
    let other = logto::LogtoClient::new(
        logto::LogtoHandle::new(
            LogtoConfig::builder(logto.endpoint(), &world.spa.id)
                .build()
                .unwrap(),
        )
        .unwrap(),
        logto::MemoryStorage::new(),
    );
    let callback = format!("{public_url}/callback");
    let url = other.sign_in(&callback).await.unwrap();
    let back = at_logto.sign_in(&url, &world.alice).await;
    other.handle_sign_in_callback(&back).await.unwrap();
    let end_session = other
        .sign_out(Some(&format!("{public_url}/")))
        .await
        .unwrap();
    at_logto.visit(&end_session).await;

    // Logto posted the logout token before it redirected: both processes see the session gone.
    for (browser, app) in [(&on_a, &a), (&on_b, &b)] {
        let (status, body) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
}
