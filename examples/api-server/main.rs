//! An API protected by Logto access tokens: the Rust port of Logto's
//! API protection guide (Python).
//!
//! ```text
//! LOGTO_ENDPOINT=https://tenant.logto.app \
//! API_RESOURCE=https://shopping.example.com/api \
//! PORT=3000 cargo run -p logto-examples --example api-server
//! ```
//!
//! `TOKEN_CACHE_CAPACITY` (default 10000, 0 = off) sizes the verified-token
//! cache.
//!
//! Routes:
//! * `GET /api/profile` — any valid token for `API_RESOURCE`:
//!   `{"sub", "client_id", "scopes"}`
//! * `GET /api/shopping` — needs `shopping:read`
//! * `POST /api/shopping` — needs `shopping:write`
//! * `GET /api/organizations/{id}/projects` — an organization token for
//!   organization `{id}` (`aud` = `urn:logto:organization:{id}`)
//! * `GET /api/organizations/{id}/shopping` — an organization-level token for
//!   `API_RESOURCE` in organization `{id}` (its `organization_id` claim), with
//!   `shopping:read`
//! * `GET /health` — no token
//!
//! Failures answer 401/403 with `WWW-Authenticate` and
//! `{"code": "…", "message": "…"}`.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use logto_api_auth::{
    AuthError, AuthInfo, AuthLayer, ExpectedAudience, RequireAuth, Scopes, Validator,
};
use serde_json::{Value, json};

struct ShoppingRead;
impl Scopes for ShoppingRead {
    const SCOPES: &'static [&'static str] = &["shopping:read"];
}

struct ShoppingWrite;
impl Scopes for ShoppingWrite {
    const SCOPES: &'static [&'static str] = &["shopping:write"];
}

async fn profile(auth: RequireAuth) -> Json<Value> {
    Json(json!({
        "sub": auth.subject(),
        "client_id": auth.client_id(),
        "scopes": auth.scopes(),
    }))
}

async fn list_items(auth: RequireAuth<ShoppingRead>) -> Json<Value> {
    Json(json!({
        "owner": auth.subject(),
        "items": [{"id": 1, "name": "apples"}, {"id": 2, "name": "bread"}],
    }))
}

async fn add_item(
    auth: RequireAuth<ShoppingWrite>,
    body: Option<Json<Value>>,
) -> (StatusCode, Json<Value>) {
    let item = body.map_or(Value::Null, |Json(v)| v);
    (
        StatusCode::CREATED,
        Json(json!({"owner": auth.subject(), "added": item})),
    )
}

async fn projects(auth: AuthInfo, Path(id): Path<String>) -> Result<Json<Value>, AuthError> {
    auth.require_organization(&id)?;
    Ok(Json(json!({
        "organization_id": id,
        "sub": auth.subject(),
        "scopes": auth.scopes(),
        "projects": [{"id": "p1", "name": "Launch"}],
    })))
}

/// Organization-level API resource: a token for `API_RESOURCE` requested with an
/// `organization_id` carries that organization; a plain token for the API carries none, and is
/// refused here even when it has the scope (Logto grants on it the scopes of the user's roles in
/// every organization).
async fn organization_items(
    auth: RequireAuth<ShoppingRead>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthError> {
    auth.require_organization(&id)?;
    Ok(Json(json!({
        "organization_id": id,
        "sub": auth.subject(),
        "items": [{"id": 1, "name": "printer paper"}],
    })))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("api-server: {message}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let endpoint = env("LOGTO_ENDPOINT").unwrap_or_else(|| {
        fail("set LOGTO_ENDPOINT to your Logto endpoint (e.g. https://tenant.logto.app)")
    });
    let resource = env("API_RESOURCE").unwrap_or_else(|| {
        fail("set API_RESOURCE to the API resource indicator registered in Logto")
    });
    let port: u16 = env("PORT")
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| fail("PORT must be a port number"))
        })
        .unwrap_or(3000);

    // Optional: TOKEN_CACHE_CAPACITY=0 turns the verified-token cache off
    // (used by bench/run.sh to measure uncached validation).
    let cache = env("TOKEN_CACHE_CAPACITY")
        .map(|c| {
            c.parse()
                .unwrap_or_else(|_| fail("TOKEN_CACHE_CAPACITY must be a number"))
        })
        .unwrap_or(10_000);

    let validator = Validator::builder(&endpoint)
        .resource(&resource)
        .cache_capacity(cache)
        .build()
        .await
        .unwrap_or_else(|e| fail(e));
    let organizations = validator.with_audience(ExpectedAudience::AnyOrganization);

    let app = Router::new()
        .route("/api/profile", get(profile))
        .route("/api/shopping", get(list_items).post(add_item))
        .route(
            "/api/organizations/{id}/projects",
            get(projects).route_layer(AuthLayer::new(organizations)),
        )
        .route("/api/organizations/{id}/shopping", get(organization_items))
        .route("/health", get(|| async { "ok" }))
        .with_state(validator);

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    eprintln!("api-server: listening on http://{addr} (issuer {endpoint}, audience {resource})");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .unwrap_or_else(|e| fail(e));
}
