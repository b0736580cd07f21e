//! Handlers that return a [`Rejection`] and the routes' own error pages, for an app served to
//! users under a path prefix: the pages link home and to sign-in under that prefix. No Logto is
//! needed: every error here is found before a request to Logto would be sent.

use actix_web::{App, HttpServer, web};
use logto::LogtoConfig;
use logto_actix::{Auth, Error, Logto, MemoryStore, Rejection};
use logto_test_support::{UNUSABLE_SIGN_IN_QUERIES, location};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A page that needs a signed-in user.
async fn claims(auth: Auth) -> Result<String, Rejection> {
    Ok(auth
        .get_id_token_claims()
        .await
        .map_err(|e| auth.reject(e))?
        .sub)
}

/// A handler's own refusal.
async fn refuse(auth: Auth) -> Result<String, Rejection> {
    Err(auth.reject(Error::BadRequest("pass ?resource=<indicator>".into())))
}

/// The app behind a proxy that serves it to users under `/shop` (and strips the prefix): its base
/// URL is `http://127.0.0.1:PORT/shop`. Returns the URL the app listens on.
async fn start() -> (String, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Nothing listens on port 1: a request to Logto would fail, and none must be sent.
    let config = LogtoConfig::builder("http://127.0.0.1:1", "app-id")
        .build()
        .unwrap();
    let logto = Logto::builder(config, format!("{url}/shop"))
        .build()
        .unwrap();
    let store = MemoryStore::default();
    let server = HttpServer::new(move || {
        App::new()
            .route("/orders", web::get().to(claims))
            .route("/refuse", web::get().to(refuse))
            .configure(|routes| logto.configure(routes))
            .wrap(logto.middleware(store.clone()))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (url, handle)
}

/// `GET url` asking for `accept`, redirects not followed.
async fn fetch(url: String, accept: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_out_browser_is_sent_to_sign_in_and_back_under_the_prefix() {
    let (url, handle) = start().await;
    let response = fetch(format!("{url}/orders?id=7"), "text/html").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/shop/sign-in?return_to=%2Fshop%2Forders%3Fid%3D7"
    );
    handle.stop(false).await;
}

#[tokio::test]
async fn a_handler_error_is_json_for_scripts_and_a_page_with_the_prefix_for_browsers() {
    let (url, handle) = start().await;
    let response = fetch(format!("{url}/refuse"), "application/json").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");

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
    handle.stop(false).await;
}

#[tokio::test]
async fn a_failed_callback_page_links_under_the_prefix_without_the_code() {
    let (url, handle) = start().await;
    let response = fetch(
        format!("{url}/callback?code=spent-code-7&state=s"),
        "text/html",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    // The sign-in link does not come back to the callback and its spent code.
    assert!(
        page.contains("id=\"retry\" href=\"/shop/sign-in\""),
        "{page}"
    );
    assert!(!page.contains("spent-code-7"), "{page}");
    assert!(page.contains("id=\"home\" href=\"/shop/\""), "{page}");
    assert!(!page.contains("href=\"/\""), "{page}");
    handle.stop(false).await;
}

#[tokio::test]
async fn a_sign_in_with_an_unusable_parameter_is_a_bad_request_that_names_it() {
    let (url, handle) = start().await;
    for (query, message) in UNUSABLE_SIGN_IN_QUERIES {
        let response = fetch(format!("{url}/sign-in?{query}"), "application/json").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({ "error": "bad_request", "message": message }));
    }
    handle.stop(false).await;
}
