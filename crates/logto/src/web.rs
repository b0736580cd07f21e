//! The building blocks of framework adapters (`logto-axum`, `logto-actix`): the web rules they
//! share, on plain strings rather than any framework's types, so that every adapter answers
//! alike.
//!
//! - Redirects: [`is_local_path`] (only paths on this site), [`state_of`], and the pages to land on
//!   after each pending sign-in ([`remember_return_to`], [`take_return_to`]).
//! - The sign-in route's query: [`SignInQuery`].
//! - Sign-outs from other sites: [`from_another_site`], [`confirm_sign_out_page`].
//! - Answers: [`wants_json`], [`status_of`] and [`code_of`] for a [`LogtoError`], [`error_page`],
//!   [`escape_html`]; [`redacted_url`] for a store's connection errors.
//! - The cross-process refresh lock's waiting: [`take_lock`].
//! - The app's URLs and cookie settings: [`Site`].
//! - Sessions sealed at rest: [`sealing`].
//! - The refresh lock on Redis (feature `redis`): `redis_lock`.
//! - Token records read with their session in one round trip: [`prefetch`].
//! - How long a session lives, and when an active one is renewed: [`renewal`].

pub mod prefetch;
#[cfg(feature = "redis")]
pub mod redis_lock;
pub mod renewal;
pub mod sealing;
mod site;

pub use site::{Site, SitePaths};

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::{BoxError, LogtoError};
use crate::protocol::sign_in::{DirectSignIn, FirstScreen, InteractionMode, SignInOptions};

/// How many pages to land on are kept: as many as the client keeps pending sign-ins.
pub const MAX_RETURN_TO: usize = 8;

/// Whether `path` is a path on this site (`/…`, not `//host` or `/\host`), safe to redirect to.
///
/// ```
/// assert!(logto::web::is_local_path("/orders?page=2"));
/// assert!(!logto::web::is_local_path("//evil.test"));
/// ```
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control())
}

/// The `state` parameter of a URL (a sign-in URL, a callback URL).
///
/// ```
/// let url = "https://app.test/callback?code=c&state=s1";
/// assert_eq!(logto::web::state_of(url).as_deref(), Some("s1"));
/// ```
pub fn state_of(url: &str) -> Option<String> {
    Url::parse(url).ok().and_then(|url| {
        url.query_pairs()
            .find(|(name, _)| name == "state")
            .map(|(_, value)| value.into_owned())
    })
}

/// Records `path` as the page to land on after the sign-in of `state`, in `pages` (`[state, path]`
/// pairs, oldest first, one per tab), keeping the last [`MAX_RETURN_TO`].
pub fn remember_return_to(pages: &mut Vec<(String, String)>, state: String, path: String) {
    pages.push((state, path));
    let excess = pages.len().saturating_sub(MAX_RETURN_TO);
    pages.drain(..excess);
}

/// Takes out of `pages` the page the sign-in of `state` asked for (the callback's state), if it is
/// a local path; the other tabs' pages stay for their callbacks.
pub fn take_return_to(pages: &mut Vec<(String, String)>, state: Option<&str>) -> Option<String> {
    pages
        .iter()
        .position(|(s, _)| Some(s.as_str()) == state)
        .map(|index| pages.remove(index).1)
        .filter(|path| is_local_path(path))
}

/// The query of an adapter's `GET /sign-in` route: Logto's sign-in options, and `return_to`, the
/// page to come back to.
#[derive(Debug, Default, Clone, Deserialize)]
#[non_exhaustive]
pub struct SignInQuery {
    /// `signIn` or `signUp` (also `sign_in`, `signin`, `sign_up`, `signup`).
    pub interaction_mode: Option<String>,
    /// `sign_in`, `register`, `reset_password`, `identifier:sign_in`, `identifier:register` or
    /// `single_sign_on`.
    pub first_screen: Option<String>,
    /// `social:<connector>` or `sso:<connector id>`.
    pub direct_sign_in: Option<String>,
    /// The identifier to prefill.
    pub login_hint: Option<String>,
    /// The organization to sign in to.
    pub organization_id: Option<String>,
    /// The page to land on after the sign-in; only a path on this site is used.
    pub return_to: Option<String>,
}

impl SignInQuery {
    /// The `return_to` page, if the visitor may be sent there ([`Site::can_return_to`]: a path
    /// on this site other than the callback route).
    pub fn return_to(&self, site: &Site) -> Option<String> {
        self.return_to
            .clone()
            .filter(|path| site.can_return_to(path))
    }

    /// The sign-in options for `redirect_uri`. Empty parameters are ignored.
    ///
    /// # Errors
    /// [`LogtoError::InvalidArgument`], saying which parameter cannot be used (a bad request).
    pub fn options(self, redirect_uri: String) -> Result<SignInOptions, LogtoError> {
        let mut options = SignInOptions::new(redirect_uri);
        if let Some(mode) = non_empty(self.interaction_mode) {
            options = options.interaction_mode(match mode.as_str() {
                "signIn" | "sign_in" | "signin" => InteractionMode::SignIn,
                "signUp" | "sign_up" | "signup" => InteractionMode::SignUp,
                other => {
                    return Err(LogtoError::InvalidArgument(format!(
                        "interaction_mode {other:?} must be `signIn` or `signUp`"
                    )));
                }
            });
        }
        if let Some(screen) = non_empty(self.first_screen) {
            options = options.first_screen(match screen.as_str() {
                "sign_in" => FirstScreen::SignIn,
                "register" => FirstScreen::Register,
                "reset_password" => FirstScreen::ResetPassword,
                "identifier:sign_in" => FirstScreen::IdentifierSignIn,
                "identifier:register" => FirstScreen::IdentifierRegister,
                "single_sign_on" => FirstScreen::SingleSignOn,
                other => {
                    return Err(LogtoError::InvalidArgument(format!(
                        "first_screen {other:?} must be one of sign_in, register, reset_password, \
                         identifier:sign_in, identifier:register, single_sign_on"
                    )));
                }
            });
        }
        if let Some(target) = non_empty(self.direct_sign_in) {
            options = options.direct_sign_in(DirectSignIn::parse(&target)?);
        }
        if let Some(hint) = non_empty(self.login_hint) {
            options = options.login_hint(hint);
        }
        if let Some(organization_id) = non_empty(self.organization_id) {
            options = options.organization_id(organization_id);
        }
        Ok(options)
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Whether a request was sent by a page of another site (a link, image or form there: browsers
/// send a `SameSite=Lax` session cookie on top-level navigations from any site), from its headers
/// (`None`: absent; a value that is not text: pass `Some("")`), judged by
///
/// 1. `Sec-Fetch-Site`, which every current browser sends: only `same-origin` (a page of the
///    app) and `none` (a typed URL, a bookmark) pass; `same-site` (a sibling subdomain, possibly
///    someone else's) and `cross-site` do not;
/// 2. without it, `Origin` (sent with POSTs by older browsers): it must be `base_url`'s origin
///    (`null`, an opaque origin, does not pass);
/// 3. without either, `Referer`: its origin must be `base_url`'s;
/// 4. with none of them (scripts, `curl`, a page whose referrer policy hides it), the request
///    passes: nothing tells it came from elsewhere.
///
/// ```
/// use logto::web::from_another_site;
/// let base = url::Url::parse("https://app.test").unwrap();
/// assert!(from_another_site(Some("cross-site"), None, None, &base));
/// assert!(!from_another_site(None, Some("https://app.test"), None, &base));
/// ```
pub fn from_another_site(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    referer: Option<&str>,
    base_url: &Url,
) -> bool {
    if let Some(site) = sec_fetch_site {
        let site = site.trim().to_ascii_lowercase();
        return !matches!(site.as_str(), "same-origin" | "none");
    }
    let own = base_url.origin();
    let same_origin = |value: &str| Url::parse(value.trim()).is_ok_and(|url| url.origin() == own);
    if let Some(origin) = origin {
        return !same_origin(origin);
    }
    if let Some(referer) = referer {
        return !same_origin(referer);
    }
    false
}

/// What the page refusing a sign-out from another site says.
pub const CROSS_SITE_SIGN_OUT: &str = "This sign-out request came from another site, so you are \
                                       still signed in. Sign out here if you meant to.";

/// The page (to answer with `403`) refusing a sign-out from another site, whose button signs out
/// with a same-origin POST to `action`; `home` is the app's home page.
pub fn confirm_sign_out_page(action: &str, home: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign out?</title></head>\
         <body><h1>Sign out?</h1><p id=\"error\" data-code=\"cross_site_request\">{CROSS_SITE_SIGN_OUT}</p>\
         <form method=\"post\" action=\"{action}\"><button id=\"sign-out\" type=\"submit\">Sign out</button></form>\
         <p><a href=\"{home}\">Home</a></p></body></html>\n",
        action = escape_html(action),
        home = escape_html(home),
    )
}

/// Whether the client prefers JSON, from its `Accept` header values: it accepts
/// `application/json` (or `+json`) and not HTML.
///
/// ```
/// use logto::web::wants_json;
/// assert!(wants_json(["application/json"]));
/// assert!(!wants_json(["text/html,application/json;q=0.9"]));
/// assert!(!wants_json(None::<&str>));
/// ```
pub fn wants_json<'a>(accept: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut json, mut html) = (false, false);
    let media_types = accept
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(|item| item.split(';').next().unwrap_or("").trim());
    for media in media_types {
        let lower_ends_with = |suffix: &str| {
            media.len() >= suffix.len()
                && media.as_bytes()[media.len() - suffix.len()..]
                    .eq_ignore_ascii_case(suffix.as_bytes())
        };
        json |= media.eq_ignore_ascii_case("application/json") || lower_ends_with("+json");
        html |= media.eq_ignore_ascii_case("text/html");
    }
    json && !html
}

/// A store's URL fit for an error message: its password and the values of its query (where
/// `redis+unix://` URLs carry theirs: `?user=…&pass=…`) replaced by `***`.
///
/// ```
/// use logto::web::redacted_url;
/// assert_eq!(redacted_url("redis://u:secret@h:6379/0"), "redis://u:***@h:6379/0");
/// assert_eq!(redacted_url("redis+unix:///r.sock?pass=secret"), "redis+unix:///r.sock?pass=***");
/// assert_eq!(redacted_url("not a URL: secret"), "the given URL");
/// ```
pub fn redacted_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return "the given URL".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let names: Vec<String> = parsed
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        parsed
            .query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|name| (name, "***")));
    }
    parsed.to_string()
}

/// Escapes text for HTML content and attribute values.
///
/// ```
/// assert_eq!(logto::web::escape_html("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The message of `error` for an adapter's own error: that of an invalid configuration or
/// argument as it is (without [`LogtoError`]'s prefix), any other error's as displayed.
///
/// ```
/// use logto::LogtoError;
/// let error = LogtoError::InvalidConfig("the session TTL must be at least a minute".into());
/// assert_eq!(logto::web::message_of(error), "the session TTL must be at least a minute");
/// ```
pub fn message_of(error: LogtoError) -> String {
    match error {
        LogtoError::InvalidConfig(message) | LogtoError::InvalidArgument(message) => message,
        other => other.to_string(),
    }
}

/// The HTTP status an adapter answers `error` with: `401` when signing in again helps, `400` for
/// a bad callback or argument, `403` for what the user may not have, `503` while Logto is backed
/// off from, `502` when Logto failed or answered something unusable, `500` otherwise.
pub fn status_of(error: &LogtoError) -> u16 {
    match error {
        _ if error.needs_sign_in() => 401,
        LogtoError::CallbackUriMismatch { .. }
        | LogtoError::StateMismatch
        | LogtoError::IssuerMismatch { .. }
        | LogtoError::SignInFailed { .. }
        | LogtoError::MissingCode
        | LogtoError::InvalidArgument(_) => 400,
        LogtoError::OrganizationAccessDenied { .. } | LogtoError::MissingOrganizationsScope => 403,
        LogtoError::TokenRequest {
            error: crate::OAuthErrorCode::InvalidTarget | crate::OAuthErrorCode::InvalidScope,
            ..
        } => 403,
        LogtoError::Unavailable { .. } => 503,
        LogtoError::Network { .. }
        | LogtoError::UnexpectedResponse { .. }
        | LogtoError::UnsupportedTokenType { .. }
        | LogtoError::TokenRequest { .. }
        | LogtoError::InvalidIdToken { .. }
        | LogtoError::InvalidToken { .. }
        | LogtoError::UserInfoSubjectMismatch => 502,
        _ => 500,
    }
}

/// The short machine-readable code of `error` in an adapter's JSON answers (`{"error": code}`)
/// and error pages: `not_authenticated`, `invalid_callback`, `sign_in_failed`, `bad_request`,
/// `forbidden`, `token_request_refused`, `session_store_failed`, `logto_unavailable` or
/// `logto_error`.
pub fn code_of(error: &LogtoError) -> &'static str {
    match error {
        _ if error.needs_sign_in() => "not_authenticated",
        LogtoError::CallbackUriMismatch { .. }
        | LogtoError::StateMismatch
        | LogtoError::IssuerMismatch { .. }
        | LogtoError::MissingCode => "invalid_callback",
        LogtoError::SignInFailed { .. } => "sign_in_failed",
        LogtoError::InvalidArgument(_) => "bad_request",
        LogtoError::OrganizationAccessDenied { .. } | LogtoError::MissingOrganizationsScope => {
            "forbidden"
        }
        LogtoError::TokenRequest { .. } => "token_request_refused",
        LogtoError::Storage(_) => "session_store_failed",
        LogtoError::Unavailable { .. } => "logto_unavailable",
        _ => "logto_error",
    }
}

/// The headers that keep an answer private: never cached, its URL never sent on as `Referer` (the
/// routes' URLs carry a sign-in's code and state, and error pages may show them).
pub const PRIVATE_HEADERS: [(&str, &str); 2] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
];

/// How an adapter answers an error, whatever its framework; it adds [`PRIVATE_HEADERS`] (and
/// `Retry-After` when Logto is unavailable).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// `303 See Other` to `location`: a browser that has to sign in (again).
    Redirect {
        /// The sign-in route, coming back to the page asked for.
        location: String,
    },
    /// A JSON body, `{"error": code, "message": …}` (or `{"error": "not_authenticated"}`).
    Json {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: serde_json::Value,
    },
    /// An HTML error page ([`error_page`]).
    Html {
        /// The HTTP status.
        status: u16,
        /// The page.
        page: String,
    },
}

/// The facts of an error that decide its answer.
#[derive(Debug, Clone, Copy)]
pub struct ErrorFacts<'a> {
    /// The visitor has to sign in (again) to go on.
    pub needs_sign_in: bool,
    /// The HTTP status of the error.
    pub status: u16,
    /// Its code (see [`code_of`]).
    pub code: &'a str,
    /// Its message.
    pub message: &'a str,
}

/// The answer to an error for a client that asked for JSON (`json`, see [`wants_json`]) or not:
/// "sign in" is `401 {"error": "not_authenticated"}` for JSON and a redirect to `sign_in` for a
/// browser; any other error is `{"error": code, "message": …}` or an [`error_page`] linking to
/// `sign_in` and `home`.
///
/// ```
/// use logto::web::{Answer, ErrorFacts, answer};
/// let signed_out = ErrorFacts { needs_sign_in: true, status: 401, code: "not_authenticated", message: "" };
/// assert_eq!(answer(&signed_out, false, "/sign-in", "/"), Answer::Redirect { location: "/sign-in".into() });
/// assert!(matches!(answer(&signed_out, true, "/sign-in", "/"), Answer::Json { status: 401, .. }));
/// ```
pub fn answer(facts: &ErrorFacts<'_>, json: bool, sign_in: &str, home: &str) -> Answer {
    match (facts.needs_sign_in, json) {
        (true, true) => Answer::Json {
            status: 401,
            body: serde_json::json!({ "error": "not_authenticated" }),
        },
        (true, false) => Answer::Redirect {
            location: sign_in.to_owned(),
        },
        (false, true) => Answer::Json {
            status: facts.status,
            body: serde_json::json!({ "error": facts.code, "message": facts.message }),
        },
        (false, false) => Answer::Html {
            status: facts.status,
            page: error_page(facts.code, facts.message, sign_in, Some(home)),
        },
    }
}

/// The error page for an error of `code` (see [`code_of`]) saying `message`, with a link to sign
/// in again (`sign_in`) and one home: `<a id="home" href="{home}">` when given, else `<a href="/">`.
pub fn error_page(code: &str, message: &str, sign_in: &str, home: Option<&str>) -> String {
    let title = match code {
        "invalid_callback" | "sign_in_failed" => "Sign-in failed",
        "forbidden" => "Access denied",
        "bad_request" => "Bad request",
        _ => "Something went wrong",
    };
    let home = match home {
        Some(home) => format!("<a id=\"home\" href=\"{}\">Home</a>", escape_html(home)),
        None => "<a href=\"/\">Home</a>".to_owned(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p id=\"error\" data-code=\"{code}\">{message}</p>\
         <p><a id=\"retry\" href=\"{sign_in}\">Sign in again</a> · {home}</p></body></html>\n",
        message = escape_html(message),
        sign_in = escape_html(sign_in),
    )
}

/// Runs `work` to its end even when the caller is dropped meanwhile (a client that hung up): in a
/// task of its own on the current tokio runtime, whose panic is resumed here; in place outside a
/// runtime. `None`: the runtime shut down first. What a token refresh or a back-channel logout
/// needs, which must not stop halfway.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(logto::web::run_to_completion(async { 6 * 7 }).await, Some(42));
/// # });
/// ```
pub async fn run_to_completion<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => match runtime.spawn(work).await {
            Ok(output) => Some(output),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => None,
        },
        Err(_) => Some(work.await),
    }
}

/// How long a back-channel logout route remembers the `jti` of a logout token it accepted, so
/// that a replay is refused: longer than any token is accepted (issued at most 10 minutes
/// before, with a leeway of at most [`MAX_LEEWAY`](logto_jwt::MAX_LEEWAY) on either side).
pub const LOGOUT_JTI_MEMORY: Duration = Duration::from_secs(
    crate::protocol::logout_token::MAX_AGE + 2 * logto_jwt::MAX_LEEWAY.as_secs(),
);

/// Takes a lock shared by several processes by calling `try_take` until it answers `true`,
/// pausing 2 ms, doubling up to 50 ms, between tries; fails after `ttl` plus 5 seconds (by then a
/// holder that crashed has lost the lock, whose hold expires after `ttl`), also when a try itself
/// hangs (an unanswered store). `name` is for the error message. The wait of a Redis lock, for
/// instance: `try_take` is `SET name token NX PX ttl`.
pub async fn take_lock<F, Fut>(name: &str, ttl: Duration, mut try_take: F) -> Result<(), BoxError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, BoxError>>,
{
    let wait = ttl.saturating_add(Duration::from_secs(5));
    let tries = async {
        let mut pause = Duration::from_millis(2);
        while !try_take().await? {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        Ok(())
    };
    match tokio::time::Instant::now().checked_add(wait) {
        Some(deadline) => tokio::time::timeout_at(deadline, tries)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "timed out after {wait:?} waiting for the lock {name:?} held by another process"
                )
                .into())
            }),
        None => tries.await,
    }
}

/// How long one command to Redis may take in [`redis_lock`] and
/// [`prefetch::load_with_tokens`], whatever the connection they are given allows: as long as
/// the stores of `logto-axum` and `logto-actix` wait for an answer.
#[cfg(feature = "redis")]
pub const REDIS_COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// `command`, failed after [`REDIS_COMMAND_TIMEOUT`]; its error says it came from Redis.
#[cfg(feature = "redis")]
pub(crate) async fn redis_command<T>(
    command: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, BoxError> {
    match tokio::time::timeout(REDIS_COMMAND_TIMEOUT, command).await {
        Ok(answer) => answer.map_err(|e| format!("Redis: {e}").into()),
        Err(_) => Err(format!(
            "Redis did not answer within {REDIS_COMMAND_TIMEOUT:?}; check that it is reachable"
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_only() {
        for ok in ["/", "/protected?x=1", "/a/b#c"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "protected",
            "//evil.test",
            "/\\evil.test",
            "https://evil.test",
            "/a\nb",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }

    #[test]
    fn sign_in_query_is_checked() {
        let query = SignInQuery {
            interaction_mode: Some("signUp".into()),
            direct_sign_in: Some("social:github".into()),
            login_hint: Some("alice@example.com".into()),
            ..Default::default()
        };
        assert!(query.options("http://a.test/callback".into()).is_ok());
        for query in [
            SignInQuery {
                interaction_mode: Some("nope".into()),
                ..Default::default()
            },
            SignInQuery {
                direct_sign_in: Some("github".into()),
                ..Default::default()
            },
            SignInQuery {
                first_screen: Some("nope".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                query.options("http://a.test/callback".into()),
                Err(LogtoError::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn cross_site_requests() {
        let base = Url::parse("https://app.test/shop").unwrap();
        let check = |site, origin, referer| from_another_site(site, origin, referer, &base);
        assert!(!check(None, None, None));
        assert!(!check(Some("same-origin"), None, None));
        assert!(!check(Some(" None "), None, None));
        assert!(!check(None, Some("https://app.test"), None));
        assert!(!check(None, None, Some("https://app.test/shop/orders")));
        assert!(check(Some("cross-site"), None, None));
        assert!(check(Some("same-site"), None, None));
        assert!(check(Some(""), None, None));
        assert!(check(None, Some("null"), None));
        assert!(check(None, Some("http://app.test"), None));
        assert!(check(
            None,
            None,
            Some("https://evil.test/https://app.test/")
        ));
    }

    #[test]
    fn return_to_pages_per_sign_in() {
        let mut pages = Vec::new();
        for i in 0..10 {
            remember_return_to(&mut pages, format!("s{i}"), format!("/p{i}"));
        }
        assert_eq!(pages.len(), MAX_RETURN_TO);
        assert_eq!(
            take_return_to(&mut pages, Some("s1")),
            None,
            "the oldest went"
        );
        assert_eq!(
            take_return_to(&mut pages, Some("s5")).as_deref(),
            Some("/p5")
        );
        assert_eq!(take_return_to(&mut pages, Some("s5")), None);
        assert_eq!(pages.len(), MAX_RETURN_TO - 1);
        remember_return_to(&mut pages, "evil".into(), "//evil.test".into());
        assert_eq!(take_return_to(&mut pages, Some("evil")), None);
    }

    #[test]
    fn accept_headers() {
        assert!(wants_json(["application/json"]));
        assert!(wants_json(["text/plain", "Application/Problem+JSON; q=1"]));
        assert!(!wants_json(["application/json", "TEXT/HTML"]));
        assert!(!wants_json(["*/*"]));
        assert!(!wants_json([]));
    }

    #[test]
    fn error_pages_escape() {
        let page = error_page("bad_request", "<script>", "/sign-in?a=1&b=2", None);
        assert!(page.contains("<title>Bad request</title>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("/sign-in?a=1&amp;b=2"));
        assert!(page.contains("<a href=\"/\">Home</a>"));
        let page = error_page("x", "m", "/s", Some("/app/"));
        assert!(page.contains("<a id=\"home\" href=\"/app/\">Home</a>"));
        assert!(page.contains("Something went wrong"));
    }

    #[test]
    fn statuses_and_codes() {
        assert_eq!(status_of(&LogtoError::NotAuthenticated), 401);
        assert_eq!(code_of(&LogtoError::NotAuthenticated), "not_authenticated");
        assert_eq!(status_of(&LogtoError::StateMismatch), 400);
        assert_eq!(code_of(&LogtoError::StateMismatch), "invalid_callback");
        assert_eq!(status_of(&LogtoError::MissingOrganizationsScope), 403);
        assert_eq!(status_of(&LogtoError::Storage("x".into())), 500);
        assert_eq!(
            code_of(&LogtoError::Storage("x".into())),
            "session_store_failed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_is_waited_for_then_given_up() {
        let mut tries = 0;
        take_lock("l", Duration::from_secs(1), || {
            tries += 1;
            let taken = tries == 3;
            async move { Ok(taken) }
        })
        .await
        .unwrap();
        assert_eq!(tries, 3);

        let start = tokio::time::Instant::now();
        let error = take_lock("held", Duration::ZERO, || async { Ok(false) })
            .await
            .unwrap_err();
        assert!(error.to_string().contains("\"held\""), "{error}");
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_that_never_answers_is_given_up_at_the_same_deadline() {
        let start = tokio::time::Instant::now();
        let error = take_lock("silent", Duration::from_secs(1), || {
            std::future::pending::<Result<bool, BoxError>>()
        })
        .await
        .unwrap_err();
        assert!(error.to_string().contains("\"silent\""), "{error}");
        assert_eq!(start.elapsed(), Duration::from_secs(6));
    }
}
