//! [`LogtoHandle`]: the runtime one process shares (HTTP client, discovery, keys, refresh
//! coordination), built from a [`LogtoConfig`] value.

use std::fmt;
use std::sync::Arc;

use crate::config::LogtoConfig;
use crate::error::LogtoError;
use crate::parsed_cache::ParsedCache;
use crate::protocol::claims::IdTokenClaims;
use crate::protocol::logout_token::{self, LogoutToken};
use crate::protocol::{id_token, now_unix};
use crate::provider::Provider;
use crate::refresh::RefreshLocks;

/// The shared runtime of a Logto app: the HTTP client, Logto's discovery document and keys (fetched
/// once, refetched when Logto rotates them), the back-off after Logto failed, the coordination
/// of refreshes, and the session tokens its clients parsed (so that a client built per request
/// does not parse the same stored text again). Build one per process from a [`LogtoConfig`] and give clones to the per-user
/// [`LogtoClient`](crate::LogtoClient)s: cloning is cheap, and clones share everything.
///
/// Building sends nothing: Logto is first asked when a client needs it.
///
/// ```
/// use logto::{LogtoClient, LogtoConfig, LogtoHandle, MemoryStorage};
///
/// let config = LogtoConfig::builder("https://tenant.logto.app", "my-app-id")
///     .app_secret("my-app-secret")
///     .build()?;
/// let logto = LogtoHandle::new(config)?;
/// let client = LogtoClient::new(logto.clone(), MemoryStorage::new());
/// assert_eq!(client.config().app_id(), "my-app-id");
/// # Ok::<(), logto::LogtoError>(())
/// ```
#[derive(Clone)]
pub struct LogtoHandle {
    inner: Arc<Inner>,
}

struct Inner {
    config: LogtoConfig,
    provider: Provider,
    refresh_locks: RefreshLocks,
    parsed_cache: ParsedCache,
}

impl fmt::Debug for LogtoHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoHandle")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl LogtoHandle {
    /// The runtime for `config`, with an HTTP client that trusts the system's root certificates
    /// and the configuration's [`root_certificate`s](crate::LogtoConfigBuilder::root_certificate).
    ///
    /// # Errors
    /// [`LogtoError::InvalidRootCertificate`] when a configured root certificate is not usable;
    /// [`LogtoError::InvalidConfig`] when the TLS stack cannot be set up.
    pub fn new(config: LogtoConfig) -> Result<LogtoHandle, LogtoError> {
        let http = config.http_options();
        Self::build(config, &http)
    }

    /// The runtime for `config`, sending every request to Logto with `client` (a proxy, client
    /// certificates…) instead of a client of its own. The client **must not follow redirects**
    /// (`reqwest::redirect::Policy::none()`), or codes, secrets and tokens could be replayed to
    /// wherever a redirect points; its proxy, TLS and connect-timeout settings apply, the
    /// configuration's root certificates do not, and the configured
    /// [`timeout`](crate::LogtoConfigBuilder::timeout) still bounds each request.
    ///
    /// ```
    /// use logto::{LogtoConfig, LogtoHandle, reqwest};
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let config = LogtoConfig::builder("https://logto.internal", "app-id").build()?;
    /// let logto = LogtoHandle::with_http_client(config, client)?;
    /// # Ok::<(), logto::LogtoError>(())
    /// ```
    ///
    /// # Errors
    /// None today; the `Result` leaves room for checks of the client.
    pub fn with_http_client(
        config: LogtoConfig,
        client: reqwest::Client,
    ) -> Result<LogtoHandle, LogtoError> {
        let http = logto_jwt::http::HttpOptions::default().http_client(client);
        Self::build(config, &http)
    }

    fn build(
        config: LogtoConfig,
        http: &logto_jwt::http::HttpOptions,
    ) -> Result<LogtoHandle, LogtoError> {
        let provider = Provider::new(
            config.endpoint_url().clone(),
            config.timeout(),
            config.jwks_min_refresh_interval(),
            config.backoff(),
            config.allows_insecure_http(),
            http,
        )?;
        Ok(LogtoHandle {
            inner: Arc::new(Inner {
                config,
                provider,
                refresh_locks: RefreshLocks::default(),
                parsed_cache: ParsedCache::default(),
            }),
        })
    }

    /// The configuration this runtime was built from.
    pub fn config(&self) -> &LogtoConfig {
        &self.inner.config
    }

    /// Verifies an ID token issued to this app: its signature against Logto's keys (fetched once,
    /// refetched when Logto rotates them), issuer, audience, expiry and issue time (with the
    /// configured leeway), and its `nonce` when one is expected. Returns its claims.
    ///
    /// The client does this on every sign-in and refresh; call it yourself to check an ID token
    /// that reached your server another way. Such a token may come from anyone, so a key id
    /// missing from the cached keys refetches them at most once per
    /// [`jwks_min_refresh_interval`](crate::LogtoConfigBuilder::jwks_min_refresh_interval).
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
            client_id: self.config().app_id(),
            nonce,
            leeway: self.config().leeway_secs(),
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
    /// # async fn run(logto: logto::LogtoHandle, logout_token: &str) -> Result<(), logto::LogtoError> {
    /// let token = logto.verify_logout_token(logout_token).await?;
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
                client_id: self.config().app_id(),
                leeway: self.config().leeway_secs(),
                now: now_unix(),
            },
        )
    }

    pub(crate) fn provider(&self) -> &Provider {
        &self.inner.provider
    }

    pub(crate) fn refresh_locks(&self) -> &RefreshLocks {
        &self.inner.refresh_locks
    }

    /// The stored session tokens its clients parsed, by their exact text.
    pub(crate) fn parsed_cache(&self) -> &ParsedCache {
        &self.inner.parsed_cache
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
