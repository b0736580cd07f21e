//! Test keys and token signing, generated fresh in each test run: for the JOSE and validator
//! tests that forge tokens (every algorithm, wrong keys, odd headers) without an IdP.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub enum Signer {
    Ec(EcdsaKeyPair),
    Rsa(Arc<aws_lc_rs::rsa::KeyPair>),
    Ed(Ed25519KeyPair),
}

pub struct TestKey {
    pub alg: &'static str,
    pub kid: String,
    signer: Signer,
}

fn rsa_key() -> Arc<aws_lc_rs::rsa::KeyPair> {
    static KEY: OnceLock<Arc<aws_lc_rs::rsa::KeyPair>> = OnceLock::new();
    KEY.get_or_init(|| {
        Arc::new(aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
    })
    .clone()
}

pub const ALL_ALGS: [&str; 10] = [
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
];

impl TestKey {
    pub fn generate(alg: &'static str, kid: &str) -> TestKey {
        let signer = match alg {
            "ES256" => Signer::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            ),
            "ES384" => Signer::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap(),
            ),
            "ES512" => Signer::Ec(
                EcdsaKeyPair::generate(&signature::ECDSA_P521_SHA512_FIXED_SIGNING).unwrap(),
            ),
            "EdDSA" => Signer::Ed(Ed25519KeyPair::generate().unwrap()),
            _ => Signer::Rsa(rsa_key()),
        };
        TestKey {
            alg,
            kid: kid.to_owned(),
            signer,
        }
    }

    /// The public JWK, with `alg` included when `with_alg`.
    pub fn jwk(&self, with_alg: bool) -> Value {
        let mut jwk = match &self.signer {
            Signer::Ec(k) => {
                let p = k.public_key().as_ref();
                let n = (p.len() - 1) / 2;
                let crv = match self.alg {
                    "ES256" => "P-256",
                    "ES384" => "P-384",
                    _ => "P-521",
                };
                json!({"kty": "EC", "crv": crv, "x": b64(&p[1..=n]), "y": b64(&p[1 + n..])})
            }
            Signer::Rsa(k) => {
                let public = k.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Signer::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())})
            }
        };
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        if with_alg {
            jwk["alg"] = json!(self.alg);
        }
        jwk
    }

    pub fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Ec(k) => k.sign(&rng, message).unwrap().as_ref().to_vec(),
            Signer::Ed(k) => k.sign(message).as_ref().to_vec(),
            Signer::Rsa(k) => {
                let enc: &'static dyn aws_lc_rs::signature::RsaEncoding = match self.alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(enc, &rng, message, &mut sig).unwrap();
                sig
            }
        }
    }

    /// Signs `claims` with a header of `{"alg", "kid", "typ": "at+jwt"}`
    /// merged with `extra_header`.
    pub fn sign(&self, claims: &Value, extra_header: Value) -> String {
        let mut header = json!({"alg": self.alg, "kid": self.kid, "typ": "at+jwt"});
        if let Value::Object(extra) = extra_header {
            for (k, v) in extra {
                if v.is_null() {
                    header.as_object_mut().unwrap().remove(&k);
                } else {
                    header[k] = v;
                }
            }
        }
        sign_with_header(self, &header, claims)
    }
}

pub fn sign_with_header(key: &TestKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = key.sign_raw(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

pub fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk(true)).collect::<Vec<_>>()}).to_string()
}

pub fn claims() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"iss": "https://idp.test/oidc", "sub": "u1", "aud": "https://api.test",
           "iat": now, "exp": now + 3600, "scope": "read write", "client_id": "app"})
}

pub fn b64_decode(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}
