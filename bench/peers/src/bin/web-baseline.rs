//! The honest baseline of the web-app load benchmark: the sample's `GET /protected/resource`
//! with the same session middleware and store (tower-sessions, in memory or logto-axum's Redis
//! store), the same cookie settings, and no Logto. A session holds a user and an opaque token of
//! an access token's size; the route answers `{"access_token", "claims"}` like the sample's.
//!
//! ```text
//! SESSION_STORE=memory|redis://127.0.0.1:6379 PORT=0 web-baseline
//! ```
//! `EXTRA_SESSION_BYTES=1600` makes each session that much larger (stored and read, never
//! answered), as large as the sample's, to tell the cost of the bytes from the cost of the work.
//!
//! `GET /sign-in` starts a signed-in session (what the sample's sign-in and callback leave
//! behind, minus Logto's tokens). Prints `web-baseline listening on http://…` when ready.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use logto_axum::RedisStore;
use logto_bench::env_or;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer, SessionStore};

#[derive(Serialize, Deserialize)]
struct User {
    sub: String,
    token: String,
    /// Bytes standing for the other tokens a Logto session holds (`EXTRA_SESSION_BYTES`, 0 by
    /// default): stored and read with the session, never answered.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    other_tokens: String,
}

const USER_KEY: &str = "user";

async fn sign_in(session: Session) -> Response {
    let n: u64 = rand_u64();
    let user = User {
        sub: format!("user-{n:016x}"),
        // About the size of a Logto access token.
        token: "t".repeat(700),
        other_tokens: "o".repeat(extra_session_bytes()),
    };
    match session.insert(USER_KEY, user).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn resource(session: Session) -> Response {
    match session.get::<User>(USER_KEY).await {
        Ok(Some(user)) => Json(json!({
            "access_token": user.token,
            "claims": { "sub": user.sub, "aud": "https://shopping.example.com/api",
                        "scope": "shopping:read" },
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "not_authenticated"})),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `EXTRA_SESSION_BYTES`: a session as large as the sample's (an ID token and a refresh token
/// more: ~1 600 bytes) tells the cost of the bytes from the cost of the work.
fn extra_session_bytes() -> usize {
    env_or("EXTRA_SESSION_BYTES", "0")
        .parse()
        .expect("EXTRA_SESSION_BYTES: a number of bytes")
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes)
}

fn app<Store: SessionStore + Clone>(store: Store) -> Router {
    // Logto's layer: cookie `logto_session`, HttpOnly, SameSite=Lax, 14 days of inactivity.
    let sessions = SessionManagerLayer::new(store)
        .with_name("logto_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(false)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time_days(14)));
    Router::new()
        .route("/sign-in", get(sign_in))
        .route("/protected/resource", get(resource))
        .layer(sessions)
}

fn time_days(days: i64) -> tower_sessions::cookie::time::Duration {
    tower_sessions::cookie::time::Duration::days(days)
}

#[tokio::main]
async fn main() {
    let store = env_or("SESSION_STORE", "memory");
    let port: u16 = env_or("PORT", "0").parse().expect("PORT");
    let app = if store == "memory" {
        app(MemoryStore::default())
    } else {
        app(RedisStore::connect(&store).await.expect("connect to Redis"))
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!(
        "web-baseline listening on http://{}",
        listener.local_addr().unwrap()
    );
    axum::serve(listener, app).await.unwrap();
}
