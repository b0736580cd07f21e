//! JWKS documents (what `JwksCache` reads from `jwks_uri`) through `KeySet::from_json`, and
//! single JWKs through `PublicKey::from_jwk`.
//!
//! Input: the document. Properties: never more than `MAX_JWKS_KEYS` keys; every kept key is
//! found again by its `kid` and algorithm; a token signed by a key the document does not hold is
//! never verified by it.
#![no_main]

use std::sync::LazyLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use logto_fuzz::{EDDSA_KID, ES384_KID};
use logto_jwt::{KeySet, MAX_JWKS_KEYS, PublicKey, UnverifiedToken};

/// Tokens signed by keys made at start-up, which no input can hold (the `kid`s are the corpus').
static FOREIGN: LazyLock<[String; 2]> = LazyLock::new(|| {
    let rng = SystemRandom::new();
    let es384 = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).expect("P-384 key");
    let eddsa = Ed25519KeyPair::generate().expect("Ed25519 key");
    let payload = br#"{"iss":"https://tenant.fuzz.test/oidc","sub":"u","aud":"a","exp":4102444800,"iat":1700000000}"#;
    let signed = |header: &[u8], sign: &dyn Fn(&[u8]) -> Vec<u8>| {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sign(input.as_bytes())))
    };
    [
        signed(
            format!(r#"{{"alg":"ES384","kid":"{ES384_KID}","typ":"JWT"}}"#).as_bytes(),
            &|m| es384.sign(&rng, m).unwrap().as_ref().to_vec(),
        ),
        signed(
            format!(r#"{{"alg":"EdDSA","kid":"{EDDSA_KID}"}}"#).as_bytes(),
            &|m| eddsa.sign(m).as_ref().to_vec(),
        ),
    ]
});

fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::from_jwk(data);
    let Ok(set) = KeySet::from_json(data) else {
        return;
    };
    assert!(set.len() <= MAX_JWKS_KEYS);
    assert_eq!(set.len(), set.keys().len());
    for key in set.keys() {
        let found = set.find(key.kid(), key.algorithm());
        if key.kid().is_some() {
            let found = found.expect("a kept key is found by its kid");
            assert_eq!(found.kid(), key.kid());
            assert_eq!(found.algorithm(), key.algorithm());
        }
    }
    for token in FOREIGN.iter() {
        let unverified = UnverifiedToken::parse(token, 16 * 1024).unwrap();
        assert!(
            set.verify(&unverified).is_err(),
            "a foreign key's token was verified"
        );
    }
});
