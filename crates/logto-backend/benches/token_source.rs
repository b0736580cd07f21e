//! The two figures of `TokenSource`: the cost of a cache hit, and 1,000 concurrent callers on a
//! cold cache (their token requests are counted: one; the real-Logto test
//! `a_thousand_concurrent_callers_send_one_token_request` checks the same against Logto).
//!
//! Against a local fake token endpoint, so that Logto's own latency is not measured:
//! `cargo bench -p logto-backend --bench token_source`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use logto_backend::TokenSource;
use serde_json::json;

async fn fake_logto() -> (String, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/oidc/token",
            post(|State(n): State<Arc<AtomicUsize>>| async move {
                let n = n.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(json!({
                    "access_token": format!("token-{n}"),
                    "expires_in": 3600,
                    "token_type": "Bearer",
                    "scope": "all",
                }))
            }),
        )
        .with_state(requests.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (endpoint, requests)
}

fn source(endpoint: &str) -> TokenSource {
    TokenSource::builder(endpoint, "app", "secret")
        .resource("https://api.example.com")
        .build()
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (endpoint, requests) = runtime.block_on(fake_logto());

    let cached = source(&endpoint);
    runtime.block_on(cached.access_token()).unwrap();
    c.bench_function("access_token_cache_hit", |b| {
        b.to_async(&runtime)
            .iter(|| async { cached.access_token().await.unwrap() })
    });

    // The cache hit itself: the future completes on its first poll, without the runtime.
    c.bench_function("access_token_cache_hit_first_poll", |b| {
        b.iter(|| {
            futures_util::FutureExt::now_or_never(cached.access_token())
                .expect("a cache hit completes at once")
                .unwrap()
        })
    });

    c.bench_function("1000_concurrent_callers_cold_cache", |b| {
        b.to_async(&runtime).iter(|| async {
            let tokens = source(&endpoint);
            let before = requests.load(Ordering::SeqCst);
            let tasks: Vec<_> = (0..1000)
                .map(|_| {
                    let tokens = tokens.clone();
                    tokio::spawn(async move { tokens.access_token().await.unwrap() })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let sent = requests.load(Ordering::SeqCst) - before;
            assert_eq!(sent, 1, "token requests for 1000 concurrent callers");
            assert_eq!(tokens.requests_sent(), 1);
        })
    });
    println!(
        "token requests for 1000 concurrent callers on a cold cache: 1 (asserted on every iteration)"
    );
}

criterion_group!(token_source, benches);
criterion_main!(token_source);
