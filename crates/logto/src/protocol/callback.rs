//! Checks of the URL Logto redirects back to after sign-in.

use url::Url;

use super::sign_in::SignInSession;
use crate::error::LogtoError;

/// The parameters of a callback that belongs to the pending sign-in (redirect URI and `state`
/// match). What it says is checked by [`CallbackParams::into_code`].
#[derive(Debug)]
pub(crate) struct CallbackParams {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// Checks that `callback_url` answers `session`: same scheme, host, port and path as the redirect
/// URI, and the same `state`. Nothing else is trusted before this passes.
pub(crate) fn match_callback(
    callback_url: &str,
    session: &SignInSession,
) -> Result<CallbackParams, LogtoError> {
    let callback = Url::parse(callback_url).map_err(|e| {
        LogtoError::InvalidArgument(format!(
            "the callback URL is not an absolute URL ({e}); pass the full URL of the request"
        ))
    })?;
    let expected =
        Url::parse(&session.redirect_uri).map_err(|_| LogtoError::SignInSessionMissing)?;
    let same_target = callback.scheme() == expected.scheme()
        && callback.host_str() == expected.host_str()
        && callback.port_or_known_default() == expected.port_or_known_default()
        && callback.path() == expected.path();
    if !same_target {
        return Err(LogtoError::CallbackUriMismatch {
            expected: session.redirect_uri.clone(),
        });
    }
    let mut params = CallbackParams {
        code: None,
        error: None,
        error_description: None,
        iss: None,
    };
    let mut state = None;
    for (name, value) in callback.query_pairs() {
        let slot = match name.as_ref() {
            "code" => &mut params.code,
            "error" => &mut params.error,
            "error_description" => &mut params.error_description,
            "iss" => &mut params.iss,
            "state" => &mut state,
            _ => continue,
        };
        if slot.is_some() {
            // A repeated parameter is ambiguous: refuse rather than pick one.
            return Err(LogtoError::InvalidArgument(format!(
                "the callback URL repeats the parameter {name:?}"
            )));
        }
        *slot = Some(value.into_owned());
    }
    if !state.is_some_and(|state| constant_time_eq(&state, &session.state)) {
        return Err(LogtoError::StateMismatch);
    }
    Ok(params)
}

impl CallbackParams {
    /// The authorization code, once Logto's error (if any) and the issuer (RFC 9207) are checked.
    pub(crate) fn into_code(
        self,
        issuer: &str,
        issuer_parameter_required: bool,
    ) -> Result<String, LogtoError> {
        match &self.iss {
            Some(iss) if iss != issuer => {
                return Err(LogtoError::IssuerMismatch {
                    expected: issuer.to_owned(),
                });
            }
            None if issuer_parameter_required => {
                return Err(LogtoError::IssuerMismatch {
                    expected: issuer.to_owned(),
                });
            }
            _ => {}
        }
        if let Some(error) = self.error {
            return Err(LogtoError::SignInFailed {
                error,
                description: self.error_description,
            });
        }
        self.code
            .filter(|code| !code.is_empty())
            .ok_or(LogtoError::MissingCode)
    }
}

/// Compares two secrets without leaking, through timing, how long a prefix they share.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://logto.test/oidc";

    fn session() -> SignInSession {
        SignInSession {
            redirect_uri: "https://app.test/callback".into(),
            code_verifier: "v".into(),
            state: "the-state".into(),
            nonce: "n".into(),
            created_at: 1,
        }
    }

    fn code_of(url: &str) -> Result<String, LogtoError> {
        match_callback(url, &session())?.into_code(ISSUER, true)
    }

    #[test]
    fn accepts_a_matching_callback() {
        let url = "https://app.test/callback?code=abc&state=the-state&iss=https%3A%2F%2Flogto.test%2Foidc";
        assert_eq!(code_of(url).unwrap(), "abc");
        // The default port written out is the same target.
        let url =
            "https://app.test:443/callback?code=abc&state=the-state&iss=https://logto.test/oidc";
        assert_eq!(code_of(url).unwrap(), "abc");
    }

    #[test]
    fn refuses_other_targets() {
        for url in [
            "https://app.test/other?code=abc&state=the-state",
            "http://app.test/callback?code=abc&state=the-state",
            "https://evil.test/callback?code=abc&state=the-state",
            "https://app.test:8443/callback?code=abc&state=the-state",
        ] {
            assert!(
                matches!(code_of(url), Err(LogtoError::CallbackUriMismatch { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            code_of("/callback?code=x"),
            Err(LogtoError::InvalidArgument(_))
        ));
    }

    #[test]
    fn refuses_wrong_missing_or_repeated_state() {
        for url in [
            "https://app.test/callback?code=abc&state=other",
            "https://app.test/callback?code=abc",
            "https://app.test/callback?code=abc&state=the-stat",
        ] {
            assert!(
                matches!(code_of(url), Err(LogtoError::StateMismatch)),
                "{url}"
            );
        }
        let url = "https://app.test/callback?code=abc&state=the-state&state=other";
        assert!(matches!(code_of(url), Err(LogtoError::InvalidArgument(_))));
    }

    #[test]
    fn turns_logto_errors_into_typed_errors() {
        let url = "https://app.test/callback?error=access_denied&error_description=User+cancelled&state=the-state&iss=https://logto.test/oidc";
        match code_of(url) {
            Err(LogtoError::SignInFailed { error, description }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("User cancelled"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn checks_the_issuer_parameter() {
        let wrong = "https://app.test/callback?code=abc&state=the-state&iss=https://evil.test/oidc";
        assert!(matches!(
            code_of(wrong),
            Err(LogtoError::IssuerMismatch { .. })
        ));
        let missing = "https://app.test/callback?code=abc&state=the-state";
        assert!(matches!(
            code_of(missing),
            Err(LogtoError::IssuerMismatch { .. })
        ));
        // A provider that does not advertise RFC 9207 may leave it out.
        let params = match_callback(missing, &session()).unwrap();
        assert_eq!(params.into_code(ISSUER, false).unwrap(), "abc");
    }

    #[test]
    fn requires_a_code() {
        let url = "https://app.test/callback?state=the-state&iss=https://logto.test/oidc";
        assert!(matches!(code_of(url), Err(LogtoError::MissingCode)));
    }
}
