//! Handlers that return [`logto_axum::Error`] and use `?`: the layer renders the error for the
//! request (JSON or HTML, sign-in and back to the page), under the app's path prefix. No Logto is
//! needed: every error here is found before a request to Logto would be sent.

use axum::Router;
use axum::routing::get;
use logto::LogtoConfig;
use logto_axum::{Auth, Error, Logto};
use logto_test_support::{UNUSABLE_SIGN_IN_QUERIES, location};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_sessions::MemoryStore;

/// A page that needs a signed-in user, with `?` on the client's calls.
async fn claims(auth: Auth) -> Result<String, Error> {
    Ok(auth.get_id_token_claims().await?.sub)
}

/// A handler's own refusal.
async fn refuse() -> Result<String, Error> {
    Err(Error::BadRequest("pass ?resource=<indicator>".into()))
}

/// The app behind a proxy that serves it to users under `/shop` (and strips the prefix): what
/// users see is `public_base_url`.
async fn start(with_layer: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Nothing listens on port 1: a request to Logto would fail, and none must be sent.
    let config = LogtoConfig::builder("http://127.0.0.1:1", "app-id")
        .build()
        .unwrap();
    let logto = Logto::builder(config, format!("{url}/shop"))
        .build()
        .unwrap();
    let routes = Router::new()
        .route("/orders", get(claims).post(claims))
        .route("/refuse", get(refuse));
    let app = if with_layer {
        routes
            .merge(logto.router())
            .layer(logto.layer(MemoryStore::default()))
    } else {
        routes
    };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET url` asking for `accept`, redirects not followed.
async fn fetch(url: String, accept: &str) -> reqwest::Response {
    client()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_out_browser_is_sent_to_sign_in_and_back_under_the_prefix() {
    let url = start(true).await;
    let response = fetch(format!("{url}/orders?id=7"), "text/html").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/shop/sign-in?return_to=%2Fshop%2Forders%3Fid%3D7"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");

    // A POST is not a page to come back to.
    let response = client()
        .post(format!("{url}/orders"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/shop/sign-in");
}

#[tokio::test]
async fn a_signed_out_script_gets_401_json() {
    let url = start(true).await;
    let response = fetch(format!("{url}/orders"), "application/json").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "error": "not_authenticated" }));
}

#[tokio::test]
async fn a_handler_error_is_json_for_scripts_and_a_page_with_the_prefix_for_browsers() {
    let url = start(true).await;
    let response = fetch(format!("{url}/refuse"), "application/json").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("?resource="),
        "{body}"
    );

    let response = fetch(format!("{url}/refuse"), "text/html").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"home\" href=\"/shop/\""), "{page}");
    assert!(
        page.contains("href=\"/shop/sign-in?return_to=%2Fshop%2Frefuse\""),
        "{page}"
    );
    assert!(!page.contains("href=\"/\""), "{page}");
}

#[tokio::test]
async fn a_failed_callback_page_links_to_sign_in_without_the_code() {
    let url = start(true).await;
    let response = fetch(
        format!("{url}/callback?code=spent-code-7&state=s"),
        "text/html",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("id=\"retry\" href=\"/shop/sign-in\""),
        "{page}"
    );
    assert!(!page.contains("spent-code-7"), "{page}");
}

#[tokio::test]
async fn without_the_layer_an_error_is_plain_text_with_its_status() {
    let url = start(false).await;
    let response = fetch(format!("{url}/refuse"), "application/json").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.unwrap();
    assert!(text.contains("bad request"), "{text}");
}

#[tokio::test]
async fn a_sign_in_with_an_unusable_parameter_is_a_bad_request_that_names_it() {
    let url = start(true).await;
    for (query, message) in UNUSABLE_SIGN_IN_QUERIES {
        let response = fetch(format!("{url}/sign-in?{query}"), "application/json").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({ "error": "bad_request", "message": message }));
    }
}
