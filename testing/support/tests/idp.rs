//! Smoke tests of the test IdP through its Rust handle: start-up, discovery, a hand-built PKCE
//! sign-in and code exchange, stats, key rotation, the admin endpoints.

use aws_lc_rs::digest;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use logto_test_support::{
    ALICE, ALICE_SUB, BOB, ORG_ACME, PUBLIC_APP_ID, SHOPPING_API, STORE_API, Stats, TestIdp,
    WEB_APP_ID, WEB_APP_SECRET, free_port,
};
use serde_json::{Value, json};
use url::Url;

const VERIFIER: &str = "a-fixed-code-verifier-that-is-long-enough-0123456789";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

fn redirect_uri() -> String {
    // Any port matches the registered loopback redirect URI.
    format!("http://127.0.0.1:{}/callback", free_port())
}

fn authorization_url(
    idp: &TestIdp,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    resources: &[&str],
) -> String {
    let mut url = Url::parse(&format!("{}/auth", idp.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("prompt", "consent")
        .append_pair("state", "state-1")
        .append_pair("nonce", "nonce-1")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for resource in resources {
        url.query_pairs_mut().append_pair("resource", resource);
    }
    url.to_string()
}

fn claims(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut decode = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    (decode(), decode())
}

async fn token(idp: &TestIdp, form: &[(&str, &str)], client: Option<(&str, &str)>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut request = http.post(format!("{}/token", idp.issuer()));
    let mut form: Vec<(&str, &str)> = form.to_vec();
    match client {
        Some((id, secret)) => request = request.basic_auth(id, Some(secret)),
        None => form.push(("client_id", PUBLIC_APP_ID)),
    }
    let response = request.form(&form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Signs alice in to web-app and exchanges the code: (token response, redirect_uri).
async fn alice_tokens(idp: &TestIdp, scope: &str, resources: &[&str]) -> Value {
    let redirect = redirect_uri();
    let url = authorization_url(idp, WEB_APP_ID, &redirect, scope, resources);
    let callback = Url::parse(&idp.sign_in(&url, ALICE.0, ALICE.1).await).unwrap();
    let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(callback.as_str().split('?').next().unwrap(), redirect);
    assert_eq!(query["state"], "state-1");
    assert_eq!(query["iss"], idp.issuer());
    let (status, body) = token(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", &redirect),
            ("code_verifier", VERIFIER),
        ],
        Some((WEB_APP_ID, WEB_APP_SECRET)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn starts_and_serves_discovery() {
    let idp = TestIdp::start().await;
    assert!(idp.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(idp.issuer(), format!("{}/oidc", idp.endpoint()));

    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], idp.issuer());
    assert_eq!(
        discovery["userinfo_endpoint"],
        format!("{}/me", idp.issuer())
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES384"])
    );
    let jwks: Value = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "P-384");

    let stats = idp.stats().await;
    assert_eq!(
        stats,
        Stats {
            discovery: 1,
            jwks: 1,
            ..Stats::default()
        }
    );
    idp.reset_stats().await;
    assert_eq!(idp.stats().await, Stats::default());
}

#[tokio::test]
async fn signs_in_and_exchanges_the_code() {
    let idp = TestIdp::start().await;
    let tokens = alice_tokens(
        &idp,
        "openid offline_access profile email custom_data urn:logto:scope:organizations shopping:read",
        &[SHOPPING_API, STORE_API],
    )
    .await;
    let (header, id_token) = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "ES384");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(id_token["sub"], ALICE_SUB);
    assert_eq!(id_token["aud"], WEB_APP_ID);
    assert_eq!(id_token["nonce"], "nonce-1");
    assert_eq!(id_token["email"], "alice@example.com");
    assert_eq!(id_token["organizations"], json!(["org-acme", "org-globex"]));
    assert!(
        id_token.get("custom_data").is_none(),
        "custom_data is userinfo-only"
    );

    // The opaque access token is good for userinfo.
    let me: Value = reqwest::Client::new()
        .get(format!("{}/me", idp.issuer()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["custom_data"], json!({"plan": "pro", "theme": "dark"}));

    // The refresh token gives resource and organization tokens.
    let (status, shopping) = token(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("resource", SHOPPING_API),
        ],
        Some((WEB_APP_ID, WEB_APP_SECRET)),
    )
    .await;
    assert_eq!(status, 200, "{shopping}");
    let (header, at) = claims(shopping["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(at["aud"], SHOPPING_API);
    assert_eq!(at["scope"], "shopping:read");

    let (status, org) = token(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", shopping["refresh_token"].as_str().unwrap()),
            ("organization_id", ORG_ACME),
        ],
        Some((WEB_APP_ID, WEB_APP_SECRET)),
    )
    .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(
        claims(org["access_token"].as_str().unwrap()).1["aud"],
        "urn:logto:organization:org-acme"
    );

    // Reusing the rotated-out refresh token within the grace period is fine.
    let (status, _) = token(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
        Some((WEB_APP_ID, WEB_APP_SECRET)),
    )
    .await;
    assert_eq!(status, 200);

    let seen = idp.last_authorization_request().await;
    assert_eq!(seen["client_id"], WEB_APP_ID);
    assert_eq!(seen["resource"], json!([SHOPPING_API, STORE_API]));
    let stats = idp.stats().await;
    assert_eq!(stats.authorization_code_grants, 1);
    assert_eq!(stats.refresh_token_grants, 3);
    assert_eq!(stats.userinfo, 1);
}

#[tokio::test]
async fn refresh_token_reuse_after_the_grace_period_revokes_the_grant() {
    let idp = TestIdp::start_with(json!({ "refresh_token_reuse_grace_seconds": 0 })).await;
    let tokens = alice_tokens(&idp, "openid offline_access", &[]).await;
    let old = tokens["refresh_token"].as_str().unwrap();
    let refresh = |rt: String| {
        let idp = &idp;
        async move {
            token(
                idp,
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                Some((WEB_APP_ID, WEB_APP_SECRET)),
            )
            .await
        }
    };
    let (status, new) = refresh(old.to_owned()).await;
    assert_eq!(status, 200);
    // Grace 0: a reuse even a moment later is rejected and revokes everything.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, reused) = refresh(old.to_owned()).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant")),
        "{reused}"
    );
    assert_eq!(reused["code"], "oidc.invalid_grant");
    let (status, _) = refresh(new["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        status, 400,
        "the new refresh token was revoked with the grant"
    );
}

#[tokio::test]
async fn public_client_and_wrong_password() {
    let idp = TestIdp::start().await;
    let redirect = redirect_uri();
    let url = authorization_url(&idp, PUBLIC_APP_ID, &redirect, "openid offline_access", &[]);
    let callback = Url::parse(&idp.sign_in(&url, BOB.0, BOB.1).await).unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, body) = token(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["id_token"].as_str().unwrap()).1["sub"],
        "user-bob"
    );

    // Wrong credentials make sign_in panic with the page's error.
    let url = authorization_url(&idp, PUBLIC_APP_ID, &redirect, "openid", &[]);
    let failed = tokio::spawn(async move {
        let idp = idp;
        idp.sign_in(&url, "alice", "wrong").await
    })
    .await;
    let panic = failed.unwrap_err().into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("Wrong username or password"), "{message}");
}

#[tokio::test]
async fn rotates_keys() {
    let idp = TestIdp::start().await;
    let jwks = || async {
        let jwks: Value = reqwest::get(format!("{}/jwks", idp.issuer()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let first = jwks().await;
    assert_eq!(first.len(), 1);

    // Same algorithm, old key kept: the new key signs.
    let same_alg = idp.rotate_keys("ES384", true).await;
    assert_eq!(jwks().await, vec![same_alg.clone(), first[0].clone()]);
    let tokens = alice_tokens(&idp, "openid", &[]).await;
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap()).0["kid"],
        same_alg.as_str()
    );

    let kid = idp.rotate_keys("RS256", true).await;
    assert_eq!(jwks().await, vec![kid.clone(), same_alg, first[0].clone()]);
    let tokens = alice_tokens(&idp, "openid", &[]).await;
    let (header, _) = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("RS256"), Some(kid.as_str()))
    );

    let newest = idp.rotate_keys("EdDSA", false).await;
    assert_eq!(jwks().await, vec![newest]);
}

#[tokio::test]
async fn overrides_the_next_token_response_and_signs() {
    let idp = TestIdp::start().await;
    idp.override_next_token_response(json!({
        "id_token_claims": { "iss": "https://evil.example.com", "nonce": null },
        "id_token_signing": "foreign",
    }))
    .await;
    let tokens = alice_tokens(&idp, "openid", &[]).await;
    let (header, id_token) = claims(tokens["id_token"].as_str().unwrap());
    assert!(header["kid"].as_str().unwrap().starts_with("foreign-"));
    assert_eq!(id_token["iss"], "https://evil.example.com");
    assert!(id_token.get("nonce").is_none());

    // One-shot: the next response is untouched.
    let tokens = alice_tokens(&idp, "openid", &[]).await;
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap()).1["iss"],
        idp.issuer()
    );

    let jws = idp
        .sign(
            json!({ "sub": "x", "aud": "y" }),
            Some(json!({ "typ": "at+jwt" })),
            "idp",
        )
        .await;
    let (header, payload) = claims(&jws);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES384");
    assert_eq!(payload["aud"], "y");

    idp.override_next_token_response(json!({ "raw": { "status": 502, "content_type": "text/html", "body": "<html>bad gateway</html>" } })).await;
    let response = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 502);
    assert_eq!(response.text().await.unwrap(), "<html>bad gateway</html>");
}

#[tokio::test]
async fn signs_out_a_browser_session() {
    let idp = TestIdp::start().await;
    let browser = idp.browser();
    let redirect = redirect_uri();
    let url = authorization_url(&idp, WEB_APP_ID, &redirect, "openid", &[]);
    browser.sign_in(&url, ALICE.0, ALICE.1).await;
    // Same browser, no prompt: single sign-on, no login page.
    let sso = authorization_url(&idp, WEB_APP_ID, &redirect, "openid", &[])
        .replace("&prompt=consent", "");
    assert!(browser.visit(&sso).await.contains("code="));

    let post_logout = format!("http://127.0.0.1:{}/", free_port());
    let mut end_session = Url::parse(&format!("{}/session/end", idp.issuer())).unwrap();
    end_session
        .query_pairs_mut()
        .append_pair("client_id", WEB_APP_ID)
        .append_pair("post_logout_redirect_uri", &post_logout)
        .append_pair("state", "bye");
    assert_eq!(
        browser.visit(end_session.as_str()).await,
        format!("{post_logout}?state=bye")
    );
    assert_eq!(idp.stats().await.end_session, 1);

    // Signed out: the authorization request needs a login again, so `visit` (no credentials)
    // would panic; with prompt=none the IdP answers login_required.
    let silent = format!("{sso}&prompt=none");
    assert!(
        browser
            .visit(&silent)
            .await
            .contains("error=login_required")
    );
}
