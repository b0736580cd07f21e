//! [`TokenSource`]: machine-to-machine access tokens (the client-credentials grant), cached and
//! renewed, one request at a time.

use logto_jwt::http::HttpOptions;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::BackendError;
use crate::http::{DEFAULT_TIMEOUT, Http, Secret, TokenResponse};

/// How long before its expiry a cached token is renewed, by default (at most half its lifetime).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The longest lifetime a token is taken to have: `expires_in` comes from the network, and a
/// huge one would overflow an [`Instant`]. A token said to live longer is renewed after a year.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// An access token from Logto. Cheap to clone; its value is never shown by `Debug`.
#[derive(Clone)]
pub struct AccessToken {
    value: Arc<str>,
    scope: Option<Arc<str>>,
    expires_at: Instant,
}

impl AccessToken {
    pub(crate) fn from_response(response: TokenResponse, now: Instant) -> Self {
        let lifetime = lifetime_of(&response);
        AccessToken {
            value: response.access_token.into(),
            scope: response.scope.filter(|s| !s.is_empty()).map(Into::into),
            expires_at: now + lifetime,
        }
    }

    /// The token, for an `Authorization: Bearer` header.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The scopes Logto granted (space-separated), when it said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The scopes Logto granted, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_whitespace()
    }

    /// When Logto said the token expires.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("scope", &self.scope)
            .field(
                "expires_in",
                &self.expires_at.saturating_duration_since(Instant::now()),
            )
            .finish_non_exhaustive()
    }
}

/// Builds a [`TokenSource`]; see [`TokenSource::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TokenSourceBuilder {
    endpoint: String,
    app_id: String,
    app_secret: Secret,
    resource: Option<String>,
    scopes: Vec<String>,
    organization_id: Option<String>,
    timeout: Duration,
    allow_insecure_http: bool,
    http: HttpOptions,
    refresh_margin: Duration,
}

impl TokenSourceBuilder {
    /// The API resource indicator the tokens are for (their `aud`), e.g.
    /// `https://api.your-app.com` or, for the Management API,
    /// [`Tenant::resource`](crate::Tenant::resource).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The scopes to ask for (Logto grants those of the app's roles among them).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Organization tokens: the app's token for this organization (the app must be added to
    /// it). With a [`resource`](Self::resource), a token for that API resource carrying the
    /// scopes of the app's organization roles; without, an organization token
    /// (`aud` = `urn:logto:organization:<id>`).
    pub fn organization_id(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }

    /// The timeout of each request to Logto (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows a plain-http endpoint off this machine (development only: the app secret and the
    /// tokens would travel in clear). Plain http to `localhost`/`127.0.0.1` is always allowed.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or several PEM certificates) besides the
    /// system's, e.g. the private CA of a self-hosted Logto. A certificate that is not usable
    /// makes `build` fail with [`BackendError::InvalidRootCertificate`].
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.http = self.http.root_certificate(pem);
        self
    }

    /// Sends every request to Logto with `client` (a proxy, client certificates…). It **must not
    /// follow redirects** (`reqwest::redirect::Policy::none()`), or the app secret and tokens could
    /// be replayed to wherever a redirect points; its proxy, TLS and connect-timeout settings
    /// apply, and [`timeout`](Self::timeout) still bounds each request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = self.http.http_client(client);
        self
    }

    /// How long before its expiry a cached token is renewed (default
    /// [`DEFAULT_REFRESH_MARGIN`]; never more than half the token's lifetime).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    pub(crate) fn http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Checks the configuration; no request is sent until the first
    /// [`access_token`](TokenSource::access_token).
    pub fn build(self) -> Result<TokenSource, BackendError> {
        if self.app_id.trim().is_empty() || self.app_secret.0.is_empty() {
            return Err(BackendError::InvalidConfig(
                "the app id and secret must not be empty: copy them from the M2M app in Logto Console"
                    .into(),
            ));
        }
        let http = Http::new(
            &self.endpoint,
            self.timeout,
            self.allow_insecure_http,
            &self.http,
        )?;
        Ok(TokenSource::from_parts(http, self))
    }
}

/// Machine-to-machine access tokens from Logto's client-credentials grant.
///
/// [`access_token`](Self::access_token) returns the cached token while it is fresh and asks Logto
/// for a new one shortly before it expires. However many tasks ask at once, one request is sent
/// (single flight): the others wait for it and share its token, or its error. A caller that is
/// cancelled while it waits or fetches does not block the others. Clones share the cache.
///
/// ```no_run
/// use logto_backend::TokenSource;
/// # async fn run() -> Result<(), logto_backend::BackendError> {
/// let tokens = TokenSource::builder("https://your-tenant.logto.app", "m2m-app-id", "m2m-app-secret")
///     .resource("https://api.your-app.com")
///     .scopes(["read:reports"])
///     .build()?;
/// let token = tokens.access_token().await?;
/// // reqwest::Client::new().get("https://api.your-app.com/reports").bearer_auth(token.as_str())
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("endpoint", &self.inner.http.endpoint.as_str())
            .field("app_id", &self.inner.app_id)
            .field("resource", &self.inner.resource)
            .field("organization_id", &self.inner.organization_id)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: Http,
    app_id: String,
    app_secret: Secret,
    resource: Option<String>,
    scope: Option<String>,
    organization_id: Option<String>,
    refresh_margin: Duration,
    cache: Mutex<Cache>,
    /// Held by the one caller that asks Logto; the others queue behind it.
    flight: tokio::sync::Mutex<()>,
    requests: AtomicU64,
}

#[derive(Default)]
struct Cache {
    token: Option<AccessToken>,
    refresh_at: Option<Instant>,
    /// Incremented by each completed request.
    generation: u64,
    /// The error of the last request, when it failed: shared with those that waited for it.
    failure: Option<BackendError>,
}

impl Cache {
    fn fresh(&self, now: Instant) -> Option<AccessToken> {
        match (&self.token, self.refresh_at) {
            (Some(token), Some(at)) if now < at => Some(token.clone()),
            _ => None,
        }
    }
}

/// The lifetime Logto gave a token (`expires_in`), at most [`MAX_LIFETIME`]; none said: already
/// expired, so that it is used once and not cached.
pub(crate) fn lifetime_of(response: &TokenResponse) -> Duration {
    Duration::from_secs(response.expires_in.unwrap_or(0)).min(MAX_LIFETIME)
}

/// When a token obtained at `now` with this lifetime should be renewed.
pub(crate) fn refresh_at(now: Instant, lifetime: Duration, margin: Duration) -> Instant {
    now + lifetime - margin.min(lifetime / 2)
}

impl TokenSource {
    /// A token source for an M2M app of the Logto at `endpoint` (e.g.
    /// `https://your-tenant.logto.app`, without `/oidc`).
    pub fn builder(
        endpoint: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> TokenSourceBuilder {
        TokenSourceBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: Secret(app_secret.into()),
            resource: None,
            scopes: Vec::new(),
            organization_id: None,
            timeout: DEFAULT_TIMEOUT,
            allow_insecure_http: false,
            http: HttpOptions::default(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        }
    }

    fn from_parts(http: Http, builder: TokenSourceBuilder) -> Self {
        TokenSource {
            inner: Arc::new(Inner {
                http,
                app_id: builder.app_id,
                app_secret: builder.app_secret,
                resource: builder.resource,
                scope: (!builder.scopes.is_empty()).then(|| builder.scopes.join(" ")),
                organization_id: builder.organization_id,
                refresh_margin: builder.refresh_margin,
                cache: Mutex::new(Cache::default()),
                flight: tokio::sync::Mutex::new(()),
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// A fresh access token: the cached one, or a new one from Logto.
    pub async fn access_token(&self) -> Result<AccessToken, BackendError> {
        let seen = {
            let cache = self.cache();
            if let Some(token) = cache.fresh(Instant::now()) {
                return Ok(token);
            }
            cache.generation
        };
        // Single flight: one caller asks Logto; a cancelled one releases the lock on drop.
        let _flight = self.inner.flight.lock().await;
        {
            let cache = self.cache();
            if let Some(token) = cache.fresh(Instant::now()) {
                return Ok(token);
            }
            if cache.generation != seen {
                if let Some(error) = &cache.failure {
                    // The request this caller waited for failed: share its error.
                    return Err(error.clone());
                }
            }
        }
        let result = self.request().await;
        let mut cache = self.cache();
        cache.generation += 1;
        match result {
            Ok((token, refresh_at)) => {
                cache.token = Some(token.clone());
                cache.refresh_at = Some(refresh_at);
                cache.failure = None;
                Ok(token)
            }
            Err(error) => {
                cache.failure = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Drops `token` from the cache (when it is still the cached one), e.g. after an API refused
    /// it with 401: the next [`access_token`](Self::access_token) asks Logto for a new one.
    pub fn invalidate(&self, token: &AccessToken) {
        let mut cache = self.cache();
        if cache
            .token
            .as_ref()
            .is_some_and(|cached| Arc::ptr_eq(&cached.value, &token.value))
        {
            cache.token = None;
            cache.refresh_at = None;
        }
    }

    /// How many token requests this source (and its clones) has sent to Logto.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The API resource the tokens are for.
    pub fn resource(&self) -> Option<&str> {
        self.inner.resource.as_deref()
    }

    pub(crate) fn http(&self) -> &Http {
        &self.inner.http
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        // The cache is always left consistent: a panic elsewhere cannot leave it half-written.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn request(&self) -> Result<(AccessToken, Instant), BackendError> {
        let inner = &self.inner;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(resource) = &inner.resource {
            form.push(("resource", resource));
        }
        if let Some(scope) = &inner.scope {
            form.push(("scope", scope));
        }
        if let Some(organization_id) = &inner.organization_id {
            form.push(("organization_id", organization_id));
        }
        inner.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = inner
            .http
            .token(
                "client credentials token request",
                &inner.app_id,
                Some(&inner.app_secret),
                &form,
            )
            .await?;
        let lifetime = lifetime_of(&response);
        let token = AccessToken::from_response(response, started);
        Ok((token, refresh_at(started, lifetime, inner.refresh_margin)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_a_margin_before_expiry_at_most_half_the_lifetime() {
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        assert_eq!(
            refresh_at(now, hour, DEFAULT_REFRESH_MARGIN),
            now + hour - Duration::from_secs(60)
        );
        let short = Duration::from_secs(10);
        assert_eq!(
            refresh_at(now, short, DEFAULT_REFRESH_MARGIN),
            now + short / 2
        );
        assert_eq!(refresh_at(now, Duration::ZERO, DEFAULT_REFRESH_MARGIN), now);
    }

    #[test]
    fn a_huge_expires_in_is_taken_as_a_year() {
        let now = Instant::now();
        let response = |expires_in| TokenResponse {
            access_token: "t".into(),
            expires_in: Some(expires_in),
            scope: None,
        };
        for expires_in in [u64::MAX, i64::MAX as u64, 10 * MAX_LIFETIME.as_secs()] {
            let lifetime = lifetime_of(&response(expires_in));
            assert_eq!(lifetime, MAX_LIFETIME);
            let token = AccessToken::from_response(response(expires_in), now);
            assert_eq!(token.expires_at(), now + MAX_LIFETIME);
            let renewal = refresh_at(now, lifetime, DEFAULT_REFRESH_MARGIN);
            assert_eq!(renewal, now + MAX_LIFETIME - DEFAULT_REFRESH_MARGIN);
        }
        assert_eq!(lifetime_of(&response(3600)), Duration::from_secs(3600));
    }

    #[test]
    fn a_token_is_fresh_until_its_renewal_time() {
        let now = Instant::now();
        let token = AccessToken::from_response(
            TokenResponse {
                access_token: "secret-token".into(),
                expires_in: Some(3600),
                scope: Some("all".into()),
            },
            now,
        );
        let cache = Cache {
            token: Some(token),
            refresh_at: Some(now + Duration::from_secs(10)),
            ..Cache::default()
        };
        assert!(cache.fresh(now).is_some());
        assert!(cache.fresh(now + Duration::from_secs(10)).is_none());
        let debug = format!("{:?}", cache.fresh(now).unwrap());
        assert!(!debug.contains("secret-token"), "{debug}");
    }

    #[test]
    fn empty_credentials_are_refused_and_secrets_stay_out_of_debug() {
        assert!(matches!(
            TokenSource::builder("https://logto.example.com", "", "secret").build(),
            Err(BackendError::InvalidConfig(_))
        ));
        let builder = TokenSource::builder("https://logto.example.com", "id", "the-secret");
        assert!(!format!("{builder:?}").contains("the-secret"));
        let source = builder.build().unwrap();
        assert!(!format!("{source:?}").contains("the-secret"));
    }
}
