//! The JSON contract of the sample, for scripts (memory sessions, one process).

use logto_test_support::{ALICE, BOB, Browser, ORG_ACME, SHOPPING_API, TestIdp, location};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::WebApp;

#[tokio::test]
async fn json_contract_for_scripts() {
    let idp = TestIdp::start().await;
    let app = WebApp::start(&idp, "memory").await;
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

#[tokio::test]
async fn html_pages_for_people() {
    let idp = TestIdp::start().await;
    let app = WebApp::start(&idp, "memory").await;
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

fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
