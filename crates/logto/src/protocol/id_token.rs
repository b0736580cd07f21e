//! The claim checks of an ID token whose signature has been verified (OpenID Connect Core §3.1.3.7).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use logto_jwt::{Algorithm, Header};

use super::callback::constant_time_eq;
use super::claims::IdTokenClaims;
use crate::error::LogtoError;

/// What an ID token must say to be accepted.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    /// The sign-in's nonce; `None` for an ID token from a refresh, which carries none.
    pub(crate) nonce: Option<&'a str>,
    pub(crate) leeway: u64,
    pub(crate) now: u64,
    /// The access token of the token response the ID token came with: its `at_hash`, when
    /// present, must match it (OpenID Connect Core §3.1.3.8). `None` for an ID token on its own.
    pub(crate) access_token: Option<&'a str>,
}

/// Refuses a JWS that does not say it is an ID token: a `typ` other than absent, `JWT` or
/// `application/jwt` (an access token, `at+jwt`, is not an ID token).
pub(crate) fn check_header(header: &Header) -> Result<(), LogtoError> {
    match header.typ.as_deref() {
        None => Ok(()),
        Some(typ)
            if typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case("application/jwt") =>
        {
            Ok(())
        }
        Some(typ) => Err(LogtoError::id_token(format!(
            "the token type (typ) {typ:?} is not an ID token's (JWT)"
        ))),
    }
}

/// `at_hash` of `access_token` for a token signed with `alg`: the left half of the hash of the
/// access token, base64url (OpenID Connect Core §3.1.3.6), with the hash of the signature
/// algorithm (SHA-512 for EdDSA with Ed25519, as oidc-provider does).
pub(crate) fn at_hash(access_token: &str, alg: Algorithm) -> String {
    let hash = match alg {
        Algorithm::Es256 | Algorithm::Rs256 | Algorithm::Ps256 => &digest::SHA256,
        Algorithm::Es384 | Algorithm::Rs384 | Algorithm::Ps384 => &digest::SHA384,
        _ => &digest::SHA512,
    };
    let digest = digest::digest(hash, access_token.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Checks the claims and, with `alg` (the verified header's), the `at_hash`.
pub(crate) fn check_with_alg(
    claims: &IdTokenClaims,
    alg: Algorithm,
    expected: &Expected<'_>,
) -> Result<(), LogtoError> {
    check(claims, expected)?;
    if let (Some(claimed), Some(access_token)) = (claims.at_hash.as_deref(), expected.access_token)
    {
        if !constant_time_eq(claimed, &at_hash(access_token, alg)) {
            return Err(LogtoError::id_token(
                "at_hash does not match the access token it came with",
            ));
        }
    }
    Ok(())
}

pub(crate) fn check(claims: &IdTokenClaims, expected: &Expected<'_>) -> Result<(), LogtoError> {
    if claims.iss != expected.issuer {
        return Err(LogtoError::id_token(format!(
            "issuer {:?} is not Logto's issuer {:?}",
            claims.iss, expected.issuer
        )));
    }
    if claims.sub.is_empty() {
        return Err(LogtoError::id_token("the subject (sub) is empty"));
    }
    if !claims.aud.iter().any(|aud| aud == expected.client_id) {
        return Err(LogtoError::id_token(
            "audience does not include this app's id",
        ));
    }
    let azp = claims.extra.get("azp");
    if azp.is_some_and(|azp| azp.as_str() != Some(expected.client_id)) {
        // OpenID Connect Core §3.1.3.7: an authorized party, when named, is this app.
        return Err(LogtoError::id_token(
            "the authorized party (azp) is not this app",
        ));
    }
    if claims.aud.len() > 1 {
        let azp = azp.and_then(|v| v.as_str());
        if azp != Some(expected.client_id) {
            return Err(LogtoError::id_token(
                "several audiences and the authorized party (azp) is not this app",
            ));
        }
        // OpenID Connect Core §3.1.3.7: only this app is a trusted audience.
        if let Some(untrusted) = claims.aud.iter().find(|aud| *aud != expected.client_id) {
            return Err(LogtoError::id_token(format!(
                "the audience {untrusted:?} is not this app, and no other audience is trusted"
            )));
        }
    }
    if claims.exp.saturating_add(expected.leeway) <= expected.now {
        return Err(LogtoError::id_token("expired"));
    }
    if claims.iat > expected.now.saturating_add(expected.leeway) {
        return Err(LogtoError::id_token(
            "issued in the future: check the server clocks",
        ));
    }
    if let Some(nonce) = expected.nonce {
        if !claims
            .nonce
            .as_deref()
            .is_some_and(|n| constant_time_eq(n, nonce))
        {
            return Err(LogtoError::id_token(
                "nonce does not match the sign-in request",
            ));
        }
    }
    Ok(())
}

/// With `max_age` asked at sign-in (OpenID Connect Core §3.1.2.1, §3.1.3.7 rule 11): the ID
/// token must say when the user authenticated (`auth_time`), no longer than `max_age` ago.
pub(crate) fn check_auth_time(
    claims: &IdTokenClaims,
    max_age: u64,
    leeway: u64,
    now: u64,
) -> Result<(), LogtoError> {
    let auth_time = claims
        .extra
        .get("auth_time")
        .and_then(|t| t.as_u64())
        .ok_or_else(|| {
            LogtoError::id_token("max_age was asked but the ID token has no auth_time")
        })?;
    if auth_time.saturating_add(max_age).saturating_add(leeway) < now {
        return Err(LogtoError::id_token(
            "the user authenticated longer ago than max_age (auth_time): sign in again",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn claims(patch: serde_json::Value) -> IdTokenClaims {
        let mut base = json!({
            "iss": "https://l.test/oidc", "sub": "u1", "aud": "app",
            "exp": NOW + 3600, "iat": NOW, "nonce": "n1"
        });
        for (k, v) in patch.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://l.test/oidc",
            client_id: "app",
            nonce: Some("n1"),
            leeway: 30,
            now: NOW,
            access_token: Some("access-token"),
        }
    }

    fn reason(patch: serde_json::Value) -> String {
        match check(&claims(patch), &expected()) {
            Err(LogtoError::InvalidIdToken { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_a_good_token_within_leeway() {
        check(&claims(json!({})), &expected()).unwrap();
        check(
            &claims(json!({"exp": NOW - 29, "iat": NOW + 29})),
            &expected(),
        )
        .unwrap();
        check(&claims(json!({"aud": ["app"], "azp": "app"})), &expected()).unwrap();
    }

    #[test]
    fn refuses_an_empty_subject_and_untrusted_audiences() {
        assert!(reason(json!({"sub": ""})).contains("subject"));
        assert!(
            reason(json!({"aud": ["app", "https://untrusted.example"], "azp": "app"}))
                .contains("https://untrusted.example")
        );
    }

    #[test]
    fn refuses_a_typ_other_than_jwt() {
        let header = |typ: Option<&str>| {
            let mut json = json!({"alg": "ES384", "kid": "k"});
            if let Some(typ) = typ {
                json["typ"] = json!(typ);
            }
            Header::from_json(json.to_string().as_bytes()).unwrap()
        };
        for ok in [None, Some("JWT"), Some("jwt"), Some("application/jwt")] {
            check_header(&header(ok)).unwrap();
        }
        for bad in ["at+jwt", "application/at+jwt", "JOSE", ""] {
            assert!(check_header(&header(Some(bad))).is_err(), "{bad}");
        }
    }

    #[test]
    fn at_hash_is_checked_when_present() {
        // OpenID Connect Core §A.3's example: the access token of the hybrid flow example and
        // its at_hash (RS256).
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                Algorithm::Rs256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        let good = at_hash("access-token", Algorithm::Es384);
        assert_eq!(good.len(), 32, "24 bytes of SHA-384, base64url");
        let with = |hash: &str| claims(json!({ "at_hash": hash }));
        check_with_alg(&with(&good), Algorithm::Es384, &expected()).unwrap();
        check_with_alg(&claims(json!({})), Algorithm::Es384, &expected()).unwrap();
        for (hash, alg) in [
            (good.as_str(), Algorithm::Es256),
            ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Algorithm::Es384),
        ] {
            match check_with_alg(&with(hash), alg, &expected()) {
                Err(LogtoError::InvalidIdToken { reason, .. }) => {
                    assert!(reason.contains("at_hash"), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            at_hash("x", Algorithm::EdDsa).len(),
            43,
            "32 bytes of SHA-512"
        );
    }

    #[test]
    fn refuses_each_bad_claim() {
        assert!(reason(json!({"iss": "https://evil.test/oidc"})).contains("issuer"));
        assert!(reason(json!({"aud": "other"})).contains("audience"));
        assert!(reason(json!({"aud": ["app", "other"]})).contains("azp"));
        // One audience, this app, but issued to another party.
        assert!(reason(json!({"aud": "app", "azp": "other"})).contains("azp"));
        assert!(reason(json!({"aud": "app", "azp": 1})).contains("azp"));
        assert!(reason(json!({"exp": NOW - 30})).contains("expired"));
        assert!(reason(json!({"iat": NOW + 31})).contains("future"));
        assert!(reason(json!({"nonce": "n2"})).contains("nonce"));
        assert!(reason(json!({"nonce": null})).contains("nonce"));
    }

    #[test]
    fn with_max_age_auth_time_is_required_and_recent_enough() {
        let fresh = claims(json!({"auth_time": NOW - 100}));
        check_auth_time(&fresh, 300, 30, NOW).unwrap();
        let old = claims(json!({"auth_time": NOW - 1000}));
        assert!(check_auth_time(&old, 300, 30, NOW).is_err());
        let missing = claims(json!({}));
        assert!(check_auth_time(&missing, 300, 30, NOW).is_err());
        let not_a_time = claims(json!({"auth_time": "yesterday"}));
        assert!(check_auth_time(&not_a_time, 300, 30, NOW).is_err());
    }
}
