//! [`Logto`]: the app-wide handle, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::OriginalUri;
use axum::http::{Extensions, Method, Uri};
use axum::routing::{get, post};
use logto::web::{Site, SitePaths};
use logto::{LogtoConfig, LogtoHandle};
use tower_sessions::SessionStore;

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
    pub(crate) site: Site,
    pub(crate) session_ttl: Duration,
    pub(crate) refresh_lock: Option<Arc<dyn RefreshLock>>,
}

impl fmt::Debug for Logto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Logto")
            .field("config", inner.handle.config())
            .field("site", &inner.site)
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
            paths: SitePaths::default(),
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

    /// The app's base URL and route paths.
    pub fn site(&self) -> &Site {
        &self.inner.site
    }

    /// The redirect URI registered in Logto Console: base URL + callback path.
    pub fn callback_url(&self) -> String {
        self.inner.site.callback_url()
    }

    /// The post sign-out redirect URI registered in Logto Console: base URL + its path.
    pub fn post_sign_out_url(&self) -> String {
        self.inner.site.post_sign_out_url()
    }

    /// The path of the sign-in route (`/sign-in` unless configured).
    pub fn sign_in_path(&self) -> &str {
        &self.inner.site.paths().sign_in
    }

    /// The path of the sign-out route (`/sign-out` unless configured).
    pub fn sign_out_path(&self) -> &str {
        &self.inner.site.paths().sign_out
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
    /// (`sub`), ends, in every process sharing the store; a bad token gets `400`. The sessions
    /// end even when Logto stops waiting for the answer; when the store fails, the answer is
    /// `500` and the same token is accepted again.
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
            .route(&inner.site.paths().sign_in, get(routes::sign_in))
            .route(&inner.site.paths().callback, get(routes::callback))
            .route(
                &inner.site.paths().sign_out,
                get(routes::sign_out).post(routes::sign_out),
            )
            .route(
                &inner.site.paths().back_channel_logout,
                post(crate::back_channel::back_channel_logout),
            )
    }

    /// The middleware the routes and extractors need: sessions in `store` (any
    /// [`tower_sessions`] store; the token records go there too) with a cookie that is
    /// `HttpOnly`, `SameSite=Lax`, `Secure` unless the base URL is `http` on a loopback host
    /// (`localhost`, 127.0.0.0/8, `::1`), and lasts as long as the session TTL after the last
    /// request (see [`session_ttl`](LogtoBuilder::session_ttl)).
    pub fn layer<Store>(&self, store: Store) -> LogtoLayer<Store>
    where
        Store: SessionStore + Clone,
    {
        LogtoLayer::new(self.clone(), store)
    }

    /// `error` as the answer to a request that asked for JSON (`json`) or not, from `page` (the
    /// URI of a GET request: where to come back to after signing in again).
    pub(crate) fn rejection(&self, error: Error, json: bool, page: Option<&Uri>) -> Rejection {
        let return_to = page
            .and_then(Uri::path_and_query)
            .map(|pq| self.site().local(pq.as_str()));
        Rejection {
            error,
            json,
            sign_in: self.site().sign_in_location(return_to.as_deref()),
            home: self.site().local("/"),
        }
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
    paths: SitePaths,
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
        self.paths.sign_in = path.into();
        self
    }

    /// Path of the callback route (default `/callback`); base URL + this path is the redirect URI
    /// to register in Logto Console.
    pub fn callback_path(mut self, path: impl Into<String>) -> Self {
        self.paths.callback = path.into();
        self
    }

    /// Path of the sign-out route (default `/sign-out`).
    pub fn sign_out_path(mut self, path: impl Into<String>) -> Self {
        self.paths.sign_out = path.into();
        self
    }

    /// Path of the back-channel logout route (default `/back-channel-logout`); base URL + this
    /// path is the "Backchannel logout URI" to set in Logto Console (with "Is session required"
    /// on, so that a sign-out ends only the sessions of that Logto session).
    pub fn back_channel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.paths.back_channel_logout = path.into();
        self
    }

    /// Where the callback sends the user after a sign-in started without `return_to`
    /// (default `/`).
    pub fn post_sign_in_redirect(mut self, path: impl Into<String>) -> Self {
        self.paths.post_sign_in_redirect = path.into();
        self
    }

    /// Where Logto sends the user after signing out (default `/`); base URL + this path is the
    /// post sign-out redirect URI to register in Logto Console.
    pub fn post_sign_out_redirect(mut self, path: impl Into<String>) -> Self {
        self.paths.post_sign_out_redirect = path.into();
        self
    }

    /// How long a session lives after the visitor's last request (default 14 days, Logto's
    /// refresh-token lifetime). At least a minute. A TTL reaching past year 9999 saturates there.
    ///
    /// A signed-in session, its token record and its cookie are renewed by the first request
    /// (through the extractors) once a tenth of the TTL has passed since the sign-in or the last
    /// renewal, not on every request: a session ends between nine tenths of the TTL and the TTL
    /// after its last request (see [`logto::web::renewal`]).
    ///
    /// A session that holds nothing but a pending sign-in (no tokens, none of the app's own
    /// values) is kept in the store for 15 minutes after it was last written instead
    /// ([`PENDING_SESSION_TTL`](logto::web::renewal::PENDING_SESSION_TTL)), or for the TTL if
    /// that is shorter; the callback that completes the sign-in gives it the whole TTL. (Its
    /// cookie keeps the TTL, and then finds no session.)
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
        let site = Site::new(&self.base_url, self.paths)
            .map_err(|e| Error::InvalidConfig(logto::web::message_of(e)))?;
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
                site,
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
    fn the_site_follows_the_builder() {
        let logto = Logto::builder(config(), "https://app.test/shop/")
            .callback_path("/auth/callback")
            .post_sign_out_redirect("/bye")
            .build()
            .unwrap();
        assert_eq!(logto.callback_url(), "https://app.test/shop/auth/callback");
        assert_eq!(logto.post_sign_out_url(), "https://app.test/shop/bye");
        assert_eq!(logto.site().cookie_path(), "/shop");
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
