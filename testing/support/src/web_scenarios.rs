//! Scenarios that drive a web app built on a Logto integration (logto-axum, logto-actix) over
//! HTTP, against the real Logto, given the URLs of its instances: what each integration's tests
//! prove about sign-in, sessions, cookies, fixation, sign-out and refreshes across processes,
//! written once.
//!
//! The app under test serves, besides the integration's `/sign-in`, `/callback` and `/sign-out`:
//! `GET /` (`{"authenticated", "claims"}`), `GET /protected` (the ID-token claims),
//! `GET /protected/userinfo`, `GET /protected/resource?resource=…`
//! (`{"access_token", "claims"}`), `GET /protected/organizations/{id}`
//! (`{"organization_token", "claims"}`), `GET /debug/refresh-token` (the session's refresh token)
//! and `GET /debug/clear-access-tokens`; JSON with `Accept: application/json`.

use std::collections::{HashMap, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use crate::{Browser, LogtoBrowser, RealLogto, World, location, set_cookies};

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

/// Signed out, signed in through the routes, tokens used, signed out: the signed-out answers
/// (`401` JSON for scripts, a redirect to sign-in and back for browsers), the session cookie's
/// flags (`HttpOnly`, `SameSite=Lax`, `Path=/`, not `Secure` on loopback http), the session id
/// renewed at sign-in (the old one worthless), tokens never in the cookie, a replayed callback
/// refused, the real ID token's claims and userinfo, resource and organization tokens, and a
/// sign-out that clears the cookie, revokes the refresh token at Logto and ends the session id.
///
/// `app` is configured with the world's web app (email, custom data, identities and
/// organizations claims; the shopping and store resources and their scopes) and sessions in
/// memory.
pub async fn sign_in_use_tokens_and_sign_out(logto: &RealLogto, world: &World, app: &Instance) {
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

    // The claims of the real ID token.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["authenticated"], true);
    assert_eq!(home["claims"]["sub"], world.alice.id);
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["iss"], logto.issuer());
    assert_eq!(claims["sub"], world.alice.id);
    assert_eq!(claims["aud"], world.web_app.id);
    assert_eq!(claims["username"], world.alice.username);
    assert_eq!(claims["email"], world.alice_email);

    // Userinfo from Logto.
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["sub"], world.alice.id);
    assert_eq!(user["custom_data"], json!({ "plan": "pro", "seats": 3 }));

    // An API resource token with the scopes of Alice's roles, and organization tokens; a
    // stranger's organization is refused and the session goes on.
    let path = with_resource("/protected/resource", &world.shopping.indicator);
    let (status, shopping) = browser.get_json(&app.url(&path)).await;
    assert_eq!(status, StatusCode::OK, "{shopping}");
    assert_eq!(shopping["claims"]["aud"], world.shopping.indicator);
    let mut scopes: Vec<&str> = shopping["claims"]["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["shopping:read", "shopping:write"]);
    let (status, acme) = browser
        .get_json(&app.url(&format!("/protected/organizations/{}", world.acme)))
        .await;
    assert_eq!(status, StatusCode::OK, "{acme}");
    assert_eq!(
        acme["claims"]["aud"],
        format!("urn:logto:organization:{}", world.acme)
    );
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

/// A sign-out sent by a page of another site (browsers send the `SameSite=Lax` cookie on
/// top-level navigations from any site) is refused with `403` and a page whose same-origin button
/// signs out (`{"error": "cross_site_request"}` for JSON), the visitor still signed in; a
/// same-origin one, a typed URL or the confirmation form signs out.
pub async fn cross_site_sign_out_is_refused(logto: &RealLogto, world: &World, app: &Instance) {
    let browser = Browser::new();
    let at_logto = logto.browser();
    app.sign_in(&browser, &at_logto, &world.alice).await;
    let send = |method: Method, headers: &'static [(&'static str, &'static str)]| {
        let mut request = browser.http.request(method, app.url("/sign-out"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { request.send().await.unwrap() }
    };
    let refused: [&[(&str, &str)]; 5] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
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

    // The confirmation page's form (a same-origin POST) signs out; so does a typed URL.
    let origin = app.url("");
    let response = browser
        .http
        .post(app.url("/sign-out"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&logto.url("/oidc/session/end")));
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);
    app.sign_in(&browser, &at_logto, &world.alice).await;
    let response = browser
        .http
        .get(app.url("/sign-out"))
        .header("sec-fetch-site", "none")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);
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

    // Both sessions are signed out now.
    for browser in [&laptop, &phone] {
        let (status, body) = browser.get_json(&app.url("/protected")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (_, home) = browser.get_json(&app.url("/")).await;
        assert_eq!(home["authenticated"], false);
    }

    // Signing in again works, and lands where the laptop was going.
    let response = laptop
        .get(&app.url("/sign-in?return_to=%2Fprotected%2Fuserinfo"))
        .await;
    let callback = laptop_at_logto
        .sign_in(&location(&response), &world.alice)
        .await;
    let response = laptop.get(&callback).await;
    assert_eq!(location(&response), "/protected/userinfo");
    let (status, user) = laptop.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["sub"], world.alice.id);
}
