//! Test keys and token signing (shared with the other crates' tests), and a JWKS server.
#![allow(unused_imports, dead_code)]

pub use logto_test_support::keys::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A JWKS server that counts its requests; its answer and delay can be changed.
#[derive(Clone)]
pub struct Server {
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<(StatusCode, String)>>,
    delay: Arc<Mutex<Duration>>,
}

impl Server {
    pub async fn start(body: String) -> (Server, url::Url) {
        let server = Server {
            hits: Arc::default(),
            body: Arc::new(Mutex::new((StatusCode::OK, body))),
            delay: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/jwks", axum::routing::get(serve))
            .with_state(server.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (server, format!("http://{addr}/jwks").parse().unwrap())
    }
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
    pub fn set(&self, status: StatusCode, body: String) {
        *self.body.lock().unwrap() = (status, body);
    }
    pub fn set_delay(&self, d: Duration) {
        *self.delay.lock().unwrap() = d;
    }
}

async fn serve(State(s): State<Server>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *s.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let (status, body) = s.body.lock().unwrap().clone();
    (status, [("content-type", "application/json")], body).into_response()
}

/// Waits until `condition` holds (polling; at most 10 s).
pub async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
