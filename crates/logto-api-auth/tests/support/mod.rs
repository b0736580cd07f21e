//! Shared test helpers: generated keys, a mock Logto issuer, and (when the
//! test IdP is available) real Logto-like tokens.
#![allow(dead_code, missing_docs, unused_imports)]

pub mod idp;
pub mod keys;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use logto_api_auth::{AuthError, AuthInfo, TokenRejection, Validator};
use serde_json::{Value, json};

pub use keys::{TestKey, b64, jwks, sign_with_header};

pub const RESOURCE: &str = "https://shopping.example.com/api";

/// A validator for [`RESOURCE`] at `endpoint`, with the production defaults.
pub async fn validator(endpoint: &str) -> Validator {
    Validator::builder(endpoint)
        .resource(RESOURCE)
        .build()
        .await
        .unwrap()
}

/// The `invalid_token` reason of a failed validation (panics on anything else).
pub fn rejection(result: Result<AuthInfo, AuthError>) -> TokenRejection {
    match result {
        Err(AuthError::InvalidToken(rejection)) => rejection,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

/// A minimal issuer: discovery + JWKS, with a swappable key set and a
/// request counter.
#[derive(Clone)]
pub struct MockIssuer {
    pub endpoint: String,
    pub issuer: String,
    jwks: Arc<Mutex<String>>,
    jwks_hits: Arc<AtomicUsize>,
    discovery_hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct St(MockIssuer);

async fn discovery(State(St(m)): State<St>) -> Response {
    m.discovery_hits.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "issuer": m.issuer,
        "jwks_uri": format!("{}/oidc/jwks", m.endpoint),
        "authorization_endpoint": format!("{}/oidc/auth", m.endpoint),
    }))
    .into_response()
}

async fn jwks_doc(State(St(m)): State<St>) -> Response {
    m.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let body = m.jwks.lock().unwrap().clone();
    ([("content-type", "application/json")], body).into_response()
}

impl MockIssuer {
    pub async fn start(keys: &[&TestKey]) -> MockIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let m = MockIssuer {
            issuer: format!("{endpoint}/oidc"),
            endpoint,
            jwks: Arc::new(Mutex::new(jwks(keys))),
            jwks_hits: Arc::default(),
            discovery_hits: Arc::default(),
        };
        let app = axum::Router::new()
            .route(
                "/oidc/.well-known/openid-configuration",
                axum::routing::get(discovery),
            )
            .route("/oidc/jwks", axum::routing::get(jwks_doc))
            .with_state(St(m.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        m
    }

    pub fn set_keys(&self, keys: &[&TestKey]) {
        *self.jwks.lock().unwrap() = jwks(keys);
    }

    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.discovery_hits.load(Ordering::SeqCst)
    }

    /// Claims of a Logto resource access token.
    pub fn claims(&self, scope: &str) -> Value {
        let now = logto_api_auth::logto_jwt::unix_now();
        json!({
            "jti": "jti-1", "sub": "user-1", "iat": now, "exp": now + 3600,
            "scope": scope, "client_id": "web-app", "iss": self.issuer, "aud": RESOURCE,
        })
    }

    /// Claims of a Logto organization token.
    pub fn org_claims(&self, org: &str, scope: &str) -> Value {
        let mut c = self.claims(scope);
        c["aud"] = json!(format!("urn:logto:organization:{org}"));
        c
    }
}
