//! Per-token cost of API token validation, logto-api-auth against the alternatives, on the same
//! Logto-shaped access token (ES384, Logto's default, and RS256 for the peers that only handle
//! RSA): signature, issuer, expiry, audience and the required scope, keys fetched once.
//!
//! `cargo bench --bench api` (in bench/peers); `bash bench/run.sh` runs it with the rest.
#![allow(missing_docs)]

use std::hint::black_box;

use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logto_api_auth::Validator;
use logto_bench::issuer::{Alg, spawn_fresh};
use logto_bench::peers::{guide::GuideValidator, hand::HandValidator, jwt_auth};
use logto_bench::{REQUIRED_SCOPE, RESOURCE};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(spawn_fresh());

    for alg in [Alg::Es384, Alg::Rs256] {
        let token = issuer.token(alg);
        let (iss, jwks_uri) = (issuer.issuer(alg), issuer.jwks_uri(alg));
        let ours = |capacity: usize| {
            rt.block_on(
                Validator::builder_from_metadata(&iss, &jwks_uri)
                    .resource(RESOURCE)
                    .cache_capacity(capacity)
                    .build(),
            )
            .unwrap()
        };
        let (uncached, cached) = (ours(0), ours(10_000));
        let hand = rt.block_on(HandValidator::new(&jwks_uri, &iss, alg.name()));
        let jwt_auth = rt.block_on(jwt_auth::decoder(&jwks_uri, &iss, alg.name()));
        let guide = (alg == Alg::Rs256).then(|| rt.block_on(GuideValidator::new(&jwks_uri, &iss)));

        // Every path accepts the token before it is timed.
        rt.block_on(async {
            for v in [&uncached, &cached] {
                assert!(v.validate(&token).await.unwrap().has_scope(REQUIRED_SCOPE));
            }
            hand.validate(&token).unwrap();
            jwt_auth::validate(&jwt_auth, &token).await.unwrap();
        });
        if let Some(guide) = &guide {
            guide.validate(&token).unwrap();
        }

        // The floor: one verification of the signing input, key parsed once.
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let verification: &'static dyn VerificationAlgorithm = match alg {
            Alg::Es384 => &ECDSA_P384_SHA384_FIXED,
            Alg::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        };
        let key = ParsedPublicKey::new(verification, issuer.public_key(alg)).unwrap();
        let floor = || {
            key.verify_sig(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        };
        floor();

        let mut g = c.benchmark_group(format!("peers_{}", alg.name().to_lowercase()));
        g.throughput(Throughput::Elements(1));
        g.bench_function("floor_aws_lc_verify", |b| b.iter(&floor));
        g.bench_function("logto_rs_uncached", |b| {
            b.to_async(&rt).iter(|| async {
                let auth = uncached.validate(black_box(&token)).await.unwrap();
                assert!(auth.has_scope(REQUIRED_SCOPE));
            })
        });
        g.bench_function("logto_rs_cached", |b| {
            b.to_async(&rt).iter(|| async {
                let auth = cached.validate(black_box(&token)).await.unwrap();
                assert!(auth.has_scope(REQUIRED_SCOPE));
            })
        });
        g.bench_function("jsonwebtoken_aws_lc", |b| {
            b.iter(|| hand.validate(black_box(&token)).unwrap())
        });
        g.bench_function("axum_jwt_auth", |b| {
            b.to_async(&rt).iter(|| async {
                jwt_auth::validate(&jwt_auth, black_box(&token))
                    .await
                    .unwrap()
            })
        });
        if let Some(guide) = &guide {
            g.bench_function("logto_guide_jsonwebtoken", |b| {
                b.iter(|| guide.validate(black_box(&token)).unwrap())
            });
        }
        g.finish();
    }
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
