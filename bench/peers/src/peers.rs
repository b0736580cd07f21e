//! The alternatives a Rust user would pick instead of `logto-api-auth`, each doing the same work
//! per request: check the Bearer token's signature with the tenant's JWKS (fetched once at
//! startup), its issuer, expiry, audience (the API resource) and the required scope, and hand
//! the handler the subject, client id and scopes.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::{REQUIRED_SCOPE, RESOURCE};

/// What every handler gets.
#[derive(Clone, Debug)]
pub struct Principal {
    pub sub: String,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
}

/// Why a token was refused (the peers' own error types, flattened).
#[derive(Debug)]
pub struct Refused(pub String);

fn refused(e: impl std::fmt::Display) -> Refused {
    Refused(e.to_string())
}

async fn fetch_jwks(jwks_uri: &str) -> Value {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
        .get(jwks_uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("fetch the JWKS")
        .json()
        .await
        .expect("parse the JWKS")
}

fn audiences(claims: &Value) -> Vec<&str> {
    match &claims["aud"] {
        Value::String(aud) => vec![aud.as_str()],
        Value::Array(auds) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn scopes_of(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Logto's Rust guide to protecting an API ("Protect your Axum API with RBAC and JWT
/// validation"), wired as it shows: jsonwebtoken 9 (its `ring` backend), RSA keys only (kept by
/// `kid`, built from `n`/`e`), `Validation::new(RS256)` with the issuer set and the audience
/// left to a manual check of the decoded `serde_json::Value` claims, then the "global API
/// resource" payload check (audience, required scopes).
pub mod guide {
    use super::*;
    use jsonwebtoken_guide::{Algorithm, DecodingKey, Validation, decode, decode_header};

    pub struct GuideValidator {
        keys: HashMap<String, DecodingKey>,
        issuer: String,
    }

    impl GuideValidator {
        pub async fn new(jwks_uri: &str, issuer: &str) -> GuideValidator {
            let jwks = fetch_jwks(jwks_uri).await;
            let mut keys = HashMap::new();
            for key in jwks["keys"].as_array().into_iter().flatten() {
                let (Some(kid), Some("RSA"), Some(n), Some(e)) = (
                    key["kid"].as_str(),
                    key["kty"].as_str(),
                    key["n"].as_str(),
                    key["e"].as_str(),
                ) else {
                    continue;
                };
                if let Ok(decoding) = DecodingKey::from_rsa_components(n, e) {
                    keys.insert(kid.to_owned(), decoding);
                }
            }
            assert!(!keys.is_empty(), "the guide's validator found no RSA key");
            GuideValidator {
                keys,
                issuer: issuer.to_owned(),
            }
        }

        pub fn validate(&self, token: &str) -> Result<Principal, Refused> {
            let header = decode_header(token).map_err(refused)?;
            let kid = header.kid.ok_or_else(|| refused("no kid"))?;
            let key = self.keys.get(&kid).ok_or_else(|| refused("unknown kid"))?;
            let mut validation = Validation::new(Algorithm::RS256);
            validation.set_issuer(&[&self.issuer]);
            validation.validate_aud = false;
            let claims = decode::<Value>(token, key, &validation)
                .map_err(refused)?
                .claims;
            // The guide's verify_payload for a global API resource.
            if !audiences(&claims).contains(&RESOURCE) {
                return Err(refused("invalid audience"));
            }
            let scopes = scopes_of(claims["scope"].as_str());
            if !scopes.iter().any(|s| s == REQUIRED_SCOPE) {
                return Err(refused("insufficient scope"));
            }
            Ok(Principal {
                sub: claims["sub"].as_str().unwrap_or_default().to_owned(),
                client_id: claims["client_id"].as_str().map(str::to_owned),
                scopes,
            })
        }
    }
}

/// Typed claims for the peers that deserialize into a struct.
#[derive(Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl AccessClaims {
    pub fn into_principal(self) -> Result<Principal, Refused> {
        let scopes = scopes_of(self.scope.as_deref());
        if !scopes.iter().any(|s| s == REQUIRED_SCOPE) {
            return Err(refused("insufficient scope"));
        }
        Ok(Principal {
            sub: self.sub,
            client_id: self.client_id,
            scopes,
        })
    }
}

/// jsonwebtoken's current release on its aws-lc backend (the same crypto library as ours),
/// wired by hand as its documentation shows: keys from the JWKS (`DecodingKey::from_jwk`, by
/// `kid`), one `Validation` with the algorithm, issuer and audience, typed claims, and the scope
/// check.
pub mod hand {
    use super::*;
    use jsonwebtoken_aws_lc::jwk::JwkSet;
    use jsonwebtoken_aws_lc::{Algorithm, DecodingKey, Validation, decode, decode_header};

    pub struct HandValidator {
        keys: HashMap<String, DecodingKey>,
        validation: Validation,
    }

    impl HandValidator {
        pub async fn new(jwks_uri: &str, issuer: &str, alg: &str) -> HandValidator {
            let jwks: JwkSet = serde_json::from_value(fetch_jwks(jwks_uri).await).unwrap();
            let keys = jwks
                .keys
                .iter()
                .filter_map(|jwk| {
                    Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?))
                })
                .collect();
            let alg = match alg {
                "RS256" => Algorithm::RS256,
                _ => Algorithm::ES384,
            };
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[RESOURCE]);
            HandValidator { keys, validation }
        }

        pub fn validate(&self, token: &str) -> Result<Principal, Refused> {
            let header = decode_header(token).map_err(refused)?;
            let key = header
                .kid
                .as_deref()
                .and_then(|kid| self.keys.get(kid))
                .ok_or_else(|| refused("unknown kid"))?;
            decode::<AccessClaims>(token, key, &self.validation)
                .map_err(refused)?
                .claims
                .into_principal()
        }
    }
}

/// axum-jwt-auth (jsonwebtoken 10, RustCrypto backend): its remote-JWKS decoder, which keeps the
/// keys by `kid` and refreshes them in the background, with a `Validation` for the algorithm,
/// issuer and audience.
pub mod jwt_auth {
    use super::*;
    use axum_jwt_auth::{Decoder, JwtDecoder, RemoteJwksDecoder};
    use jsonwebtoken_10::{Algorithm, Validation};

    pub async fn decoder(jwks_uri: &str, issuer: &str, alg: &str) -> Decoder<AccessClaims> {
        let alg = match alg {
            "RS256" => Algorithm::RS256,
            _ => Algorithm::ES384,
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[RESOURCE]);
        let decoder = RemoteJwksDecoder::builder()
            .jwks_url(jwks_uri.to_owned())
            .validation(validation)
            .build()
            .expect("build the decoder");
        // The background refresh task runs until the process ends.
        let _refresh = decoder.initialize().await.expect("fetch the JWKS");
        Arc::new(decoder)
    }

    pub async fn validate(
        decoder: &Decoder<AccessClaims>,
        token: &str,
    ) -> Result<Principal, Refused> {
        JwtDecoder::decode(decoder.as_ref(), token)
            .await
            .map_err(refused)?
            .claims
            .into_principal()
    }
}
