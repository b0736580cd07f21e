//! The one error type of this crate.

use std::error::Error as StdError;

/// A boxed error from a lower layer (HTTP client, storage back end).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong in the Logto client.
///
/// Each message says what happened and, where there is something to do, what to do.
/// Tokens and secrets never appear in these messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogtoError {
    /// The configuration cannot be used (bad endpoint URL, empty app id…).
    #[error("invalid Logto configuration: {0}")]
    InvalidConfig(String),

    /// A sign-in option or argument cannot be used (bad redirect URI, reserved extra parameter…).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A root certificate given with
    /// [`root_certificate`](crate::LogtoConfigBuilder::root_certificate) is not usable.
    #[error(
        "the root certificate is not usable ({0}); pass the CA certificate as PEM (`-----BEGIN CERTIFICATE-----`)"
    )]
    InvalidRootCertificate(String),

    /// Logto's TLS certificate is not trusted (a private CA, a self-signed or expired
    /// certificate, a wrong host name): pass the CA with
    /// [`root_certificate`](crate::LogtoConfigBuilder::root_certificate).
    #[error(
        "Logto's TLS certificate is not trusted ({operation}): {source}; pass its CA with .root_certificate(pem), or fix the certificate"
    )]
    UntrustedCertificate {
        /// What the client was doing (`discovery`, `token request`…).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// A request to Logto did not complete: connection refused, DNS, TLS or a timeout.
    #[error(
        "could not reach Logto for {operation}: {source}; check the endpoint and that Logto is up"
    )]
    Network {
        /// What the client was doing (`discovery`, `token request`…).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// Logto failed recently (a 5xx, unreachable, a timeout), so the request was not sent: the
    /// client backs off for a while, across every request of the process, instead of adding load
    /// to a failing server. Try again after `retry_after` (answer `503` with `Retry-After`).
    #[error(
        "Logto is unavailable (it failed recently), so the {operation} was not sent: try again in {} s",
        retry_after.as_secs().max(1)
    )]
    Unavailable {
        /// What the client was about to do.
        operation: &'static str,
        /// How long until a request goes to Logto again.
        retry_after: std::time::Duration,
    },

    /// Logto answered something the client cannot use (wrong status, not JSON, missing fields).
    #[error("unexpected response from Logto for {operation} (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// What the client was doing.
        operation: &'static str,
        /// The HTTP status code.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },

    /// Logto's token endpoint issued a token of a type other than `Bearer` (RFC 6750), the only
    /// type this client can use (and the only one Logto issues).
    #[error(
        "Logto issued a token of type {}, not Bearer, the only type this client can use",
        match .token_type { Some(token_type) => format!("{token_type:?}"), None => "(none given)".to_owned() }
    )]
    UnsupportedTokenType {
        /// The `token_type` of the token response, if any.
        token_type: Option<String>,
    },

    /// Logto's token endpoint refused a request with an OAuth 2.0 error.
    #[error("Logto refused the token request: {error}{}", describe(.description))]
    TokenRequest {
        /// The OAuth 2.0 error code (`invalid_grant`, `invalid_client`, `access_denied`…).
        error: crate::OAuthErrorCode,
        /// Logto's human-readable description, when it sent one.
        description: Option<String>,
    },

    /// The refresh token was rejected (`invalid_grant`): it expired or was revoked. The local session
    /// has been cleared; sign the user in again.
    #[error(
        "the session expired or was revoked (invalid_grant); it has been cleared: sign the user in again"
    )]
    SessionExpired,

    /// No user is signed in (no ID token in storage): sign the user in first.
    #[error("not authenticated: sign the user in first")]
    NotAuthenticated,

    /// A new access token is needed but the session has no refresh token: request the
    /// `offline_access` scope with `prompt=consent` (the default), or sign the user in again.
    #[error(
        "no refresh token in the session: sign the user in again (offline_access needs prompt=consent)"
    )]
    NoRefreshToken,

    /// `handle_sign_in_callback` was called but no sign-in is pending in this storage (never
    /// started, already completed, or the session was lost): start again with `sign_in`.
    #[error("no sign-in session found (missing, expired or already used): start the sign-in again")]
    SignInSessionMissing,

    /// `handle_sign_in_callback` was called more than ten minutes after `sign_in`: the pending
    /// sign-in has expired (and is now removed). Start again with `sign_in`.
    #[error(
        "the sign-in took too long (more than 10 minutes from sign_in to the callback): start the sign-in again"
    )]
    SignInSessionExpired,

    /// The callback URL does not match the redirect URI used for the sign-in.
    #[error("the callback URL does not match the redirect URI of the sign-in ({expected})")]
    CallbackUriMismatch {
        /// The redirect URI the sign-in was started with.
        expected: String,
    },

    /// The callback's `state` does not match the sign-in session: a forged or stale callback.
    #[error("the callback's state does not match the sign-in session: start the sign-in again")]
    StateMismatch,

    /// The callback's `iss` (RFC 9207) is missing or not Logto's issuer: a mix-up attack or a
    /// misconfigured endpoint.
    #[error("the callback's issuer does not match Logto's issuer {expected}")]
    IssuerMismatch {
        /// The issuer from Logto's discovery document.
        expected: String,
    },

    /// Logto sent the user back with an error (for example `access_denied` when the user cancelled).
    #[error("sign-in failed at Logto: {error}{}", describe(.description))]
    SignInFailed {
        /// The OAuth 2.0 error code.
        error: crate::OAuthErrorCode,
        /// Logto's description, when present.
        description: Option<String>,
    },

    /// The callback URL has neither `code` nor `error`.
    #[error("the callback URL has no authorization code")]
    MissingCode,

    /// The ID token failed verification: signature, issuer, audience, expiry, nonce or subject.
    #[error("invalid ID token: {reason}")]
    InvalidIdToken {
        /// Which check failed.
        reason: String,
        /// The JOSE error, when the failure is cryptographic or structural.
        #[source]
        source: Option<logto_jwt::Error>,
    },

    /// A Back-Channel Logout token failed verification (signature, issuer, audience, times,
    /// the logout event, `sid`/`sub`, `jti`, no `nonce`): answer `400`.
    #[error("invalid logout token: {reason}")]
    InvalidLogoutToken {
        /// Which check failed.
        reason: String,
    },

    /// A token in storage or from Logto could not be decoded.
    #[error("could not decode {what}: {detail}")]
    InvalidToken {
        /// Which token.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },

    /// The userinfo response is about another user than the ID token.
    #[error("the userinfo response's `sub` does not match the ID token's: refusing it")]
    UserInfoSubjectMismatch,

    /// Organization tokens need the `urn:logto:scope:organizations` scope in the configuration
    /// (`UserInfoScope::Organizations`); add it and sign the user in again.
    #[error(
        "organization tokens need the scope `urn:logto:scope:organizations` (UserInfoScope::Organizations): add it to the config and sign in again"
    )]
    MissingOrganizationsScope,

    /// An access token was asked for an API resource that the user did not sign in with: it is not
    /// in the configuration's resources, or was added to them after the user signed in. Nothing
    /// was sent: Logto would refuse it (`invalid_target`), and may spend the refresh token doing
    /// so, which would sign the user out. Add the resource to
    /// [`LogtoConfigBuilder::resources`](crate::LogtoConfigBuilder::resources) and sign the user in
    /// again.
    #[error(
        "no access token for the API resource {resource:?}: it is not among the resources the user signed in with; add it to the config's resources (LogtoConfigBuilder::resources) and sign the user in again"
    )]
    ResourceNotConfigured {
        /// The resource asked for.
        resource: String,
    },

    /// The user is not a member of the organization, or the organization has no access.
    #[error(
        "access to organization {organization_id} was denied: the user is not a member or lacks the role"
    )]
    OrganizationAccessDenied {
        /// The organization asked for.
        organization_id: String,
    },

    /// The storage back end failed.
    #[error("session storage failed: {0}")]
    Storage(#[source] BoxError),
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(text) => format!(" ({text})"),
        None => String::new(),
    }
}

impl LogtoError {
    /// True when the error is a timeout talking to Logto.
    pub fn is_timeout(&self) -> bool {
        match self {
            LogtoError::Network { source, .. } => source
                .downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout),
            _ => false,
        }
    }

    /// True when the user has to sign in (again) to go on.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            LogtoError::NotAuthenticated
                | LogtoError::SessionExpired
                | LogtoError::NoRefreshToken
                | LogtoError::SignInSessionMissing
                | LogtoError::SignInSessionExpired
        )
    }

    pub(crate) fn id_token(reason: impl Into<String>) -> Self {
        LogtoError::InvalidIdToken {
            reason: reason.into(),
            source: None,
        }
    }
}
