//! Test harness (the axum driver of logto-test-support's `web_scenarios`): an app built on
//! logto-axum on a free port, serving the routes the scenarios expect; the browser and the Redis
//! server come from logto-test-support.

#![allow(dead_code)]

use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};
use logto::{LogtoConfig, UserInfo, UserInfoScope};
use logto_axum::{Auth, Authenticated, Error, Logto, LogtoBuilder, Rejection};
use logto_test_support::web_scenarios::Instance;
use logto_test_support::{Browser, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_sessions::{MemoryStore, SessionStore};

/// A running test app.
pub struct App {
    /// Where this instance listens.
    pub base_url: String,
    /// Where users see the app (its `Logto` base URL): `base_url`, unless several instances serve
    /// one public URL.
    pub public_base_url: String,
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

    /// Signs `user` in with `browser` through this app's `/sign-in`; returns where the callback
    /// redirected to.
    pub async fn sign_in(&self, browser: &Browser, idp: &TestIdp, user: (&str, &str)) -> String {
        let (sign_in, callback) = (self.url("/sign-in"), self.url("/callback"));
        browser.sign_in(idp, &sign_in, &callback, user).await
    }

    /// This instance as logto-test-support's `web_scenarios` drive it.
    pub fn instance(&self) -> Instance {
        Instance {
            base_url: self.base_url.clone(),
            public_base_url: self.public_base_url.clone(),
        }
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
    start_app_on(listener, &base_url, config, store, configure).await
}

/// Starts an app on `listener` whose users see it at `public_base_url` (its own address, or that
/// of another instance of the app, as behind a load balancer).
pub async fn start_app_on<S: SessionStore + Clone>(
    listener: TcpListener,
    public_base_url: &str,
    config: LogtoConfig,
    store: S,
    configure: impl FnOnce(LogtoBuilder) -> LogtoBuilder,
) -> App {
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let logto = configure(Logto::builder(config, public_base_url))
        .build()
        .unwrap();
    let app = routes().merge(logto.router()).layer(logto.layer(store));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    App {
        base_url,
        public_base_url: public_base_url.to_owned(),
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

async fn home(auth: Auth) -> Result<Json<Value>, Error> {
    if !auth.is_authenticated().await? {
        return Ok(Json(json!({ "authenticated": false, "claims": null })));
    }
    let claims = auth.get_id_token_claims().await?;
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
    Authenticated { auth, .. }: Authenticated<()>,
    Query(query): Query<ResourceQuery>,
) -> Result<Json<Value>, Error> {
    let resource = query.resource.unwrap_or_else(|| SHOPPING_API.into());
    let (token, claims) = auth.get_access_token_and_claims(&resource).await?;
    Ok(Json(json!({ "access_token": token, "claims": claims })))
}

async fn organization(
    Authenticated { auth, .. }: Authenticated<()>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Rejection> {
    let (token, claims) = auth
        .get_organization_token_and_claims(&id)
        .await
        .map_err(|e| auth.reject(e))?;
    Ok(Json(
        json!({ "organization_token": token, "claims": claims }),
    ))
}

/// The session's current refresh token (test app only: never expose tokens like this).
async fn refresh_token(Authenticated { auth, .. }: Authenticated<()>) -> Result<String, Error> {
    Ok(auth.get_refresh_token().await?.unwrap_or_default())
}

async fn clear_access_tokens(Authenticated { auth, .. }: Authenticated<()>) -> Result<(), Error> {
    Ok(auth.clear_access_token().await?)
}
