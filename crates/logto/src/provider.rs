//! The I/O edge: every HTTP exchange with Logto (discovery, token endpoint, userinfo, revocation)
//! and the JWKS cache. One `Provider` lives in a [`LogtoHandle`](crate::LogtoHandle) and is shared
//! by every client built from it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use logto_jwt::http::{HttpOptions, OAuthError, ReadError};
use logto_jwt::{JwksCache, JwksOptions};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use crate::backoff::{Backoff, Outcome};
use crate::config::Secret;
use crate::error::LogtoError;
use crate::protocol::claims::UserInfo;
use crate::protocol::tokens::{Grant, TokenResponse};

/// Largest response body the client reads from Logto.
const MAX_BODY_BYTES: usize = logto_jwt::http::MAX_BODY_BYTES;

/// What a request to Logto is for: it decides how an error answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Discovery,
    Token,
    UserInfo,
    Revocation,
}

impl Operation {
    /// The name errors carry.
    fn name(self) -> &'static str {
        match self {
            Operation::Discovery => "discovery",
            Operation::Token => "token request",
            Operation::UserInfo => "userinfo",
            Operation::Revocation => "revocation",
        }
    }
}

/// The parts of Logto's OpenID Provider metadata the client uses. A URL that does not parse fails
/// the discovery itself, so the protocol core only ever sees parsed URLs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Discovery {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    pub(crate) userinfo_endpoint: Url,
    pub(crate) jwks_uri: Url,
    pub(crate) end_session_endpoint: Url,
    #[serde(default)]
    pub(crate) revocation_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
}

impl Discovery {
    /// Every URL the client will send codes, secrets or tokens to is https, or http on loopback
    /// unless insecure http is allowed.
    fn check_transport(&self, allow_insecure_http: bool) -> Result<(), String> {
        let urls = [
            ("authorization_endpoint", Some(&self.authorization_endpoint)),
            ("token_endpoint", Some(&self.token_endpoint)),
            ("userinfo_endpoint", Some(&self.userinfo_endpoint)),
            ("jwks_uri", Some(&self.jwks_uri)),
            ("end_session_endpoint", Some(&self.end_session_endpoint)),
            ("revocation_endpoint", self.revocation_endpoint.as_ref()),
        ];
        for (what, url) in urls {
            let Some(url) = url else { continue };
            crate::config::check_transport(what, url, allow_insecure_http)?;
        }
        Ok(())
    }
}

/// How the client authenticates at the token and revocation endpoints.
pub(crate) struct ClientAuth<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) secret: Option<&'a Secret>,
}

pub(crate) struct Provider {
    endpoint: Url,
    http: reqwest::Client,
    timeout: Duration,
    jwks_min_refresh_interval: Duration,
    backoff: Backoff,
    allow_insecure_http: bool,
    discovery: OnceCell<Arc<Discovery>>,
    jwks: OnceCell<JwksCache>,
}

impl Provider {
    pub(crate) fn new(
        endpoint: Url,
        timeout: Duration,
        jwks_min_refresh_interval: Duration,
        backoff: Backoff,
        allow_insecure_http: bool,
        options: &HttpOptions,
    ) -> Result<Self, LogtoError> {
        let http = options
            .client(concat!("logto-rs/", env!("CARGO_PKG_VERSION")), timeout)
            .map_err(|e| match e {
                logto_jwt::http::HttpError::InvalidRootCertificate(detail) => {
                    LogtoError::InvalidRootCertificate(detail)
                }
                other => LogtoError::InvalidConfig(other.to_string()),
            })?;
        Ok(Provider {
            endpoint,
            http,
            timeout,
            jwks_min_refresh_interval,
            backoff,
            allow_insecure_http,
            discovery: OnceCell::new(),
            jwks: OnceCell::new(),
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Logto's discovery document, fetched once; a failed fetch is retried on the next call.
    pub(crate) async fn discovery(&self) -> Result<Arc<Discovery>, LogtoError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = logto_jwt::http::discovery_url(&self.endpoint)
                    .map_err(|e| LogtoError::InvalidConfig(e.to_string()))?;
                let request = self.http.get(url).header(ACCEPT, "application/json");
                let (status, body) = self.send(Operation::Discovery, request).await?;
                if !status.is_success() {
                    return Err(oauth_error(Operation::Discovery, status.as_u16(), &body));
                }
                let (_, discovery): (String, Discovery) =
                    logto_jwt::http::parse_discovery(&self.endpoint, &body).map_err(|e| {
                        LogtoError::UnexpectedResponse {
                            operation: Operation::Discovery.name(),
                            status: status.as_u16(),
                            detail: e.to_string(),
                        }
                    })?;
                discovery
                    .check_transport(self.allow_insecure_http)
                    .map_err(|detail| LogtoError::UnexpectedResponse {
                        operation: Operation::Discovery.name(),
                        status: status.as_u16(),
                        detail,
                    })?;
                Ok(Arc::new(discovery))
            })
            .await
            .cloned()
    }

    /// The key cache of Logto's JWKS, created on first use.
    pub(crate) async fn jwks(&self) -> Result<&JwksCache, LogtoError> {
        self.jwks
            .get_or_try_init(|| async {
                let uri = self.discovery().await?.jwks_uri.clone();
                let options = JwksOptions::default()
                    .timeout(self.timeout)
                    .min_refresh_interval(self.jwks_min_refresh_interval);
                Ok(JwksCache::new(uri, self.http.clone(), options))
            })
            .await
    }

    /// Sends a grant to the token endpoint.
    pub(crate) async fn token(
        &self,
        auth: &ClientAuth<'_>,
        grant: &Grant<'_>,
    ) -> Result<TokenResponse, LogtoError> {
        let discovery = self.discovery().await?;
        let mut form = grant.form();
        let request = self.authenticated(
            self.http.post(discovery.token_endpoint.clone()),
            auth,
            &mut form,
        );
        let response: TokenResponse = self
            .send_json(Operation::Token, request.form(&form))
            .await?;
        if response.access_token.is_empty() {
            return Err(LogtoError::UnexpectedResponse {
                operation: Operation::Token.name(),
                status: 200,
                detail: "the access token is empty; is the endpoint a Logto server?".into(),
            });
        }
        Ok(response)
    }

    /// Calls the userinfo endpoint with an (opaque) access token.
    pub(crate) async fn userinfo(&self, access_token: &str) -> Result<UserInfo, LogtoError> {
        let discovery = self.discovery().await?;
        let request = self
            .http
            .get(discovery.userinfo_endpoint.clone())
            .bearer_auth(access_token)
            .header(ACCEPT, "application/json");
        self.send_json(Operation::UserInfo, request).await
    }

    /// Revokes a refresh token (RFC 7009). Returns whether Logto confirmed it.
    pub(crate) async fn revoke(
        &self,
        auth: &ClientAuth<'_>,
        refresh_token: &str,
    ) -> Result<(), LogtoError> {
        let discovery = self.discovery().await?;
        let Some(endpoint) = &discovery.revocation_endpoint else {
            return Ok(());
        };
        let mut form = vec![
            ("token", refresh_token),
            ("token_type_hint", "refresh_token"),
        ];
        let request = self.authenticated(self.http.post(endpoint.clone()), auth, &mut form);
        let (status, body) = self
            .send(Operation::Revocation, request.form(&form))
            .await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(oauth_error(Operation::Revocation, status.as_u16(), &body))
        }
    }

    /// Adds client authentication: HTTP Basic with a secret (RFC 6749 §2.3.1), else `client_id` in
    /// the form (a public client).
    fn authenticated<'a>(
        &self,
        request: reqwest::RequestBuilder,
        auth: &ClientAuth<'a>,
        form: &mut Vec<(&'static str, &'a str)>,
    ) -> reqwest::RequestBuilder {
        let request = request.header(ACCEPT, "application/json");
        match auth.secret {
            Some(secret) => {
                let credentials = format!(
                    "{}:{}",
                    form_urlencode(auth.client_id),
                    form_urlencode(&secret.0)
                );
                let mut value =
                    HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
                        .expect("base64 is a valid header value");
                value.set_sensitive(true);
                request.header(AUTHORIZATION, value)
            }
            None => {
                form.push(("client_id", auth.client_id));
                request
            }
        }
    }

    /// Sends a request unless the client is backing off from a failing Logto, reads the answer,
    /// and tells the back-off what it says of Logto's health.
    async fn send(
        &self,
        operation: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), LogtoError> {
        let name = operation.name();
        self.backoff.admit(name)?;
        // The timeout bounds each request, also with a client the application gave.
        let result = match request.timeout(self.timeout).send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after(&response);
                logto_jwt::http::read_capped(response, MAX_BODY_BYTES)
                    .await
                    .map(|body| (status, body, retry_after))
                    .map_err(|e| match e {
                        ReadError::Network(e) => network(name, e),
                        _ => LogtoError::UnexpectedResponse {
                            operation: name,
                            status: status.as_u16(),
                            detail: format!("the response is larger than {MAX_BODY_BYTES} bytes"),
                        },
                    })
            }
            Err(error) => Err(network(name, error)),
        };
        self.backoff.record(match &result {
            Ok((status, _, retry_after))
                if status.is_server_error()
                    || *status == reqwest::StatusCode::TOO_MANY_REQUESTS =>
            {
                Outcome::Failed {
                    retry_after: *retry_after,
                }
            }
            Ok(_) => Outcome::Answered,
            Err(LogtoError::Network { .. } | LogtoError::UntrustedCertificate { .. }) => {
                Outcome::Failed { retry_after: None }
            }
            // An oversized body is an answer: Logto is up.
            Err(_) => Outcome::Answered,
        });
        result.map(|(status, body, _)| (status, body))
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        operation: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<T, LogtoError> {
        let (status, body) = self.send(operation, request).await?;
        if !status.is_success() {
            return Err(oauth_error(operation, status.as_u16(), &body));
        }
        logto_jwt::http::from_json_object(&body).map_err(|e| LogtoError::UnexpectedResponse {
            operation: operation.name(),
            status: status.as_u16(),
            detail: format!("not the expected JSON ({e}); is the endpoint a Logto server?"),
        })
    }
}

/// The `Retry-After` of a response, when it is a number of seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn network(operation: &'static str, error: reqwest::Error) -> LogtoError {
    if logto_jwt::http::is_certificate_error(&error) {
        return LogtoError::UntrustedCertificate {
            operation,
            source: Box::new(error.without_url()),
        };
    }
    LogtoError::Network {
        operation,
        source: Box::new(error.without_url()),
    }
}

/// Turns an error response into a typed error: the OAuth 2.0 error when the body has one.
fn oauth_error(operation: Operation, status: u16, body: &[u8]) -> LogtoError {
    match OAuthError::parse(body) {
        Some(e) if matches!(operation, Operation::Token | Operation::Revocation) => {
            LogtoError::TokenRequest {
                error: e.code,
                description: e.description,
            }
        }
        Some(e) => LogtoError::UnexpectedResponse {
            operation: operation.name(),
            status,
            detail: match e.description {
                Some(description) => format!("{} ({description})", e.code),
                None => e.code.to_string(),
            },
        },
        None => LogtoError::UnexpectedResponse {
            operation: operation.name(),
            status,
            detail: "an error status without an OAuth 2.0 error body".into(),
        },
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(jwks_uri: &str) -> Discovery {
        let at =
            |path: &str| Url::parse(&format!("https://logto.example.com/oidc/{path}")).unwrap();
        Discovery {
            issuer: "https://logto.example.com/oidc".to_owned(),
            authorization_endpoint: at("auth"),
            token_endpoint: at("token"),
            userinfo_endpoint: at("me"),
            jwks_uri: Url::parse(jwks_uri).unwrap(),
            end_session_endpoint: at("session/end"),
            revocation_endpoint: Some(at("token/revocation")),
            authorization_response_iss_parameter_supported: true,
        }
    }

    #[test]
    fn discovered_urls_must_be_https_or_loopback_http() {
        discovery("https://logto.example.com/oidc/jwks")
            .check_transport(false)
            .unwrap();
        discovery("http://127.0.0.1:3001/oidc/jwks")
            .check_transport(false)
            .unwrap();
        let error = discovery("http://keys.example.com/jwks")
            .check_transport(false)
            .unwrap_err();
        assert!(
            error.contains("jwks_uri") && error.contains("allow_insecure_http"),
            "{error}"
        );
        discovery("http://keys.example.com/jwks")
            .check_transport(true)
            .unwrap();
    }
}
