//! [`Logto`]: the app-wide handle, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_session::storage::SessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::web;
use aws_lc_rs::digest;
use logto::web::{Site, SitePaths};
use logto::{LogtoConfig, LogtoHandle};

use crate::error::Error;
use crate::middleware::{LogtoMiddleware, SessionStoreOf};
use crate::routes;
use logto::RefreshLock;

use crate::store::TokenStore;

/// The name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "logto_session";

/// The app-wide Logto handle: the [`LogtoConfig`], the app's base URL and its sign-in routes.
/// Cheap to clone.
///
/// ```
/// use logto::LogtoConfig;
/// use logto_actix::Logto;
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
    pub(crate) cookie_key: Key,
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
            cookie_key: None,
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

    /// Registers the routes `GET /sign-in`, `GET /callback`, `GET|POST /sign-out` and
    /// `POST /back-channel-logout` (paths as configured): use it with `App::configure`.
    ///
    /// `/sign-in` takes the query parameters `interaction_mode` (`signIn` or `signUp`),
    /// `first_screen`, `direct_sign_in` (`social:<target>` or `sso:<connector id>`),
    /// `login_hint`, `organization_id`, and `return_to` (a local path to land on after the
    /// sign-in). `/callback` completes the sign-in, renews the session id and redirects to
    /// `return_to` or the configured path, or shows an error page. `/sign-out` clears the session
    /// and redirects to Logto's sign-out, which comes back to the post sign-out URL; a sign-out
    /// sent by a page of another site is refused with `403` and a page whose button signs out.
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
    /// Their responses carry `Cache-Control: no-store` and `Referrer-Policy: no-referrer`. They
    /// need [`middleware`](Self::middleware) on the app.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        let inner = &self.inner;
        config
            .route(&inner.site.paths().sign_in, web::get().to(routes::sign_in))
            .route(
                &inner.site.paths().callback,
                web::get().to(routes::callback),
            )
            .route(
                &inner.site.paths().sign_out,
                web::get().to(routes::sign_out),
            )
            .route(
                &inner.site.paths().sign_out,
                web::post().to(routes::sign_out),
            )
            .route(
                &inner.site.paths().back_channel_logout,
                web::post().to(crate::back_channel::back_channel_logout),
            );
    }

    /// The middleware the routes and extractors need: actix-session sessions in `store` (the
    /// token records go there too: [`MemoryStore`](crate::MemoryStore), or `RedisStore` with the
    /// feature `redis`), with a cookie that holds only the session id (encrypted with the cookie
    /// key), `HttpOnly`, `SameSite=Lax`, `Secure` unless the base URL is `http` on a loopback host
    /// (`localhost`, 127.0.0.0/8, `::1`), and lasts as long as the session TTL after the last
    /// request (see [`session_ttl`](LogtoBuilder::session_ttl)).
    pub fn middleware<Store>(&self, store: Store) -> LogtoMiddleware<Store>
    where
        Store: SessionStore + TokenStore + Clone,
    {
        let ttl = actix_web::cookie::time::Duration::try_from(self.inner.session_ttl)
            .unwrap_or(actix_web::cookie::time::Duration::MAX);
        let sessions = SessionMiddleware::builder(
            SessionStoreOf::new(store.clone()),
            self.inner.cookie_key.clone(),
        )
        .cookie_name(COOKIE_NAME.into())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(self.site().secure_cookie())
        .cookie_path(self.site().cookie_path())
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(ttl)
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build();
        LogtoMiddleware::new(self.clone(), sessions, Arc::new(store))
    }
}

/// Builds a [`Logto`]; errors are reported by [`build`](LogtoBuilder::build).
#[must_use]
pub struct LogtoBuilder {
    config: LogtoConfig,
    http_client: Option<logto::reqwest::Client>,
    base_url: String,
    paths: SitePaths,
    session_ttl: Duration,
    refresh_lock: Option<Arc<dyn RefreshLock>>,
    cookie_key: Option<Key>,
}

impl fmt::Debug for LogtoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoBuilder")
            .field("config", &self.config)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
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
    /// refresh-token lifetime). At least a minute.
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

    /// The key that encrypts the session cookie (which holds only the session id). Every process
    /// sharing the sessions needs the same key. Default: a random key, good for one process only
    /// (and its sessions end with it).
    pub fn cookie_key(mut self, key: Key) -> Self {
        self.cookie_key = Some(key);
        self
    }

    /// [`cookie_key`](Self::cookie_key) derived (SHA-512) from a secret every process of the app
    /// knows, such as the app secret: the processes agree without one more setting.
    pub fn cookie_key_from_secret(self, secret: &str) -> Self {
        let derived = digest::digest(
            &digest::SHA512,
            format!("logto-actix session cookie key\0{secret}").as_bytes(),
        );
        self.cookie_key(Key::from(derived.as_ref()))
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
        let cookie_key = self.cookie_key.unwrap_or_else(Key::generate);
        Ok(Logto {
            inner: Arc::new(Inner {
                handle: match self.http_client {
                    Some(client) => LogtoHandle::with_http_client(self.config, client)?,
                    None => LogtoHandle::new(self.config)?,
                },
                site,
                session_ttl: self.session_ttl,
                refresh_lock: self.refresh_lock,
                cookie_key,
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
