use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use logto_jwt::http::{DiscoveryError, HttpError, HttpOptions, ReadError, TransportError};
use logto_jwt::{Audience, JwksCache, JwksOptions, RegisteredClaims, VerifiedToken};
use serde_json::{Map, Value};
use url::Url;

use crate::cache::TokenCache;
use crate::info::ORGANIZATION_AUDIENCE_PREFIX;
use crate::{AuthError, AuthInfo, BuildError, ScopeRequirement, TokenRejection};

/// Largest discovery document read.
const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// Which audience (`aud`) tokens must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpectedAudience {
    /// An API resource indicator, e.g. `https://api.example.com`.
    Resource(String),
    /// The organization with this id (`aud` = `urn:logto:organization:<id>`).
    Organization(String),
    /// Any organization; its id is handed to the caller in
    /// [`AuthInfo::organization_id`].
    AnyOrganization,
}

impl ExpectedAudience {
    fn accepts(&self, aud: &Audience) -> bool {
        match self {
            ExpectedAudience::Resource(r) => aud.contains(r),
            ExpectedAudience::Organization(id) => aud
                .iter()
                .any(|a| a.strip_prefix(ORGANIZATION_AUDIENCE_PREFIX) == Some(id.as_str())),
            ExpectedAudience::AnyOrganization => aud.iter().any(|a| {
                a.strip_prefix(ORGANIZATION_AUDIENCE_PREFIX)
                    .is_some_and(|id| !id.is_empty())
            }),
        }
    }
}

enum Source {
    Endpoint(String),
    Metadata { issuer: String, jwks_uri: String },
}

/// Configures a [`Validator`].
#[must_use]
pub struct ValidatorBuilder {
    source: Source,
    audience: Option<ExpectedAudience>,
    leeway: Duration,
    required: ScopeRequirement,
    cache_capacity: usize,
    timeout: Duration,
    min_refresh_interval: Duration,
    max_retry_interval: Duration,
    jwks_max_age: Duration,
    max_token_len: usize,
    allow_insecure_http: bool,
    http: HttpOptions,
}

impl fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorBuilder")
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl ValidatorBuilder {
    fn new(source: Source) -> ValidatorBuilder {
        ValidatorBuilder {
            source,
            audience: None,
            leeway: Duration::from_secs(30),
            required: ScopeRequirement::none(),
            cache_capacity: 10_000,
            timeout: Duration::from_secs(10),
            min_refresh_interval: Duration::from_secs(30),
            max_retry_interval: Duration::from_secs(300),
            jwks_max_age: Duration::from_secs(600),
            max_token_len: 16 * 1024,
            allow_insecure_http: false,
            http: HttpOptions::default(),
        }
    }

    /// The expected audience (required).
    pub fn audience(mut self, audience: ExpectedAudience) -> Self {
        self.audience = Some(audience);
        self
    }

    /// Shorthand for [`ExpectedAudience::Resource`].
    pub fn resource(self, indicator: impl Into<String>) -> Self {
        self.audience(ExpectedAudience::Resource(indicator.into()))
    }

    /// Shorthand for [`ExpectedAudience::Organization`].
    pub fn organization(self, id: impl Into<String>) -> Self {
        self.audience(ExpectedAudience::Organization(id.into()))
    }

    /// Shorthand for [`ExpectedAudience::AnyOrganization`].
    pub fn any_organization(self) -> Self {
        self.audience(ExpectedAudience::AnyOrganization)
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30 s, at most
    /// [`MAX_LEEWAY`](logto_jwt::MAX_LEEWAY), 5 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Scopes every token must carry (default none). Per-route scopes are
    /// checked with [`Validator::validate_with`] or [`AuthInfo::require`].
    pub fn required_scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.required = scopes;
        self
    }

    /// Number of validated tokens remembered (default 10 000; 0 disables the
    /// cache). A cached token is checked again only for expiry, until the
    /// key set changes.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Time limit of each HTTP request to Logto (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Shortest time between two JWKS fetches triggered by unknown `kid`s
    /// (default 30 s). It bounds the load a flood of made-up `kid`s puts on
    /// Logto, and also how long, after Logto rotates its signing key, tokens
    /// signed with the new key can be refused: until this long after the
    /// validator's last fetch.
    pub fn jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Longest wait between two JWKS fetches while they keep failing
    /// (default 5 min): after a failed fetch the next one waits
    /// [`jwks_min_refresh_interval`](Self::jwks_min_refresh_interval), and
    /// each further failure doubles the wait up to this cap, across all
    /// requests; a successful fetch resets it. No request waits for it:
    /// meanwhile tokens are checked with the keys held, or answered 503
    /// ([`AuthError::KeysUnavailable`]) at once when none are held.
    pub fn jwks_max_retry_interval(mut self, interval: Duration) -> Self {
        self.max_retry_interval = interval;
        self
    }

    /// How long the JWKS is used before it is fetched again, in the
    /// background (default 10 min): after that, tokens signed with a key
    /// Logto no longer publishes are refused, cached ones included.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Longest token accepted, in bytes (default 16 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Allows plain `http://` for the endpoint and the `jwks_uri` on hosts
    /// other than the loopback interface (default `false`). **For
    /// development only**: over plain http, anyone on the path can swap the
    /// signing keys and forge tokens. `http://` on a loopback host
    /// (`127.0.0.0/8`, `::1`, `localhost`) is always allowed.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or several PEM
    /// certificates) besides the system's, e.g. the private CA of a
    /// self-hosted Logto. A certificate that is not usable makes
    /// [`build`](Self::build) fail with [`BuildError::InvalidRootCertificate`].
    ///
    /// ```
    /// # async fn run() {
    /// use logto_api_auth::{BuildError, Validator};
    /// let err = Validator::builder("https://logto.internal")
    ///     .resource("https://api.internal")
    ///     .root_certificate(b"not a PEM certificate".to_vec())
    ///     .build()
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(err, BuildError::InvalidRootCertificate(_)));
    /// # }
    /// ```
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.http = self.http.root_certificate(pem);
        self
    }

    /// Fetches the discovery document and the keys with `client` (a proxy,
    /// client certificates…). It **must not follow redirects**
    /// (`reqwest::redirect::Policy::none()`): a redirect could hand the
    /// validator another issuer's keys. Its proxy, TLS and connect-timeout
    /// settings apply; [`timeout`](Self::timeout) still bounds each request.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), logto_api_auth::BuildError> {
    /// use logto_api_auth::{Validator, reqwest};
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .expect("a client");
    /// let validator = Validator::builder("https://logto.internal")
    ///     .resource("https://api.internal")
    ///     .http_client(client)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = self.http.http_client(client);
        self
    }

    /// Runs discovery (unless built from metadata) and builds the
    /// validator. The JWKS is fetched on first use.
    ///
    /// # Errors
    /// [`BuildError::Config`] when the audience is missing or a URL is
    /// invalid; [`BuildError::InsecureUrl`] when the endpoint or the
    /// `jwks_uri` is plain `http://` on a non-loopback host (see
    /// [`allow_insecure_http`](Self::allow_insecure_http));
    /// [`BuildError::InvalidRootCertificate`];
    /// [`BuildError::Discovery`] when the OpenID configuration cannot be
    /// fetched or read; [`BuildError::UntrustedCertificate`] when the
    /// tenant's TLS certificate is not trusted; [`BuildError::IssuerMismatch`]
    /// when it names another issuer than `<endpoint>/oidc`.
    pub async fn build(self) -> Result<Validator, BuildError> {
        let audience = self.audience.clone().ok_or_else(|| {
            BuildError::Config(
                "no audience: call .resource(<API resource indicator>), .organization(<id>) or .any_organization()".into(),
            )
        })?;
        if matches!(&audience, ExpectedAudience::Resource(r) | ExpectedAudience::Organization(r) if r.is_empty())
        {
            return Err(BuildError::Config("the audience must not be empty".into()));
        }
        logto_jwt::check_leeway(self.leeway).map_err(BuildError::Config)?;
        let http = self
            .http
            .client(
                concat!("logto-api-auth/", env!("CARGO_PKG_VERSION")),
                self.timeout,
            )
            .map_err(|e| match e {
                HttpError::InvalidRootCertificate(detail) => {
                    BuildError::InvalidRootCertificate(detail)
                }
                other => BuildError::Config(other.to_string()),
            })?;
        let (issuer, jwks_uri) = match &self.source {
            Source::Endpoint(endpoint) => {
                discover(&http, endpoint, self.timeout, self.allow_insecure_http).await?
            }
            Source::Metadata { issuer, jwks_uri } => (
                issuer.clone(),
                parse_http_url(jwks_uri, "jwks_uri", self.allow_insecure_http)?,
            ),
        };
        let jwks = JwksCache::new(
            jwks_uri,
            http,
            JwksOptions::default()
                .min_refresh_interval(self.min_refresh_interval)
                .max_retry_interval(self.max_retry_interval)
                .max_age(self.jwks_max_age)
                .timeout(self.timeout)
                .max_token_len(self.max_token_len),
        );
        Ok(Validator {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared { issuer, jwks }),
                audience,
                leeway: self.leeway.as_secs(),
                required: self.required,
                cache_capacity: self.cache_capacity,
                cache: TokenCache::new(self.cache_capacity),
            }),
        })
    }
}

/// Parses an https URL, or an http one on a loopback host (or anywhere when
/// `allow_insecure_http`).
fn parse_http_url(
    s: &str,
    what: &'static str,
    allow_insecure_http: bool,
) -> Result<Url, BuildError> {
    let url =
        Url::parse(s).map_err(|e| BuildError::Config(format!("`{what}` is not a URL: {e}")))?;
    match logto_jwt::http::check_transport(&url, allow_insecure_http) {
        Ok(()) => Ok(url),
        Err(TransportError::InsecureHttp) => Err(BuildError::InsecureUrl {
            what,
            url: shorten(s),
        }),
        Err(_) => Err(BuildError::Config(format!(
            "`{what}` must be an http(s) URL"
        ))),
    }
}

/// Shortens a value taken from the network or the configuration before it
/// goes into an error.
fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if s.chars().count() > MAX {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    } else {
        s
    }
}

async fn discover(
    http: &reqwest::Client,
    endpoint: &str,
    timeout: Duration,
    allow_insecure_http: bool,
) -> Result<(String, Url), BuildError> {
    let base = parse_http_url(
        endpoint.trim_end_matches('/'),
        "endpoint",
        allow_insecure_http,
    )?;
    if base.query().is_some() || base.fragment().is_some() {
        return Err(BuildError::Config(
            "the endpoint must not have a query or fragment".into(),
        ));
    }
    let url = logto_jwt::http::discovery_url(&base)
        .map_err(|e| BuildError::Config(format!("`endpoint` is not a base URL: {e}")))?;
    let fetch = async {
        let response = http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| {
                if logto_jwt::http::is_certificate_error(&e) {
                    BuildError::UntrustedCertificate {
                        url: url.to_string(),
                        detail: logto_jwt::http::error_chain(&e.without_url()),
                    }
                } else {
                    BuildError::Discovery(format!(
                        "cannot reach {url}: {}; check LOGTO_ENDPOINT",
                        if e.is_timeout() {
                            "timed out".to_owned()
                        } else {
                            e.to_string()
                        }
                    ))
                }
            })?;
        if !response.status().is_success() {
            return Err(BuildError::Discovery(format!(
                "{url} answered HTTP {}; check the endpoint (it is the tenant URL, without /oidc)",
                response.status()
            )));
        }
        logto_jwt::http::read_capped(response, MAX_DISCOVERY_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge { .. } => {
                    BuildError::Discovery(format!("{url}: document too large"))
                }
                e => BuildError::Discovery(format!("reading {url}: {e}")),
            })
    };
    let body = tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| BuildError::Discovery(format!("{url} timed out after {timeout:?}")))??;
    #[derive(serde::Deserialize)]
    struct Metadata {
        jwks_uri: String,
    }
    let (issuer, meta) =
        logto_jwt::http::parse_discovery::<Metadata>(&base, &body).map_err(|e| match e {
            DiscoveryError::IssuerMismatch {
                expected,
                discovered,
            } => BuildError::IssuerMismatch {
                expected,
                discovered,
            },
            _ => BuildError::Discovery(format!(
                "{url} is not an OpenID configuration (issuer, jwks_uri)"
            )),
        })?;
    let jwks_uri = parse_http_url(&meta.jwks_uri, "jwks_uri", allow_insecure_http)?;
    Ok((issuer, jwks_uri))
}

/// Validates Logto access tokens for one audience. Cheap to clone.
///
/// Checks, in order: size cap, header (`alg` from the issuer's keys, never
/// `none`/HMAC; no `jku`, `x5u`, `jwk`, `x5c`, `crit`), key by `kid`,
/// signature, `typ` = `at+jwt`, `iss`, `aud`, `exp`/`nbf`/`iat` with leeway,
/// then scopes. Valid tokens are cached until they expire.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use logto_api_auth::{ScopeRequirement, Validator, extract_bearer};
/// let validator = Validator::builder("https://tenant.logto.app")
///     .resource("https://api.example.com")
///     .build()
///     .await?;
/// let token = extract_bearer(Some("Bearer eyJ..."))?;
/// let auth = validator
///     .validate_with(token, &ScopeRequirement::all_of(["read:items"]))
///     .await?;
/// println!("user {:?} via app {:?}", auth.subject(), auth.client_id());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Shared {
    issuer: String,
    jwks: JwksCache,
}

struct Inner {
    shared: Arc<Shared>,
    audience: ExpectedAudience,
    leeway: u64,
    required: ScopeRequirement,
    cache_capacity: usize,
    cache: Option<TokenCache>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("issuer", &self.inner.shared.issuer)
            .field("audience", &self.inner.audience)
            .field("leeway", &self.inner.leeway)
            .field("required", &self.inner.required)
            .finish_non_exhaustive()
    }
}

impl Validator {
    /// Starts configuring a validator for the Logto tenant at `endpoint`
    /// (e.g. `https://tenant.logto.app`, a trailing slash is fine). `build`
    /// reads `issuer` and `jwks_uri` from
    /// `<endpoint>/oidc/.well-known/openid-configuration`.
    pub fn builder(endpoint: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder::new(Source::Endpoint(endpoint.into()))
    }

    /// Starts configuring a validator from known metadata, without
    /// discovery.
    pub fn builder_from_metadata(
        issuer: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> ValidatorBuilder {
        ValidatorBuilder::new(Source::Metadata {
            issuer: issuer.into(),
            jwks_uri: jwks_uri.into(),
        })
    }

    /// A validator for another audience sharing this one's issuer and key
    /// cache (with its own token cache and no required scopes).
    #[must_use]
    pub fn with_audience(&self, audience: ExpectedAudience) -> Validator {
        Validator {
            inner: Arc::new(Inner {
                shared: self.inner.shared.clone(),
                audience,
                leeway: self.inner.leeway,
                required: ScopeRequirement::none(),
                cache_capacity: self.inner.cache_capacity,
                cache: TokenCache::new(self.inner.cache_capacity),
            }),
        }
    }

    /// The issuer tokens must come from.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.shared.issuer
    }

    /// The audience tokens must carry.
    #[must_use]
    pub fn audience(&self) -> &ExpectedAudience {
        &self.inner.audience
    }

    /// Validates `token` (the raw JWT, see [`crate::extract_bearer`]) and
    /// the validator-wide required scopes.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`], [`AuthError::InsufficientScope`],
    /// [`AuthError::KeysUnavailable`].
    pub async fn validate(&self, token: &str) -> Result<AuthInfo, AuthError> {
        let info = self.validate_token(token).await?;
        info.require(&self.inner.required)?;
        Ok(info)
    }

    /// Like [`Validator::validate`], and also checks `scopes`.
    ///
    /// # Errors
    /// As [`Validator::validate`].
    pub async fn validate_with(
        &self,
        token: &str,
        scopes: &ScopeRequirement,
    ) -> Result<AuthInfo, AuthError> {
        let info = self.validate(token).await?;
        info.require(scopes)?;
        Ok(info)
    }

    async fn validate_token(&self, token: &str) -> Result<AuthInfo, AuthError> {
        let inner = &*self.inner;
        let now = logto_jwt::unix_now();
        let jwks = &inner.shared.jwks;
        // Read before verifying: a result cached while the keys change is checked again.
        let generation = jwks.generation();
        if let Some(cache) = &inner.cache {
            jwks.refresh_if_stale();
            if let Some(info) = cache.get(token, now, inner.leeway, generation) {
                return Ok(info);
            }
        }
        let verified = jwks.verify(token).await.map_err(AuthError::token)?;
        let info = self.check(&verified, now)?;
        if let Some(cache) = &inner.cache {
            cache.insert(token, info.clone(), generation);
        }
        Ok(info)
    }

    fn check(&self, token: &VerifiedToken, now: u64) -> Result<AuthInfo, AuthError> {
        let inner = &*self.inner;
        let reject = |r| Err(AuthError::InvalidToken(r));
        let typ_ok = token.header().typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return reject(TokenRejection::WrongType);
        }
        let claims: Map<String, Value> = serde_json::from_slice(token.payload_json())
            .map_err(|_| AuthError::InvalidToken(TokenRejection::BadClaim("payload")))?;
        let string = |name: &'static str| -> Result<Option<String>, AuthError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(AuthError::InvalidToken(TokenRejection::BadClaim(name))),
            }
        };
        if string("iss")?.as_deref() != Some(inner.shared.issuer.as_str()) {
            return reject(TokenRejection::WrongIssuer);
        }
        let aud: Audience = match claims.get("aud") {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| AuthError::InvalidToken(TokenRejection::BadClaim("aud")))?,
            None => return reject(TokenRejection::WrongAudience),
        };
        if !inner.audience.accepts(&aud) {
            return reject(TokenRejection::WrongAudience);
        }
        let time = |name: &'static str| -> Result<Option<u64>, AuthError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => logto_jwt::numeric_date(n)
                    .map(Some)
                    .ok_or(AuthError::InvalidToken(TokenRejection::BadClaim(name))),
                Some(_) => Err(AuthError::InvalidToken(TokenRejection::BadClaim(name))),
            }
        };
        let mut times = RegisteredClaims::default();
        times.exp = time("exp")?;
        times.nbf = time("nbf")?;
        times.iat = time("iat")?;
        times
            .check_time(now, inner.leeway)
            .map_err(|e| AuthError::InvalidToken(TokenRejection::Jwt(e)))?;
        let scopes = string("scope")?
            .map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let audience = aud.iter().map(str::to_owned).collect();
        let subject = string("sub")?;
        let client_id = string("client_id")?;
        // Checked by `check_time`: exp is present.
        let exp = times.exp.unwrap_or_default();
        Ok(AuthInfo::new(
            subject, client_id, scopes, audience, exp, claims,
        ))
    }
}
