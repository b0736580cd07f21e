//! The JSON contract of the sample, for scripts (memory sessions, one process): every scenario
//! runs against both samples, `web-app` (axum) and `web-app-actix` (actix-web).

use logto_test_support::{ALICE, BOB, Browser, ORG_ACME, SHOPPING_API, TestIdp, location};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{WebApp, for_each_app};

for_each_app!(json_contract: json_contract_for_scripts, json_contract_for_scripts_actix);

async fn json_contract(sample: &str) {
    let idp = TestIdp::start().await;
    let app = WebApp::start(sample, &idp, "memory").await;
    let client = Browser::new();

    let (status, body) = client.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "authenticated": false, "claims": null }));
    for path in [
        "/protected",
        "/protected/userinfo",
        "/protected/resource",
        "/protected/organizations/org-acme",
    ] {
        let (status, body) = client.get_json(&app.url(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body, json!({ "error": "not_authenticated" }), "{path}");
        // A browser is sent to sign in instead.
        let response = client.get(&app.url(path)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with("/sign-in?return_to="));
    }

    app.sign_in(&client, &idp, ALICE).await;
    let (status, home) = client.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["authenticated"], true);
    assert_eq!(home["claims"]["sub"], "user-alice");
    assert_eq!(
        home["claims"]["organizations"],
        json!(["org-acme", "org-globex"])
    );

    let (status, claims) = client.get_json(&app.url("/protected")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims["username"], "alice");

    let (status, user) = client.get_json(&app.url("/protected/userinfo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["sub"], "user-alice");
    assert_eq!(
        user["custom_data"],
        json!({ "plan": "pro", "theme": "dark" })
    );

    // The default resource is the first of LOGTO_RESOURCES.
    for path in [
        "/protected/resource".to_owned(),
        format!("/protected/resource?resource={}", url_encode(SHOPPING_API)),
    ] {
        let (status, body) = client.get_json(&app.url(&path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["claims"]["aud"], SHOPPING_API);
        assert_eq!(body["claims"]["scope"], "shopping:read");
        assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    }
    let (status, body) = client
        .get_json(&app.url("/protected/resource?resource=https%3A%2F%2Funknown.example.com"))
        .await;
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{status} {body}"
    );
    assert!(body["error"].is_string(), "{body}");

    let (status, body) = client
        .get_json(&app.url(&format!("/protected/organizations/{ORG_ACME}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["claims"]["aud"], "urn:logto:organization:org-acme");
    assert!(body["organization_token"].as_str().unwrap().len() > 20);

    let response = client.get(&app.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(idp.visit(&location(&response)).await, app.url("/"));
    let (_, body) = client.get_json(&app.url("/")).await;
    assert_eq!(body["authenticated"], false);

    // Another user, no organizations: 403 with a JSON error.
    let bob = Browser::new();
    app.sign_in(&bob, &idp, BOB).await;
    let (status, body) = bob
        .get_json(&app.url("/protected/organizations/org-acme"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "forbidden");
}

for_each_app!(html_pages: html_pages_for_people, html_pages_for_people_actix);

async fn html_pages(sample: &str) {
    let idp = TestIdp::start().await;
    let app = WebApp::start(sample, &idp, "memory").await;
    let client = Browser::new();
    let page = client.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("id=\"sign-in\""), "{page}");
    assert!(page.contains("/sign-in?interaction_mode=signUp"), "{page}");

    let response = client
        .get(&app.url(
            "/sign-in?interaction_mode=signUp&direct_sign_in=social:github&login_hint=a%40b.c",
        ))
        .await;
    let authorization_url = location(&response);
    for expected in [
        "interaction_mode=signUp",
        "direct_sign_in=social%3Agithub",
        "login_hint=a%40b.c",
    ] {
        assert!(
            authorization_url.contains(expected),
            "{expected}: {authorization_url}"
        );
    }

    app.sign_in(&client, &idp, ALICE).await;
    let page = client.get(&app.url("/")).await.text().await.unwrap();
    assert!(page.contains("Alice Liddell"), "{page}");
    assert!(page.contains("/protected/organizations/org-acme"), "{page}");
    assert!(page.contains("id=\"sign-out\""), "{page}");

    // A failed callback shows an error page, not a crash.
    let response = Browser::new()
        .get(&app.url("/callback?code=x&state=y"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("Sign in again"));
}

for_each_app!(
    connector_sign_in_links: contract_connector_sign_in_links,
    contract_connector_sign_in_links_actix
);

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The signed-out home page's ways past Logto's sign-in page: "Continue with <provider>" (a social
/// connector), "Sign in with SSO" (one SSO connector) and the work-email SSO form. Each goes to the
/// app's `/sign-in`, which sends the browser to Logto's authorization endpoint with
/// `direct_sign_in`, or `first_screen=single_sign_on` and `login_hint`.
async fn connector_sign_in_links(sample: &str) {
    let idp = TestIdp::start().await;
    let app = WebApp::start_with_env(
        sample,
        &idp,
        "memory",
        &[
            ("LOGTO_SOCIAL_TARGET", "acme-oauth2"),
            ("LOGTO_SOCIAL_NAME", "Acme & Co"),
            ("LOGTO_SSO_CONNECTOR_ID", "sso-conn-1"),
        ],
    )
    .await;
    let client = Browser::new();

    // The JSON answer is the same as without the buttons.
    let (status, body) = client.get_json(&app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "authenticated": false, "claims": null }));

    let page = client.get(&app.url("/")).await.text().await.unwrap();
    let social = tag(&page, "sign-in-social");
    assert_eq!(
        attribute(social, "href"),
        "/sign-in?direct_sign_in=social%3Aacme-oauth2",
        "{page}"
    );
    assert!(page.contains("Continue with Acme &amp; Co</a>"), "{page}");
    let sso = tag(&page, "sign-in-sso");
    assert_eq!(
        attribute(sso, "href"),
        "/sign-in?direct_sign_in=sso%3Asso-conn-1",
        "{page}"
    );
    assert!(page.contains(">Sign in with SSO</a>"), "{page}");

    // The work-email form, submitted as a browser does (GET: its fields, in order, as the query).
    let form = tag(&page, "sign-in-sso-form");
    assert_eq!(attribute(form, "action"), "/sign-in");
    assert_eq!(attribute(form, "method"), "get");
    let hidden = tag_after(
        &page,
        "<form id=\"sign-in-sso-form\"",
        "<input type=\"hidden\"",
    );
    assert_eq!(attribute(hidden, "name"), "first_screen");
    assert_eq!(attribute(hidden, "value"), "single_sign_on");
    let email = tag(&page, "sign-in-sso-email");
    assert_eq!(attribute(email, "name"), "login_hint");
    assert_eq!(attribute(email, "type"), "email");
    let submitted = format!(
        "{}?{}",
        attribute(form, "action"),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(&attribute(hidden, "name"), &attribute(hidden, "value"))
            .append_pair(&attribute(email, "name"), "jane+sso@corp.example")
            .finish()
    );
    assert_eq!(
        submitted,
        "/sign-in?first_screen=single_sign_on&login_hint=jane%2Bsso%40corp.example"
    );

    // Following each: a redirect to Logto's authorization endpoint with the parameters set.
    let authorization = format!("{}/oidc/auth", idp.endpoint());
    for (path, expected, unexpected) in [
        (
            attribute(social, "href"),
            vec![("direct_sign_in", "social:acme-oauth2")],
            vec!["first_screen", "login_hint"],
        ),
        (
            attribute(sso, "href"),
            vec![("direct_sign_in", "sso:sso-conn-1")],
            vec!["first_screen", "login_hint"],
        ),
        (
            submitted,
            vec![
                ("first_screen", "single_sign_on"),
                ("login_hint", "jane+sso@corp.example"),
            ],
            vec!["direct_sign_in"],
        ),
    ] {
        let response = client.get(&app.url(&path)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let target = url::Url::parse(&location(&response)).unwrap();
        assert_eq!(
            format!("{}{}", target.origin().ascii_serialization(), target.path()),
            authorization,
            "{path}"
        );
        let query: Vec<(String, String)> = target.query_pairs().into_owned().collect();
        let get = |name: &str| {
            query
                .iter()
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
        };
        for (name, value) in expected {
            assert_eq!(get(name), [value], "{path}: {name} in {target}");
        }
        for name in unexpected {
            assert!(get(name).is_empty(), "{path}: {name} in {target}");
        }
        assert_eq!(get("redirect_uri"), [app.url("/callback")], "{target}");
    }

    // Without the variables, only the work-email form is there.
    let plain = WebApp::start(sample, &idp, "memory").await;
    let page = client.get(&plain.url("/")).await.text().await.unwrap();
    assert!(!page.contains("id=\"sign-in-social\""), "{page}");
    assert!(!page.contains("id=\"sign-in-sso\""), "{page}");
    assert!(page.contains("id=\"sign-in-sso-email\""), "{page}");
}

/// The start tag of the element with this id (`<a id="…" …>`).
fn tag<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let start = page[..at].rfind('<').unwrap();
    let end = at + page[at..].find('>').unwrap();
    &page[start..=end]
}

/// The first start tag beginning with `prefix` after `anchor`.
fn tag_after<'a>(page: &'a str, anchor: &str, prefix: &str) -> &'a str {
    let from = page
        .find(anchor)
        .unwrap_or_else(|| panic!("no {anchor} in {page}"));
    let start = from + page[from..].find(prefix).unwrap();
    let end = start + page[start..].find('>').unwrap();
    &page[start..=end]
}

/// An attribute of a start tag, HTML-unescaped (`&amp;` only: the sample escapes nothing else
/// in URLs).
fn attribute(tag: &str, name: &str) -> String {
    let marker = format!(" {name}=\"");
    let start = tag
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + marker.len();
    let end = start + tag[start..].find('"').unwrap();
    tag[start..end].replace("&amp;", "&")
}
