//! The api-server example on actix-web: the same routes, error contract and environment variables
//! as `examples/api-server` (axum), on `logto-actix`'s API protection.
//!
//! ```text
//! LOGTO_ENDPOINT=https://tenant.logto.app \
//! API_RESOURCE=https://shopping.example.com/api \
//! PORT=3000 cargo run --example api-server-actix
//! ```
//!
//! `TOKEN_CACHE_CAPACITY` (default 10000, 0 = off) sizes the verified-token cache.
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

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use logto_actix::api::{ApiAuth, ApiError, RequireAuth, Scopes};
use logto_api_auth::{ExpectedAudience, Validator};
use serde_json::{Value, json};

struct ShoppingRead;
impl Scopes for ShoppingRead {
    const SCOPES: &'static [&'static str] = &["shopping:read"];
}

struct ShoppingWrite;
impl Scopes for ShoppingWrite {
    const SCOPES: &'static [&'static str] = &["shopping:write"];
}

async fn profile(auth: RequireAuth) -> web::Json<Value> {
    web::Json(json!({
        "sub": auth.subject(),
        "client_id": auth.client_id(),
        "scopes": auth.scopes(),
    }))
}

async fn list_items(auth: RequireAuth<ShoppingRead>) -> web::Json<Value> {
    web::Json(json!({
        "owner": auth.subject(),
        "items": [{"id": 1, "name": "apples"}, {"id": 2, "name": "bread"}],
    }))
}

/// The body is optional JSON (`Content-Type: application/json`): none, or not JSON, is `null`.
async fn add_item(
    auth: RequireAuth<ShoppingWrite>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let item: Value = json
        .then(|| serde_json::from_slice(&body).ok())
        .flatten()
        .unwrap_or(Value::Null);
    HttpResponse::Created().json(json!({"owner": auth.subject(), "added": item}))
}

/// Behind `ApiAuth` with the organizations' validator: an organization token, of `{id}`.
async fn projects(auth: RequireAuth, id: web::Path<String>) -> Result<web::Json<Value>, ApiError> {
    auth.require_organization(&id)?;
    Ok(web::Json(json!({
        "organization_id": *id,
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
    id: web::Path<String>,
) -> Result<web::Json<Value>, ApiError> {
    auth.require_organization(&id)?;
    Ok(web::Json(json!({
        "organization_id": *id,
        "sub": auth.subject(),
        "items": [{"id": 1, "name": "printer paper"}],
    })))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("api-server-actix: {message}");
    std::process::exit(1)
}

#[actix_web::main]
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
    // Optional: TOKEN_CACHE_CAPACITY=0 turns the verified-token cache off.
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

    let addr = ("127.0.0.1", port);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(validator.clone()))
            .route("/api/profile", web::get().to(profile))
            .service(
                web::resource("/api/shopping")
                    .route(web::get().to(list_items))
                    .route(web::post().to(add_item)),
            )
            .service(
                web::resource("/api/organizations/{id}/projects")
                    .wrap(ApiAuth::new(organizations.clone()))
                    .route(web::get().to(projects)),
            )
            .route(
                "/api/organizations/{id}/shopping",
                web::get().to(organization_items),
            )
            .route("/health", web::get().to(|| async { "ok" }))
    })
    .bind(addr)
    .unwrap_or_else(|e| fail(format!("cannot listen on 127.0.0.1:{port}: {e}")));
    eprintln!(
        "api-server-actix: listening on http://127.0.0.1:{port} (issuer {endpoint}, audience {resource})"
    );
    // actix-web stops gracefully on Ctrl-C (SIGINT) and SIGTERM.
    server.run().await.unwrap_or_else(|e| fail(e));
}
