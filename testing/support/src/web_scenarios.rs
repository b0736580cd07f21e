//! Scenarios that drive a web app built on a Logto integration (logto-axum, logto-actix) over
//! HTTP, against the real Logto, given the URLs of its instances: what each integration's tests
//! prove about sign-in, sessions, cookies, fixation, sign-out and refreshes across processes,
//! written once. Each integration's tests start the app (its driver) and call these; what only
//! one integration has (its error types, session-store specifics) stays in its own tests.
//!
//! The app under test serves, besides the integration's `/sign-in`, `/callback`, `/sign-out` and
//! `POST /back-channel-logout`:
//! `GET /` (`{"authenticated", "claims"}`), `GET /protected` (the ID-token claims),
//! `GET /protected/userinfo`, `GET /protected/resource?resource=…`
//! (`{"access_token", "claims"}`), `GET /protected/organizations/{id}`
//! (`{"organization_token", "claims"}`), `GET /debug/refresh-token` (the session's refresh token)
//! and `GET /debug/clear-access-tokens`; JSON with `Accept: application/json`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use crate::{Browser, LogtoBrowser, RealLogto, World, location, set_cookies};

pub mod idp;

/// One instance of the app under test.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Where this instance listens (`http://127.0.0.1:<port>`).
    pub base_url: String,
    /// Where users see the app (its configured base URL): `base_url`, unless several instances
    /// serve one public URL, as behind a load balancer.
    pub public_base_url: String,
}

impl Instance {
    /// An instance seen at its own address.
    pub fn new(base_url: &str) -> Instance {
        Instance {
            base_url: base_url.to_owned(),
            public_base_url: base_url.to_owned(),
        }
    }

    /// `path` on this instance.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `url` (under the public base URL) on this instance.
    pub fn url_of(&self, url: &str) -> String {
        match url.strip_prefix(self.public_base_url.trim_end_matches('/')) {
            Some(path) => self.url(path),
            None => url.to_owned(),
        }
    }

    /// Signs `user` in with `browser` through this instance's `/sign-in` at the real Logto, where
    /// `at_logto` is the browser's cookie jar on Logto's side; returns where the callback
    /// redirected to.
    pub async fn sign_in(
        &self,
        browser: &Browser,
        at_logto: &LogtoBrowser,
        user: &crate::User,
    ) -> String {
        let response = browser.get(&self.url("/sign-in")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "/sign-in");
        let callback = at_logto.sign_in(&location(&response), user).await;
        assert!(
            callback.starts_with(&format!(
                "{}/callback?",
                self.public_base_url.trim_end_matches('/')
            )),
            "Logto did not come back to the callback: {callback}"
        );
        let response = browser.get(&self.url_of(&callback)).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "the callback failed: {}",
            response.text().await.unwrap()
        );
        location(&response)
    }
}

/// The session cookie (`logto_session`) among `Set-Cookie` headers.
pub fn session_cookie(set_cookies: &[String]) -> Option<String> {
    set_cookies
        .iter()
        .find(|c| c.starts_with("logto_session="))
        .cloned()
}

/// `name=value` of a `Set-Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The query parameters of `url`.
pub fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `path` with `resource` as its `resource` query parameter.
pub fn with_resource(path: &str, resource: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("resource", resource)
        .finish();
    format!("{path}?{query}")
}

/// A request with only this session cookie (a client that planted or kept an old session id).
pub async fn get_json_with_cookie(url: &str, cookie: &str) -> StatusCode {
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
pub async fn refresh_directly(
    logto: &RealLogto,
    world: &World,
    refresh_token: &str,
) -> (u16, Value) {
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

/// The session's current refresh token, through the app's debug route.
pub async fn refresh_token(browser: &Browser, app: &Instance) -> String {
    let response = browser.get(&app.url("/debug/refresh-token")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.text().await.unwrap();
    assert!(!token.is_empty(), "the session has no refresh token");
    token
}

/// Logto's audit log of the refresh-token grants of the web app (newest first): one entry per
/// refresh Logto served, with `payload.result` `Success` or `Error`.
pub async fn refresh_grants(logto: &RealLogto, world: &World) -> Vec<Value> {
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

/// The refreshes Logto refused.
pub fn failed(grants: &[Value]) -> Vec<&Value> {
    grants
        .iter()
        .filter(|log| log["payload"]["result"] != "Success")
        .collect()
}

/// The headers of a response that may show the callback's code and state (the callback's
/// redirect, error pages): never cached (`Cache-Control: no-store`), no `Referer` sent onwards
/// (`Referrer-Policy: no-referrer`).
pub fn assert_private(what: &str, response: &reqwest::Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("referrer-policy").as_deref(),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        header("cache-control").as_deref(),
        Some("no-store"),
        "{what}"
    );
}

/// Signed out, signed in through the routes, tokens used, signed out: the signed-out answers
/// (`401` JSON for scripts, a redirect to sign-in and back for browsers), the session cookie's
/// flags (`HttpOnly`, `SameSite=Lax`, `Path=/`, not `Secure` on loopback http), the session id
/// renewed at sign-in (the old one worthless), tokens never in the cookie, the callback's redirect
/// private, a replayed callback refused, the real ID token's claims and userinfo, resource and
/// organization tokens with the scopes of the user's roles, and a sign-out that clears the
/// cookie, revokes the refresh token at Logto, ends the session id and Logto's session.
///
/// `app` is configured with the world's web app (email, custom data, identities and
/// organizations claims; the shopping and store resources and their scopes; the organization
/// scopes) and sessions in memory.
pub async fn sign_in_use_tokens_and_sign_out(logto: &RealLogto, world: &World, app: &Instance) {
    let browser = Browser::new();
    let at_logto = logto.browser();

    // Signed out: the home page says so, protected pages redirect browsers and 401 scripts.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home, json!({ "authenticated": false, "claims": null }));
    let resource = with_resource("/protected/resource", &world.shopping.indicator);
    for path in ["/protected", "/protected/userinfo", &resource] {
        let (status, body) = browser.get_json(&app.url(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body, json!({ "error": "not_authenticated" }), "{path}");
    }
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
    assert_eq!(response.headers()["cache-control"], "no-store");
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
    assert_private("the callback's redirect", &response);
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

    // The claims of the real ID token, through `Auth` (the home page) and `Authenticated`.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["authenticated"], true);
    assert_eq!(home["claims"]["sub"], world.alice.id);
    assert_eq!(home["claims"]["email"], world.alice_email);
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

    // Organization tokens: the scopes of her role in each; a stranger's organization is refused
    // and the session goes on.
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
    let (status, _) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);

    // Sign-out clears the session and its cookie, revokes the refresh token at Logto, and sends
    // the browser to Logto's end-session endpoint, which comes back to the post sign-out URI.
    let refresh_token = refresh_token(&browser, app).await;
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
    let (status, body) = refresh_directly(logto, world, &refresh_token).await;
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

/// The session cookie of an app whose public base URL is https (`app.public_base_url`; the
/// instance itself listens on loopback http, as behind a TLS-terminating proxy) is `Secure`, as
/// well as `HttpOnly`, `SameSite=Lax` and `Path=/`; Logto is asked to come back to the https
/// callback.
pub async fn cookie_is_secure_for_an_https_base_url(logto: &RealLogto, app: &Instance) {
    assert!(app.public_base_url.starts_with("https://"), "{app:?}");
    let response = Browser::new().get(&app.url("/sign-in")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorization_url = location(&response);
    assert!(
        authorization_url.starts_with(&logto.url("/oidc/auth?")),
        "{authorization_url}"
    );
    let cookie = session_cookie(&set_cookies(&response)).expect("a session cookie");
    for attribute in ["; Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert_eq!(
        query(&authorization_url)["redirect_uri"],
        format!("{}/callback", app.public_base_url.trim_end_matches('/'))
    );
}

/// The sign-in route's options (`interaction_mode`, `first_screen`, `direct_sign_in`,
/// `login_hint`) reach Logto's authorization request and choose its first page; invalid ones are
/// refused with `400` (a private "Bad request" page for browsers, `{"error": "bad_request"}` for
/// scripts); a `return_to` that leaves the site is dropped.
pub async fn sign_in_options_reach_logtos_pages(logto: &RealLogto, world: &World, app: &Instance) {
    let browser = Browser::new();

    // The options, as sent to Logto.
    let response = browser
        .get(&app.url(
            "/sign-in?interaction_mode=signUp&direct_sign_in=social:github&login_hint=alice%40example.com&first_screen=register",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = query(&location(&response));
    assert_eq!(params["interaction_mode"], "signUp");
    assert_eq!(params["direct_sign_in"], "social:github");
    assert_eq!(params["login_hint"], "alice@example.com");
    assert_eq!(params["first_screen"], "register");
    assert_eq!(params["redirect_uri"], app.url("/callback"));

    // The page each one makes Logto show first.
    let first_page = |query: String| {
        let (browser, app, logto) = (&browser, app, logto);
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

    // Invalid options: a bad request, as a page and as JSON.
    for bad in [
        "/sign-in?interaction_mode=maybe",
        "/sign-in?direct_sign_in=github",
    ] {
        let response = browser.get(&app.url(bad)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_private(bad, &response);
        let page = response.text().await.unwrap();
        assert!(page.contains("<h1>Bad request</h1>"), "{bad}: {page}");
        let (status, body) = browser.get_json(&app.url(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request", "{bad}: {body}");
    }

    // return_to only ever points into the app.
    let response = browser
        .get(&app.url("/sign-in?return_to=%2F%2Fevil.example"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = logto
        .browser()
        .sign_in(&location(&response), &world.bob)
        .await;
    let response = browser.get(&app.url_of(&callback)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], world.bob.id);
}

/// Bob, a member of no organization, signs in: his userinfo comes from Logto, and an
/// organization token is refused with `403 {"error": "forbidden"}`, his session going on.
pub async fn a_user_without_organizations_gets_no_organization_token(
    logto: &RealLogto,
    world: &World,
    app: &Instance,
) {
    let browser = Browser::new();
    assert_eq!(
        app.sign_in(&browser, &logto.browser(), &world.bob).await,
        "/"
    );
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["sub"], world.bob.id);
    let (status, body) = browser
        .get_json(&app.url(&format!("/protected/organizations/{}", world.globex)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "forbidden");
    let (status, _) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
}

/// Callbacks that cannot sign in answer `400` with a private error page (a link to sign in
/// again) for browsers and JSON for scripts, the visitor signed out: no sign-in pending in this
/// browser, a forged `state`, and the user cancelling at Logto (Logto's error shown).
pub async fn failed_callbacks_show_an_error_page(logto: &RealLogto, world: &World, app: &Instance) {
    // No sign-in pending in this browser: as a page and as JSON.
    let browser = Browser::new();
    let response = browser.get(&app.url("/callback?code=abc&state=xyz")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_private("the callback's error page", &response);
    let page = response.text().await.unwrap();
    assert!(page.contains("no sign-in is pending"), "{page}");
    assert!(page.contains("href=\"/sign-in\""), "{page}");
    let response = browser
        .http
        .get(app.url("/callback?code=abc&state=xyz"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_private("the callback's JSON error", &response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request", "{body}");

    // A forged state.
    let response = browser.get(&app.url("/sign-in")).await;
    let callback = logto
        .browser()
        .sign_in(&location(&response), &world.alice)
        .await;
    let forged = app.url_of(&callback).replace("state=", "state=x");
    let response = browser.get(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_private("a forged state's error page", &response);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(page.contains("state"), "{page}");
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);

    // The user cancelled at Logto: the error Logto sent is shown, as JSON for scripts.
    let response = browser.get(&app.url("/sign-in")).await;
    let state = query(&location(&response))["state"].clone();
    let cancelled = format!(
        "{}?error=access_denied&error_description=End-User+aborted+interaction&state={state}&iss={}",
        app.url("/callback"),
        logto.issuer()
    );
    let (status, body) = browser.get_json(&cancelled).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "sign_in_failed", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("access_denied"),
        "{body}"
    );
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);
}

/// `count` concurrent requests for `path` with `Accept: application/json`, alternating between
/// the instances (each with its browser).
pub async fn burst(
    instances: [(&Browser, &Instance); 2],
    path: &str,
    count: usize,
) -> Vec<(StatusCode, Value)> {
    let requests = (0..count).map(|i| {
        let (browser, app) = instances[i % 2];
        let url = app.url(path);
        async move { browser.get_json(&url).await }
    });
    join_all(requests.collect()).await
}

/// Polls every future until all are done (all at once, as concurrent visitors).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Two instances sharing one Redis store (and refresh lock) behind one public URL, Alice signed
/// in through `a` with `on_a`, `on_b` holding the same session cookie for `b`: the session moves
/// between them, and bursts of requests on both, all needing a new access token, make exactly
/// one refresh at Logto each, which Logto serves (it gives a traditional web app the same refresh
/// token back, and revokes the grant when a rotated-out one is reused), the grant alive after.
pub async fn racing_refreshes_across_instances_reach_logto_once(
    logto: &RealLogto,
    world: &World,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let (status, claims) = on_b.get_json(&b.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], world.alice.id);
    let shopping = with_resource("/protected/resource", &world.shopping.indicator);
    let refresh_token_at_sign_in = refresh_token(on_a, a).await;

    for round in 0..3 {
        // Forget the cached access tokens: every request of the burst needs a refresh.
        let response = on_a.get(&a.url("/debug/clear-access-tokens")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let before = refresh_grants(logto, world).await.len();

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
        let grants = refresh_grants(logto, world).await;
        assert_eq!(grants.len() - before, 1, "round {round}: {grants:#?}");
        assert!(failed(&grants).is_empty(), "{grants:#?}");
        assert_eq!(refresh_token(on_b, b).await, refresh_token_at_sign_in);
    }

    let (status, body) = on_b.get_json(&b.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = refresh_directly(logto, world, &refresh_token_at_sign_in).await;
    assert_eq!(status, 200, "the grant is alive: {body}");

    // Signing out on B signs out on A.
    let response = on_b.get(&b.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = on_a.get_json(&a.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Sign-ins started in two tabs of one browser (each with its `return_to`), completed in the
/// other order: each callback lands on its own tab's page, and the visitor is signed in.
pub async fn sign_ins_in_two_tabs_land_each_on_its_page(
    logto: &RealLogto,
    world: &World,
    app: &Instance,
) {
    let browser = Browser::new();
    let start = |page: &'static str| {
        let (browser, app) = (&browser, app);
        async move {
            let url = app.url(&format!("/sign-in?return_to={page}"));
            let response = browser.get(&url).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            location(&response)
        }
    };
    let first_tab = start("%2Fprotected").await;
    let second_tab = start("%2Fprotected%2Fuserinfo").await;
    let second_callback = logto.browser().sign_in(&second_tab, &world.alice).await;
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

    // A `return_to` that leaves the site is dropped.
    let response = browser
        .get(&app.url("/sign-in?return_to=%2F%2Fevil.example%2F"))
        .await;
    let callback = logto
        .browser()
        .sign_in(&location(&response), &world.alice)
        .await;
    let response = browser.get(&callback).await;
    assert_eq!(location(&response), "/");
}

/// Headers a request to `/sign-out` may come with.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// A link, image or form on another site cannot sign the visitor out (browsers send the
/// `SameSite=Lax` cookie on top-level navigations from any site): such a request (`GET` or
/// `POST`) is refused with a private `403` page whose same-origin button signs out
/// (`{"error": "cross_site_request"}` for JSON), the visitor still signed in and the refresh
/// token alive. Same-origin requests, typed URLs, same-site sign-out links, clients without
/// browser metadata and the confirmation page's own form sign out, the refresh token revoked.
pub async fn cross_site_sign_out_is_refused(logto: &RealLogto, world: &World, app: &Instance) {
    let browser = Browser::new();
    let at_logto = logto.browser();
    app.sign_in(&browser, &at_logto, &world.alice).await;
    let send = |method: Method, headers: Headers<'_>| {
        let mut request = browser.http.request(method, app.url("/sign-out"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { request.send().await.unwrap() }
    };
    let refused: [Headers<'_>; 6] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[
            ("sec-fetch-site", "cross-site"),
            ("referer", "http://127.0.0.1/"),
        ],
        &[("origin", "http://evil.example")],
        &[("origin", "null")],
        &[("referer", "https://evil.example/page")],
    ];
    for headers in refused {
        for method in [Method::GET, Method::POST] {
            let response = send(method.clone(), headers).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {headers:?}"
            );
            assert_eq!(response.headers()["cache-control"], "no-store");
            let page = response.text().await.unwrap();
            assert!(
                page.contains("<form method=\"post\" action=\"/sign-out\">"),
                "{page}"
            );
            assert!(page.contains("id=\"sign-out\""), "{page}");
        }
    }
    let response = browser
        .http
        .get(app.url("/sign-out"))
        .header("sec-fetch-site", "cross-site")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "cross_site_request", "{body}");
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], true, "a refused sign-out signed out");
    let refresh = refresh_token(&browser, app).await;
    let (status, body) = refresh_directly(logto, world, &refresh).await;
    assert_eq!(status, 200, "a refused sign-out revoked the grant: {body}");

    // Same-origin requests, typed URLs, and the confirmation page's own form sign out.
    let origin = app.url("");
    let own_page = app.url("/");
    let allowed: [(Method, Headers<'_>); 5] = [
        (
            Method::GET,
            &[("sec-fetch-site", "same-origin"), ("referer", &own_page)],
        ),
        (Method::GET, &[("sec-fetch-site", "none")]),
        (Method::GET, &[("referer", &own_page)]),
        (
            Method::POST,
            &[("sec-fetch-site", "same-origin"), ("origin", &origin)],
        ),
        (Method::POST, &[("origin", &origin)]),
    ];
    for (round, (method, headers)) in allowed.into_iter().enumerate() {
        if round > 0 {
            app.sign_in(&browser, &at_logto, &world.alice).await;
        }
        let refresh = refresh_token(&browser, app).await;
        let response = send(method.clone(), headers).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{method} {headers:?}"
        );
        assert!(
            location(&response).starts_with(&logto.url("/oidc/session/end")),
            "{method} {headers:?}"
        );
        let (_, home) = browser.get_json(&app.url("/")).await;
        assert_eq!(home["authenticated"], false, "{method} {headers:?}");
        let (status, body) = refresh_directly(logto, world, &refresh).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{method} {headers:?}: the refresh token must be revoked: {body}"
        );
    }
}

/// Logto revokes the grant (an administrator ended the user's sessions): whatever the app asks
/// Logto next fails, and the visitor is signed out (a browser sent to sign in and back, a script
/// answered `401 {"error": "not_authenticated"}`), not shown an error; signing in again works.
pub async fn a_grant_revoked_in_logto_signs_the_visitor_out(
    logto: &RealLogto,
    world: &World,
    app: &Instance,
) {
    // Alice on two devices: two sessions in the app, two sessions at Logto.
    let (laptop, laptop_at_logto) = (Browser::new(), logto.browser());
    let (phone, phone_at_logto) = (Browser::new(), logto.browser());
    for (browser, at_logto) in [(&laptop, &laptop_at_logto), (&phone, &phone_at_logto)] {
        assert_eq!(app.sign_in(browser, at_logto, &world.alice).await, "/");
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

/// Two instances sharing one Redis store (and refresh lock) behind one public URL, Alice signed
/// in through `a` with `on_a`, `on_b` holding the same session cookie for `b`: the session, its
/// claims, userinfo and tokens move between them (a token `b` fetched is the one `a` hands out,
/// one refresh at Logto), and signing out on `b` signs out on `a`, `b`'s end-session URL coming
/// back to the public URL.
pub async fn a_session_moves_between_instances(
    logto: &RealLogto,
    world: &World,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let (status, claims) = on_b.get_json(&b.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], world.alice.id);
    let (status, user) = on_b.get_json(&b.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["custom_data"]["plan"], "pro");

    // A token B fetched is the one A hands out: the session's tokens live in the shared store.
    let shopping = with_resource("/protected/resource", &world.shopping.indicator);
    let (status, from_b) = on_b.get_json(&b.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{from_b}");
    let (status, from_a) = on_a.get_json(&a.url(&shopping)).await;
    assert_eq!(status, StatusCode::OK, "{from_a}");
    assert_eq!(from_a["access_token"], from_b["access_token"]);
    assert_eq!(refresh_grants(logto, world).await.len(), 1);

    // Signing out on B signs out on A, and B's end-session URL (the public URL's) brings the
    // browser back.
    let response = on_b.get(&b.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert_eq!(
        query(&end_session)["post_logout_redirect_uri"],
        format!("{}/", a.public_base_url.trim_end_matches('/'))
    );
    let (status, _) = on_a.get_json(&a.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Two instances as for [`racing_refreshes_across_instances_reach_logto_once`], no shopping API
/// token fetched yet: with that API's access tokens made to live two seconds (fresh for one),
/// requests keep coming to both instances for a while, refreshes happen as the tokens age, one at
/// a time, each one's token handed out, and Logto never sees a refresh it refuses.
pub async fn short_lived_access_tokens_refresh_in_turn_across_instances(
    logto: &RealLogto,
    world: &World,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    logto.set_access_token_ttl(&world.shopping.id, 2).await;
    let refresh_token_at_sign_in = refresh_token(on_a, a).await;
    let path = with_resource("/protected/resource", &world.shopping.indicator);

    let mut tokens = HashSet::new();
    let mut requests = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        for (status, body) in burst([(on_a, a), (on_b, b)], &path, 6).await {
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["claims"]["aud"], world.shopping.indicator);
            tokens.insert(body["access_token"].as_str().unwrap().to_owned());
            requests += 1;
        }
        // Pacing (not synchronisation): requests spread over the tokens' lifetimes.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    let grants = refresh_grants(logto, world).await;
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
    assert_eq!(refresh_token(on_b, b).await, refresh_token_at_sign_in);
    let (status, body) = refresh_directly(logto, world, &refresh_token_at_sign_in).await;
    assert_eq!(status, 200, "the grant is alive: {body}");
}

/// Makes Logto see the web app's refresh tokens as past 70 % of their lifetime (their issue time
/// moved 40 days back, their expiry kept), the point from which Logto rotates a traditional web
/// app's refresh token on every use. Logto offers no way to do this but its database.
pub async fn age_refresh_tokens(logto: &RealLogto, world: &World) {
    let sql = format!(
        "update oidc_model_instances \
         set payload = jsonb_set(payload, '{{iat}}', to_jsonb((payload->>'iat')::bigint - 40 * 86400)) \
         where model_name = 'RefreshToken' and payload->>'clientId' = '{}'",
        world.web_app.id.replace('\'', "''")
    );
    logto.sql(&sql).await;
}

/// Two instances as for [`racing_refreshes_across_instances_reach_logto_once`]. Past 70 % of its
/// lifetime, Logto rotates a traditional web app's refresh token and consumes the old one (reused
/// more than 3 s later, it revokes the grant): a burst on both instances still refreshes once,
/// both adopt the new refresh token, and the grant lives on; the old one, spent, would have ended
/// the session on both (signed out, not an error).
pub async fn an_aging_refresh_token_rotates_once_across_instances(
    logto: &RealLogto,
    world: &World,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let instances = [(on_a, a), (on_b, b)];
    let shopping = with_resource("/protected/resource", &world.shopping.indicator);
    let first = refresh_token(on_a, a).await;
    age_refresh_tokens(logto, world).await;

    let response = on_a.get(&a.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let results = burst(instances, &shopping, 12).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    let tokens: HashSet<_> = results
        .iter()
        .map(|(_, body)| body["access_token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1, "every request shares the one refresh");
    let grants = refresh_grants(logto, world).await;
    assert_eq!(grants.len(), 1, "{grants:#?}");
    assert!(failed(&grants).is_empty(), "{grants:#?}");

    let second = refresh_token(on_b, b).await;
    assert_ne!(second, first, "Logto rotated the aging refresh token");
    assert_eq!(refresh_token(on_a, a).await, second);

    // Past Logto's 3 s reuse leeway, a request still holding the old token would revoke the
    // grant: the next refreshes use the new one, on both instances.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for round in 0..2 {
        let response = on_b.get(&b.url("/debug/clear-access-tokens")).await;
        assert_eq!(response.status(), StatusCode::OK);
        for (status, body) in burst(instances, &shopping, 8).await {
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        }
    }
    let grants = refresh_grants(logto, world).await;
    assert_eq!(grants.len(), 3, "{grants:#?}");
    assert!(failed(&grants).is_empty(), "{grants:#?}");
    // The new refresh token is young: Logto keeps it.
    assert_eq!(refresh_token(on_a, a).await, second);
    let (status, body) = on_a.get_json(&a.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // What a reuse would have done: the old refresh token, spent, makes Logto revoke the grant,
    // and the session ends on both instances at their next refresh (signed out, not an error).
    let (status, body) = refresh_directly(logto, world, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let response = on_a.get(&a.url("/debug/clear-access-tokens")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = on_b.get_json(&b.url(&shopping)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = on_a.get_json(&a.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

/// OpenID Connect Back-Channel Logout with the real Logto: two instances on one shared store
/// behind one public URL, the world's web app with its back-channel logout URI set
/// (`<public URL>/back-channel-logout`), Alice signed in through `a` with `on_a` and at Logto
/// with `at_logto`. In the same Logto session she signs in to another app (the world's SPA), then
/// out of it: Logto posts a logout token to this app, and both instances find her session gone.
pub async fn signing_out_of_another_app_ends_the_session_through_back_channel_logout(
    logto: &RealLogto,
    world: &World,
    at_logto: &LogtoBrowser,
    (a, on_a): (&Instance, &Browser),
    (b, on_b): (&Instance, &Browser),
) {
    let public_url = a.public_base_url.trim_end_matches('/');
    let (status, claims) = on_b.get_json(&b.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert!(claims["sid"].is_string(), "Logto sends sid: {claims}");
    let refresh = refresh_token(on_a, a).await;

    // The same Logto session signs her in to another app (no password asked), then out of it,
    // as that app's SDK would.
    let authorization: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &world.spa.id)
        .append_pair("redirect_uri", &format!("{public_url}/callback"))
        .append_pair("response_type", "code")
        .append_pair("scope", "openid offline_access")
        .append_pair("prompt", "consent")
        .append_pair("state", "another-app")
        .append_pair("code_challenge", &"c".repeat(43))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let back = at_logto
        .sign_in(
            &logto.url(&format!("/oidc/auth?{authorization}")),
            &world.alice,
        )
        .await;
    assert!(query(&back).contains_key("code"), "{back}");
    let end_session: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &world.spa.id)
        .append_pair("post_logout_redirect_uri", &format!("{public_url}/"))
        .finish();
    at_logto
        .visit(&logto.url(&format!("/oidc/session/end?{end_session}")))
        .await;

    // Logto posted the logout token before it redirected: both instances see the session gone.
    for (browser, app) in [(on_a, a), (on_b, b)] {
        let (status, body) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // Logto did not revoke the grant (it has `offline_access`): only the app's own logout ends the
    // session, so a refresh in flight must not write it back (see docs/decisions.md).
    let (status, body) = refresh_directly(logto, world, &refresh).await;
    assert_eq!(status, 200, "the grant outlives the Logto session: {body}");
}
