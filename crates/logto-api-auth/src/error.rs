use crate::ScopeRequirement;

/// Why an access token was rejected. Kept for server logs and tests; the
/// HTTP answer only ever says `invalid_token`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Parsing, key selection, signature or time checks failed.
    #[error(transparent)]
    Jwt(logto_jwt::Error),
    /// The header's `typ` is not `at+jwt`: not an access token (an ID
    /// token, say).
    #[error("token type is not `at+jwt`; send an access token, not an ID token")]
    WrongType,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not the configured Logto tenant")]
    WrongIssuer,
    /// `aud` does not name the expected API resource or organization.
    #[error(
        "token audience is not this API; request the token with the API's resource indicator (or organization id)"
    )]
    WrongAudience,
    /// A claim Logto always sets is absent or has the wrong type.
    #[error("claim `{0}` is missing or malformed")]
    BadClaim(&'static str),
}

/// Errors of extraction and validation, per request (building a validator
/// fails with a [`BuildError`]).
///
/// For HTTP answers use [`AuthError::status`], [`AuthError::code`],
/// [`AuthError::public_message`] and [`AuthError::www_authenticate`] (the
/// axum integration does this for you). [`std::fmt::Display`] carries more
/// detail, for logs; it never contains the token.
///
/// ```
/// use logto_api_auth::{AuthError, extract_bearer};
/// let err = extract_bearer(Some("Basic dXNlcjpwYXNz")).unwrap_err();
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.code(), "auth.authorization_token_type_not_supported");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No (or an empty) `Authorization` header.
    #[error("request has no Authorization header; send `Authorization: Bearer <access token>`")]
    HeaderMissing,
    /// The header is not `<scheme> <token>` with a well-formed token.
    #[error(
        "Authorization header is not `Bearer <token>` (one space-separated token of base64url/JWT characters)"
    )]
    InvalidFormat,
    /// The scheme is not `Bearer`.
    #[error("Authorization scheme is not supported; use `Bearer`")]
    UnsupportedScheme,
    /// The token failed a check.
    #[error("access token rejected: {0}")]
    InvalidToken(TokenRejection),
    /// The token is valid but lacks scopes.
    #[error("access token lacks the required scopes ({0})")]
    InsufficientScope(ScopeRequirement),
    /// The issuer's keys could not be loaded, so no token can be checked
    /// (the tenant is unreachable and no key set was fetched before).
    #[error("cannot load the issuer's signing keys: {0}")]
    KeysUnavailable(logto_jwt::Error),
    /// A route asked for the verified token without a [`Validator`](crate::Validator) in reach:
    /// a routing bug, answered 500.
    #[error(
        "the access token was asked for on a route without the validator; axum: add \
         `.route_layer(AuthLayer::new(validator))` (or the validator as state); actix-web: wrap \
         the route in `ApiAuth::new(validator)` or add `.app_data(web::Data::new(validator))`"
    )]
    MissingLayer,
}

/// Why a [`Validator`](crate::Validator) could not be built (returned by
/// [`ValidatorBuilder::build`](crate::ValidatorBuilder::build); per-request
/// failures are [`AuthError`]s).
///
/// ```
/// # async fn run() {
/// use logto_api_auth::{BuildError, Validator};
/// let err = Validator::builder("https://tenant.logto.app").build().await.unwrap_err();
/// assert!(matches!(err, BuildError::Config(_))); // no audience
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The validator was configured wrongly.
    #[error("invalid validator configuration: {0}")]
    Config(String),
    /// Discovery of the tenant's OpenID configuration failed.
    #[error("OpenID discovery failed: {0}")]
    Discovery(String),
    /// The discovery document names another issuer than the tenant it was
    /// fetched from (OpenID Connect Discovery §4.3): it is not trusted.
    #[error(
        "the discovered issuer {discovered:?} is not {expected:?}; check the endpoint (the Logto endpoint, without /oidc)"
    )]
    IssuerMismatch {
        /// The issuer the validator was configured for (`<endpoint>/oidc`).
        expected: String,
        /// The issuer the discovery document named (shortened).
        discovered: String,
    },
    /// A URL the validator would fetch from (the endpoint or the
    /// `jwks_uri`) is plain `http://` on a host other than the loopback
    /// interface: keys could be swapped on the way.
    #[error(
        "the {what} {url:?} is plain http on a non-loopback host; use https, or call .allow_insecure_http(true) (for development only)"
    )]
    InsecureUrl {
        /// Which URL: `endpoint` or `jwks_uri`.
        what: &'static str,
        /// The URL refused (shortened).
        url: String,
    },
    /// A root certificate given with
    /// [`root_certificate`](crate::ValidatorBuilder::root_certificate) is
    /// not usable.
    #[error(
        "the root certificate is not usable ({0}); pass the CA certificate as PEM (`-----BEGIN CERTIFICATE-----`)"
    )]
    InvalidRootCertificate(String),
    /// The tenant's TLS certificate is not trusted (a private CA, a
    /// self-signed or expired certificate, a wrong host name): pass the CA
    /// with [`root_certificate`](crate::ValidatorBuilder::root_certificate).
    #[error(
        "the TLS certificate of {url} is not trusted ({detail}); pass its CA with .root_certificate(pem), or fix the certificate"
    )]
    UntrustedCertificate {
        /// The URL fetched.
        url: String,
        /// The TLS error.
        detail: String,
    },
}

impl AuthError {
    pub(crate) fn token(e: logto_jwt::Error) -> AuthError {
        if e.is_key_source_error() {
            AuthError::KeysUnavailable(e)
        } else {
            AuthError::InvalidToken(TokenRejection::Jwt(e))
        }
    }

    /// The HTTP status to answer with: 401, 403 for missing scopes, 503
    /// when keys are unavailable, 500 for a routing bug.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            AuthError::HeaderMissing
            | AuthError::InvalidFormat
            | AuthError::UnsupportedScheme
            | AuthError::InvalidToken(_) => 401,
            AuthError::InsufficientScope(_) => 403,
            AuthError::KeysUnavailable(_) => 503,
            AuthError::MissingLayer => 500,
        }
    }

    /// The error code of the JSON body (the codes of Logto's API protection guide, plus
    /// RFC 6750's).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::HeaderMissing => "auth.authorization_header_missing",
            AuthError::InvalidFormat => "auth.authorization_token_invalid_format",
            AuthError::UnsupportedScheme => "auth.authorization_token_type_not_supported",
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::InsufficientScope(_) => "insufficient_scope",
            AuthError::KeysUnavailable(_) => "auth.keys_unavailable",
            AuthError::MissingLayer => "internal_error",
        }
    }

    /// A message safe to show to the client: it names the problem class
    /// only, never which check failed.
    #[must_use]
    pub fn public_message(&self) -> &'static str {
        match self {
            AuthError::HeaderMissing => "Authorization header is missing.",
            AuthError::InvalidFormat => "Authorization header value is in an invalid format.",
            AuthError::UnsupportedScheme => "Authorization scheme is not supported; use Bearer.",
            AuthError::InvalidToken(_) => "The access token is invalid.",
            AuthError::InsufficientScope(_) => "The access token lacks a required scope.",
            AuthError::KeysUnavailable(_) => "Token validation is temporarily unavailable.",
            AuthError::MissingLayer => "Internal server error.",
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3): no error attribute when
    /// the request carried no bearer credentials, `invalid_request`,
    /// `invalid_token`, or `insufficient_scope` with the required scopes.
    /// `None` for server-side errors.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<String> {
        Some(match self {
            AuthError::HeaderMissing | AuthError::UnsupportedScheme => "Bearer".to_owned(),
            AuthError::InvalidFormat => r#"Bearer error="invalid_request""#.to_owned(),
            AuthError::InvalidToken(_) => r#"Bearer error="invalid_token""#.to_owned(),
            AuthError::InsufficientScope(req) => {
                let scope: Vec<&str> = req
                    .scopes()
                    .iter()
                    .map(String::as_str)
                    // Scope tokens cannot contain `"` or `\` (RFC 6749 §3.3);
                    // configured values are filtered anyway.
                    .filter(|s| !s.contains(['"', '\\']))
                    .collect();
                format!(
                    r#"Bearer error="insufficient_scope", scope="{}""#,
                    scope.join(" ")
                )
            }
            _ => return None,
        })
    }

    /// The JSON body: `{"code": "…", "message": "…"}`.
    #[must_use]
    pub fn body_json(&self) -> String {
        serde_json::json!({"code": self.code(), "message": self.public_message()}).to_string()
    }
}
