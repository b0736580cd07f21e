//! The one error type of this crate.

use std::sync::Arc;
use std::time::Duration;

use logto_jwt::http::{OAuthError, OAuthErrorCode};
use serde::Deserialize;
use serde_json::Value;

/// A lower layer's error (the HTTP client), shared by every caller that waited on the same
/// token request.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to Logto from a backend.
///
/// OAuth 2.0 errors of the token endpoint (client credentials, token exchange) have a variant each
/// for the codes Logto sends; any other code is kept in [`OAuth`](BackendError::OAuth). Management
/// API errors carry Logto's error body ([`ApiError`]): `code`, `message`, `data`, `details`.
/// Tokens and secrets never appear in these errors.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The configuration cannot be used (bad endpoint URL, plain http off this machine…).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// A root certificate given with `.root_certificate(pem)` is not usable.
    #[error(
        "the root certificate is not usable ({0}); pass the CA certificate as PEM (`-----BEGIN CERTIFICATE-----`)"
    )]
    InvalidRootCertificate(String),

    /// Logto's TLS certificate is not trusted (a private CA, a self-signed or expired
    /// certificate, a wrong host name): pass the CA with `.root_certificate(pem)`.
    #[error(
        "Logto's TLS certificate is not trusted ({operation}): {source}; pass its CA with .root_certificate(pem), or fix the certificate"
    )]
    UntrustedCertificate {
        /// What was being done.
        operation: &'static str,
        /// The HTTP client's error.
        #[source]
        source: SharedError,
    },

    /// Logto could not be reached: connection refused, DNS or TLS failure.
    #[error(
        "could not reach Logto for {operation}: {source}; check the endpoint and that Logto is up"
    )]
    Unreachable {
        /// What was being done (`token request`, `Management API`…).
        operation: &'static str,
        /// The HTTP client's error.
        #[source]
        source: SharedError,
    },

    /// Logto did not answer within the timeout.
    #[error(
        "Logto did not answer {operation} within {timeout:?}: check that Logto is up, or raise the timeout"
    )]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// The timeout that elapsed.
        timeout: Duration,
    },

    /// `invalid_client`: Logto does not know this app id and secret (wrong or rotated secret,
    /// deleted app). Check the M2M app's credentials in Logto Console.
    #[error(
        "Logto refused the app's credentials (invalid_client){}: check the app id and secret",
        describe(.description)
    )]
    InvalidClient {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// `invalid_target`: the API resource is unknown to Logto, or this app may not get tokens for
    /// it. Check the resource indicator, and for the Management API the tenant
    /// (`https://default.logto.app/api` on Logto OSS).
    #[error(
        "Logto refused the API resource (invalid_target){}: check the resource indicator",
        describe(.description)
    )]
    InvalidTarget {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// `invalid_grant`: the grant was refused, e.g. a subject token that is unknown, expired or
    /// already used in a token exchange.
    #[error("Logto refused the grant (invalid_grant){}", describe(.description))]
    InvalidGrant {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// `invalid_scope`: a requested scope is not allowed.
    #[error("Logto refused a scope (invalid_scope){}", describe(.description))]
    InvalidScope {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// `access_denied`: e.g. the app is not a member of the organization asked for.
    #[error("Logto denied access (access_denied){}", describe(.description))]
    AccessDenied {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// `unauthorized_client`: the app may not do this.
    #[error(
        "the app may not do this (unauthorized_client){}: check the app's type and settings in Logto",
        describe(.description)
    )]
    UnauthorizedClient {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// The app may not use this grant type: token exchange not enabled on the app (Logto's
    /// `customClientMetadata.allowTokenExchange`), or client credentials on an app that is not
    /// machine-to-machine. (Logto answers `invalid_request`, "requested grant type is not allowed
    /// for this client".)
    #[error(
        "the app may not use this grant type: enable token exchange on the app, or use a machine-to-machine app for client credentials"
    )]
    GrantNotAllowed,

    /// `invalid_request`: a parameter is missing or malformed.
    #[error("Logto refused the request as invalid (invalid_request){}", describe(.description))]
    InvalidRequest {
        /// Logto's `error_description`.
        description: Option<String>,
    },

    /// Another OAuth 2.0 error from Logto's token endpoint.
    #[error("Logto refused the token request: {error}{}", describe(.description))]
    OAuth {
        /// The OAuth 2.0 error code.
        error: OAuthErrorCode,
        /// Logto's `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
    },

    /// The Management API answered 404: the user, role or organization does not exist.
    #[error("not found in Logto: {0}")]
    NotFound(ApiError),

    /// The Management API refused the request's content (400 or 422): invalid input, or a value
    /// already in use (`user.username_already_in_use`…). [`ApiError::code`] says which.
    #[error("Logto refused the request: {0}")]
    Rejected(ApiError),

    /// The Management API refused the access token (401 or 403): the M2M app lacks the Management
    /// API's `all` scope (assign it a role with Management API access), or the token is for
    /// another resource.
    #[error(
        "the Management API refused the access token: {0}; give the M2M app a role with Management API access"
    )]
    Forbidden(ApiError),

    /// Another Management API error with Logto's error body.
    #[error("Management API error: {0}")]
    Api(ApiError),

    /// Logto answered something that cannot be used (a 5xx, not JSON, missing fields, too large).
    #[error("unexpected response from Logto for {operation} (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// What was being done.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

/// A Management API error body (Logto's `RequestError`: `packages/core/src/errors/RequestError`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// Logto's error code, e.g. `user.username_already_in_use`, `entity.not_exists_with_id`.
    pub code: String,
    /// The message, in English unless the request asked for another language.
    pub message: String,
    /// Extra data some errors carry.
    #[serde(default)]
    pub data: Value,
    /// Details of an input validation error.
    #[serde(default)]
    pub details: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}, {})", self.message, self.status, self.code)?;
        if let Some(details) = &self.details {
            write!(f, ": {details}")?;
        }
        Ok(())
    }
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(text) => format!(" ({text})"),
        None => String::new(),
    }
}

impl BackendError {
    /// True when Logto could not be reached or did not answer in time: worth retrying later.
    pub fn is_transient(&self) -> bool {
        match self {
            BackendError::Unreachable { .. } | BackendError::Timeout { .. } => true,
            BackendError::UnexpectedResponse { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The Management API error body, for the variants that have one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            BackendError::NotFound(e)
            | BackendError::Rejected(e)
            | BackendError::Forbidden(e)
            | BackendError::Api(e) => Some(e),
            _ => None,
        }
    }

    /// An OAuth 2.0 error response of the token endpoint as a variant.
    pub(crate) fn oauth(error: OAuthError, status: u16) -> Self {
        let OAuthError {
            code, description, ..
        } = error;
        match code {
            OAuthErrorCode::InvalidClient => BackendError::InvalidClient { description },
            OAuthErrorCode::InvalidTarget => BackendError::InvalidTarget { description },
            OAuthErrorCode::InvalidGrant => BackendError::InvalidGrant { description },
            OAuthErrorCode::InvalidScope => BackendError::InvalidScope { description },
            OAuthErrorCode::AccessDenied => BackendError::AccessDenied { description },
            OAuthErrorCode::UnauthorizedClient => BackendError::UnauthorizedClient { description },
            // oidc-provider's `lib/actions/token.js`, when the client's grant_types lack it.
            OAuthErrorCode::InvalidRequest
                if description.as_deref()
                    == Some("requested grant type is not allowed for this client") =>
            {
                BackendError::GrantNotAllowed
            }
            OAuthErrorCode::InvalidRequest => BackendError::InvalidRequest { description },
            error => BackendError::OAuth {
                error,
                description,
                status,
            },
        }
    }

    /// A Management API error status and body as a variant.
    pub(crate) fn api(operation: &'static str, status: u16, body: &[u8]) -> Self {
        let Ok(mut error) = logto_jwt::http::from_json_object::<ApiError>(body) else {
            let detail = if status >= 500 {
                "Logto failed; try again later".to_owned()
            } else {
                "an error status without Logto's error body".to_owned()
            };
            return BackendError::UnexpectedResponse {
                operation,
                status,
                detail,
            };
        };
        error.status = status;
        match status {
            404 => BackendError::NotFound(error),
            400 | 422 => BackendError::Rejected(error),
            401 | 403 => BackendError::Forbidden(error),
            _ => BackendError::Api(error),
        }
    }

    pub(crate) fn http(error: logto_jwt::http::HttpError) -> Self {
        match error {
            logto_jwt::http::HttpError::InvalidRootCertificate(detail) => {
                BackendError::InvalidRootCertificate(detail)
            }
            other => BackendError::InvalidConfig(other.to_string()),
        }
    }

    pub(crate) fn network(
        operation: &'static str,
        timeout: Duration,
        error: reqwest::Error,
    ) -> Self {
        if error.is_timeout() {
            BackendError::Timeout { operation, timeout }
        } else if logto_jwt::http::is_certificate_error(&error) {
            BackendError::UntrustedCertificate {
                operation,
                source: Arc::new(error.without_url()),
            }
        } else {
            BackendError::Unreachable {
                operation,
                source: Arc::new(error.without_url()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(code: &str, description: Option<&str>) -> OAuthError {
        let body = serde_json::json!({"error": code, "error_description": description});
        OAuthError::parse(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn oauth_codes_become_variants_and_unknown_ones_are_kept() {
        let e = BackendError::oauth(oauth("invalid_client", Some("no such client")), 401);
        assert!(
            matches!(e, BackendError::InvalidClient { description: Some(ref d) } if d == "no such client")
        );
        assert!(matches!(
            BackendError::oauth(oauth("invalid_target", None), 400),
            BackendError::InvalidTarget { .. }
        ));
        assert!(matches!(
            BackendError::oauth(oauth("invalid_grant", None), 400),
            BackendError::InvalidGrant { .. }
        ));
        assert!(matches!(
            BackendError::oauth(oauth("unauthorized_client", None), 400),
            BackendError::UnauthorizedClient { .. }
        ));
        assert!(matches!(
            BackendError::oauth(
                oauth(
                    "invalid_request",
                    Some("requested grant type is not allowed for this client")
                ),
                400
            ),
            BackendError::GrantNotAllowed
        ));
        assert!(matches!(
            BackendError::oauth(oauth("invalid_request", Some("missing x")), 400),
            BackendError::InvalidRequest { .. }
        ));
        let e = BackendError::oauth(oauth("slow_down", None), 400);
        assert!(matches!(
            e,
            BackendError::OAuth {
                error: OAuthErrorCode::SlowDown,
                status: 400,
                ..
            }
        ));
    }

    #[test]
    fn management_api_bodies_become_variants() {
        let body = br#"{"code":"entity.not_exists_with_id","message":"The user with ID `x` does not exist.","data":{"id":"x"}}"#;
        let BackendError::NotFound(e) = BackendError::api("get user", 404, body) else {
            panic!()
        };
        assert_eq!(e.code, "entity.not_exists_with_id");
        assert_eq!(e.status, 404);
        assert_eq!(e.data["id"], "x");
        let body = br#"{"code":"user.username_already_in_use","message":"in use","data":null}"#;
        assert!(matches!(
            BackendError::api("create user", 422, body),
            BackendError::Rejected(ApiError { ref code, .. }) if code == "user.username_already_in_use"
        ));
        assert!(matches!(
            BackendError::api("x", 403, br#"{"code":"auth.forbidden","message":"no"}"#),
            BackendError::Forbidden(_)
        ));
        let e = BackendError::api("x", 502, b"<html>bad gateway</html>");
        assert!(matches!(
            e,
            BackendError::UnexpectedResponse { status: 502, .. }
        ));
        assert!(e.is_transient());
    }
}
