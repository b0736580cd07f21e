//! The sign-in request: [`SignInOptions`] and the authorization URL built from them.

use serde::{Deserialize, Serialize};
use url::Url;

use super::random;
use crate::config::Prompt;
use crate::error::LogtoError;

/// Which screen Logto shows first (the older `interaction_mode` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InteractionMode {
    /// `signIn`: the sign-in page.
    SignIn,
    /// `signUp`: the registration page.
    SignUp,
}

impl InteractionMode {
    /// The value as sent to Logto.
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionMode::SignIn => "signIn",
            InteractionMode::SignUp => "signUp",
        }
    }
}

/// Which screen Logto shows first (Logto's `first_screen`, the successor of `interaction_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstScreen {
    /// `sign_in`
    SignIn,
    /// `register`
    Register,
    /// `reset_password`
    ResetPassword,
    /// `identifier:sign_in`: sign-in with the identifiers of [`SignInOptions::identifiers`].
    IdentifierSignIn,
    /// `identifier:register`: registration with the identifiers of [`SignInOptions::identifiers`].
    IdentifierRegister,
    /// `single_sign_on`: enterprise SSO.
    SingleSignOn,
}

impl FirstScreen {
    /// The value as sent to Logto.
    pub fn as_str(self) -> &'static str {
        match self {
            FirstScreen::SignIn => "sign_in",
            FirstScreen::Register => "register",
            FirstScreen::ResetPassword => "reset_password",
            FirstScreen::IdentifierSignIn => "identifier:sign_in",
            FirstScreen::IdentifierRegister => "identifier:register",
            FirstScreen::SingleSignOn => "single_sign_on",
        }
    }
}

/// An identifier the identifier screens accept (Logto's `identifier` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identifier {
    /// `username`
    Username,
    /// `email`
    Email,
    /// `phone`
    Phone,
}

impl Identifier {
    /// The value as sent to Logto.
    pub fn as_str(self) -> &'static str {
        match self {
            Identifier::Username => "username",
            Identifier::Email => "email",
            Identifier::Phone => "phone",
        }
    }
}

/// Skips Logto's sign-in page and goes straight to one connector (Logto's `direct_sign_in`).
///
/// ```
/// use logto::DirectSignIn;
/// assert_eq!(DirectSignIn::social("github").to_string(), "social:github");
/// assert_eq!(DirectSignIn::sso("conn-123").to_string(), "sso:conn-123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectSignIn(String);

impl DirectSignIn {
    /// A social connector by its target (e.g. `google`, `github`, or the target of a generic
    /// OAuth 2.0 connector).
    pub fn social(target: impl AsRef<str>) -> Self {
        DirectSignIn(format!("social:{}", target.as_ref()))
    }

    /// An enterprise SSO connector by its id.
    pub fn sso(connector_id: impl AsRef<str>) -> Self {
        DirectSignIn(format!("sso:{}", connector_id.as_ref()))
    }

    /// Parses `social:<target>` or `sso:<connector id>`.
    pub fn parse(value: &str) -> Result<Self, LogtoError> {
        match value.split_once(':') {
            Some(("social" | "sso", rest)) if !rest.is_empty() => Ok(DirectSignIn(value.into())),
            _ => Err(LogtoError::InvalidArgument(format!(
                "direct sign-in {value:?} must be `social:<target>` or `sso:<connector id>`"
            ))),
        }
    }
}

impl std::fmt::Display for DirectSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parameters the SDK sets itself; [`SignInOptions::extra_param`] refuses them.
const RESERVED_PARAMS: [&str; 18] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "resource",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "state",
    "nonce",
    "interaction_mode",
    "first_screen",
    "identifier",
    "direct_sign_in",
    "login_hint",
    "organization_id",
    "request",
    "one_time_token",
];

/// What a sign-in asks Logto for, beyond the configuration.
///
/// ```
/// use logto::{DirectSignIn, InteractionMode, SignInOptions};
/// let options = SignInOptions::new("https://your-app.com/callback")
///     .interaction_mode(InteractionMode::SignUp)
///     .direct_sign_in(DirectSignIn::social("github"))
///     .login_hint("user@example.com")
///     .extra_param("ui_locales", "fr");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SignInOptions {
    pub(crate) redirect_uri: String,
    pub(crate) interaction_mode: Option<InteractionMode>,
    pub(crate) first_screen: Option<FirstScreen>,
    pub(crate) identifiers: Vec<Identifier>,
    pub(crate) direct_sign_in: Option<DirectSignIn>,
    pub(crate) login_hint: Option<String>,
    pub(crate) organization_id: Option<String>,
    pub(crate) one_time_token: Option<OneTimeToken>,
    pub(crate) extra_params: Vec<(String, String)>,
}

impl SignInOptions {
    /// Options for a sign-in that comes back to `redirect_uri` (as registered in Logto Console).
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        SignInOptions {
            redirect_uri: redirect_uri.into(),
            interaction_mode: None,
            first_screen: None,
            identifiers: Vec::new(),
            direct_sign_in: None,
            login_hint: None,
            organization_id: None,
            one_time_token: None,
            extra_params: Vec::new(),
        }
    }

    /// Shows the sign-up (or sign-in) page first.
    pub fn interaction_mode(mut self, mode: InteractionMode) -> Self {
        self.interaction_mode = Some(mode);
        self
    }

    /// Shows this screen first.
    pub fn first_screen(mut self, screen: FirstScreen) -> Self {
        self.first_screen = Some(screen);
        self
    }

    /// The identifiers the identifier screens accept.
    pub fn identifiers(mut self, identifiers: impl IntoIterator<Item = Identifier>) -> Self {
        self.identifiers = identifiers.into_iter().collect();
        self
    }

    /// Goes straight to a social or enterprise SSO connector.
    pub fn direct_sign_in(mut self, target: DirectSignIn) -> Self {
        self.direct_sign_in = Some(target);
        self
    }

    /// Prefills the identifier (email, phone or username); SSO connectors also use it to route by
    /// email domain.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// Shows that organization's sign-in experience.
    pub fn organization_id(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }

    /// Signs the user in with a one-time token issued by your backend through the Management API
    /// (`POST /api/one-time-tokens`): a magic link. Logto's sign-in page verifies the token for the
    /// email given as [`login_hint`](Self::login_hint), which must be set too, then signs that user
    /// in (or registers them when no user has that email).
    ///
    /// ```
    /// use logto::SignInOptions;
    /// let options = SignInOptions::new("https://your-app.com/callback")
    ///     .one_time_token("token-from-the-management-api")
    ///     .login_hint("user@example.com");
    /// ```
    pub fn one_time_token(mut self, token: impl Into<String>) -> Self {
        self.one_time_token = Some(OneTimeToken(token.into()));
        self
    }

    /// Any other parameter (e.g. `ui_locales`, `max_age`). Parameters the SDK sets itself are
    /// refused when the URL is built.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }
}

/// A one-time token: a credential, so never shown by `Debug`.
#[derive(Clone)]
pub(crate) struct OneTimeToken(pub(crate) String);

impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeToken(<redacted>)")
    }
}

/// What the client remembers between `sign_in` and the callback.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SignInSession {
    pub(crate) redirect_uri: String,
    pub(crate) code_verifier: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
    /// When the sign-in started, seconds since the epoch (0 for sessions stored before this was
    /// recorded: they count as expired).
    #[serde(default)]
    pub(crate) created_at: u64,
    /// The `max_age` asked (an extra parameter), in seconds: the callback then checks
    /// `auth_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<u64>,
}

/// How long a sign-in may take, from `sign_in` to the callback.
pub(crate) const SIGN_IN_SESSION_TTL_SECS: u64 = 600;

impl SignInSession {
    /// Whether the sign-in started more than [`SIGN_IN_SESSION_TTL_SECS`] before `now`.
    pub(crate) fn is_expired(&self, now: u64) -> bool {
        now.saturating_sub(self.created_at) > SIGN_IN_SESSION_TTL_SECS
    }
}

impl std::fmt::Debug for SignInSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInSession")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The app's part of an authorization request: where it goes, who asks, and for what.
pub(crate) struct AuthorizationRequest<'a> {
    /// Logto's authorization endpoint, from its discovery document.
    pub(crate) authorization_endpoint: &'a Url,
    pub(crate) client_id: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) resources: &'a [String],
    pub(crate) prompt: &'a [Prompt],
}

/// Builds the authorization URL and the session that the callback will be checked against.
pub(crate) fn authorization_url(
    request: &AuthorizationRequest<'_>,
    options: &SignInOptions,
) -> Result<(Url, SignInSession), LogtoError> {
    let redirect_uri = parse_redirect_uri(&options.redirect_uri)?;
    for (name, _) in &options.extra_params {
        if RESERVED_PARAMS.contains(&name.as_str()) {
            return Err(LogtoError::InvalidArgument(format!(
                "the extra parameter {name:?} is set by the SDK: use the matching SignInOptions method"
            )));
        }
    }
    let mut url = request.authorization_endpoint.clone();
    let max_age = match options
        .extra_params
        .iter()
        .find(|(name, _)| name == "max_age")
    {
        Some((_, value)) => Some(value.trim().parse::<u64>().map_err(|_| {
            LogtoError::InvalidArgument(format!("max_age {value:?} is not a number of seconds"))
        })?),
        None => None,
    };
    let session = SignInSession {
        max_age,
        redirect_uri: redirect_uri.to_string(),
        code_verifier: random::code_verifier(),
        state: random::random_string(32),
        nonce: random::random_string(32),
        created_at: super::now_unix(),
    };
    let prompt: Vec<&str> = request.prompt.iter().map(|p| p.as_str()).collect();
    let identifiers: Vec<&str> = options.identifiers.iter().map(|i| i.as_str()).collect();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", request.client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("response_type", "code")
            .append_pair("scope", &request.scopes.join(" "));
        for resource in request.resources {
            query.append_pair("resource", resource);
        }
        query
            .append_pair("prompt", &prompt.join(" "))
            .append_pair(
                "code_challenge",
                &random::code_challenge(&session.code_verifier),
            )
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &session.state)
            .append_pair("nonce", &session.nonce);
        let optional = [
            (
                "interaction_mode",
                options.interaction_mode.map(|m| m.as_str().to_owned()),
            ),
            (
                "first_screen",
                options.first_screen.map(|s| s.as_str().to_owned()),
            ),
            (
                "identifier",
                (!identifiers.is_empty()).then(|| identifiers.join(" ")),
            ),
            (
                "direct_sign_in",
                options.direct_sign_in.as_ref().map(|d| d.to_string()),
            ),
            ("login_hint", options.login_hint.clone()),
            ("organization_id", options.organization_id.clone()),
            (
                "one_time_token",
                options.one_time_token.as_ref().map(|t| t.0.clone()),
            ),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                query.append_pair(name, &value);
            }
        }
        for (name, value) in &options.extra_params {
            query.append_pair(name, value);
        }
    }
    Ok((url, session))
}

fn parse_redirect_uri(redirect_uri: &str) -> Result<Url, LogtoError> {
    let url = Url::parse(redirect_uri).map_err(|e| {
        LogtoError::InvalidArgument(format!(
            "the redirect URI {redirect_uri:?} is not an absolute URL ({e})"
        ))
    })?;
    if url.fragment().is_some() {
        return Err(LogtoError::InvalidArgument(format!(
            "the redirect URI {redirect_uri:?} must not have a fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LogtoConfig, UserInfoScope};

    /// The authorization URL of a test app for `options`.
    fn sign_in_url(options: &SignInOptions) -> Result<(Url, SignInSession), LogtoError> {
        let config = LogtoConfig::builder("https://logto.test", "app-id")
            .scopes([UserInfoScope::Email, UserInfoScope::Organizations])
            .resources(["https://api.test"])
            .build()
            .unwrap();
        let endpoint = Url::parse("https://logto.test/oidc/auth").unwrap();
        authorization_url(
            &AuthorizationRequest {
                authorization_endpoint: &endpoint,
                client_id: config.app_id(),
                scopes: config.scopes(),
                resources: config.resources(),
                prompt: config.prompt(),
            },
            options,
        )
    }

    fn params(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }

    #[test]
    fn url_has_every_parameter_in_logto_order() {
        let options = SignInOptions::new("https://app.test/callback")
            .interaction_mode(InteractionMode::SignUp)
            .first_screen(FirstScreen::IdentifierRegister)
            .identifiers([Identifier::Email, Identifier::Phone])
            .direct_sign_in(DirectSignIn::sso("conn-1"))
            .login_hint("a@b.test")
            .organization_id("org-1")
            .extra_param("ui_locales", "fr");
        let (url, session) = sign_in_url(&options).unwrap();
        assert!(
            url.as_str()
                .starts_with("https://logto.test/oidc/auth?client_id=app-id&")
        );
        let params = params(&url);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "client_id",
                "redirect_uri",
                "response_type",
                "scope",
                "resource",
                "resource",
                "prompt",
                "code_challenge",
                "code_challenge_method",
                "state",
                "nonce",
                "interaction_mode",
                "first_screen",
                "identifier",
                "direct_sign_in",
                "login_hint",
                "organization_id",
                "ui_locales"
            ]
        );
        let get = |name: &str| params.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(
            get("scope"),
            "openid offline_access profile email urn:logto:scope:organizations"
        );
        assert_eq!(get("prompt"), "consent");
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("code_challenge_method"), "S256");
        assert_eq!(
            get("code_challenge"),
            random::code_challenge(&session.code_verifier)
        );
        assert_eq!(get("state"), session.state);
        assert_eq!(get("nonce"), session.nonce);
        assert_eq!(get("interaction_mode"), "signUp");
        assert_eq!(get("first_screen"), "identifier:register");
        assert_eq!(get("identifier"), "email phone");
        assert_eq!(get("direct_sign_in"), "sso:conn-1");
        assert_eq!(session.redirect_uri, "https://app.test/callback");
    }

    #[test]
    fn a_one_time_token_goes_with_the_login_hint() {
        let options = SignInOptions::new("https://app.test/callback")
            .one_time_token("ott-123")
            .login_hint("a@b.test");
        let (url, _) = sign_in_url(&options).unwrap();
        let params = params(&url);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("one_time_token").as_deref(), Some("ott-123"));
        assert_eq!(get("login_hint").as_deref(), Some("a@b.test"));
        let plain = SignInOptions::new("https://app.test/callback");
        let (url, _) = sign_in_url(&plain).unwrap();
        assert!(!url.as_str().contains("one_time_token"));
        assert!(
            !format!("{options:?}").contains("ott-123"),
            "the token in Debug"
        );
        let reserved = plain.extra_param("one_time_token", "x");
        assert!(sign_in_url(&reserved).is_err());
    }

    #[test]
    fn a_sign_in_session_expires_after_ten_minutes() {
        let options = SignInOptions::new("https://app.test/callback");
        let (_, mut session) = sign_in_url(&options).unwrap();
        let start = session.created_at;
        assert!(start > 0);
        assert!(!session.is_expired(start));
        assert!(!session.is_expired(start + 600));
        assert!(session.is_expired(start + 601));
        assert!(!session.is_expired(0), "a clock that went back");
        session.created_at = u64::MAX;
        assert!(!session.is_expired(start));
        session.created_at = 0;
        assert!(session.is_expired(start), "stored before created_at was");
    }

    #[test]
    fn each_sign_in_gets_fresh_secrets() {
        let options = SignInOptions::new("https://app.test/callback");
        let (_, a) = sign_in_url(&options).unwrap();
        let (_, b) = sign_in_url(&options).unwrap();
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.code_verifier, b.code_verifier);
    }

    #[test]
    fn reserved_extra_params_and_bad_redirects_are_refused() {
        for options in [
            SignInOptions::new("https://app.test/callback").extra_param("state", "x"),
            SignInOptions::new("/callback"),
            SignInOptions::new("https://app.test/callback#frag"),
        ] {
            let err = sign_in_url(&options).unwrap_err();
            assert!(matches!(err, LogtoError::InvalidArgument(_)), "{err}");
        }
    }

    #[test]
    fn direct_sign_in_parses_both_kinds() {
        assert_eq!(
            DirectSignIn::parse("social:google").unwrap(),
            DirectSignIn::social("google")
        );
        assert_eq!(
            DirectSignIn::parse("sso:abc").unwrap(),
            DirectSignIn::sso("abc")
        );
        for bad in ["google", "social:", "saml:x", ""] {
            assert!(DirectSignIn::parse(bad).is_err(), "{bad}");
        }
    }
}
