//! A stand-in Logto tenant on 127.0.0.1: the discovery document and the JWKS, and Logto-shaped
//! `at+jwt` access tokens signed with its keys.
//!
//! Two tenants share one server: the Logto default (one ES384 key) at `BASE` (issuer
//! `BASE/oidc`), and an RS256 one at `BASE/rsa` (issuer `BASE/rsa/oidc`) for the peers that only
//! handle RS256 (Logto's Rust guide).

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::RESOURCE;

/// The signing algorithms of the two tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Es384,
    Rs256,
}

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Alg::Es384 => "ES384",
            Alg::Rs256 => "RS256",
        }
    }

    /// The tenant's path under the server's base URL.
    pub fn tenant(self) -> &'static str {
        match self {
            Alg::Es384 => "",
            Alg::Rs256 => "/rsa",
        }
    }
}

pub struct Issuer {
    ec: EcdsaKeyPair,
    rsa: aws_lc_rs::rsa::KeyPair,
    base: String,
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

impl Issuer {
    /// Fresh keys (none on disk), for `base` (`http://127.0.0.1:PORT`).
    pub fn generate(base: &str) -> Issuer {
        let rng = SystemRandom::new();
        let ec = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            .expect("generate an ES384 key");
        Self::from_parts(ec.as_ref(), None, base)
    }

    /// The keys kept in `dir` (made there on first use), so that tokens signed by an earlier run
    /// still verify: the 1 M distinct tokens are signed once and reused.
    pub fn load_or_create(dir: &Path, base: &str) -> Issuer {
        std::fs::create_dir_all(dir).expect("create the key directory");
        let ec_path = dir.join("es384.pk8");
        let rsa_path = dir.join("rs256.pk8");
        if !ec_path.exists() || !rsa_path.exists() {
            let rng = SystemRandom::new();
            let ec =
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
                    .expect("generate an ES384 key");
            let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .expect("generate an RSA key");
            let rsa_der = rsa.as_der().expect("encode the RSA key");
            std::fs::write(&ec_path, ec.as_ref()).expect("write the ES384 key");
            std::fs::write(&rsa_path, rsa_der.as_ref()).expect("write the RSA key");
        }
        let ec = std::fs::read(ec_path).expect("read the ES384 key");
        let rsa = std::fs::read(rsa_path).expect("read the RSA key");
        Self::from_parts(&ec, Some(&rsa), base)
    }

    fn from_parts(ec_pkcs8: &[u8], rsa_pkcs8: Option<&[u8]>, base: &str) -> Issuer {
        let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, ec_pkcs8)
            .expect("ES384 key");
        let rsa = match rsa_pkcs8 {
            Some(der) => aws_lc_rs::rsa::KeyPair::from_pkcs8(der).expect("RSA key"),
            None => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .expect("generate an RSA key"),
        };
        Issuer {
            ec,
            rsa,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// Where the tenant of `alg` lives: what `LOGTO_ENDPOINT` is set to.
    pub fn endpoint(&self, alg: Alg) -> String {
        format!("{}{}", self.base, alg.tenant())
    }

    pub fn issuer(&self, alg: Alg) -> String {
        format!("{}/oidc", self.endpoint(alg))
    }

    pub fn jwks_uri(&self, alg: Alg) -> String {
        format!("{}/oidc/jwks", self.endpoint(alg))
    }

    fn kid(alg: Alg) -> &'static str {
        match alg {
            Alg::Es384 => "bench-es384",
            Alg::Rs256 => "bench-rs256",
        }
    }

    /// The tenant's JWKS document (its one key).
    pub fn jwks(&self, alg: Alg) -> Value {
        let key = match alg {
            Alg::Es384 => {
                let point = self.ec.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-384", "x": b64(&point[1..49]), "y": b64(&point[49..97])})
            }
            Alg::Rs256 => {
                let public = self.rsa.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
        };
        let mut key = key;
        key["kid"] = json!(Self::kid(alg));
        key["alg"] = json!(alg.name());
        key["use"] = json!("sig");
        json!({ "keys": [key] })
    }

    /// The public key as aws-lc-rs verifies with it (EC point, or DER `RSAPublicKey`).
    pub fn public_key(&self, alg: Alg) -> Vec<u8> {
        match alg {
            Alg::Es384 => self.ec.public_key().as_ref().to_vec(),
            Alg::Rs256 => self.rsa.public_key().as_ref().to_vec(),
        }
    }

    /// The claims of a Logto access token for [`RESOURCE`], user `n`.
    pub fn claims(&self, alg: Alg, n: u64, lifetime_secs: u64) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        json!({
            "jti": format!("bench-{n:07}"), "sub": format!("user-{n:07}"),
            "iat": now, "exp": now + lifetime_secs,
            "scope": "shopping:read shopping:write", "client_id": "web-app",
            "iss": self.issuer(alg), "aud": RESOURCE,
        })
    }

    /// Signs `claims` as an `at+jwt` of the tenant of `alg`.
    pub fn sign(&self, alg: Alg, claims: &Value) -> String {
        let header = json!({"alg": alg.name(), "kid": Self::kid(alg), "typ": "at+jwt"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = match alg {
            Alg::Es384 => self
                .ec
                .sign(&rng, input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Alg::Rs256 => {
                let mut sig = vec![0; self.rsa.public_modulus_len()];
                self.rsa
                    .sign(
                        &signature::RSA_PKCS1_SHA256,
                        &rng,
                        input.as_bytes(),
                        &mut sig,
                    )
                    .expect("sign");
                sig
            }
        };
        format!("{input}.{}", b64(&sig))
    }

    /// One access token of user 0, valid for an hour.
    pub fn token(&self, alg: Alg) -> String {
        self.sign(alg, &self.claims(alg, 0, 3600))
    }

    /// `count` distinct ES384 tokens (users `0..count`), valid for `lifetime_secs`, signed on
    /// every core.
    pub fn distinct_tokens(&self, count: u64, lifetime_secs: u64) -> Vec<String> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let chunk = count.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        (t * chunk..((t + 1) * chunk).min(count))
                            .map(|n| {
                                self.sign(Alg::Es384, &self.claims(Alg::Es384, n, lifetime_secs))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        })
    }

    /// The tenants' discovery documents and JWKS.
    pub fn router(self: &Arc<Self>) -> Router {
        let mut router = Router::new();
        for alg in [Alg::Es384, Alg::Rs256] {
            let discovery = json!({
                "issuer": self.issuer(alg),
                "jwks_uri": self.jwks_uri(alg),
            })
            .to_string();
            let jwks = self.jwks(alg).to_string();
            let prefix = alg.tenant();
            router = router
                .route(
                    &format!("{prefix}/oidc/.well-known/openid-configuration"),
                    get(move || async move { ([("content-type", "application/json")], discovery) }),
                )
                .route(
                    &format!("{prefix}/oidc/jwks"),
                    get(move || async move { ([("content-type", "application/json")], jwks) }),
                );
        }
        router
    }
}

/// Binds 127.0.0.1 on a free port; returns the listener and its base URL.
pub async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

/// A fresh issuer served in the background on the current runtime.
pub async fn spawn_fresh() -> Arc<Issuer> {
    let (listener, base) = bind().await;
    let issuer = Arc::new(Issuer::generate(&base));
    let router = issuer.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    issuer
}
