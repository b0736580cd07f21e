//! Per-token cost of verifying the same ES384 ID token (signature, issuer, audience, expiry; keys
//! fetched once): logto against `openidconnect` 4 (RustCrypto), and one aws-lc-rs ES384
//! verification of the same signing input (the floor). The ID token comes from the test IdP.
//!
//! `cargo bench --bench client` (in bench/peers; needs `npm ci --prefix testing/idp`).
#![allow(missing_docs)]

use std::hint::black_box;

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logto::{LogtoClient, LogtoConfig, MemoryStorage};
use logto_test_support::{ALICE, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (idp, client, jwks) = runtime.block_on(async {
        let idp = TestIdp::start().await;
        let config = LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
            .app_secret(WEB_APP_SECRET)
            .scopes(["shopping:read"])
            .resources([SHOPPING_API])
            .build()
            .unwrap();
        let client = LogtoClient::new(
            logto::LogtoHandle::new(config).unwrap(),
            MemoryStorage::new(),
        );
        let url = client.sign_in("http://127.0.0.1/callback").await.unwrap();
        let callback = idp.sign_in(&url, ALICE.0, ALICE.1).await;
        client.handle_sign_in_callback(&callback).await.unwrap();
        let jwks = reqwest::get(idp.url("/oidc/jwks"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (idp, client, jwks)
    });
    let id_token = runtime.block_on(client.get_id_token()).unwrap();

    let key_set: CoreJsonWebKeySet = serde_json::from_str(&jwks).unwrap();
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(WEB_APP_ID.to_owned()),
        ClientSecret::new(WEB_APP_SECRET.to_owned()),
        IssuerUrl::new(idp.issuer()).unwrap(),
        key_set,
    )
    .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP384Sha384]);
    let openidconnect_verify = |token: &str| {
        let parsed: CoreIdToken = token.parse().unwrap();
        let claims = parsed
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .unwrap();
        claims.subject().to_string()
    };
    openidconnect_verify(&id_token);
    runtime
        .block_on(client.handle().verify_id_token(&id_token, None))
        .unwrap();

    // The floor: the key of the token's `kid`, one verification.
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap();
    let mut point = vec![4u8];
    for part in ["x", "y"] {
        point.extend(URL_SAFE_NO_PAD.decode(jwk[part].as_str().unwrap()).unwrap());
    }
    let key = UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point)
        .parse()
        .unwrap();
    let (input, sig) = id_token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    key.verify_sig(input.as_bytes(), &sig).unwrap();

    let mut g = c.benchmark_group("peers_id_token_es384");
    g.throughput(Throughput::Elements(1));
    g.bench_function("floor_aws_lc_verify", |b| {
        b.iter(|| {
            key.verify_sig(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        })
    });
    g.bench_function("logto_rs", |b| {
        b.to_async(&runtime).iter(|| async {
            client
                .handle()
                .verify_id_token(black_box(&id_token), None)
                .await
                .unwrap()
        })
    });
    g.bench_function("openidconnect", |b| {
        b.iter(|| openidconnect_verify(black_box(&id_token)))
    });
    g.finish();
    drop(idp);
}

fn config() -> Criterion {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    Criterion::default()
        .sample_size(if quick { 10 } else { 30 })
        .measurement_time(std::time::Duration::from_secs(if quick { 1 } else { 3 }))
        .warm_up_time(std::time::Duration::from_millis(if quick {
            300
        } else {
            1000
        }))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
