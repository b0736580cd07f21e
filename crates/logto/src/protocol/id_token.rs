//! The claim checks of an ID token whose signature has been verified (OpenID Connect Core §3.1.3.7).

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
}

pub(crate) fn check(claims: &IdTokenClaims, expected: &Expected<'_>) -> Result<(), LogtoError> {
    if claims.iss != expected.issuer {
        return Err(LogtoError::id_token(format!(
            "issuer {:?} is not Logto's issuer {:?}",
            claims.iss, expected.issuer
        )));
    }
    if !claims.aud.iter().any(|aud| aud == expected.client_id) {
        return Err(LogtoError::id_token(
            "audience does not include this app's id",
        ));
    }
    if claims.aud.len() > 1 {
        let azp = claims.extra.get("azp").and_then(|v| v.as_str());
        if azp != Some(expected.client_id) {
            return Err(LogtoError::id_token(
                "several audiences and the authorized party (azp) is not this app",
            ));
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
        check(
            &claims(json!({"aud": ["app", "other"], "azp": "app"})),
            &expected(),
        )
        .unwrap();
    }

    #[test]
    fn refuses_each_bad_claim() {
        assert!(reason(json!({"iss": "https://evil.test/oidc"})).contains("issuer"));
        assert!(reason(json!({"aud": "other"})).contains("audience"));
        assert!(reason(json!({"aud": ["app", "other"]})).contains("azp"));
        assert!(reason(json!({"exp": NOW - 30})).contains("expired"));
        assert!(reason(json!({"iat": NOW + 31})).contains("future"));
        assert!(reason(json!({"nonce": "n2"})).contains("nonce"));
        assert!(reason(json!({"nonce": null})).contains("nonce"));
    }
}
