//! Validations per second of a Logto-style ES384 access token, uncached and
//! cached, against the bare cost of one ES384 verification with aws-lc-rs
//! (the physical floor of an uncached validation).
#![allow(missing_docs)]

use logto_test_support::keys;

use std::hint::black_box;

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logto_api_auth::Validator;
use serde_json::json;

const RESOURCE: &str = "https://shopping.example.com/api";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = keys::TestKey::generate("ES384", "k1");
    let jwks = keys::jwks(&[&key]);
    let endpoint = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/oidc/jwks",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { ([("content-type", "application/json")], jwks) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });
    let issuer = format!("{endpoint}/oidc");
    let now = logto_api_auth::logto_jwt::unix_now();
    // Shaped like a Logto resource token.
    let claims = json!({
        "jti": "Vq3sQ6m1qE8n2yLhZr0bT", "sub": "u7x2k9p4m1qz", "iat": now, "exp": now + 3600,
        "scope": "shopping:read shopping:write", "client_id": "web-app",
        "iss": issuer, "aud": RESOURCE,
    });
    let token = key.sign(&claims, json!({}));

    let build = |capacity: usize| {
        rt.block_on(
            Validator::builder_from_metadata(&issuer, format!("{endpoint}/oidc/jwks"))
                .resource(RESOURCE)
                .cache_capacity(capacity)
                .build(),
        )
        .unwrap()
    };
    let uncached = build(0);
    let cached = build(10_000);
    rt.block_on(async {
        uncached.validate(&token).await.unwrap();
        cached.validate(&token).await.unwrap();
    });

    // The floor: one ES384 verification of the same signing input.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let jwk = key.jwk(true);
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    let parsed = ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, &point).unwrap();
    parsed.verify_sig(input.as_bytes(), &sig).unwrap();

    let mut g = c.benchmark_group("es384");
    g.throughput(Throughput::Elements(1));
    g.bench_function("floor_aws_lc_verify", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        });
    });
    g.bench_function("validate_uncached", |b| {
        b.to_async(&rt)
            .iter(|| async { uncached.validate(black_box(&token)).await.unwrap() });
    });
    g.bench_function("validate_cached", |b| {
        b.to_async(&rt)
            .iter(|| async { cached.validate(black_box(&token)).await.unwrap() });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .measurement_time(std::time::Duration::from_secs(5))
        .warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
