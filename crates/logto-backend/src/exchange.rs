//! Token exchange (RFC 8693): a personal access token, or an impersonation subject token, for an
//! access token that acts as the user.

use logto_jwt::http::HttpOptions;
use std::time::{Duration, Instant};

use crate::error::BackendError;
use crate::http::{DEFAULT_TIMEOUT, Http, Secret};
use crate::token_source::AccessToken;

/// RFC 8693's grant type.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// What kind of token is being exchanged (`subject_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectTokenType {
    /// `urn:logto:token-type:personal_access_token`: a user's personal access token.
    PersonalAccessToken,
    /// `urn:ietf:params:oauth:token-type:access_token`: an access token of the user, or a
    /// subject token from the Management API (`POST /api/subject-tokens`, for impersonation).
    AccessToken,
}

impl SubjectTokenType {
    /// The value as sent to Logto.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectTokenType::PersonalAccessToken => "urn:logto:token-type:personal_access_token",
            SubjectTokenType::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
        }
    }
}

/// One token exchange: the subject token, and what to ask for.
///
/// ```
/// use logto_backend::{ExchangeRequest, SubjectTokenType};
/// let request = ExchangeRequest::new("pat_…", SubjectTokenType::PersonalAccessToken)
///     .resource("https://api.your-app.com")
///     .scopes(["read:reports"]);
/// assert!(!format!("{request:?}").contains("pat_"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ExchangeRequest {
    subject_token: Secret,
    subject_token_type: SubjectTokenType,
    actor_token: Option<Secret>,
    resource: Option<String>,
    scopes: Vec<String>,
    organization_id: Option<String>,
}

impl ExchangeRequest {
    /// Exchanges `subject_token` of this type.
    pub fn new(subject_token: impl Into<String>, subject_token_type: SubjectTokenType) -> Self {
        ExchangeRequest {
            subject_token: Secret(subject_token.into()),
            subject_token_type,
            actor_token: None,
            resource: None,
            scopes: Vec::new(),
            organization_id: None,
        }
    }

    /// The API resource the new token is for. Without one (and without an organization), Logto
    /// issues an opaque token for its userinfo endpoint.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The scopes to ask for (Logto grants those the user has).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// An organization token (or, with a resource, an organization-level API resource token)
    /// of the user.
    pub fn organization_id(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }

    /// Who acts for the user (impersonation): an opaque access token of the actor with the
    /// `openid` scope (the userinfo token of the actor's sign-in). The new token then carries
    /// `act: {sub: <actor's user id>}`.
    pub fn actor_token(mut self, actor_token: impl Into<String>) -> Self {
        self.actor_token = Some(Secret(actor_token.into()));
        self
    }
}

/// Builds a [`TokenExchange`]; see [`TokenExchange::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TokenExchangeBuilder {
    endpoint: String,
    app_id: String,
    app_secret: Option<Secret>,
    timeout: Duration,
    allow_insecure_http: bool,
    http: HttpOptions,
}

impl TokenExchangeBuilder {
    /// The app's secret (traditional web and M2M apps); public apps (native, SPA) have none.
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(Secret(secret.into()));
        self
    }

    /// The timeout of each request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows a plain-http endpoint off this machine (development only).
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

    /// Checks the configuration.
    pub fn build(self) -> Result<TokenExchange, BackendError> {
        if self.app_id.trim().is_empty() {
            return Err(BackendError::InvalidConfig(
                "the app id must not be empty".into(),
            ));
        }
        Ok(TokenExchange {
            http: Http::new(
                &self.endpoint,
                self.timeout,
                self.allow_insecure_http,
                &self.http,
            )?,
            app_id: self.app_id,
            app_secret: self.app_secret,
        })
    }
}

/// Token exchange at Logto's token endpoint (RFC 8693), for an app that has it enabled (Logto's
/// `customClientMetadata.allowTokenExchange`, not possible for third-party apps).
///
/// ```no_run
/// use logto_backend::TokenExchange;
/// # async fn run(personal_access_token: &str) -> Result<(), logto_backend::BackendError> {
/// let exchange = TokenExchange::builder("https://your-tenant.logto.app", "app-id")
///     .app_secret("app-secret")
///     .build()?;
/// // A CLI or CI job acting as the user whose personal access token it holds:
/// let token = exchange
///     .personal_access_token(personal_access_token, "https://api.your-app.com")
///     .await?;
/// # Ok(()) }
/// ```
///
/// Refusals are typed: an unknown, expired or used subject token is
/// [`BackendError::InvalidGrant`], an app without token exchange
/// [`BackendError::GrantNotAllowed`], a wrong secret [`BackendError::InvalidClient`].
#[derive(Debug, Clone)]
pub struct TokenExchange {
    http: Http,
    app_id: String,
    app_secret: Option<Secret>,
}

impl TokenExchange {
    /// Token exchange for the app `app_id` of the Logto at `endpoint`.
    pub fn builder(endpoint: impl Into<String>, app_id: impl Into<String>) -> TokenExchangeBuilder {
        TokenExchangeBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: None,
            timeout: DEFAULT_TIMEOUT,
            allow_insecure_http: false,
            http: HttpOptions::default(),
        }
    }

    /// Exchanges a personal access token for an access token of the API `resource`, acting as
    /// its user.
    pub async fn personal_access_token(
        &self,
        personal_access_token: &str,
        resource: &str,
    ) -> Result<AccessToken, BackendError> {
        self.exchange(
            &ExchangeRequest::new(personal_access_token, SubjectTokenType::PersonalAccessToken)
                .resource(resource),
        )
        .await
    }

    /// Exchanges an impersonation subject token (from
    /// [`Management::create_subject_token`](crate::Management::create_subject_token)) for an
    /// access token of the API `resource`, acting as its user; `actor_token` (see
    /// [`ExchangeRequest::actor_token`]) records who acts in the `act` claim.
    pub async fn impersonate(
        &self,
        subject_token: &str,
        resource: &str,
        actor_token: Option<&str>,
    ) -> Result<AccessToken, BackendError> {
        let mut request =
            ExchangeRequest::new(subject_token, SubjectTokenType::AccessToken).resource(resource);
        if let Some(actor) = actor_token {
            request = request.actor_token(actor);
        }
        self.exchange(&request).await
    }

    /// Sends one token exchange.
    pub async fn exchange(&self, request: &ExchangeRequest) -> Result<AccessToken, BackendError> {
        let scope = request.scopes.join(" ");
        let mut form = vec![
            ("grant_type", GRANT_TYPE),
            ("subject_token", request.subject_token.0.as_str()),
            ("subject_token_type", request.subject_token_type.as_str()),
        ];
        if let Some(actor) = &request.actor_token {
            form.push(("actor_token", actor.0.as_str()));
            form.push(("actor_token_type", SubjectTokenType::AccessToken.as_str()));
        }
        if let Some(resource) = &request.resource {
            form.push(("resource", resource));
        }
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if let Some(organization_id) = &request.organization_id {
            form.push(("organization_id", organization_id));
        }
        let started = Instant::now();
        let response = self
            .http
            .token(
                "token exchange",
                &self.app_id,
                self.app_secret.as_ref(),
                &form,
            )
            .await?;
        Ok(AccessToken::from_response(response, started))
    }
}
