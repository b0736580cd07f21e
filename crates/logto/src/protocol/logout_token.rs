//! The checks of a Back-Channel Logout token whose signature has been verified (OpenID Connect
//! Back-Channel Logout 1.0 §2.4 and §2.6).

use logto_jwt::Header;
use serde_json::{Map, Value};

use crate::error::LogtoError;

/// The event a logout token must carry.
pub const BACK_CHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A verified logout token: Logto asks to end the sessions of a Logto session (`sid`) or of a
/// user (`sub`). At least one of the two is present.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutToken {
    /// The user whose sessions end.
    pub sub: Option<String>,
    /// The Logto session that ended (the `sid` of the ID tokens it issued).
    pub sid: Option<String>,
    /// The token's unique id: a token seen twice is a replay.
    pub jti: String,
    /// When Logto issued it, seconds since the epoch.
    pub iat: u64,
}

/// What a logout token must say to be accepted.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) leeway: u64,
    pub(crate) now: u64,
}

/// How old a logout token may be, by its `iat`, whatever its `exp` says (plus the leeway): the
/// `jti`s of tokens seen are remembered for longer (see
/// [`LOGOUT_JTI_MEMORY`](crate::web::LOGOUT_JTI_MEMORY)), so that none is accepted twice.
pub(crate) const MAX_AGE: u64 = 600;

fn invalid(reason: impl Into<String>) -> LogtoError {
    LogtoError::InvalidLogoutToken {
        reason: reason.into(),
    }
}

/// Refuses a header whose `typ` is neither absent, `JWT` nor `logout+jwt`.
pub(crate) fn check_header(header: &Header) -> Result<(), LogtoError> {
    check_typ(header.typ.as_deref())
}

fn check_typ(typ: Option<&str>) -> Result<(), LogtoError> {
    match typ {
        None => Ok(()),
        Some(typ)
            if ["logout+jwt", "application/logout+jwt", "JWT"]
                .iter()
                .any(|t| typ.eq_ignore_ascii_case(t)) =>
        {
            Ok(())
        }
        Some(typ) => Err(invalid(format!(
            "the token type (typ) {typ:?} is not a logout token's (logout+jwt)"
        ))),
    }
}

/// The checks of §2.6 on the verified claims.
pub(crate) fn check(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<LogoutToken, LogtoError> {
    let string = |name: &str| -> Result<Option<String>, LogtoError> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) if !value.is_empty() => Ok(Some(value.clone())),
            Some(_) => Err(invalid(format!("{name} is not a non-empty string"))),
        }
    };
    let time = |name: &str| -> Result<Option<u64>, LogtoError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_number()
                .and_then(logto_jwt::numeric_date)
                .map(Some)
                .ok_or_else(|| invalid(format!("{name} is not a time"))),
        }
    };

    if string("iss")?.as_deref() != Some(expected.issuer) {
        return Err(invalid("the issuer is not Logto's"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let array_len = claims.get("aud").and_then(Value::as_array).map(Vec::len);
    if audiences.is_empty()
        || array_len.is_some_and(|len| len != audiences.len())
        || audiences.iter().any(|aud| *aud != expected.client_id)
    {
        return Err(invalid("the audience is not this app (only this app)"));
    }
    let iat = time("iat")?.ok_or_else(|| invalid("iat is missing"))?;
    if iat > expected.now.saturating_add(expected.leeway) {
        return Err(invalid("issued in the future (iat)"));
    }
    if time("exp")?.is_some_and(|exp| exp.saturating_add(expected.leeway) < expected.now) {
        return Err(invalid("expired (exp)"));
    }
    if iat.saturating_add(MAX_AGE).saturating_add(expected.leeway) < expected.now {
        return Err(invalid("too old (iat)"));
    }
    let event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACK_CHANNEL_LOGOUT_EVENT));
    if !matches!(event, Some(Value::Object(_))) {
        return Err(invalid(format!(
            "the events claim has no {BACK_CHANNEL_LOGOUT_EVENT} member (not a logout token)"
        )));
    }
    if claims.contains_key("nonce") {
        return Err(invalid("a logout token carries no nonce (an ID token?)"));
    }
    let (sub, sid) = (string("sub")?, string("sid")?);
    if sub.is_none() && sid.is_none() {
        return Err(invalid("neither sub nor sid says whose sessions end"));
    }
    let jti = string("jti")?.ok_or_else(|| invalid("jti is missing"))?;
    Ok(LogoutToken { sub, sid, jti, iat })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://logto.test/oidc",
            client_id: "app",
            leeway: 30,
            now: NOW,
        }
    }

    fn valid() -> Value {
        json!({
            "iss": "https://logto.test/oidc", "aud": "app", "iat": NOW - 1, "exp": NOW + 60,
            "jti": "j1", "sub": "user-1", "sid": "s1",
            "events": { BACK_CHANNEL_LOGOUT_EVENT: {} }
        })
    }

    fn check_value(value: Value) -> Result<LogoutToken, LogtoError> {
        check(value.as_object().unwrap(), &expected())
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Result<LogoutToken, LogtoError> {
        let mut value = valid();
        change(value.as_object_mut().unwrap());
        check_value(value)
    }

    #[test]
    fn a_valid_token_says_whose_sessions_end() {
        let token = check_value(valid()).unwrap();
        assert_eq!(token.sub.as_deref(), Some("user-1"));
        assert_eq!(token.sid.as_deref(), Some("s1"));
        assert_eq!(token.jti, "j1");
        with(|c| {
            c.remove("sid");
        })
        .unwrap();
        with(|c| {
            c.remove("sub");
            c.insert("aud".into(), json!(["app"]));
            c.remove("exp");
        })
        .unwrap();
    }

    #[test]
    fn every_violation_is_refused() {
        // Each case merges its members into a valid token; `null` removes one.
        let cases = [
            ("wrong issuer", json!({"iss": "https://evil.test/oidc"})),
            ("wrong audience", json!({"aud": "other"})),
            ("extra audience", json!({"aud": ["app", "other"]})),
            ("odd audience", json!({"aud": ["app", 7]})),
            ("no iat", json!({"iat": null})),
            ("future iat", json!({"iat": NOW + 600})),
            ("expired", json!({"exp": NOW - 600})),
            ("old without exp", json!({"exp": null, "iat": NOW - 3600})),
            // However late its `exp`: its `jti` would be forgotten before it expires.
            (
                "old with a late exp",
                json!({"iat": NOW - 3600, "exp": NOW + 86_400}),
            ),
            ("no events", json!({"events": null})),
            (
                "wrong event",
                json!({"events": {"http://schemas.openid.net/event/other": {}}}),
            ),
            (
                "event not an object",
                json!({"events": {BACK_CHANNEL_LOGOUT_EVENT: true}}),
            ),
            ("nonce", json!({"nonce": "n"})),
            ("neither sub nor sid", json!({"sub": null, "sid": null})),
            ("empty sid", json!({"sub": null, "sid": ""})),
            ("no jti", json!({"jti": null})),
            ("huge iat", json!({"iat": u64::MAX})),
        ];
        for (what, change) in cases {
            let err = with(|claims| {
                for (name, value) in change.as_object().unwrap() {
                    match value {
                        Value::Null => claims.remove(name),
                        value => claims.insert(name.clone(), value.clone()),
                    };
                }
            })
            .expect_err(what);
            assert!(
                matches!(err, LogtoError::InvalidLogoutToken { .. }),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn the_header_must_not_say_another_type() {
        check_typ(Some("logout+jwt")).unwrap();
        check_typ(None).unwrap();
        assert!(check_typ(Some("at+jwt")).is_err());
    }
}
