//! [`Logto`]: the app-wide handle, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::OriginalUri;
use axum::http::{Extensions, Method, Uri};
use axum::routing::{get, post};
use logto::{LogtoConfig, LogtoHandle, is_loopback};
use tower_sessions::SessionStore;
use url::Url;

use crate::error::{Error, Rejection};
use crate::layer::LogtoLayer;
use crate::routes;
use logto::RefreshLock;

/// The app-wide Logto handle: the [`LogtoConfig`], the app's base URL and its sign-in routes.
/// Cheap to clone.
///
/// ```
/// use logto::LogtoConfig;
/// use logto_axum::Logto;
///
/// let config = LogtoConfig::builder("https://tenant.logto.app", "app-id").build()?;
/// let logto = Logto::builder(config, "https://app.example.com/").build()?;
/// assert_eq!(logto.callback_url(), "https://app.example.com/callback");
/// assert_eq!(logto.post_sign_out_url(), "https://app.example.com/");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Logto {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) handle: LogtoHandle,
    pub(crate) base_url: Url,
    pub(crate) sign_in_path: String,
    pub(crate) callback_path: String,
    pub(crate) sign_out_path: String,
    pub(crate) back_channel_logout_path: String,
    pub(crate) post_sign_in_redirect: String,
    pub(crate) post_sign_out_redirect: String,
    pub(crate) session_ttl: Duration,
    pub(crate) refresh_lock: Option<Arc<dyn RefreshLock>>,
}

impl fmt::Debug for Logto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Logto")
            .field("config", inner.handle.config())
            .field("base_url", &inner.base_url.as_str())
            .field("callback_path", &inner.callback_path)
            .field("refresh_lock", &inner.refresh_lock)
            .finish_non_exhaustive()
    }
}

impl Logto {
    /// Starts the handle for an app reachable at `base_url` (e.g. `https://app.example.com`, the
    /// origin users see, with any path prefix the app is mounted under).
    pub fn builder(config: LogtoConfig, base_url: impl Into<String>) -> LogtoBuilder {
        LogtoBuilder {
            config,
            http_client: None,
            base_url: base_url.into(),
            sign_in_path: "/sign-in".into(),
            callback_path: "/callback".into(),
            sign_out_path: "/sign-out".into(),
            back_channel_logout_path: "/back-channel-logout".into(),
            post_sign_in_redirect: "/".into(),
            post_sign_out_redirect: "/".into(),
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            refresh_lock: None,
        }
    }

    /// The Logto configuration.
    pub fn config(&self) -> &LogtoConfig {
        self.inner.handle.config()
    }

    /// The shared Logto runtime (HTTP client, Logto's keys, refresh coordination), e.g. to build a
    /// [`LogtoClient`](logto::LogtoClient) outside a request or to verify a token.
    pub fn handle(&self) -> &LogtoHandle {
        &self.inner.handle
    }

    /// The redirect URI registered in Logto Console: base URL + callback path.
    pub fn callback_url(&self) -> String {
        self.absolute(&self.inner.callback_path)
    }

    /// The post sign-out redirect URI registered in Logto Console: base URL + its path.
    pub fn post_sign_out_url(&self) -> String {
        self.absolute(&self.inner.post_sign_out_redirect)
    }

    /// The path of the sign-in route (`/sign-in` unless configured).
    pub fn sign_in_path(&self) -> &str {
        &self.inner.sign_in_path
    }

    /// The path of the sign-out route (`/sign-out` unless configured).
    pub fn sign_out_path(&self) -> &str {
        &self.inner.sign_out_path
    }

    /// The routes `GET /sign-in`, `GET /callback`, `GET|POST /sign-out` and
    /// `POST /back-channel-logout` (paths as configured).
    ///
    /// `/sign-in` takes the query parameters `interaction_mode` (`signIn` or `signUp`),
    /// `first_screen`, `direct_sign_in` (`social:<target>` or `sso:<connector id>`),
    /// `login_hint`, `organization_id`, and `return_to` (a local path to land on after the
    /// sign-in). `/callback` completes the sign-in and redirects to `return_to` or the configured
    /// path, or shows an error page. `/sign-out` clears the session and redirects to Logto's
    /// sign-out, which comes back to the post sign-out URL.
    ///
    /// A sign-out sent by a page of another site (a link or image there: browsers send the
    /// `SameSite=Lax` cookie on top-level navigations from any site) is refused with `403` and a
    /// page whose button signs out (a same-origin POST). The request is from another site when
    /// its `Sec-Fetch-Site` is neither `same-origin` nor `none` (a typed URL); without that
    /// header (older browsers), when its `Origin`, or else its `Referer`, is not the base URL's
    /// origin. A request with none of them (scripts, `curl`) signs out. So a sign-out link or
    /// form on the app's own pages works as before.
    ///
    /// `POST /back-channel-logout` receives the logout token Logto sends when the user's Logto
    /// session ends (OpenID Connect Back-Channel Logout 1.0: set base URL + this path as the
    /// app's "Backchannel logout URI" in Logto Console). The token is verified (signature,
    /// issuer, audience, times, the logout event, no `nonce`, `jti` not seen before); every
    /// local session signed in through that Logto session (`sid`), or else of that user
    /// (`sub`), ends, in every process sharing the store; a bad token gets `400`.
    ///
    /// Their responses, like every [`Rejection`](crate::Rejection), carry
    /// `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: the callback's URL holds the
    /// code and state of the sign-in, and error pages may show them.
    ///
    /// They need [`layer`](Self::layer) on the app.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let inner = &self.inner;
        Router::new()
            .route(&inner.sign_in_path, get(routes::sign_in))
            .route(&inner.callback_path, get(routes::callback))
            .route(
                &inner.sign_out_path,
                get(routes::sign_out).post(routes::sign_out),
            )
            .route(
                &inner.back_channel_logout_path,
                post(crate::back_channel::back_channel_logout),
            )
    }

    /// The middleware the routes and extractors need: sessions in `store` (any
    /// [`tower_sessions`] store; the token records go there too) with a cookie that is
    /// `HttpOnly`, `SameSite=Lax`, `Secure` unless the base URL is `http` on a loopback host
    /// (`localhost`, 127.0.0.0/8, `::1`), and lasts as long as
    /// the session TTL after its last change.
    pub fn layer<Store>(&self, store: Store) -> LogtoLayer<Store>
    where
        Store: SessionStore + Clone,
    {
        LogtoLayer::new(self.clone(), store)
    }

    pub(crate) fn absolute(&self, path: &str) -> String {
        let base = self.inner.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    pub(crate) fn is_https(&self) -> bool {
        self.inner.base_url.scheme() == "https"
    }

    /// Whether the session cookie is `Secure`: always, except for an `http` base URL on a
    /// loopback host (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`), where browsers send no
    /// cookie of a plain-http site otherwise. An `http` base URL on any other host is a
    /// misconfiguration (a TLS proxy in front should be given as `https`); the cookie still never
    /// travels in clear.
    pub(crate) fn secure_cookie(&self) -> bool {
        self.is_https() || !is_loopback(&self.inner.base_url)
    }

    /// The cookie path: the base URL's path, so an app under a prefix keeps its cookie there.
    pub(crate) fn cookie_path(&self) -> String {
        let path = self.inner.base_url.path().trim_end_matches('/');
        if path.is_empty() {
            "/".into()
        } else {
            path.into()
        }
    }

    /// `error` as the answer to a request that asked for JSON (`json`) or not, from `page` (the
    /// URI of a GET request: where to come back to after signing in again).
    pub(crate) fn rejection(&self, error: Error, json: bool, page: Option<&Uri>) -> Rejection {
        let return_to = page
            .and_then(Uri::path_and_query)
            .map(|pq| self.local(pq.as_str()));
        Rejection {
            error,
            json,
            sign_in: self.sign_in_location(return_to.as_deref()),
            home: self.local("/"),
        }
    }

    /// The local URL of the sign-in route, asking to come back to `return_to` afterwards.
    pub(crate) fn sign_in_location(&self, return_to: Option<&str>) -> String {
        let path = self.local(&self.inner.sign_in_path);
        match return_to {
            Some(target) if logto::web::is_local_path(target) => {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", target)
                    .finish();
                format!("{path}?{query}")
            }
            _ => path,
        }
    }

    /// `path` under the base URL's path prefix (for redirects within the app).
    pub(crate) fn local(&self, path: &str) -> String {
        let prefix = self.inner.base_url.path().trim_end_matches('/');
        format!("{prefix}{path}")
    }
}

/// The page a request asked for, to come back to after signing in: only a page fetched with GET
/// is worth it. Its URI as the app received it (before any nesting stripped a prefix).
pub(crate) fn page_of(method: &Method, uri: &Uri, extensions: &Extensions) -> Option<Uri> {
    if method != Method::GET {
        return None;
    }
    Some(
        extensions
            .get::<OriginalUri>()
            .map_or(uri, |original| &original.0)
            .clone(),
    )
}

/// Builds a [`Logto`]; errors are reported by [`build`](LogtoBuilder::build).
#[must_use]
#[derive(Debug)]
pub struct LogtoBuilder {
    config: LogtoConfig,
    http_client: Option<logto::reqwest::Client>,
    base_url: String,
    sign_in_path: String,
    callback_path: String,
    sign_out_path: String,
    back_channel_logout_path: String,
    post_sign_in_redirect: String,
    post_sign_out_redirect: String,
    session_ttl: Duration,
    refresh_lock: Option<Arc<dyn RefreshLock>>,
}

impl LogtoBuilder {
    /// Sends every request to Logto with `client` (a proxy, client certificates…): see
    /// [`LogtoHandle::with_http_client`], whose rules apply (it must not follow redirects).
    pub fn http_client(mut self, client: logto::reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Path of the sign-in route (default `/sign-in`).
    pub fn sign_in_path(mut self, path: impl Into<String>) -> Self {
        self.sign_in_path = path.into();
        self
    }

    /// Path of the callback route (default `/callback`); base URL + this path is the redirect URI
    /// to register in Logto Console.
    pub fn callback_path(mut self, path: impl Into<String>) -> Self {
        self.callback_path = path.into();
        self
    }

    /// Path of the sign-out route (default `/sign-out`).
    pub fn sign_out_path(mut self, path: impl Into<String>) -> Self {
        self.sign_out_path = path.into();
        self
    }

    /// Path of the back-channel logout route (default `/back-channel-logout`); base URL + this
    /// path is the "Backchannel logout URI" to set in Logto Console (with "Is session required"
    /// on, so that a sign-out ends only the sessions of that Logto session).
    pub fn back_channel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.back_channel_logout_path = path.into();
        self
    }

    /// Where the callback sends the user after a sign-in started without `return_to`
    /// (default `/`).
    pub fn post_sign_in_redirect(mut self, path: impl Into<String>) -> Self {
        self.post_sign_in_redirect = path.into();
        self
    }

    /// Where Logto sends the user after signing out (default `/`); base URL + this path is the
    /// post sign-out redirect URI to register in Logto Console.
    pub fn post_sign_out_redirect(mut self, path: impl Into<String>) -> Self {
        self.post_sign_out_redirect = path.into();
        self
    }

    /// How long a session lives after its last change (default 14 days, Logto's refresh-token
    /// lifetime). At least a minute; a TTL reaching past year 9999 saturates there.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// The lock taken around token refreshes across processes; needed when several processes
    /// share the session store. `RedisStore` (feature `redis`) is one.
    pub fn refresh_lock(mut self, lock: impl RefreshLock) -> Self {
        self.refresh_lock = Some(Arc::new(lock));
        self
    }

    /// Checks the settings and builds the handle.
    pub fn build(self) -> Result<Logto, Error> {
        let base_url = Url::parse(self.base_url.trim()).map_err(|e| {
            Error::InvalidConfig(format!(
                "the base URL {:?} is not a URL ({e}): use the app's origin, e.g. http://localhost:3000",
                self.base_url
            ))
        })?;
        if !matches!(base_url.scheme(), "http" | "https")
            || base_url.host().is_none()
            || base_url.query().is_some()
            || base_url.fragment().is_some()
        {
            return Err(Error::InvalidConfig(format!(
                "the base URL {:?} must be an http(s) URL with a host and no query or fragment",
                self.base_url
            )));
        }
        for (name, path) in [
            ("sign-in path", &self.sign_in_path),
            ("callback path", &self.callback_path),
            ("sign-out path", &self.sign_out_path),
            ("back-channel logout path", &self.back_channel_logout_path),
            ("post sign-in redirect", &self.post_sign_in_redirect),
            ("post sign-out redirect", &self.post_sign_out_redirect),
        ] {
            if !logto::web::is_local_path(path) {
                return Err(Error::InvalidConfig(format!(
                    "the {name} {path:?} must be a path starting with a single `/`"
                )));
            }
        }
        if self.session_ttl < Duration::from_secs(60) {
            return Err(Error::InvalidConfig(
                "the session TTL must be at least a minute".into(),
            ));
        }
        Ok(Logto {
            inner: Arc::new(Inner {
                handle: match self.http_client {
                    Some(client) => LogtoHandle::with_http_client(self.config, client)?,
                    None => LogtoHandle::new(self.config)?,
                },
                base_url,
                sign_in_path: self.sign_in_path,
                callback_path: self.callback_path,
                sign_out_path: self.sign_out_path,
                back_channel_logout_path: self.back_channel_logout_path,
                post_sign_in_redirect: self.post_sign_in_redirect,
                post_sign_out_redirect: self.post_sign_out_redirect,
                session_ttl: self.session_ttl,
                refresh_lock: self.refresh_lock,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LogtoConfig {
        LogtoConfig::builder("https://logto.test", "app")
            .build()
            .unwrap()
    }

    #[test]
    fn urls_follow_the_base_url_and_its_prefix() {
        let logto = Logto::builder(config(), "https://app.test/shop/")
            .build()
            .unwrap();
        assert_eq!(logto.callback_url(), "https://app.test/shop/callback");
        assert_eq!(logto.post_sign_out_url(), "https://app.test/shop/");
        assert_eq!(logto.cookie_path(), "/shop");
        assert_eq!(
            logto.sign_in_location(Some("/orders?id=1")),
            "/shop/sign-in?return_to=%2Forders%3Fid%3D1"
        );
        assert_eq!(logto.sign_in_location(Some("//evil.test")), "/shop/sign-in");
        assert!(logto.is_https());
    }

    #[test]
    fn the_cookie_is_secure_unless_served_over_http_on_loopback() {
        for (base_url, secure) in [
            ("https://app.test", true),
            ("https://localhost:3000", true),
            ("http://app.example.com", true),
            ("http://192.168.1.10:3000", true),
            ("http://[2001:db8::1]", true),
            ("http://localhost.example.com", true),
            ("http://localhost:3000", false),
            ("http://LOCALHOST./", false),
            ("http://app.localhost:8080", false),
            ("http://127.0.0.1:3000", false),
            ("http://127.1.2.3", false),
            ("http://[::1]:3000", false),
            ("http://[::ffff:127.0.0.1]", false),
        ] {
            let logto = Logto::builder(config(), base_url).build().unwrap();
            assert_eq!(logto.secure_cookie(), secure, "{base_url}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        for builder in [
            Logto::builder(config(), "not a url"),
            Logto::builder(config(), "ftp://app.test"),
            Logto::builder(config(), "http://app.test/?q=1"),
            Logto::builder(config(), "http://app.test").callback_path("callback"),
            Logto::builder(config(), "http://app.test").post_sign_in_redirect("//evil.test"),
            Logto::builder(config(), "http://app.test").session_ttl(Duration::from_secs(1)),
        ] {
            let err = builder.build().unwrap_err();
            assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
        }
    }
}
