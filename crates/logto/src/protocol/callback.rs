//! Checks of the URL Logto redirects back to after sign-in.

use serde::{Deserialize, Serialize};
use url::Url;

use super::sign_in::SignInSession;
use crate::error::LogtoError;

/// How many sign-ins may be pending at once in one storage (one per browser tab, say); starting
/// another drops the oldest.
pub(crate) const MAX_PENDING_SIGN_INS: usize = 8;

/// The sign-ins started and not yet completed in one storage, oldest first, told apart by their
/// `state`: a user who starts a sign-in in two tabs can complete either.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "StoredSignIns", into = "Vec<SignInSession>")]
pub(crate) struct PendingSignIns(Vec<SignInSession>);

/// What storage holds: a list, or one sign-in as stored by earlier versions.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSignIns {
    Many(Vec<SignInSession>),
    One(SignInSession),
}

impl From<StoredSignIns> for PendingSignIns {
    fn from(stored: StoredSignIns) -> Self {
        match stored {
            StoredSignIns::Many(sessions) => PendingSignIns(sessions),
            StoredSignIns::One(session) => PendingSignIns(vec![session]),
        }
    }
}

impl From<PendingSignIns> for Vec<SignInSession> {
    fn from(pending: PendingSignIns) -> Self {
        pending.0
    }
}

impl PendingSignIns {
    /// Adds a sign-in started at `now`, dropping expired ones and, past
    /// [`MAX_PENDING_SIGN_INS`], the oldest.
    pub(crate) fn add(&mut self, session: SignInSession, now: u64) {
        self.0.retain(|s| !s.is_expired(now));
        self.0.push(session);
        let excess = self.0.len().saturating_sub(MAX_PENDING_SIGN_INS);
        self.0.drain(..excess);
    }

    /// Whether no sign-in is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The position of the pending sign-in that `callback_url`'s `state` names.
    ///
    /// [`LogtoError::SignInSessionMissing`] when none is pending, [`LogtoError::StateMismatch`]
    /// when the state names none of them; a URL that does not parse is
    /// [`LogtoError::InvalidArgument`].
    pub(crate) fn find(&self, callback_url: &str) -> Result<usize, LogtoError> {
        let callback = parse_callback_url(callback_url)?;
        if self.0.is_empty() {
            return Err(LogtoError::SignInSessionMissing);
        }
        let state = callback
            .query_pairs()
            .find(|(name, _)| name == "state")
            .map(|(_, value)| value.into_owned())
            .ok_or(LogtoError::StateMismatch)?;
        // Every pending state is compared, so the time taken does not tell which one matched.
        self.0
            .iter()
            .enumerate()
            .fold(None, |found, (index, session)| {
                found.or(constant_time_eq(&state, &session.state).then_some(index))
            })
            .ok_or(LogtoError::StateMismatch)
    }

    /// The pending sign-in at `index`.
    pub(crate) fn get(&self, index: usize) -> &SignInSession {
        &self.0[index]
    }

    /// Removes and returns the pending sign-in at `index`.
    pub(crate) fn remove(&mut self, index: usize) -> SignInSession {
        self.0.remove(index)
    }
}

fn parse_callback_url(callback_url: &str) -> Result<Url, LogtoError> {
    Url::parse(callback_url).map_err(|e| {
        LogtoError::InvalidArgument(format!(
            "the callback URL is not an absolute URL ({e}); pass the full URL of the request"
        ))
    })
}

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
    let callback = parse_callback_url(callback_url)?;
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
                error: crate::OAuthErrorCode::new(&error),
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
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
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
            max_age: None,
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
                assert_eq!(error, crate::OAuthErrorCode::AccessDenied);
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

    fn pending(state: &str, created_at: u64) -> SignInSession {
        SignInSession {
            state: state.into(),
            created_at,
            ..session()
        }
    }

    #[test]
    fn pending_sign_ins_are_found_by_state_and_bounded() {
        let mut all = PendingSignIns::default();
        let url = |state: &str| format!("https://app.test/callback?code=c&state={state}");
        assert!(matches!(
            all.find(&url("a")),
            Err(LogtoError::SignInSessionMissing)
        ));
        all.add(pending("a", 1_000), 1_000);
        all.add(pending("b", 1_001), 1_001);
        assert_eq!(all.find(&url("a")).unwrap(), 0);
        assert_eq!(all.find(&url("b")).unwrap(), 1);
        assert!(matches!(
            all.find(&url("c")),
            Err(LogtoError::StateMismatch)
        ));
        assert!(matches!(
            all.find("https://app.test/callback?code=c"),
            Err(LogtoError::StateMismatch)
        ));
        assert_eq!(all.remove(0).state, "a");
        assert_eq!(all.find(&url("b")).unwrap(), 0);

        // Past the bound, the oldest go; expired ones go at the next start.
        for i in 0..20 {
            all.add(pending(&format!("s{i}"), 1_100 + i), 1_100 + i);
        }
        assert_eq!(all.0.len(), MAX_PENDING_SIGN_INS);
        assert_eq!(all.0[0].state, format!("s{}", 20 - MAX_PENDING_SIGN_INS));
        all.add(pending("late", 5_000), 5_000);
        assert_eq!(all.0.len(), 1);
    }

    #[test]
    fn one_pending_sign_in_stored_by_earlier_versions_still_reads() {
        let one = serde_json::to_string(&session()).unwrap();
        let all: PendingSignIns = serde_json::from_str(&one).unwrap();
        assert_eq!(all.0.len(), 1);
        let stored = serde_json::to_value(&all).unwrap();
        assert!(stored.is_array(), "{stored}");
    }

    #[test]
    fn requires_a_code() {
        let url = "https://app.test/callback?state=the-state&iss=https://logto.test/oidc";
        assert!(matches!(code_of(url), Err(LogtoError::MissingCode)));
    }
}
