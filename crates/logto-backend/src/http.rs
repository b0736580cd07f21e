//! The HTTP edge shared by the token source and the Management API: one client with timeouts and
//! no redirects, the transport policy, the size-capped body read, and the token endpoint.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use logto_jwt::http::{HttpOptions, OAuthError, ReadError, TransportError};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use url::Url;

use crate::error::BackendError;

/// Largest response body read from Logto.
pub(crate) const MAX_BODY_BYTES: usize = logto_jwt::http::MAX_BODY_BYTES;

/// The default timeout of every request.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A secret (app secret, token): never shown by `Debug`.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An HTTP client bound to one Logto endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoint: Url,
    pub(crate) timeout: Duration,
}

impl Http {
    pub(crate) fn new(
        endpoint: &str,
        timeout: Duration,
        allow_insecure_http: bool,
        options: &HttpOptions,
    ) -> Result<Self, BackendError> {
        let endpoint = parse_endpoint(endpoint)?;
        check_transport("the endpoint", &endpoint, allow_insecure_http)?;
        let client = options
            .client(
                concat!("logto-rs-backend/", env!("CARGO_PKG_VERSION")),
                timeout,
            )
            .map_err(BackendError::http)?;
        Ok(Http {
            client,
            endpoint,
            timeout,
        })
    }

    /// `endpoint + path` (`path` without a leading slash, e.g. `oidc/token`).
    pub(crate) fn url(&self, path: &str) -> Result<Url, BackendError> {
        self.endpoint
            .join(path.trim_start_matches('/'))
            .map_err(|e| {
                BackendError::InvalidConfig(format!("cannot build a URL for {path:?}: {e}"))
            })
    }

    /// Sends a request and reads its status and body (at most [`MAX_BODY_BYTES`]).
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), BackendError> {
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| BackendError::network(operation, self.timeout, e))?;
        let status = response.status().as_u16();
        let body = logto_jwt::http::read_capped(response, MAX_BODY_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::Network(e) => BackendError::network(operation, self.timeout, e),
                _ => BackendError::UnexpectedResponse {
                    operation,
                    status,
                    detail: format!("the response is larger than {MAX_BODY_BYTES} bytes"),
                },
            })?;
        Ok((status, body))
    }

    /// Sends a grant to Logto's token endpoint (`<endpoint>/oidc/token`), authenticated with HTTP
    /// Basic (Logto's `client_secret_basic` for M2M and traditional apps), or with `client_id` in
    /// the form for a public client.
    pub(crate) async fn token(
        &self,
        operation: &'static str,
        client_id: &str,
        secret: Option<&Secret>,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, BackendError> {
        let mut request = self
            .client
            .post(self.url("oidc/token")?)
            .header(ACCEPT, "application/json");
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        match secret {
            Some(secret) => {
                let credentials = format!(
                    "{}:{}",
                    form_urlencode(client_id),
                    form_urlencode(&secret.0)
                );
                let mut value =
                    HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
                        .map_err(|_| {
                            BackendError::InvalidConfig("the app secret is not usable".into())
                        })?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            None => fields.push(("client_id", client_id)),
        }
        let (status, body) = self.send(operation, request.form(&fields)).await?;
        token_answer(operation, status, &body)
    }
}

/// The token endpoint's answer, `status` and `body`: a token response, or the typed error.
pub(crate) fn token_answer(
    operation: &'static str,
    status: u16,
    body: &[u8],
) -> Result<TokenResponse, BackendError> {
    if !(200..300).contains(&status) {
        return Err(oauth_error(operation, status, body));
    }
    let unexpected = |detail: String| BackendError::UnexpectedResponse {
        operation,
        status,
        detail: format!("not a token response ({detail}); is the endpoint a Logto server?"),
    };
    let response: TokenResponse = logto_jwt::http::from_json_object(body).map_err(unexpected)?;
    if response.access_token.is_empty() {
        return Err(unexpected("the access token is empty".into()));
    }
    Ok(response)
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

/// An error response of the token endpoint as a typed error.
fn oauth_error(operation: &'static str, status: u16, body: &[u8]) -> BackendError {
    match OAuthError::parse(body) {
        Some(error) => BackendError::oauth(error, status),
        None => BackendError::UnexpectedResponse {
            operation,
            status,
            detail: if status >= 500 {
                "Logto failed; try again later".into()
            } else {
                "an error status without an OAuth 2.0 error body".into()
            },
        },
    }
}

/// Refuses plain `http://` off the loopback interface unless `allow_insecure_http`.
pub(crate) fn check_transport(
    what: &str,
    url: &Url,
    allow_insecure_http: bool,
) -> Result<(), BackendError> {
    match logto_jwt::http::check_transport(url, allow_insecure_http) {
        Err(TransportError::InsecureHttp) => Err(BackendError::InvalidConfig(format!(
            "{what} {url} is plain http on a host other than this machine, so secrets and tokens \
             would travel in clear: use https, or .allow_insecure_http(true) for development"
        ))),
        Err(_) => Err(BackendError::InvalidConfig(format!(
            "{what} {url} must be an http(s) URL"
        ))),
        Ok(()) => Ok(()),
    }
}

fn parse_endpoint(endpoint: &str) -> Result<Url, BackendError> {
    let mut url = Url::parse(endpoint.trim()).map_err(|e| {
        BackendError::InvalidConfig(format!(
            "the endpoint {endpoint:?} is not a URL ({e}): use e.g. https://your-tenant.logto.app"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(BackendError::InvalidConfig(format!(
            "the endpoint {endpoint:?} must be an http(s) URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BackendError::InvalidConfig(format!(
            "the endpoint {endpoint:?} must not have a query or fragment"
        )));
    }
    // One trailing slash, so that joining "oidc/token" keeps any path prefix.
    let path = format!("{}/", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 §2.3.1).
fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answer_is_an_object_with_an_access_token() {
        let answer = |body: &str| token_answer("test", 200, body.as_bytes());
        let token = answer(r#"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#);
        assert_eq!(token.unwrap().access_token, "t");
        // What serde would map onto the fields too, and what holds no token.
        for body in [
            r#"["t", 3600]"#,
            r#"[""]"#,
            r#"{"access_token":""}"#,
            "{}",
            "null",
        ] {
            assert!(
                matches!(
                    answer(body),
                    Err(BackendError::UnexpectedResponse { status: 200, .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn plain_http_only_on_loopback_unless_allowed() {
        for ok in [
            "https://logto.example.com",
            "http://127.0.0.1:3001",
            "http://localhost",
        ] {
            Http::new(ok, DEFAULT_TIMEOUT, false, &HttpOptions::default()).unwrap();
        }
        let e = Http::new(
            "http://logto.example.com",
            DEFAULT_TIMEOUT,
            false,
            &HttpOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, BackendError::InvalidConfig(m) if m.contains("allow_insecure_http")),
            "{e}"
        );
        Http::new(
            "http://logto.example.com",
            DEFAULT_TIMEOUT,
            true,
            &HttpOptions::default(),
        )
        .unwrap();
        for bad in [
            "logto.example.com",
            "ftp://x",
            "https://x/?a=b",
            "https://x/#f",
        ] {
            assert!(
                Http::new(bad, DEFAULT_TIMEOUT, false, &HttpOptions::default()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn urls_keep_the_endpoint_path() {
        let http = Http::new(
            "https://x.example.com/logto",
            DEFAULT_TIMEOUT,
            false,
            &HttpOptions::default(),
        )
        .unwrap();
        assert_eq!(
            http.url("oidc/token").unwrap().as_str(),
            "https://x.example.com/logto/oidc/token"
        );
        assert_eq!(
            http.url("/api/users").unwrap().as_str(),
            "https://x.example.com/logto/api/users"
        );
    }

    #[test]
    fn secrets_are_not_debug() {
        assert_eq!(format!("{:?}", Secret("s3cret".into())), "<redacted>");
    }
}
