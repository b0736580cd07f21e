//! Parsing, key selection and signature verification.

mod support;

use logto_jwt::{
    Algorithm, Error, KeySet, MAX_JWKS_KEYS, PublicKey, RegisteredClaims, UnverifiedToken,
};
use serde_json::json;
use support::{ALL_ALGS, TestKey, b64, claims, jwks, sign_with_header};

const MAX: usize = 16 * 1024;

fn key_of(k: &TestKey, with_alg: bool) -> PublicKey {
    PublicKey::from_jwk(k.jwk(with_alg).to_string().as_bytes()).unwrap()
}

#[test]
fn every_algorithm_signs_and_verifies() {
    for alg in ALL_ALGS {
        let k = TestKey::generate(alg, "k");
        let public = key_of(&k, true);
        assert_eq!(public.algorithm().as_str(), alg);
        let token = k.sign(&claims(), json!({}));
        let parsed = UnverifiedToken::parse(&token, MAX).unwrap();
        assert_eq!(parsed.header().alg.as_str(), alg);
        assert_eq!(parsed.header().typ.as_deref(), Some("at+jwt"));
        let verified = parsed.verify(&public).unwrap();
        let c: RegisteredClaims = verified.claims().unwrap();
        assert_eq!(c.sub.as_deref(), Some("u1"));
        c.check_time(logto_jwt::unix_now(), 0).unwrap();
    }
}

#[test]
fn algorithm_follows_key_when_jwk_has_no_alg() {
    for (alg, expected) in [
        ("ES256", Algorithm::Es256),
        ("ES384", Algorithm::Es384),
        ("ES512", Algorithm::Es512),
        ("EdDSA", Algorithm::EdDsa),
        ("RS256", Algorithm::Rs256),
    ] {
        let k = TestKey::generate(alg, "k");
        assert_eq!(key_of(&k, false).algorithm(), expected);
    }
}

#[test]
fn tampered_payload_or_foreign_key_fails_signature() {
    for alg in ALL_ALGS {
        let k = TestKey::generate(alg, "k");
        let token = k.sign(&claims(), json!({}));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c["sub"] = json!("admin");
        parts[1] = b64(c.to_string().as_bytes());
        let forged = parts.join(".");
        let public = key_of(&k, true);
        let err = UnverifiedToken::parse(&forged, MAX)
            .unwrap()
            .verify(&public);
        assert_eq!(err.unwrap_err(), Error::InvalidSignature, "{alg}");
    }
    let ours = TestKey::generate("ES384", "k");
    let theirs = TestKey::generate("ES384", "k");
    let token = theirs.sign(&claims(), json!({}));
    let err = UnverifiedToken::parse(&token, MAX)
        .unwrap()
        .verify(&key_of(&ours, true))
        .unwrap_err();
    assert_eq!(err, Error::InvalidSignature);
}

#[test]
fn token_alg_must_match_key_alg() {
    let k384 = TestKey::generate("ES384", "k");
    let public = key_of(&k384, true);
    // Same key material claimed as another algorithm.
    for alg in ["ES256", "RS256", "PS384", "EdDSA"] {
        let header = json!({"alg": alg, "kid": "k"});
        let token = sign_with_header(&k384, &header, &claims());
        let err = UnverifiedToken::parse(&token, MAX)
            .unwrap()
            .verify(&public)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::AlgorithmMismatch {
                    key: Algorithm::Es384,
                    ..
                }
            ),
            "{alg}"
        );
    }
    // Via the key set: the kid is known but its algorithm differs.
    let set = KeySet::from_keys(vec![public]);
    assert!(matches!(
        set.find(Some("k"), Algorithm::Rs256),
        Err(Error::AlgorithmMismatch { .. })
    ));
    // A JWK whose alg does not fit its curve is unusable.
    let mut jwk = k384.jwk(true);
    jwk["alg"] = json!("ES256");
    assert!(matches!(
        PublicKey::from_jwk(jwk.to_string().as_bytes()),
        Err(Error::InvalidKey(_))
    ));
    let rsa = TestKey::generate("RS256", "r");
    let mut jwk = rsa.jwk(true);
    jwk["alg"] = json!("ES384");
    assert!(matches!(
        PublicKey::from_jwk(jwk.to_string().as_bytes()),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn none_and_hmac_are_never_accepted() {
    let payload = b64(claims().to_string().as_bytes());
    for alg in [
        "none", "None", "NONE", "HS256", "HS384", "HS512", "", "es384",
    ] {
        let header = b64(json!({"alg": alg, "kid": "k"}).to_string().as_bytes());
        for sig in ["", "c2ln"] {
            let token = format!("{header}.{payload}.{sig}");
            let err = UnverifiedToken::parse(&token, MAX).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedAlgorithm(_) | Error::Malformed(_)),
                "{alg}: {err:?}"
            );
        }
    }
    // HS256 "signed" with the public key as the HMAC secret (the classic
    // key-confusion attack).
    let k = TestKey::generate("RS256", "k");
    let secret = k.jwk(true).to_string();
    let header = b64(br#"{"alg":"HS256","kid":"k"}"#);
    let input = format!("{header}.{payload}");
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes()),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64(mac.as_ref()));
    assert_eq!(
        UnverifiedToken::parse(&token, MAX).unwrap_err(),
        Error::UnsupportedAlgorithm("HS256".into())
    );
    // Missing alg.
    let header = b64(br#"{"kid":"k"}"#);
    assert!(matches!(
        UnverifiedToken::parse(&format!("{header}.{payload}.c2ln"), MAX),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn key_pointing_headers_are_refused() {
    let k = TestKey::generate("ES384", "k");
    for (name, value) in [
        ("jku", json!("https://evil.example/jwks")),
        ("x5u", json!("https://evil.example/cert")),
        ("jwk", k.jwk(true)),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
        ("crit", json!([])),
    ] {
        let token = k.sign(&claims(), json!({ name: value }));
        assert_eq!(
            UnverifiedToken::parse(&token, MAX).unwrap_err(),
            Error::ForbiddenHeader(name),
            "{name}"
        );
    }
}

#[test]
fn oversize_tokens_are_refused_before_parsing() {
    let k = TestKey::generate("ES256", "k");
    let mut c = claims();
    c["pad"] = json!("x".repeat(20_000));
    let token = k.sign(&c, json!({}));
    assert!(matches!(
        UnverifiedToken::parse(&token, MAX),
        Err(Error::TooLarge { max: MAX, .. })
    ));
    let garbage = "a".repeat(1024 * 1024);
    assert!(matches!(
        UnverifiedToken::parse(&garbage, MAX),
        Err(Error::TooLarge { .. })
    ));
    // The same token passes with a larger cap.
    assert!(UnverifiedToken::parse(&token, 64 * 1024).is_ok());
}

#[test]
fn malformed_tokens() {
    let k = TestKey::generate("ES256", "k");
    let good = k.sign(&claims(), json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let not_json = b64(b"{not json");
    let array = b64(b"[1,2]");
    let cases = [
        String::new(),
        "garbage".into(),
        "a.b".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.extra"),
        format!("{}..{}", parts[0], parts[2]),
        format!(".{}.{}", parts[1], parts[2]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
        format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
        format!("{not_json}.{}.{}", parts[1], parts[2]),
        format!("{array}.{}.{}", parts[1], parts[2]),
        "Bearer eyJ.eyJ.sig".into(),
        "\u{0}\u{1}..".into(),
    ];
    for case in &cases {
        assert!(
            matches!(UnverifiedToken::parse(case, MAX), Err(Error::Malformed(_))),
            "{case:?}"
        );
    }
    // A verified token whose payload is not JSON fails at claims().
    let header = json!({"alg": "ES256", "kid": "k"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(b"not json")
    );
    let token = format!("{input}.{}", b64(&k.sign_raw(input.as_bytes())));
    let v = UnverifiedToken::parse(&token, MAX)
        .unwrap()
        .verify(&key_of(&k, true))
        .unwrap();
    assert!(matches!(
        v.claims::<RegisteredClaims>(),
        Err(Error::InvalidClaims(_))
    ));
}

#[test]
fn key_selection() {
    let a = TestKey::generate("ES384", "a");
    let b = TestKey::generate("ES384", "b");
    let e = TestKey::generate("EdDSA", "e");
    let set = KeySet::from_json(jwks(&[&a, &b, &e]).as_bytes()).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(
        set.find(Some("b"), Algorithm::Es384).unwrap().kid(),
        Some("b")
    );
    assert_eq!(
        set.find(Some("zz"), Algorithm::Es384).unwrap_err(),
        Error::UnknownKey {
            kid: Some("zz".into())
        }
    );
    // No kid: the only key of the algorithm, else no key.
    assert_eq!(set.find(None, Algorithm::EdDsa).unwrap().kid(), Some("e"));
    assert_eq!(
        set.find(None, Algorithm::Es384).unwrap_err(),
        Error::UnknownKey { kid: None }
    );
    assert_eq!(
        set.find(None, Algorithm::Es256).unwrap_err(),
        Error::UnknownKey { kid: None }
    );
    // Very long kids are shortened in errors.
    let long = "k".repeat(10_000);
    match set.find(Some(&long), Algorithm::Es384).unwrap_err() {
        Error::UnknownKey { kid: Some(k) } => assert!(k.len() < 100),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unusable_jwks_entries_are_skipped() {
    let a = TestKey::generate("ES384", "a");
    let mut enc = TestKey::generate("ES256", "enc").jwk(true);
    enc["use"] = json!("enc");
    let mut ops = TestKey::generate("ES256", "ops").jwk(true);
    ops["key_ops"] = json!(["encrypt"]);
    let mut bad_point = TestKey::generate("ES256", "bad").jwk(true);
    bad_point["y"] = bad_point["x"].clone();
    let doc = json!({"keys": [
        a.jwk(true),
        enc,
        ops,
        bad_point,
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "RSA", "n": b64(&[0xC5; 128]), "e": "AQAB", "kid": "rsa1024"},
        {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "X25519", "x": b64(&[9; 32])},
        "not an object",
        42,
    ]});
    let set = KeySet::from_json(doc.to_string().as_bytes()).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.keys()[0].kid(), Some("a"));
    for bad in [&b"[]"[..], b"{}", b"{\"keys\": 3}", b"<html>", b""] {
        assert!(matches!(KeySet::from_json(bad), Err(Error::InvalidJwks(_))));
    }
}

#[test]
fn time_claims() {
    let c = times(Some(1000), Some(900), Some(900));
    assert!(c.check_time(999, 0).is_ok());
    assert_eq!(c.check_time(1000, 0), Err(Error::Expired));
    assert!(c.check_time(1009, 10).is_ok());
    assert_eq!(c.check_time(1010, 10), Err(Error::Expired));
    assert_eq!(c.check_time(899, 0), Err(Error::NotYetValid));
    assert!(c.check_time(890, 10).is_ok());
    assert_eq!(
        times(None, None, None).check_time(1, 0),
        Err(Error::MissingClaim("exp"))
    );
    let iat_future = times(Some(5000), None, Some(2000));
    assert_eq!(iat_future.check_time(1000, 60), Err(Error::NotYetValid));
    let fractional: RegisteredClaims =
        serde_json::from_str(r#"{"exp": 1000.7, "aud": "x"}"#).unwrap();
    assert_eq!(fractional.exp, Some(1000));
    assert!(serde_json::from_str::<RegisteredClaims>(r#"{"exp": -1}"#).is_err());
    assert!(serde_json::from_str::<RegisteredClaims>(r#"{"exp": "1000"}"#).is_err());
}

#[test]
fn debug_output_never_contains_the_token() {
    let k = TestKey::generate("ES256", "k");
    let token = k.sign(&claims(), json!({}));
    let parsed = UnverifiedToken::parse(&token, MAX).unwrap();
    let sig_part = token.rsplit('.').next().unwrap();
    let payload_part = token.split('.').nth(1).unwrap();
    let dbg = format!("{parsed:?}");
    assert!(!dbg.contains(sig_part) && !dbg.contains(payload_part));
    let verified = parsed.verify(&key_of(&k, true)).unwrap();
    let dbg = format!("{verified:?}");
    assert!(!dbg.contains(sig_part) && !dbg.contains("u1"));
}

#[test]
fn a_kid_shared_by_several_keys_tries_each_of_them() {
    let first = TestKey::generate("ES256", "dup");
    let second = TestKey::generate("ES256", "dup");
    let other_alg = TestKey::generate("EdDSA", "dup");
    let set = KeySet::from_json(jwks(&[&first, &other_alg, &second]).as_bytes()).unwrap();
    assert_eq!(set.len(), 3);
    for k in [&first, &second, &other_alg] {
        let token = k.sign(&claims(), json!({}));
        let parsed = UnverifiedToken::parse(&token, MAX).unwrap();
        set.verify(&parsed)
            .unwrap_or_else(|e| panic!("{}: {e}", k.alg));
    }
    // A key that is not in the set, under the same kid, still fails.
    let stranger = TestKey::generate("ES256", "dup").sign(&claims(), json!({}));
    let parsed = UnverifiedToken::parse(&stranger, MAX).unwrap();
    assert_eq!(set.verify(&parsed).unwrap_err(), Error::InvalidSignature);
    // No key of the token's algorithm under that kid.
    let es384 = TestKey::generate("ES384", "dup").sign(&claims(), json!({}));
    let parsed = UnverifiedToken::parse(&es384, MAX).unwrap();
    assert!(matches!(
        set.verify(&parsed),
        Err(Error::AlgorithmMismatch { .. })
    ));
    let unknown = TestKey::generate("ES256", "nope").sign(&claims(), json!({}));
    let parsed = UnverifiedToken::parse(&unknown, MAX).unwrap();
    assert!(matches!(set.verify(&parsed), Err(Error::UnknownKey { .. })));
}

#[test]
fn a_jwks_with_too_many_keys_is_refused() {
    let k = TestKey::generate("ES256", "k").jwk(true);
    let doc = |n: usize| json!({"keys": vec![k.clone(); n]}).to_string();
    assert_eq!(
        KeySet::from_json(doc(MAX_JWKS_KEYS).as_bytes())
            .unwrap()
            .len(),
        MAX_JWKS_KEYS
    );
    assert_eq!(MAX_JWKS_KEYS, 100);
    for n in [MAX_JWKS_KEYS + 1, 10_000] {
        assert!(matches!(
            KeySet::from_json(doc(n).as_bytes()),
            Err(Error::InvalidJwks(_))
        ));
    }
}

/// Registered claims with only the time claims set.
fn times(exp: Option<u64>, nbf: Option<u64>, iat: Option<u64>) -> RegisteredClaims {
    let mut claims = RegisteredClaims::default();
    claims.exp = exp;
    claims.nbf = nbf;
    claims.iat = iat;
    claims
}
