//! The API server of `examples/api-server` (`GET /api/shopping`, needs `shopping:read`), built
//! on one of the alternatives instead of logto-api-auth, for the HTTP side of the benchmark.
//!
//! ```text
//! PEER=guide|jsonwebtoken-aws-lc|axum-jwt-auth ALG=ES384|RS256 \
//! LOGTO_ENDPOINT=http://127.0.0.1:PORT PORT=0 peer-api
//! ```
//! Prints `listening on http://…` when ready. `guide` (Logto's Rust guide) only handles RS256.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use logto_bench::env_or;
use logto_bench::peers::{AccessClaims, Principal, Refused, guide, hand, jwt_auth};
use serde_json::{Value, json};

struct Rejected(StatusCode, String);

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<Refused> for Rejected {
    fn from(e: Refused) -> Self {
        Rejected(StatusCode::UNAUTHORIZED, e.0)
    }
}

fn items(principal: &Principal) -> Json<Value> {
    Json(json!({
        "owner": principal.sub,
        "items": [{"id": 1, "name": "apples"}, {"id": 2, "name": "bread"}],
    }))
}

fn bearer(parts: &Parts) -> Result<&str, Rejected> {
    parts
        .headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| Rejected(StatusCode::UNAUTHORIZED, "missing bearer token".into()))
}

// Logto's Rust guide: a `from_fn` middleware that validates and stores the auth info in the
// request's extensions; the validator itself is an `Extension`.
async fn guide_middleware(
    Extension(validator): Extension<Arc<guide::GuideValidator>>,
    request: Request,
    next: Next,
) -> Result<Response, Rejected> {
    let (mut parts, body) = request.into_parts();
    let principal = validator.validate(bearer(&parts)?)?;
    parts.extensions.insert(principal);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

async fn guide_items(Extension(principal): Extension<Principal>) -> Json<Value> {
    items(&principal)
}

// jsonwebtoken by hand: an extractor.
struct HandAuth(Principal);

impl FromRequestParts<Arc<hand::HandValidator>> for HandAuth {
    type Rejection = Rejected;

    async fn from_request_parts(
        parts: &mut Parts,
        validator: &Arc<hand::HandValidator>,
    ) -> Result<Self, Rejected> {
        Ok(HandAuth(validator.validate(bearer(parts)?)?))
    }
}

async fn hand_items(HandAuth(principal): HandAuth) -> Json<Value> {
    items(&principal)
}

// axum-jwt-auth: its `Claims` extractor, the scope checked in the handler.
async fn jwt_auth_items(
    claims: axum_jwt_auth::Claims<AccessClaims>,
) -> Result<Json<Value>, Rejected> {
    let principal = claims
        .claims
        .into_principal()
        .map_err(|e| Rejected(StatusCode::FORBIDDEN, e.0))?;
    Ok(items(&principal))
}

#[tokio::main]
async fn main() {
    let peer = env_or("PEER", "guide");
    let alg = env_or("ALG", "ES384");
    let endpoint = env_or("LOGTO_ENDPOINT", "http://127.0.0.1:3001");
    let issuer = format!("{}/oidc", endpoint.trim_end_matches('/'));
    let jwks_uri = format!("{issuer}/jwks");
    let port: u16 = env_or("PORT", "0").parse().expect("PORT");

    let app: Router = match peer.as_str() {
        "guide" => {
            let validator = Arc::new(guide::GuideValidator::new(&jwks_uri, &issuer).await);
            Router::new()
                .route("/api/shopping", get(guide_items))
                .layer(middleware::from_fn(guide_middleware))
                .layer(Extension(validator))
                .route("/health", get(|| async { "ok" }))
        }
        "jsonwebtoken-aws-lc" => {
            let validator = Arc::new(hand::HandValidator::new(&jwks_uri, &issuer, &alg).await);
            Router::new()
                .route("/api/shopping", get(hand_items))
                .route("/health", get(|| async { "ok" }))
                .with_state(validator)
        }
        "axum-jwt-auth" => {
            let decoder = jwt_auth::decoder(&jwks_uri, &issuer, &alg).await;
            Router::new()
                .route("/api/shopping", get(jwt_auth_items))
                .route("/health", get(|| async { "ok" }))
                .with_state(decoder)
        }
        other => panic!("unknown PEER {other:?}"),
    };

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
