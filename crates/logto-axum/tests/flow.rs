//! The whole sign-in flow through the ready-made routes and the extractors, against the test IdP,
//! with the default in-memory session store.

mod support;

use logto_test_support::{
    ALICE, BOB, Browser, ORG_ACME, ORG_GLOBEX, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET,
    location, set_cookies,
};
use reqwest::StatusCode;
use serde_json::json;
use support::{config, start_app, start_memory_app};
use tower_sessions::MemoryStore;

fn session_cookie(set_cookies: &[String]) -> Option<String> {
    set_cookies
        .iter()
        .find(|c| c.starts_with("logto_session="))
        .cloned()
}

#[tokio::test]
async fn sign_in_use_tokens_and_sign_out() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let browser = Browser::new();

    // Signed out: the home page says so, protected pages redirect browsers and 401 scripts.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home, json!({ "authenticated": false, "claims": null }));
    let (status, body) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({ "error": "not_authenticated" }));
    let response = browser.get(&app.url("/protected/userinfo?x=1")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let sign_in = location(&response);
    assert_eq!(
        sign_in,
        "/sign-in?return_to=%2Fprotected%2Fuserinfo%3Fx%3D1"
    );

    // /sign-in sets the session cookie (HttpOnly, SameSite=Lax, not Secure over http) and
    // redirects to Logto.
    let response = browser.get(&app.url(&sign_in)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let before = session_cookie(&set_cookies(&response)).expect("a session cookie");
    assert!(before.contains("HttpOnly"), "{before}");
    assert!(before.contains("SameSite=Lax"), "{before}");
    assert!(!before.contains("Secure"), "{before}");
    let authorization_url = location(&response);
    assert!(authorization_url.starts_with(&idp.url("/oidc/auth")));

    // The callback signs in, renews the session id, and returns to the page asked for.
    let callback = idp.sign_in(&authorization_url, ALICE.0, ALICE.1).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/protected/userinfo?x=1");
    let after = session_cookie(&set_cookies(&response)).expect("a renewed session cookie");
    let id = |cookie: &str| cookie.split(';').next().unwrap().to_owned();
    assert_ne!(
        id(&before),
        id(&after),
        "the session id must change at sign-in"
    );
    assert!(
        after.len() < 200,
        "tokens must not be in the cookie: {after}"
    );

    // The old session id is worthless now.
    let fixated = reqwest::Client::new()
        .get(app.url("/protected"))
        .header("cookie", id(&before))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(fixated.status(), StatusCode::UNAUTHORIZED);

    // Claims, userinfo, resource token, organization token.
    let (status, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["authenticated"], true);
    assert_eq!(home["claims"]["sub"], "user-alice");
    assert_eq!(home["claims"]["email"], "alice@example.com");
    let (status, claims) = browser.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims["sub"], "user-alice");
    let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["sub"], "user-alice");
    assert_eq!(user["custom_data"]["plan"], "pro");
    let (status, resource) = browser
        .get_json(&app.url("/protected/resource?resource=https%3A%2F%2Fshopping.example.com%2Fapi"))
        .await;
    assert_eq!(status, StatusCode::OK, "{resource}");
    assert_eq!(resource["claims"]["aud"], SHOPPING_API);
    assert!(resource["access_token"].as_str().unwrap().len() > 20);
    let (status, org) = browser
        .get_json(&app.url(&format!("/protected/organizations/{ORG_ACME}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(
        org["claims"]["aud"],
        format!("urn:logto:organization:{ORG_ACME}")
    );
    let (status, _) = browser
        .get_json(&app.url("/protected/organizations/org-unknown"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Sign-out clears the session and its cookie, revokes the refresh token, and goes to Logto.
    let response = browser.get(&app.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert!(
        end_session.starts_with(&idp.url("/oidc/session/end")),
        "{end_session}"
    );
    let cleared = session_cookie(&set_cookies(&response)).expect("a removal cookie");
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("1970"),
        "{cleared}"
    );
    let back = idp.visit(&end_session).await;
    assert_eq!(back, app.url("/"));
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);
    assert_eq!(idp.stats().await.revocation, 1);

    // The old signed-in session id is gone too.
    let replayed = reqwest::Client::new()
        .get(app.url("/protected"))
        .header("cookie", id(&after))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
}

/// The grant is revoked at the IdP (here by revoking its refresh token, which revokes the whole
/// grant, the cached userinfo access token included): `Authenticated<UserInfo>` signs the visitor
/// out instead of failing on userinfo's `401 invalid_token`.
#[tokio::test]
async fn a_grant_revoked_at_the_idp_signs_the_visitor_out_of_userinfo_pages() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let (browser, script) = (Browser::new(), Browser::new());
    for browser in [&browser, &script] {
        app.sign_in(browser, &idp, ALICE).await;
        let (status, user) = browser.get_json(&app.url("/protected/userinfo")).await;
        assert_eq!(status, StatusCode::OK, "{user}");
    }
    let discovery: serde_json::Value =
        reqwest::get(idp.url("/oidc/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    for browser in [&browser, &script] {
        let refresh_token = browser
            .get(&app.url("/debug/refresh-token"))
            .await
            .text()
            .await
            .unwrap();
        let revoked = reqwest::Client::new()
            .post(discovery["revocation_endpoint"].as_str().unwrap())
            .basic_auth(WEB_APP_ID, Some(WEB_APP_SECRET))
            .form(&[
                ("token", refresh_token.as_str()),
                ("token_type_hint", "refresh_token"),
            ])
            .send()
            .await
            .unwrap();
        assert!(revoked.status().is_success());
    }

    let response = browser.get(&app.url("/protected/userinfo")).await;
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
    let (status, body) = script.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body, json!({ "error": "not_authenticated" }));
    for browser in [&browser, &script] {
        let (_, home) = browser.get_json(&app.url("/")).await;
        assert_eq!(home["authenticated"], false);
    }
}

#[tokio::test]
async fn sign_in_passes_logto_options_through() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let browser = Browser::new();

    let response = browser
        .get(&app.url(
            "/sign-in?interaction_mode=signUp&direct_sign_in=social:github&login_hint=alice%40example.com&first_screen=register",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let url = url::Url::parse(&location(&response)).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["interaction_mode"], "signUp");
    assert_eq!(query["direct_sign_in"], "social:github");
    assert_eq!(query["login_hint"], "alice@example.com");
    assert_eq!(query["first_screen"], "register");
    assert_eq!(query["redirect_uri"], app.url("/callback"));

    for bad in [
        "/sign-in?interaction_mode=maybe",
        "/sign-in?direct_sign_in=github",
    ] {
        let response = browser.get(&app.url(bad)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let page = response.text().await.unwrap();
        assert!(page.contains("<h1>Bad request</h1>"), "{page}");
        let (status, body) = browser.get_json(&app.url(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_request");
    }

    // return_to only ever points into the app.
    let response = browser
        .get(&app.url("/sign-in?return_to=%2F%2Fevil.example"))
        .await;
    let callback = idp.sign_in(&location(&response), BOB.0, BOB.1).await;
    let response = browser.get(&callback).await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn failed_callbacks_show_an_error_page() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;

    // No sign-in pending in this browser.
    let browser = Browser::new();
    let response = browser.get(&app.url("/callback?code=abc&state=xyz")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("no sign-in is pending"), "{page}");
    assert!(page.contains("href=\"/sign-in\""), "{page}");

    // A forged state.
    let response = browser.get(&app.url("/sign-in")).await;
    let callback = idp.sign_in(&location(&response), ALICE.0, ALICE.1).await;
    let forged = callback.replace("state=", "state=x");
    let response = browser.get(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(page.contains("state"), "{page}");

    // The user cancelled at Logto: the error Logto sent is shown, as JSON for scripts.
    let response = browser.get(&app.url("/sign-in")).await;
    let authorization_url = location(&response);
    let state = url::Url::parse(&authorization_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cancelled = format!(
        "{}?error=access_denied&error_description=End-User+aborted+interaction&state={state}&iss={}",
        app.url("/callback"),
        idp.issuer()
    );
    let (status, body) = browser.get_json(&cancelled).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "sign_in_failed");
    assert!(body["message"].as_str().unwrap().contains("access_denied"));
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], false);
}

#[tokio::test]
async fn cookie_is_secure_for_an_https_base_url() {
    let idp = TestIdp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let logto = logto_axum::Logto::builder(config(&idp), "https://app.example.com")
        .build()
        .unwrap();
    let app = logto.router().layer(logto.layer(MemoryStore::default()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let response = Browser::new().get(&format!("http://{addr}/sign-in")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&set_cookies(&response)).unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let authorization_url = url::Url::parse(&location(&response)).unwrap();
    assert!(
        authorization_url
            .query_pairs()
            .any(|(k, v)| k == "redirect_uri" && v == "https://app.example.com/callback")
    );
    server.abort();
}

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

/// The callback URL carries the code and state, and error pages may show them: their responses
/// are never cached and send no `Referer` onwards.
#[tokio::test]
async fn callback_and_error_pages_are_private() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let browser = Browser::new();
    let assert_private = |what: &str, response: &reqwest::Response| {
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
    };

    // A successful callback.
    let response = browser.get(&app.url("/sign-in")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = idp.sign_in(&location(&response), ALICE.0, ALICE.1).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_private("the callback's redirect", &response);

    // A failed callback, as a page and as JSON.
    let stranger = Browser::new();
    let response = stranger.get(&app.url("/callback?code=abc&state=xyz")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_private("the callback's error page", &response);
    let response = stranger
        .http
        .get(app.url("/callback?code=abc&state=xyz"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_private("the callback's JSON error", &response);

    // Other error pages.
    let response = browser
        .get(&app.url("/sign-in?interaction_mode=maybe"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_private("the sign-in's error page", &response);
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

/// Headers a request to `/sign-out` may come with.
type Headers = &'static [(&'static str, &'static str)];

/// A link, image or form on another site cannot sign the visitor out (browsers send the
/// `SameSite=Lax` cookie on top-level navigations from any site): such a request is refused with
/// a page whose same-site button signs out. Same-site sign-out links, typed URLs and clients
/// without browser metadata keep working.
#[tokio::test]
async fn cross_site_sign_out_is_refused() {
    let idp = TestIdp::start().await;
    let app = start_memory_app(&idp).await;
    let browser = Browser::new();
    app.sign_in(&browser, &idp, ALICE).await;
    let send = |method: reqwest::Method, headers: Headers| {
        let mut request = browser.http.request(method, app.url("/sign-out"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { request.send().await.unwrap() }
    };

    let refused: [Headers; 6] = [
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
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = send(method.clone(), headers).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {headers:?}"
            );
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
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "cross_site_request", "{body}");
    let (_, home) = browser.get_json(&app.url("/")).await;
    assert_eq!(home["authenticated"], true, "a refused sign-out signed out");
    assert_eq!(idp.stats().await.revocation, 0);

    // Same-origin requests, typed URLs, and the confirmation page's own form sign out.
    let origin = app.url("");
    let own_page = app.url("/");
    let allowed: [(reqwest::Method, Vec<(&str, &str)>); 5] = [
        (
            reqwest::Method::GET,
            vec![("sec-fetch-site", "same-origin"), ("referer", &own_page)],
        ),
        (reqwest::Method::GET, vec![("sec-fetch-site", "none")]),
        (reqwest::Method::GET, vec![("referer", &own_page)]),
        (
            reqwest::Method::POST,
            vec![("sec-fetch-site", "same-origin"), ("origin", &origin)],
        ),
        (reqwest::Method::POST, vec![("origin", &origin)]),
    ];
    for (round, (method, headers)) in allowed.into_iter().enumerate() {
        if round > 0 {
            app.sign_in(&browser, &idp, ALICE).await;
        }
        let mut request = browser.http.request(method.clone(), app.url("/sign-out"));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{method} {headers:?}"
        );
        assert!(location(&response).starts_with(&idp.url("/oidc/session/end")));
        let (_, home) = browser.get_json(&app.url("/")).await;
        assert_eq!(home["authenticated"], false, "{method} {headers:?}");
        assert_eq!(idp.stats().await.revocation, round as u64 + 1);
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
