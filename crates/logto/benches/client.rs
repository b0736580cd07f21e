//! Criterion benchmarks of the client's hot paths, against the local test IdP:
//! building a sign-in URL, verifying an ID token, and a cached `get_access_token`.
//!
//! Run with `cargo bench -p logto --bench client` (needs `npm ci --prefix testing/idp`).

use criterion::{Criterion, criterion_group, criterion_main};
use logto::{LogtoClient, LogtoConfig, LogtoHandle, MemoryStorage};
use logto_test_support::{ALICE, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};

fn client_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (idp, client) = runtime.block_on(async {
        let idp = TestIdp::start().await;
        let config = LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
            .app_secret(WEB_APP_SECRET)
            .scopes(["shopping:read"])
            .resources([SHOPPING_API])
            .build()
            .unwrap();
        let config = LogtoHandle::new(config).unwrap();
        let client = LogtoClient::new(config, MemoryStorage::new());
        let url = client.sign_in("http://127.0.0.1/callback").await.unwrap();
        let callback = idp.sign_in(&url, ALICE.0, ALICE.1).await;
        client.handle_sign_in_callback(&callback).await.unwrap();
        client.get_access_token(SHOPPING_API).await.unwrap();
        (idp, client)
    });
    let id_token = runtime.block_on(client.get_id_token()).unwrap();

    c.bench_function("sign_in_url", |b| {
        b.to_async(&runtime)
            .iter(|| async { client.sign_in("http://127.0.0.1/callback").await.unwrap() })
    });
    c.bench_function("verify_id_token_es384", |b| {
        b.to_async(&runtime).iter(|| async {
            client
                .handle()
                .verify_id_token(&id_token, None)
                .await
                .unwrap()
        })
    });
    c.bench_function("get_access_token_cached", |b| {
        b.to_async(&runtime)
            .iter(|| async { client.get_access_token(SHOPPING_API).await.unwrap() })
    });
    drop(idp);
}

criterion_group!(benches, client_benches);
criterion_main!(benches);
