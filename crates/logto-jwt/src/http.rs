//! The HTTP edge every Logto crate shares: how the client that talks to Logto is built (timeouts,
//! no redirects, rustls, extra root certificates or the user's own client), the size-capped body
//! read, the transport rule (https, or http on loopback), OpenID discovery with its issuer check
//! and the OAuth 2.0 error codes. `logto`, `logto-api-auth` and `logto-backend` build on it; applications configure it
//! through those crates' builders (`.root_certificate(pem)`, `.http_client(client)`).
//!
//! ```
//! use std::time::Duration;
//! use logto_jwt::http::{HttpError, HttpOptions};
//! // Not PEM: refused when the client is built, with a typed error.
//! let options = HttpOptions::default().root_certificate(b"not a certificate".to_vec());
//! assert!(matches!(
//!     options.client("my-app/1", Duration::from_secs(10)),
//!     Err(HttpError::InvalidRootCertificate(_))
//! ));
//! ```

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::is_loopback;

/// Largest response body read from Logto (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the Logto crates reach Logto: the certificates to trust besides the system's, or a ready
/// client.
///
/// The built client never follows redirects (codes, secrets and tokens must not be replayed to
/// wherever a redirect points), trusts the system's root certificates plus the ones given here,
/// and bounds every request by the configured timeout.
#[derive(Clone, Default)]
pub struct HttpOptions {
    root_certificates: Vec<Vec<u8>>,
    client: Option<reqwest::Client>,
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("root_certificates", &self.root_certificates.len())
            .field("custom_client", &self.client.is_some())
            .finish()
    }
}

impl HttpOptions {
    /// Trusts the certificate authorities in `pem` (one or several `-----BEGIN CERTIFICATE-----`
    /// blocks) besides the system's roots, e.g. the private CA of a self-hosted Logto. It is
    /// checked when the client is built. Ignored when [`http_client`](Self::http_client) is set.
    #[must_use]
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Uses `client` for every request to Logto, e.g. one with a proxy or client certificates.
    /// It **must not follow redirects** (`reqwest::redirect::Policy::none()`): a redirect would
    /// replay codes, secrets and tokens to wherever it points. Its own settings (proxy, TLS,
    /// connect timeout) apply; the configured timeout still bounds each request.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The client to talk to Logto with: the one given, else a new one with `user_agent`,
    /// `timeout` on each request and on connecting, no redirects, and the extra root
    /// certificates.
    ///
    /// # Errors
    /// [`HttpError::InvalidRootCertificate`] when a root certificate is not PEM or not a
    /// certificate; [`HttpError::Client`] when the TLS stack cannot be set up.
    pub fn client(
        &self,
        user_agent: &'static str,
        timeout: Duration,
    ) -> Result<reqwest::Client, HttpError> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let mut certificates = Vec::new();
        for (index, pem) in self.root_certificates.iter().enumerate() {
            let bundle = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                HttpError::InvalidRootCertificate(format!("root certificate #{}: {e}", index + 1))
            })?;
            if bundle.is_empty() {
                return Err(HttpError::InvalidRootCertificate(format!(
                    "root certificate #{} holds no `-----BEGIN CERTIFICATE-----` block",
                    index + 1
                )));
            }
            certificates.extend(bundle);
        }
        let has_roots = !certificates.is_empty();
        reqwest::Client::builder()
            // Codes, secrets and tokens must never be replayed to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            // Below the 5 s keep-alive of Node servers such as Logto's, so that a pooled
            // connection is never reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(4))
            .user_agent(user_agent)
            .tls_certs_merge(certificates)
            .build()
            .map_err(|e| {
                let detail = error_chain(&e);
                if has_roots {
                    HttpError::InvalidRootCertificate(detail)
                } else {
                    HttpError::Client(detail)
                }
            })
    }
}

/// Why the HTTP client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A root certificate given with `.root_certificate(pem)` is not usable.
    #[error(
        "the root certificate is not usable ({0}); pass the CA certificate as PEM (`-----BEGIN CERTIFICATE-----`)"
    )]
    InvalidRootCertificate(String),
    /// The TLS stack could not be set up.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Why a response body could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The body is larger than the cap; it was not read.
    #[error("the response is larger than {max} bytes")]
    TooLarge {
        /// The cap, in bytes.
        max: usize,
    },
    /// The connection failed while reading.
    #[error("reading the response failed: {0}")]
    Network(#[source] reqwest::Error),
}

/// Reads `response`'s body, refusing one larger than `max` bytes (by its `Content-Length` before
/// reading, else as it arrives).
///
/// # Errors
/// [`ReadError::TooLarge`], [`ReadError::Network`].
pub async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(ReadError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Network)? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether a request failed because the server's certificate is not trusted (an unknown or
/// private CA, a self-signed or expired certificate, a wrong host name): the fix is
/// `.root_certificate(pem)` or a correct certificate, not a retry.
#[must_use]
pub fn is_certificate_error(error: &reqwest::Error) -> bool {
    fn search(error: &(dyn std::error::Error + 'static), depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        if matches!(
            error.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        ) {
            return true;
        }
        // rustls' error sits inside `io::Error`s, whose `source` skips what they wrap.
        let wrapped = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .is_some_and(|inner| search(inner, depth + 1));
        wrapped
            || error
                .source()
                .is_some_and(|source| search(source, depth + 1))
    }
    search(error, 0)
}

/// `error` and its sources, `: `-separated, without the URL (callers know it).
#[must_use]
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// Why a URL is refused as a place to send codes, secrets, tokens or to fetch keys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// Not an `http` or `https` URL.
    NotHttp,
    /// Plain `http://` on a host other than the loopback interface.
    InsecureHttp,
}

/// Accepts `https://`, and `http://` on the loopback interface (anywhere when
/// `allow_insecure_http`).
///
/// ```
/// use logto_jwt::http::{TransportError, check_transport};
/// let url = |s: &str| url::Url::parse(s).unwrap();
/// assert_eq!(check_transport(&url("https://logto.example.com"), false), Ok(()));
/// assert_eq!(check_transport(&url("http://127.0.0.1:3001"), false), Ok(()));
/// assert_eq!(
///     check_transport(&url("http://logto.example.com"), false),
///     Err(TransportError::InsecureHttp)
/// );
/// assert_eq!(check_transport(&url("ftp://x"), true), Err(TransportError::NotHttp));
/// ```
///
/// # Errors
/// [`TransportError`].
pub fn check_transport(url: &Url, allow_insecure_http: bool) -> Result<(), TransportError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(TransportError::InsecureHttp),
        _ => Err(TransportError::NotHttp),
    }
}

/// The issuer of the Logto tenant at `endpoint`: `<endpoint>/oidc`.
///
/// ```
/// let endpoint = url::Url::parse("https://auth.example.com/").unwrap();
/// assert_eq!(logto_jwt::http::issuer(&endpoint), "https://auth.example.com/oidc");
/// ```
#[must_use]
pub fn issuer(endpoint: &Url) -> String {
    format!("{}/oidc", endpoint.as_str().trim_end_matches('/'))
}

/// The OpenID discovery document of the Logto tenant at `endpoint`:
/// `<endpoint>/oidc/.well-known/openid-configuration`.
///
/// # Errors
/// When `endpoint` cannot be a base URL (it is checked to be http(s) before).
pub fn discovery_url(endpoint: &Url) -> Result<Url, url::ParseError> {
    Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer(endpoint)
    ))
}

/// Why a discovery document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The body is not the expected OpenID configuration.
    #[error("not an OpenID configuration ({0}); is the endpoint a Logto server?")]
    Invalid(String),
    /// The document names another issuer than the tenant it was asked of (OpenID Connect
    /// Discovery §4.3): tokens would be checked against a foreign issuer.
    #[error(
        "the discovered issuer {discovered:?} is not {expected:?}; check the endpoint (the Logto endpoint, without /oidc)"
    )]
    IssuerMismatch {
        /// `<endpoint>/oidc`.
        expected: String,
        /// The issuer the document named (shortened).
        discovered: String,
    },
}

/// Reads a discovery document fetched from [`discovery_url`]`(endpoint)` into `T` (the fields the
/// caller needs), after checking that its `issuer` is `<endpoint>/oidc` (a trailing slash is
/// tolerated). Returns the issuer as the document spells it, and `T`.
///
/// ```
/// use logto_jwt::http::{DiscoveryError, parse_discovery};
/// #[derive(serde::Deserialize)]
/// struct Keys { jwks_uri: String }
/// let endpoint = url::Url::parse("https://auth.example.com").unwrap();
/// let body = br#"{"issuer":"https://auth.example.com/oidc","jwks_uri":"https://auth.example.com/oidc/jwks"}"#;
/// let (issuer, keys) = parse_discovery::<Keys>(&endpoint, body).unwrap();
/// assert_eq!((issuer.as_str(), keys.jwks_uri.as_str()),
///     ("https://auth.example.com/oidc", "https://auth.example.com/oidc/jwks"));
/// let foreign = br#"{"issuer":"https://evil.example.com/oidc","jwks_uri":"x"}"#;
/// assert!(matches!(parse_discovery::<Keys>(&endpoint, foreign),
///     Err(DiscoveryError::IssuerMismatch { .. })));
/// ```
///
/// # Errors
/// [`DiscoveryError`].
pub fn parse_discovery<T: DeserializeOwned>(
    endpoint: &Url,
    body: &[u8],
) -> Result<(String, T), DiscoveryError> {
    #[derive(Deserialize)]
    struct Issuer {
        issuer: String,
    }
    let Issuer { issuer: discovered } =
        from_json_object(body).map_err(|e| DiscoveryError::Invalid(crate::error::shorten(&e)))?;
    let expected = issuer(endpoint);
    if discovered.trim_end_matches('/') != expected {
        return Err(DiscoveryError::IssuerMismatch {
            expected,
            discovered: crate::error::shorten(&discovered),
        });
    }
    let metadata =
        from_json_object(body).map_err(|e| DiscoveryError::Invalid(crate::error::shorten(&e)))?;
    Ok((discovered, metadata))
}

/// Reads a JSON object (`{…}`) into `T`, as every JSON answer of Logto is one: serde would also
/// map an array onto a struct's fields, in order (`["…"]` read as a token response).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Answer { access_token: String }
/// let answer: Answer = logto_jwt::http::from_json_object(br#"{"access_token":"t"}"#).unwrap();
/// assert_eq!(answer.access_token, "t");
/// assert!(logto_jwt::http::from_json_object::<Answer>(br#"["t"]"#).is_err());
/// ```
///
/// # Errors
/// What is wrong (serde_json's message), when `body` is not a JSON object or not a `T`.
pub fn from_json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    T::deserialize(serde_json::Value::Object(object)).map_err(|e| e.to_string())
}

/// An OAuth 2.0 error code, as Logto's endpoints and its sign-in redirect send them (RFC 6749
/// §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6, RFC 8707, RFC 8628). Codes without a
/// variant are kept in [`Other`](OAuthErrorCode::Other).
///
/// ```
/// use logto_jwt::http::OAuthErrorCode;
/// assert_eq!(OAuthErrorCode::new("invalid_grant"), OAuthErrorCode::InvalidGrant);
/// assert_eq!(OAuthErrorCode::new("custom").as_str(), "custom");
/// assert_eq!(OAuthErrorCode::InvalidTarget.to_string(), "invalid_target");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`.
    InvalidScope,
    /// `invalid_target` (RFC 8707).
    InvalidTarget,
    /// `access_denied`.
    AccessDenied,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `slow_down` (RFC 8628).
    SlowDown,
    /// `login_required` (OpenID Connect).
    LoginRequired,
    /// `consent_required` (OpenID Connect).
    ConsentRequired,
    /// `interaction_required` (OpenID Connect).
    InteractionRequired,
    /// Any other code, as sent.
    Other(String),
}

const OAUTH_ERROR_CODES: [(&str, OAuthErrorCode); 15] = [
    ("invalid_request", OAuthErrorCode::InvalidRequest),
    ("invalid_client", OAuthErrorCode::InvalidClient),
    ("invalid_grant", OAuthErrorCode::InvalidGrant),
    ("unauthorized_client", OAuthErrorCode::UnauthorizedClient),
    (
        "unsupported_grant_type",
        OAuthErrorCode::UnsupportedGrantType,
    ),
    (
        "unsupported_response_type",
        OAuthErrorCode::UnsupportedResponseType,
    ),
    ("invalid_scope", OAuthErrorCode::InvalidScope),
    ("invalid_target", OAuthErrorCode::InvalidTarget),
    ("access_denied", OAuthErrorCode::AccessDenied),
    ("server_error", OAuthErrorCode::ServerError),
    (
        "temporarily_unavailable",
        OAuthErrorCode::TemporarilyUnavailable,
    ),
    ("slow_down", OAuthErrorCode::SlowDown),
    ("login_required", OAuthErrorCode::LoginRequired),
    ("consent_required", OAuthErrorCode::ConsentRequired),
    ("interaction_required", OAuthErrorCode::InteractionRequired),
];

impl OAuthErrorCode {
    /// The code for `code` as sent.
    #[must_use]
    pub fn new(code: &str) -> OAuthErrorCode {
        OAUTH_ERROR_CODES
            .iter()
            .find(|(name, _)| *name == code)
            .map_or_else(
                || OAuthErrorCode::Other(code.to_owned()),
                |(_, c)| c.clone(),
            )
    }

    /// The code as sent on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::Other(code) => code,
            known => OAUTH_ERROR_CODES
                .iter()
                .find(|(_, c)| c == known)
                .map_or("", |(name, _)| name),
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth 2.0 error body (`{"error", "error_description"}`, RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthError {
    /// `error`.
    pub code: OAuthErrorCode,
    /// `error_description`, when sent.
    pub description: Option<String>,
}

impl OAuthError {
    /// Reads an error response's body; `None` when it is not an OAuth 2.0 error.
    ///
    /// ```
    /// use logto_jwt::http::{OAuthError, OAuthErrorCode};
    /// let e = OAuthError::parse(br#"{"error":"invalid_grant","error_description":"expired"}"#).unwrap();
    /// assert_eq!((e.code, e.description.as_deref()), (OAuthErrorCode::InvalidGrant, Some("expired")));
    /// assert!(OAuthError::parse(b"<html>").is_none());
    /// ```
    #[must_use]
    pub fn parse(body: &[u8]) -> Option<OAuthError> {
        #[derive(Deserialize)]
        struct Body {
            error: String,
            #[serde(default)]
            error_description: Option<String>,
        }
        let body: Body = from_json_object(body).ok()?;
        Some(OAuthError {
            code: OAuthErrorCode::new(&body.error),
            description: body.error_description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oauth_error_code_round_trips() {
        for (name, code) in &OAUTH_ERROR_CODES {
            assert_eq!(&OAuthErrorCode::new(name), code);
            assert_eq!(code.as_str(), *name);
        }
        assert_eq!(
            OAuthErrorCode::new("invalid_dpop_proof"),
            OAuthErrorCode::Other("invalid_dpop_proof".into())
        );
    }

    #[test]
    fn a_pem_without_certificates_is_refused() {
        let empty = HttpOptions::default().root_certificate(Vec::new());
        assert!(matches!(
            empty.client("t", Duration::from_secs(1)),
            Err(HttpError::InvalidRootCertificate(_))
        ));
        assert!(
            HttpOptions::default()
                .client("t", Duration::from_secs(1))
                .is_ok()
        );
    }
}
