//! [`LogtoConfig`]: where Logto is, who the app is, and what it asks for (a plain value).

use std::fmt;
use std::time::Duration;

use logto_jwt::http::{HttpOptions, TransportError};
use serde::Deserialize;
use url::Url;

use crate::error::LogtoError;
use crate::protocol::tokens::check_resource;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
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
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

/// Where Logto is, who the app is, and what it asks for: a plain value, checked when it is built
/// (by [`LogtoConfig::builder`] in code, or deserialized from a file). It holds no connection or
/// cache: [`LogtoHandle::new`](crate::LogtoHandle::new) turns it into the shared runtime that
/// clients use.
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
///
/// From the environment, [`LogtoConfig::from_env`] reads the SDK's variables (`LOGTO_ENDPOINT`,
/// `LOGTO_APP_ID`, `LOGTO_TIMEOUT_SECS`…) with the builder's checks and defaults, and leaves the
/// app's other `LOGTO_` variables alone.
///
/// From a file (here JSON; any serde format works), with the same checks. Every field but
/// `endpoint` and `app_id` is optional; times are in seconds (a number, or a string holding one);
/// unknown fields are refused, so that a misspelt setting is not silently ignored:
///
/// ```
/// let config: logto::LogtoConfig = serde_json::from_str(r#"{
///     "endpoint": "https://tenant.logto.app",
///     "app_id": "my-app-id",
///     "app_secret": "my-app-secret",
///     "scopes": ["email"],
///     "resources": ["https://shopping.your-app.com/api"],
///     "prompt": ["consent"],
///     "timeout_secs": 5
/// }"#)?;
/// assert_eq!(config.timeout(), std::time::Duration::from_secs(5));
/// assert!(serde_json::from_str::<logto::LogtoConfig>(r#"{"endpoint": "x", "app_id": "a"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Deserialize)]
#[serde(try_from = "Settings")]
pub struct LogtoConfig {
    endpoint: Url,
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
    root_certificates: Vec<Vec<u8>>,
}

impl fmt::Debug for LogtoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoConfig")
            .field("endpoint", &self.endpoint())
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .field("scopes", &self.scopes)
            .field("resources", &self.resources)
            .field("prompt", &self.prompt)
            .field("timeout", &self.timeout)
            .field("root_certificates", &self.root_certificates.len())
            .finish_non_exhaustive()
    }
}

impl LogtoConfig {
    /// Starts a configuration for the Logto `endpoint` (e.g. `https://tenant.logto.app`; a trailing
    /// slash is fine) and the application's id.
    pub fn builder(endpoint: impl Into<String>, app_id: impl Into<String>) -> LogtoConfigBuilder {
        LogtoConfigBuilder {
            settings: Settings::new(endpoint.into(), app_id.into()),
        }
    }

    /// The configuration from the environment variables `LOGTO_ENDPOINT`, `LOGTO_APP_ID`,
    /// `LOGTO_APP_SECRET`, `LOGTO_SCOPES`, `LOGTO_RESOURCES`, `LOGTO_PROMPT` (lists separated by
    /// commas or spaces), `LOGTO_TIMEOUT_SECS`, `LOGTO_LEEWAY_SECS`,
    /// `LOGTO_JWKS_MIN_REFRESH_INTERVAL_SECS`, `LOGTO_RETRY_INTERVAL_SECS`,
    /// `LOGTO_MAX_RETRY_INTERVAL_SECS` and `LOGTO_ALLOW_INSECURE_HTTP` (`true` or `false`), with
    /// the builder's checks and defaults. Other `LOGTO_` variables are left to the app. See
    /// [`from_vars`](Self::from_vars).
    ///
    /// # Errors
    /// [`LogtoError::InvalidConfig`], naming the variable.
    pub fn from_env() -> Result<LogtoConfig, LogtoError> {
        Self::from_vars(std::env::vars())
    }

    /// [`from_env`](Self::from_env) over the given `(name, value)` pairs; empty values count as
    /// unset.
    ///
    /// ```
    /// use logto::LogtoConfig;
    /// let config = LogtoConfig::from_vars([
    ///     ("LOGTO_ENDPOINT", "https://tenant.logto.app"),
    ///     ("LOGTO_APP_ID", "my-app-id"),
    ///     ("LOGTO_SCOPES", "email, urn:logto:scope:organizations"),
    ///     ("LOGTO_TIMEOUT_SECS", "5"),
    ///     ("LOGTO_SOCIAL_TARGET", "github"), // not the SDK's: ignored
    /// ])?;
    /// assert!(config.scopes().iter().any(|s| s == "email"));
    /// assert_eq!(config.timeout(), std::time::Duration::from_secs(5));
    /// assert!(LogtoConfig::from_vars([("LOGTO_APP_ID", "my-app-id")]).is_err()); // no endpoint
    /// # Ok::<(), logto::LogtoError>(())
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<LogtoConfig, LogtoError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        use serde_json::Value;
        const LISTS: [&str; 3] = ["scopes", "resources", "prompt"];
        const TEXTS: [&str; 8] = [
            "endpoint",
            "app_id",
            "app_secret",
            "timeout_secs",
            "leeway_secs",
            "jwks_min_refresh_interval_secs",
            "retry_interval_secs",
            "max_retry_interval_secs",
        ];
        let mut fields = serde_json::Map::new();
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref().trim());
            let Some(field) = name.strip_prefix("LOGTO_").map(str::to_ascii_lowercase) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let value = if LISTS.contains(&field.as_str()) {
                Value::from(
                    value
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|item| !item.is_empty())
                        .collect::<Vec<_>>(),
                )
            } else if TEXTS.contains(&field.as_str()) {
                Value::from(value)
            } else if field == "allow_insecure_http" {
                Value::from(value.parse::<bool>().map_err(|_| {
                    LogtoError::InvalidConfig(format!("{name}={value:?} must be true or false"))
                })?)
            } else {
                continue;
            };
            fields.insert(field, value);
        }
        for (field, variable) in [("endpoint", "LOGTO_ENDPOINT"), ("app_id", "LOGTO_APP_ID")] {
            if !fields.contains_key(field) {
                return Err(LogtoError::InvalidConfig(format!("{variable} is not set")));
            }
        }
        serde_json::from_value(Value::Object(fields)).map_err(|e| {
            LogtoError::InvalidConfig(format!("{e} (from the LOGTO_ environment variables)"))
        })
    }

    /// The Logto endpoint, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    /// The application (client) id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Whether the app authenticates with a secret (a traditional web app) or is a public client.
    pub fn is_confidential(&self) -> bool {
        self.app_secret.is_some()
    }

    /// Every scope the sign-in asks for: the reserved ones first, then the configured ones,
    /// without duplicates.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The API resources the sign-in asks for.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The `prompt` of the sign-in.
    pub fn prompt(&self) -> &[Prompt] {
        &self.prompt
    }

    /// The timeout of every HTTP request to Logto.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The clock skew tolerated when checking token times.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Whether plain `http://` is accepted for Logto off the loopback interface.
    pub fn allows_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    pub(crate) fn endpoint_url(&self) -> &Url {
        &self.endpoint
    }

    pub(crate) fn app_secret(&self) -> Option<&Secret> {
        self.app_secret.as_ref()
    }

    pub(crate) fn leeway_secs(&self) -> u64 {
        self.leeway.as_secs()
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub(crate) fn jwks_min_refresh_interval(&self) -> Duration {
        self.jwks_min_refresh_interval
    }

    pub(crate) fn backoff(&self) -> crate::backoff::Backoff {
        crate::backoff::Backoff::new(self.retry_interval, self.max_retry_interval, self.timeout)
    }

    /// The HTTP options of this configuration: its root certificates.
    pub(crate) fn http_options(&self) -> HttpOptions {
        self.root_certificates
            .iter()
            .fold(HttpOptions::default(), |options, pem| {
                options.root_certificate(pem.clone())
            })
    }
}

/// Builds a [`LogtoConfig`]; errors are reported by [`build`](LogtoConfigBuilder::build).
#[must_use]
#[derive(Debug)]
pub struct LogtoConfigBuilder {
    settings: Settings,
}

impl LogtoConfigBuilder {
    /// The app secret of a traditional web app (sent with HTTP Basic auth). Without it the client is
    /// a public client and sends only its `client_id`.
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.settings.app_secret = Some(Secret(secret.into()));
        self
    }

    /// Adds scopes to request (`openid`, `profile` and `offline_access` are always requested).
    /// Takes [`UserInfoScope`]s or strings such as `"shopping:read"`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings
            .scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds API resources (resource indicators) to request access tokens for: absolute URIs
    /// without a fragment (RFC 8707 §2), else [`build`](Self::build) fails.
    pub fn resources<I, S>(mut self, resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings
            .resources
            .extend(resources.into_iter().map(Into::into));
        self
    }

    /// Replaces the `prompt` (default: `consent`). Without `consent`, Logto issues no refresh token.
    pub fn prompt(mut self, prompt: impl IntoIterator<Item = Prompt>) -> Self {
        self.settings.prompt = prompt.into_iter().collect();
        self
    }

    /// Timeout of every HTTP request to Logto (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Clock skew tolerated when checking token times (default 30 s, at most
    /// [`MAX_LEEWAY`](crate::logto_jwt::MAX_LEEWAY), 5 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// Shortest time between two JWKS fetches triggered by an unknown key id in an ID token given
    /// to [`LogtoHandle::verify_id_token`](crate::LogtoHandle::verify_id_token) (default 30 s): a
    /// guard against floods of made-up key ids. ID tokens the client receives from Logto's token
    /// endpoint itself (sign-in, refresh) are not held back by it: an unknown key id there always
    /// refetches the keys.
    pub fn jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.settings.jwks_min_refresh_interval = interval;
        self
    }

    /// How long the client waits, after Logto failed (a 5xx, unreachable, a timeout), before it
    /// sends Logto another request (default 1 s); each further failure doubles the wait, up to
    /// [`max_retry_interval`](Self::max_retry_interval). Meanwhile every request fails at once with
    /// [`LogtoError::Unavailable`], and when the wait is over one request tries Logto while the
    /// others keep waiting for its answer.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.settings.retry_interval = interval;
        self
    }

    /// The longest wait after repeated failures of Logto (default 30 s), and the most of Logto's
    /// `Retry-After` the client honours.
    pub fn max_retry_interval(mut self, interval: Duration) -> Self {
        self.settings.max_retry_interval = interval;
        self
    }

    /// Accepts plain `http://` for Logto (the endpoint and the URLs of its discovery document) on
    /// hosts other than this machine's loopback interface. For development only: codes, secrets
    /// and tokens would travel in clear. Loopback `http://` (`localhost`, `127.0.0.1`, `::1`) is
    /// always accepted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.settings.allow_insecure_http = allow;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or several PEM certificates) besides the
    /// system's, e.g. the private CA of a self-hosted Logto. A certificate that is not usable
    /// makes [`LogtoHandle::new`](crate::LogtoHandle::new) fail with
    /// [`LogtoError::InvalidRootCertificate`]. To send the requests through a client of your own
    /// (a proxy, client certificates…), see
    /// [`LogtoHandle::with_http_client`](crate::LogtoHandle::with_http_client).
    ///
    /// ```
    /// use logto::{LogtoConfig, LogtoError, LogtoHandle};
    /// let config = LogtoConfig::builder("https://logto.internal", "app-id")
    ///     .root_certificate(b"not a PEM certificate".to_vec())
    ///     .build()?;
    /// assert!(matches!(LogtoHandle::new(config), Err(LogtoError::InvalidRootCertificate(_))));
    /// # Ok::<(), LogtoError>(())
    /// ```
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.settings.root_certificates.push(Pem(pem.into()));
        self
    }

    /// Checks the configuration and builds it. Nothing is sent: the configuration is a value.
    pub fn build(self) -> Result<LogtoConfig, LogtoError> {
        self.settings.check()
    }
}

/// The settings as given, unchecked: what the builder collects, and what a file holds (the
/// serialized form of a [`LogtoConfig`]). [`check`](Settings::check) makes the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    endpoint: String,
    app_id: String,
    #[serde(default)]
    app_secret: Option<Secret>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default = "defaults::prompt")]
    prompt: Vec<Prompt>,
    #[serde(
        rename = "timeout_secs",
        default = "defaults::timeout",
        with = "seconds"
    )]
    timeout: Duration,
    #[serde(rename = "leeway_secs", default = "defaults::leeway", with = "seconds")]
    leeway: Duration,
    #[serde(
        rename = "jwks_min_refresh_interval_secs",
        default = "defaults::jwks_min_refresh_interval",
        with = "seconds"
    )]
    jwks_min_refresh_interval: Duration,
    #[serde(
        rename = "retry_interval_secs",
        default = "defaults::retry_interval",
        with = "seconds"
    )]
    retry_interval: Duration,
    #[serde(
        rename = "max_retry_interval_secs",
        default = "defaults::max_retry_interval",
        with = "seconds"
    )]
    max_retry_interval: Duration,
    #[serde(default)]
    allow_insecure_http: bool,
    /// PEM text, one or several certificates each.
    #[serde(default)]
    root_certificates: Vec<Pem>,
}

/// The defaults of the settings.
mod defaults {
    use std::time::Duration;

    pub(super) fn prompt() -> Vec<super::Prompt> {
        vec![super::Prompt::Consent]
    }
    pub(super) fn timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn leeway() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn jwks_min_refresh_interval() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn retry_interval() -> Duration {
        Duration::from_secs(1)
    }
    pub(super) fn max_retry_interval() -> Duration {
        Duration::from_secs(30)
    }
}

/// A PEM certificate (bundle), as text in a file.
#[derive(Deserialize)]
#[serde(from = "String")]
struct Pem(Vec<u8>);

impl From<String> for Pem {
    fn from(text: String) -> Pem {
        Pem(text.into_bytes())
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pem({} bytes)", self.0.len())
    }
}

impl Settings {
    fn new(endpoint: String, app_id: String) -> Settings {
        Settings {
            endpoint,
            app_id,
            app_secret: None,
            scopes: Vec::new(),
            resources: Vec::new(),
            prompt: defaults::prompt(),
            timeout: defaults::timeout(),
            leeway: defaults::leeway(),
            jwks_min_refresh_interval: defaults::jwks_min_refresh_interval(),
            retry_interval: defaults::retry_interval(),
            max_retry_interval: defaults::max_retry_interval(),
            allow_insecure_http: false,
            root_certificates: Vec::new(),
        }
    }

    /// Checks the settings and makes the configuration.
    fn check(self) -> Result<LogtoConfig, LogtoError> {
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
        if self.timeout.is_zero() {
            return Err(LogtoError::InvalidConfig(
                "the timeout is zero: every request to Logto would fail; use e.g. 10 s".into(),
            ));
        }
        logto_jwt::check_leeway(self.leeway).map_err(LogtoError::InvalidConfig)?;
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
        Ok(LogtoConfig {
            endpoint,
            app_id: self.app_id,
            app_secret: self.app_secret,
            scopes,
            resources,
            prompt: self.prompt,
            timeout: self.timeout,
            leeway: self.leeway,
            jwks_min_refresh_interval: self.jwks_min_refresh_interval,
            retry_interval: self.retry_interval,
            max_retry_interval: self.max_retry_interval,
            allow_insecure_http: self.allow_insecure_http,
            root_certificates: self
                .root_certificates
                .into_iter()
                .map(|pem| pem.0)
                .collect(),
        })
    }
}

impl TryFrom<Settings> for LogtoConfig {
    type Error = LogtoError;

    fn try_from(settings: Settings) -> Result<LogtoConfig, LogtoError> {
        settings.check()
    }
}

/// A duration given as a number of seconds (an integer, a fraction, or a string holding one).
mod seconds {
    use std::fmt;
    use std::time::Duration;

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        d.deserialize_any(Seconds)
    }

    struct Seconds;

    impl serde::de::Visitor<'_> for Seconds {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom("a duration cannot be negative"))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(v).map_err(|e| E::custom(format!("{v} seconds: {e}")))
        }
        /// Formats that carry only strings (environment variables through `envy`, INI…).
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
            match v.trim().parse::<f64>() {
                Ok(seconds) => self.visit_f64(seconds),
                Err(_) => Err(E::custom(format!("{v:?} is not a number of seconds"))),
            }
        }
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

    #[test]
    fn a_config_file_gives_the_same_value_as_the_builder() {
        let file: LogtoConfig = serde_json::from_str(
            r#"{
                "endpoint": "https://logto.test/",
                "app_id": "app",
                "app_secret": "secret",
                "scopes": ["email", "urn:logto:scope:organizations"],
                "resources": ["https://api.test"],
                "prompt": ["login", "consent"],
                "timeout_secs": 2.5,
                "leeway_secs": "5",
                "jwks_min_refresh_interval_secs": 60,
                "retry_interval_secs": 2,
                "max_retry_interval_secs": 20,
                "allow_insecure_http": false
            }"#,
        )
        .unwrap();
        let built = LogtoConfig::builder("https://logto.test", "app")
            .app_secret("secret")
            .scopes([UserInfoScope::Email, UserInfoScope::Organizations])
            .resources(["https://api.test"])
            .prompt([Prompt::Login, Prompt::Consent])
            .timeout(Duration::from_millis(2500))
            .leeway(Duration::from_secs(5))
            .jwks_min_refresh_interval(Duration::from_secs(60))
            .retry_interval(Duration::from_secs(2))
            .max_retry_interval(Duration::from_secs(20))
            .build()
            .unwrap();
        assert_eq!(file, built);
        // The defaults are the builder's.
        let minimal: LogtoConfig =
            serde_json::from_str(r#"{"endpoint": "https://logto.test", "app_id": "app"}"#).unwrap();
        assert_eq!(
            minimal,
            LogtoConfig::builder("https://logto.test", "app")
                .build()
                .unwrap()
        );
    }

    #[test]
    fn a_bad_config_file_is_refused_with_the_reason() {
        for (file, expected) in [
            (r#"{"endpoint": "not a url", "app_id": "app"}"#, "not a URL"),
            (
                r#"{"endpoint": "https://logto.test", "app_id": " "}"#,
                "app id is empty",
            ),
            (
                r#"{"endpoint": "http://logto.example.com", "app_id": "app"}"#,
                "allow_insecure_http",
            ),
            (
                r#"{"endpoint": "https://logto.test", "app_id": "app", "app_sercet": "x"}"#,
                "unknown field `app_sercet`",
            ),
            (
                r#"{"endpoint": "https://logto.test", "app_id": "app", "timeout_secs": -1}"#,
                "negative",
            ),
            (
                r#"{"endpoint": "https://logto.test", "app_id": "app", "timeout_secs": 0}"#,
                "timeout is zero",
            ),
            (
                r#"{"endpoint": "https://logto.test", "app_id": "app", "prompt": ["always"]}"#,
                "unknown variant",
            ),
            (
                r#"{"endpoint": "https://logto.test", "app_id": "app", "resources": ["api"]}"#,
                "api",
            ),
            (r#"{"app_id": "app"}"#, "missing field `endpoint`"),
        ] {
            let error = serde_json::from_str::<LogtoConfig>(file).unwrap_err();
            assert!(error.to_string().contains(expected), "{file}: {error}");
        }
    }

    #[test]
    fn debug_hides_the_secret_of_a_config_file() {
        let config: LogtoConfig = serde_json::from_str(
            r#"{"endpoint": "https://logto.test", "app_id": "app", "app_secret": "super-secret-value"}"#,
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("super-secret-value"));
    }

    #[test]
    fn the_environment_gives_the_same_value_as_the_builder() {
        let from_env = LogtoConfig::from_vars([
            ("LOGTO_ENDPOINT", "https://logto.test"),
            ("LOGTO_APP_ID", "app"),
            ("LOGTO_APP_SECRET", "secret"),
            ("LOGTO_SCOPES", "email,urn:logto:scope:organizations"),
            ("LOGTO_RESOURCES", "https://api.test https://store.test"),
            ("LOGTO_PROMPT", "login consent"),
            ("LOGTO_TIMEOUT_SECS", "2.5"),
            ("LOGTO_ALLOW_INSECURE_HTTP", "false"),
            ("LOGTO_SOCIAL_TARGET", "github"),
            ("LOGTO_LEEWAY_SECS", ""),
            ("PATH", "/usr/bin"),
        ])
        .unwrap();
        let built = LogtoConfig::builder("https://logto.test", "app")
            .app_secret("secret")
            .scopes([UserInfoScope::Email, UserInfoScope::Organizations])
            .resources(["https://api.test", "https://store.test"])
            .prompt([Prompt::Login, Prompt::Consent])
            .timeout(Duration::from_millis(2500))
            .build()
            .unwrap();
        assert_eq!(from_env, built);
    }

    #[test]
    fn bad_environment_variables_are_named() {
        for (vars, expected) in [
            (vec![("LOGTO_APP_ID", "app")], "LOGTO_ENDPOINT is not set"),
            (
                vec![("LOGTO_ENDPOINT", "https://logto.test")],
                "LOGTO_APP_ID is not set",
            ),
            (
                vec![
                    ("LOGTO_ENDPOINT", "https://logto.test"),
                    ("LOGTO_APP_ID", "app"),
                    ("LOGTO_ALLOW_INSECURE_HTTP", "yes"),
                ],
                "LOGTO_ALLOW_INSECURE_HTTP",
            ),
            (
                vec![
                    ("LOGTO_ENDPOINT", "https://logto.test"),
                    ("LOGTO_APP_ID", "app"),
                    ("LOGTO_TIMEOUT_SECS", "ten"),
                ],
                "not a number of seconds",
            ),
            (
                vec![
                    ("LOGTO_ENDPOINT", "http://logto.example.com"),
                    ("LOGTO_APP_ID", "app"),
                ],
                "allow_insecure_http",
            ),
            (
                vec![
                    ("LOGTO_ENDPOINT", "https://logto.test"),
                    ("LOGTO_APP_ID", "app"),
                    ("LOGTO_LEEWAY_SECS", "86400"),
                ],
                "leeway of 86400s is more than 300s",
            ),
        ] {
            let error = LogtoConfig::from_vars(vars).unwrap_err();
            assert!(
                matches!(&error, LogtoError::InvalidConfig(m) if m.contains(expected)),
                "{expected}: {error}"
            );
        }
    }
}
