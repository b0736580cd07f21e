//! Test harness: an app built on logto-axum on a free port, a browser-like HTTP client with a
//! cookie jar, and a private Redis server.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};
use logto::{LogtoConfig, UserInfo, UserInfoScope};
use logto_axum::{Auth, Authenticated, Logto, LogtoBuilder, Rejection};
use logto_test_support::{SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tower_sessions::{MemoryStore, SessionStore};

/// A running test app.
pub struct App {
    pub base_url: String,
    pub logto: Logto,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// A Logto config for the IdP's `web-app` client with organizations and the shopping API.
pub fn config(idp: &TestIdp) -> LogtoConfig {
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

/// Starts an app with `config` over `store`, its [`Logto`] set up by `configure`.
pub async fn start_app<S: SessionStore + Clone>(
    config: LogtoConfig,
    store: S,
    configure: impl FnOnce(LogtoBuilder) -> LogtoBuilder,
) -> App {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let logto = configure(Logto::builder(config, &base_url))
        .build()
        .unwrap();
    let app = routes().merge(logto.router()).layer(logto.layer(store));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    App {
        base_url,
        logto,
        server,
    }
}

pub async fn start_memory_app(idp: &TestIdp) -> App {
    start_app(config(idp), MemoryStore::default(), |builder| builder).await
}

/// The app's own routes, as a user of the crate writes them.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/protected", get(protected))
        .route("/protected/userinfo", get(userinfo))
        .route("/protected/resource", get(resource))
        .route("/protected/organizations/{id}", get(organization))
        .route("/debug/refresh-token", get(refresh_token))
        .route("/debug/clear-access-tokens", get(clear_access_tokens))
}

async fn home(auth: Auth) -> Result<Json<Value>, Rejection> {
    if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
        return Ok(Json(json!({ "authenticated": false, "claims": null })));
    }
    let claims = auth
        .get_id_token_claims()
        .await
        .map_err(|e| auth.reject(e))?;
    Ok(Json(json!({ "authenticated": true, "claims": claims })))
}

async fn protected(Authenticated { user, .. }: Authenticated) -> Json<Value> {
    Json(json!(user))
}

async fn userinfo(Authenticated { user, .. }: Authenticated<UserInfo>) -> Json<Value> {
    Json(json!(user))
}

#[derive(serde::Deserialize)]
struct ResourceQuery {
    resource: Option<String>,
}

async fn resource(
    Authenticated { auth, .. }: Authenticated,
    Query(query): Query<ResourceQuery>,
) -> Result<Json<Value>, Rejection> {
    let resource = query.resource.unwrap_or_else(|| SHOPPING_API.into());
    let token = auth
        .get_access_token(&resource)
        .await
        .map_err(|e| auth.reject(e))?;
    let claims = jwt_payload(&token);
    Ok(Json(json!({ "access_token": token, "claims": claims })))
}

async fn organization(
    Authenticated { auth, .. }: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, Rejection> {
    let token = auth
        .get_organization_token(&id)
        .await
        .map_err(|e| auth.reject(e))?;
    let claims = jwt_payload(&token);
    Ok(Json(
        json!({ "organization_token": token, "claims": claims }),
    ))
}

/// The payload of a JWT, unverified (the API receiving the token verifies it); one token request
/// per handler, where `get_access_token_claims` would ask for the token again.
fn jwt_payload(token: &str) -> Value {
    use base64::Engine;
    token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The session's current refresh token (test app only: never expose tokens like this).
async fn refresh_token(Authenticated { auth, .. }: Authenticated) -> Result<String, Rejection> {
    let token = auth.get_refresh_token().await.map_err(|e| auth.reject(e))?;
    Ok(token.unwrap_or_default())
}

async fn clear_access_tokens(Authenticated { auth, .. }: Authenticated) -> Result<(), Rejection> {
    auth.clear_access_token().await.map_err(|e| auth.reject(e))
}

/// A browser: a cookie jar and no automatic redirects.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { http, jar }
    }

    /// The same cookies, in another client (a second tab, or the same user on another process).
    pub fn with_cookies_for(&self, from: &App, to: &App) -> Browser {
        use reqwest::cookie::CookieStore;
        let other = Browser::new();
        if let Some(cookies) = self.jar.cookies(&from.base_url.parse().unwrap()) {
            for cookie in cookies.to_str().unwrap().split("; ") {
                other
                    .jar
                    .add_cookie_str(cookie, &to.base_url.parse().unwrap());
            }
        }
        other
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    pub async fn get_json(&self, url: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// Signs in through the app's routes and the IdP's login page; returns the page the callback
    /// redirected to.
    pub async fn sign_in(&self, app: &App, idp: &TestIdp, user: (&str, &str)) -> String {
        self.sign_in_from(app, idp, user, "/sign-in").await
    }

    pub async fn sign_in_from(
        &self,
        app: &App,
        idp: &TestIdp,
        user: (&str, &str),
        path: &str,
    ) -> String {
        let response = self.get(&app.url(path)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let authorization_url = location(&response);
        let callback = idp.sign_in(&authorization_url, user.0, user.1).await;
        assert!(callback.starts_with(&app.url("/callback")), "{callback}");
        let response = self.get(&callback).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "callback failed: {}",
            response.text().await.unwrap()
        );
        location(&response)
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location in the {} response", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// A private Redis server on a free port, stopped on drop.
pub struct Redis {
    pub url: String,
    child: Child,
}

impl Redis {
    pub async fn start() -> Redis {
        let port = logto_test_support::free_port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it with `apt-get install -y redis-server` \
                     (scripts/test.sh does)"
                )
            });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(ready, Ok(true)),
            "redis-server on port {port} did not get ready"
        );
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Redis {
            url: format!("redis://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
