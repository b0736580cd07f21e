//! Shared by the tests: JWT claims, and a fake token endpoint for the faults Logto cannot be made
//! to produce (unreachable, slow, 5xx, oversized answers, a request that never ends).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

/// The (unverified) claims of a JWT access token.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// What the fake token endpoint answers to the n-th request (from 1).
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// A token `token-<n>` valid for an hour.
    Token,
    /// This token, valid for an hour.
    Named(&'static str),
    /// This status with an OAuth error body, or a non-JSON body when `error` is empty.
    Status(u16, &'static str),
    /// A 2 MiB body.
    Huge,
    /// Never answers.
    Hang,
}

/// A fake `/oidc/token` on a free loopback port.
pub struct FakeLogto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    state: Arc<FakeState>,
}

struct FakeState {
    requests: AtomicUsize,
    received: Notify,
    /// Held shut until [`FakeLogto::release`]: answers wait for a permit.
    gate: Semaphore,
    answer: Box<dyn Fn(usize) -> Answer + Send + Sync>,
}

impl FakeLogto {
    /// Starts it; `answer(n)` decides the n-th answer. `gated`: answers wait for
    /// [`release`](Self::release).
    pub async fn start(
        gated: bool,
        answer: impl Fn(usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(FakeState {
            requests: AtomicUsize::new(0),
            received: Notify::new(),
            gate: Semaphore::new(if gated { 0 } else { Semaphore::MAX_PERMITS }),
            answer: Box::new(answer),
        });
        let app = Router::new()
            .route("/oidc/token", post(token))
            .route("/api/users/{id}", axum::routing::get(user))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeLogto { endpoint, state }
    }

    /// How many token requests it received.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Waits until it has received at least `n` requests.
    pub async fn received(&self, n: usize) {
        loop {
            let notified = self.state.received.notified();
            if self.requests() >= n {
                return;
            }
            notified.await;
        }
    }

    /// Lets gated answers go.
    pub fn release(&self) {
        self.state.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

async fn token(State(state): State<Arc<FakeState>>) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    state.received.notify_waiters();
    let answer = (state.answer)(n);
    let _permit = state.gate.acquire().await.unwrap();
    match answer {
        Answer::Token => axum::Json(json!({
            "access_token": format!("token-{n}"),
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": "all",
        }))
        .into_response(),
        Answer::Named(token) => axum::Json(json!({
            "access_token": token,
            "expires_in": 3600,
            "token_type": "Bearer",
        }))
        .into_response(),
        Answer::Status(status, error) => {
            let status = StatusCode::from_u16(status).unwrap();
            if error.is_empty() {
                (status, "<html>upstream failure</html>").into_response()
            } else {
                (
                    status,
                    axum::Json(json!({ "error": error, "error_description": "fake" })),
                )
                    .into_response()
            }
        }
        Answer::Huge => (StatusCode::OK, vec![b' '; 2 * 1024 * 1024]).into_response(),
        Answer::Hang => std::future::pending().await,
    }
}

/// A fake `GET /api/users/{id}`: Logto's 401 body for `token-1`, a user for any other token.
async fn user(headers: axum::http::HeaderMap) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if bearer == "Bearer token-1" {
        let body = json!({ "code": "auth.unauthorized", "message": "Unauthorized.", "data": null });
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    axum::Json(json!({
        "id": "u1", "username": "alice", "primaryEmail": null, "primaryPhone": null,
        "name": null, "avatar": null, "customData": {}, "identities": {}, "lastSignInAt": null,
        "createdAt": 1, "updatedAt": 1, "profile": {}, "applicationId": null,
        "isSuspended": false, "newField": "ignored",
    }))
    .into_response()
}

/// A loopback address where nothing listens (a port bound, then released).
pub async fn closed_port_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}
