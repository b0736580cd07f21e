//! [`LogtoConfig`]: where Logto is, who the app is, and what it asks for.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use logto_jwt::http::{HttpOptions, TransportError};
use url::Url;

use crate::error::LogtoError;
use crate::protocol::claims::IdTokenClaims;
use crate::protocol::logout_token::{self, LogoutToken};
use crate::protocol::tokens::check_resource;
use crate::protocol::{id_token, now_unix};
use crate::provider::Provider;
use crate::refresh::RefreshLocks;

/// Scopes every sign-in requests: the ID token, the profile claims, and a refresh token.
pub const RESERVED_SCOPES: [&str; 3] = ["openid", "offline_access", "profile"];

/// The resource Logto issues organization tokens for; added automatically with
/// [`UserInfoScope::Organizations`].
pub const ORGANIZATIONS_RESOURCE: &str = "urn:logto:resource:organizations";

/// The scopes of Logto's user claims (the scopes table of Logto's guide to adding authentication to
/// a Python web app). Plain strings work wherever a scope is asked for; this enum names the ones
/// Logto knows.
///
/// ```
/// use logto::UserInfoScope;
/// assert_eq!(UserInfoScope::Organizations.as_str(), "urn:logto:scope:organizations");
/// assert_eq!(String::from(UserInfoScope::Email), "email");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserInfoScope {
    /// `openid`: `sub` (always requested).
    Openid,
    /// `offline_access`: a refresh token (always requested).
    OfflineAccess,
    /// `profile`: `name`, `username`, `picture`, `created_at`, `updated_at`… (always requested).
    Profile,
    /// `email`: `email`, `email_verified`.
    Email,
    /// `phone`: `phone_number`, `phone_number_verified`.
    Phone,
    /// `address`: `address`.
    Address,
    /// `custom_data`: `custom_data` (userinfo only).
    CustomData,
    /// `identities`: `identities`, `sso_identities` (userinfo only).
    Identities,
    /// `roles`: `roles`.
    Roles,
    /// `urn:logto:scope:organizations`: `organizations`, and `organization_data` in userinfo.
    /// Also enables organization tokens.
    Organizations,
    /// `urn:logto:scope:organization_roles`: `organization_roles` (`<org id>:<role>`).
    OrganizationRoles,
}

impl UserInfoScope {
    /// The scope as sent to Logto.
    pub fn as_str(self) -> &'static str {
        match self {
            UserInfoScope::Openid => "openid",
            UserInfoScope::OfflineAccess => "offline_access",
            UserInfoScope::Profile => "profile",
            UserInfoScope::Email => "email",
            UserInfoScope::Phone => "phone",
            UserInfoScope::Address => "address",
            UserInfoScope::CustomData => "custom_data",
            UserInfoScope::Identities => "identities",
            UserInfoScope::Roles => "roles",
            UserInfoScope::Organizations => "urn:logto:scope:organizations",
            UserInfoScope::OrganizationRoles => "urn:logto:scope:organization_roles",
        }
    }
}

impl fmt::Display for UserInfoScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<UserInfoScope> for String {
    fn from(scope: UserInfoScope) -> String {
        scope.as_str().to_owned()
    }
}

/// The `prompt` of the authorization request. Logto's default is [`Prompt::Consent`], which is also
/// what makes Logto issue a refresh token (`offline_access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prompt {
    /// `consent`: Logto issues a refresh token. The default.
    Consent,
    /// `login`: the user signs in again even with a live Logto session.
    Login,
    /// `none`: no interaction; fails at Logto unless already signed in and consented.
    None,
}

impl Prompt {
    /// The value as sent to Logto.
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::Consent => "consent",
            Prompt::Login => "login",
            Prompt::None => "none",
        }
    }
}

/// A secret string whose `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

/// How the client reaches and identifies itself to Logto. Cheap to clone; clients built from clones
/// of one config share its discovery document, key cache, HTTP connections and refresh coordination.
///
/// ```
/// use logto::{LogtoConfig, UserInfoScope};
///
/// let config = LogtoConfig::builder("https://tenant.logto.app/", "my-app-id")
///     .app_secret("my-app-secret")
///     .scopes([UserInfoScope::Email, UserInfoScope::Organizations])
///     .resources(["https://shopping.your-app.com/api"])
///     .build()?;
/// assert_eq!(config.endpoint(), "https://tenant.logto.app");
/// assert!(config.scopes().iter().any(|s| s == "offline_access"));
/// // The organizations scope brings Logto's organization resource along.
/// assert!(config.resources().iter().any(|r| r == "urn:logto:resource:organizations"));
/// # Ok::<(), logto::LogtoError>(())
/// ```
#[derive(Clone)]
pub struct LogtoConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

pub(crate) struct ConfigInner {
    pub(crate) endpoint: Url,
    pub(crate) app_id: String,
    pub(crate) app_secret: Option<Secret>,
    pub(crate) scopes: Vec<String>,
    pub(crate) resources: Vec<String>,
    pub(crate) prompt: Vec<Prompt>,
    pub(crate) leeway: Duration,
    pub(crate) provider: Provider,
    pub(crate) refresh_locks: RefreshLocks,
}

impl fmt::Debug for LogtoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("LogtoConfig")
            .field("endpoint", &self.endpoint())
            .field("app_id", &inner.app_id)
            .field("app_secret", &inner.app_secret)
            .field("scopes", &inner.scopes)
            .field("resources", &inner.resources)
            .field("prompt", &inner.prompt)
            .finish_non_exhaustive()
    }
}

impl LogtoConfig {
    /// Starts a configuration for the Logto `endpoint` (e.g. `https://tenant.logto.app`; a trailing
    /// slash is fine) and the application's id.
    pub fn builder(endpoint: impl Into<String>, app_id: impl Into<String>) -> LogtoConfigBuilder {
        LogtoConfigBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: None,
            scopes: Vec::new(),
            resources: Vec::new(),
            prompt: vec![Prompt::Consent],
            timeout: Duration::from_secs(10),
            leeway: Duration::from_secs(30),
            jwks_min_refresh_interval: Duration::from_secs(30),
            retry_interval: Duration::from_secs(1),
            max_retry_interval: Duration::from_secs(30),
            allow_insecure_http: false,
            http: HttpOptions::default(),
        }
    }

    /// The Logto endpoint, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str().trim_end_matches('/')
    }

    /// The application (client) id.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// Whether the app authenticates with a secret (a traditional web app) or is a public client.
    pub fn is_confidential(&self) -> bool {
        self.inner.app_secret.is_some()
    }

    /// Every scope the sign-in asks for: the reserved ones first, then the configured ones,
    /// without duplicates.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The API resources the sign-in asks for.
    pub fn resources(&self) -> &[String] {
        &self.inner.resources
    }

    /// The `prompt` of the sign-in.
    pub fn prompt(&self) -> &[Prompt] {
        &self.inner.prompt
    }

    /// Verifies an ID token issued to this app: its signature against Logto's keys (fetched once,
    /// refetched when Logto rotates them), issuer, audience, expiry and issue time (with the
    /// configured leeway), and its `nonce` when one is expected. Returns its claims.
    ///
    /// The client does this on every sign-in and refresh; call it yourself to check an ID token
    /// that reached your server another way. Such a token may come from anyone, so a key id
    /// missing from the cached keys refetches them at most once per
    /// [`jwks_min_refresh_interval`](LogtoConfigBuilder::jwks_min_refresh_interval).
    ///
    /// # Errors
    /// [`LogtoError::InvalidIdToken`] when the token fails a check; [`LogtoError::Network`] or
    /// [`LogtoError::UnexpectedResponse`] when Logto's discovery document or keys could not be
    /// loaded (the token was not checked).
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<IdTokenClaims, LogtoError> {
        self.verify_id_token_with(id_token, nonce, None, KeyRefetch::RateLimited)
            .await
    }

    /// [`verify_id_token`](Self::verify_id_token) for an ID token the client itself just received
    /// from Logto's token endpoint: an unknown key id always refetches Logto's keys (single
    /// flight), whatever the minimum refresh interval, since it means Logto rotated its key.
    /// `access_token` is the one the token response brought with the ID token: the ID token's
    /// `at_hash`, when present, must match it.
    pub(crate) async fn verify_id_token_from_logto(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        access_token: &str,
    ) -> Result<IdTokenClaims, LogtoError> {
        self.verify_id_token_with(id_token, nonce, Some(access_token), KeyRefetch::Always)
            .await
    }

    async fn verify_id_token_with(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
        refetch: KeyRefetch,
    ) -> Result<IdTokenClaims, LogtoError> {
        let provider = self.provider();
        let discovery = provider.discovery().await?;
        let jwks = provider.jwks().await?;
        let verified = match refetch {
            KeyRefetch::RateLimited => jwks.verify(id_token).await,
            KeyRefetch::Always => jwks.verify_from_issuer(id_token).await,
        }
        .map_err(signature_error)?;
        id_token::check_header(verified.header())?;
        let claims: IdTokenClaims =
            verified
                .claims()
                .map_err(|source| LogtoError::InvalidIdToken {
                    reason: "unexpected claims".into(),
                    source: Some(source),
                })?;
        let expected = id_token::Expected {
            issuer: &discovery.issuer,
            client_id: self.app_id(),
            nonce,
            leeway: self.inner.leeway.as_secs(),
            now: now_unix(),
            access_token,
        };
        id_token::check_with_alg(&claims, verified.header().alg, &expected)?;
        Ok(claims)
    }

    /// Verifies a logout token that Logto posted to the app's back-channel logout URI (OpenID
    /// Connect Back-Channel Logout 1.0 §2.6): the signature against Logto's keys, the issuer, this
    /// app as the only audience, `iat` (and `exp`, or at most ten minutes old without it), the
    /// back-channel logout event, no `nonce`, a `sub` or `sid`, a `jti`. Whether the `jti` was seen
    /// before is for the caller to check.
    ///
    /// ```no_run
    /// # async fn run(config: logto::LogtoConfig, logout_token: &str) -> Result<(), logto::LogtoError> {
    /// let token = config.verify_logout_token(logout_token).await?;
    /// println!("end the sessions of {:?} / {:?}", token.sid, token.sub);
    /// # Ok(()) }
    /// ```
    pub async fn verify_logout_token(&self, token: &str) -> Result<LogoutToken, LogtoError> {
        let provider = self.provider();
        let discovery = provider.discovery().await?;
        let verified = provider
            .jwks()
            .await?
            .verify(token)
            .await
            .map_err(|source| match signature_error(source) {
                LogtoError::InvalidIdToken { reason, .. } => {
                    LogtoError::InvalidLogoutToken { reason }
                }
                other => other,
            })?;
        logout_token::check_header(verified.header())?;
        let claims: serde_json::Map<String, serde_json::Value> =
            verified
                .claims()
                .map_err(|e| LogtoError::InvalidLogoutToken {
                    reason: format!("the claims are not a JSON object: {e}"),
                })?;
        logout_token::check(
            &claims,
            &logout_token::Expected {
                issuer: &discovery.issuer,
                client_id: self.app_id(),
                leeway: self.inner.leeway.as_secs(),
                now: now_unix(),
                max_age: 600,
            },
        )
    }

    pub(crate) fn leeway_secs(&self) -> u64 {
        self.inner.leeway.as_secs()
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    pub(crate) fn provider(&self) -> &Provider {
        &self.inner.provider
    }
}

/// When an ID token's unknown key id refetches Logto's keys.
#[derive(Clone, Copy)]
enum KeyRefetch {
    /// At most once per minimum refresh interval: the token may come from anyone.
    RateLimited,
    /// Always (single flight): the token came from Logto's token endpoint.
    Always,
}

/// The error of a signature check: the token's fault, or Logto's keys could not be loaded (the
/// token was not checked).
fn signature_error(source: logto_jwt::Error) -> LogtoError {
    match source {
        logto_jwt::Error::JwksFetch(_) => LogtoError::Network {
            operation: "JWKS",
            source: Box::new(source),
        },
        logto_jwt::Error::InvalidJwks(detail) => LogtoError::UnexpectedResponse {
            operation: "JWKS",
            status: 200,
            detail,
        },
        source => LogtoError::InvalidIdToken {
            reason: format!("signature check failed: {source}"),
            source: Some(source),
        },
    }
}

/// Builds a [`LogtoConfig`]; errors are reported by [`build`](LogtoConfigBuilder::build).
#[must_use]
#[derive(Debug)]
pub struct LogtoConfigBuilder {
    endpoint: String,
    app_id: String,
    app_secret: Option<Secret>,
    scopes: Vec<String>,
    resources: Vec<String>,
    prompt: Vec<Prompt>,
    timeout: Duration,
    leeway: Duration,
    jwks_min_refresh_interval: Duration,
    retry_interval: Duration,
    max_retry_interval: Duration,
    allow_insecure_http: bool,
    http: HttpOptions,
}

impl LogtoConfigBuilder {
    /// The app secret of a traditional web app (sent with HTTP Basic auth). Without it the client is
    /// a public client and sends only its `client_id`.
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(Secret(secret.into()));
        self
    }

    /// Adds scopes to request (`openid`, `profile` and `offline_access` are always requested).
    /// Takes [`UserInfoScope`]s or strings such as `"shopping:read"`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds API resources (resource indicators) to request access tokens for: absolute URIs
    /// without a fragment (RFC 8707 §2), else [`build`](Self::build) fails.
    pub fn resources<I, S>(mut self, resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    /// Replaces the `prompt` (default: `consent`). Without `consent`, Logto issues no refresh token.
    pub fn prompt(mut self, prompt: impl IntoIterator<Item = Prompt>) -> Self {
        self.prompt = prompt.into_iter().collect();
        self
    }

    /// Timeout of every HTTP request to Logto (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Clock skew tolerated when checking token times (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Shortest time between two JWKS fetches triggered by an unknown key id in an ID token given
    /// to [`LogtoConfig::verify_id_token`] (default 30 s): a guard against floods of made-up key
    /// ids. ID tokens the client receives from Logto's token endpoint itself (sign-in, refresh)
    /// are not held back by it: an unknown key id there always refetches the keys.
    pub fn jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_min_refresh_interval = interval;
        self
    }

    /// How long the client waits, after Logto failed (a 5xx, unreachable, a timeout), before it
    /// sends Logto another request (default 1 s); each further failure doubles the wait, up to
    /// [`max_retry_interval`](Self::max_retry_interval). Meanwhile every request fails at once with
    /// [`LogtoError::Unavailable`], and when the wait is over one request tries Logto while the
    /// others keep waiting for its answer.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The longest wait after repeated failures of Logto (default 30 s), and the most of Logto's
    /// `Retry-After` the client honours.
    pub fn max_retry_interval(mut self, interval: Duration) -> Self {
        self.max_retry_interval = interval;
        self
    }

    /// Accepts plain `http://` for Logto (the endpoint and the URLs of its discovery document) on
    /// hosts other than this machine's loopback interface. For development only: codes, secrets
    /// and tokens would travel in clear. Loopback `http://` (`localhost`, `127.0.0.1`, `::1`) is
    /// always accepted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or several PEM certificates) besides the
    /// system's, e.g. the private CA of a self-hosted Logto. A certificate that is not usable
    /// makes [`build`](Self::build) fail with [`LogtoError::InvalidRootCertificate`].
    ///
    /// ```
    /// use logto::{LogtoConfig, LogtoError};
    /// let config = LogtoConfig::builder("https://logto.internal", "app-id")
    ///     .root_certificate(b"not a PEM certificate".to_vec())
    ///     .build();
    /// assert!(matches!(config, Err(LogtoError::InvalidRootCertificate(_))));
    /// ```
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.http = self.http.root_certificate(pem);
        self
    }

    /// Sends every request to Logto with `client` (a proxy, client certificates…). It **must not
    /// follow redirects** (`reqwest::redirect::Policy::none()`), or codes, secrets and tokens
    /// could be replayed to wherever a redirect points; its proxy, TLS and connect-timeout
    /// settings apply, and [`timeout`](Self::timeout) still bounds each request.
    ///
    /// ```
    /// use logto::reqwest;
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let config = logto::LogtoConfig::builder("https://logto.internal", "app-id")
    ///     .http_client(client)
    ///     .build()?;
    /// # Ok::<(), logto::LogtoError>(())
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = self.http.http_client(client);
        self
    }

    /// Checks the configuration and builds it.
    pub fn build(self) -> Result<LogtoConfig, LogtoError> {
        let endpoint = parse_endpoint(&self.endpoint)?;
        check_transport("the endpoint", &endpoint, self.allow_insecure_http)
            .map_err(LogtoError::InvalidConfig)?;
        if self.app_id.trim().is_empty() {
            return Err(LogtoError::InvalidConfig(
                "the app id is empty: copy it from the application's page in Logto Console".into(),
            ));
        }
        if self.prompt.is_empty() {
            return Err(LogtoError::InvalidConfig(
                "prompt is empty: use at least Prompt::Consent".into(),
            ));
        }
        let mut scopes: Vec<String> = RESERVED_SCOPES.iter().map(|s| s.to_string()).collect();
        push_unique(&mut scopes, self.scopes);
        let mut resources = Vec::new();
        push_unique(&mut resources, self.resources);
        for resource in &resources {
            check_resource(resource).map_err(LogtoError::InvalidConfig)?;
        }
        if scopes
            .iter()
            .any(|s| s == UserInfoScope::Organizations.as_str())
        {
            push_unique(&mut resources, [ORGANIZATIONS_RESOURCE.to_owned()]);
        }
        let provider = Provider::new(
            endpoint.clone(),
            self.timeout,
            self.jwks_min_refresh_interval,
            crate::backoff::Backoff::new(
                self.retry_interval,
                self.max_retry_interval,
                self.timeout,
            ),
            self.allow_insecure_http,
            &self.http,
        )?;
        Ok(LogtoConfig {
            inner: Arc::new(ConfigInner {
                endpoint,
                app_id: self.app_id,
                app_secret: self.app_secret,
                scopes,
                resources,
                prompt: self.prompt,
                leeway: self.leeway,
                provider,
                refresh_locks: RefreshLocks::default(),
            }),
        })
    }
}

fn push_unique(into: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for item in items {
        let item = item.trim().to_owned();
        if !item.is_empty() && !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Refuses plain `http://` off the loopback interface unless `allow_insecure_http`.
pub(crate) fn check_transport(
    what: &str,
    url: &Url,
    allow_insecure_http: bool,
) -> Result<(), String> {
    match logto_jwt::http::check_transport(url, allow_insecure_http) {
        Ok(()) => Ok(()),
        Err(TransportError::InsecureHttp) => Err(format!(
            "{what} {url} is plain http on a host other than this machine, so codes and tokens \
             would travel in clear: use https, or .allow_insecure_http(true) for development"
        )),
        Err(_) => Err(format!("{what} {url} must be an http(s) URL")),
    }
}

fn parse_endpoint(endpoint: &str) -> Result<Url, LogtoError> {
    let mut url = Url::parse(endpoint.trim()).map_err(|e| {
        LogtoError::InvalidConfig(format!(
            "the endpoint {endpoint:?} is not a URL ({e}): use e.g. https://your-tenant.logto.app"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(LogtoError::InvalidConfig(format!(
            "the endpoint {endpoint:?} must be an http(s) URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(LogtoError::InvalidConfig(format!(
            "the endpoint {endpoint:?} must not have a query or fragment"
        )));
    }
    // One trailing slash, so that joining "oidc/..." keeps any path prefix.
    let path = format!("{}/", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_reserved_first_and_deduplicated() {
        let config = LogtoConfig::builder("https://logto.test", "app")
            .scopes(["email", "openid", "email", " phone "])
            .scopes([UserInfoScope::Profile, UserInfoScope::Roles])
            .build()
            .unwrap();
        assert_eq!(
            config.scopes(),
            [
                "openid",
                "offline_access",
                "profile",
                "email",
                "phone",
                "roles"
            ]
        );
        assert!(config.resources().is_empty());
        assert!(!config.is_confidential());
    }

    #[test]
    fn endpoint_keeps_path_prefix_and_drops_trailing_slashes() {
        for (given, expected) in [
            ("https://logto.test", "https://logto.test"),
            ("https://logto.test///", "https://logto.test"),
            ("https://example.com/auth/", "https://example.com/auth"),
        ] {
            let config = LogtoConfig::builder(given, "app").build().unwrap();
            assert_eq!(config.endpoint(), expected);
        }
    }

    #[test]
    fn bad_config_is_a_typed_error() {
        for (endpoint, app_id) in [
            ("not a url", "app"),
            ("ftp://logto.test", "app"),
            ("https://logto.test?x=1", "app"),
            ("https://logto.test", " "),
        ] {
            let err = LogtoConfig::builder(endpoint, app_id).build().unwrap_err();
            assert!(matches!(err, LogtoError::InvalidConfig(_)), "{err}");
        }
        for resource in ["https://api.test#org", "api", "/api"] {
            let err = LogtoConfig::builder("https://logto.test", "app")
                .resources([resource])
                .build()
                .unwrap_err();
            assert!(matches!(err, LogtoError::InvalidConfig(_)), "{err}");
        }
    }

    #[test]
    fn plain_http_is_refused_off_the_loopback_interface() {
        for endpoint in [
            "http://127.0.0.1:3001",
            "http://localhost:3001",
            "http://[::1]:3001",
        ] {
            LogtoConfig::builder(endpoint, "app").build().unwrap();
        }
        let error = LogtoConfig::builder("http://logto.example.com", "app")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, LogtoError::InvalidConfig(m) if m.contains("allow_insecure_http")),
            "{error}"
        );
        LogtoConfig::builder("http://logto.example.com", "app")
            .allow_insecure_http(true)
            .build()
            .unwrap();
    }

    #[test]
    fn debug_hides_the_secret() {
        let config = LogtoConfig::builder("https://logto.test", "app")
            .app_secret("super-secret-value")
            .build()
            .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret-value"), "{debug}");
        assert!(config.is_confidential());
    }
}
