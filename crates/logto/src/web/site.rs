//! [`Site`]: where an app serves Logto's routes, and the URLs and cookie settings that follow.

use url::Url;

use super::is_local_path;
use crate::LogtoError;

/// The paths of an app's Logto routes and redirects, as the framework adapter's builder collects
/// them (each a path starting with a single `/`, under the base URL's path prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SitePaths {
    /// The sign-in route (default `/sign-in`).
    pub sign_in: String,
    /// The callback route (default `/callback`): base URL + this is the redirect URI.
    pub callback: String,
    /// The sign-out route (default `/sign-out`).
    pub sign_out: String,
    /// The back-channel logout route (default `/back-channel-logout`).
    pub back_channel_logout: String,
    /// Where a sign-in started without `return_to` lands (default `/`).
    pub post_sign_in_redirect: String,
    /// Where Logto sends the user after signing out (default `/`): base URL + this is the post
    /// sign-out redirect URI.
    pub post_sign_out_redirect: String,
}

impl Default for SitePaths {
    fn default() -> Self {
        SitePaths {
            sign_in: "/sign-in".into(),
            callback: "/callback".into(),
            sign_out: "/sign-out".into(),
            back_channel_logout: "/back-channel-logout".into(),
            post_sign_in_redirect: "/".into(),
            post_sign_out_redirect: "/".into(),
        }
    }
}

/// An app's base URL (the origin users see, with any path prefix the app is mounted under) and
/// the paths of its Logto routes, checked.
///
/// ```
/// use logto::web::{Site, SitePaths};
/// let site = Site::new("https://app.test/shop/", SitePaths::default())?;
/// assert_eq!(site.callback_url(), "https://app.test/shop/callback");
/// assert_eq!(site.cookie_path(), "/shop");
/// assert_eq!(site.sign_in_location(Some("/orders?id=1")), "/shop/sign-in?return_to=%2Forders%3Fid%3D1");
/// assert_eq!(site.sign_in_location(Some("//evil.test")), "/shop/sign-in");
/// let mut paths = SitePaths::default();
/// paths.callback = "callback".into(); // not a path
/// assert!(matches!(
///     Site::new("http://app.test", paths),
///     Err(logto::LogtoError::InvalidConfig(_))
/// ));
/// # Ok::<(), logto::LogtoError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Site {
    base_url: Url,
    paths: SitePaths,
}

impl Site {
    /// Checks `base_url` (an http(s) URL with a host, no query or fragment) and `paths` (each a
    /// path starting with a single `/`).
    ///
    /// # Errors
    /// [`LogtoError::InvalidConfig`], saying what is wrong and how to fix it.
    pub fn new(base_url: &str, paths: SitePaths) -> Result<Site, LogtoError> {
        let parsed = Url::parse(base_url.trim()).map_err(|e| {
            LogtoError::InvalidConfig(format!(
                "the base URL {base_url:?} is not a URL ({e}): use the app's origin, e.g. http://localhost:3000"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host().is_none()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(LogtoError::InvalidConfig(format!(
                "the base URL {base_url:?} must be an http(s) URL with a host and no query or fragment"
            )));
        }
        for (name, path) in [
            ("sign-in path", &paths.sign_in),
            ("callback path", &paths.callback),
            ("sign-out path", &paths.sign_out),
            ("back-channel logout path", &paths.back_channel_logout),
            ("post sign-in redirect", &paths.post_sign_in_redirect),
            ("post sign-out redirect", &paths.post_sign_out_redirect),
        ] {
            if !is_local_path(path) {
                return Err(LogtoError::InvalidConfig(format!(
                    "the {name} {path:?} must be a path starting with a single `/`"
                )));
            }
        }
        Ok(Site {
            base_url: parsed,
            paths,
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The paths of the routes.
    pub fn paths(&self) -> &SitePaths {
        &self.paths
    }

    /// The redirect URI to register in Logto Console: base URL + callback path.
    pub fn callback_url(&self) -> String {
        self.absolute(&self.paths.callback)
    }

    /// The post sign-out redirect URI to register in Logto Console.
    pub fn post_sign_out_url(&self) -> String {
        self.absolute(&self.paths.post_sign_out_redirect)
    }

    /// `path` as an absolute URL under the base URL.
    pub fn absolute(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// `path` under the base URL's path prefix (for redirects within the app).
    pub fn local(&self, path: &str) -> String {
        let prefix = self.base_url.path().trim_end_matches('/');
        format!("{prefix}{path}")
    }

    /// Whether the base URL is `https`.
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// Whether the session cookie is `Secure`: always, except for an `http` base URL on a
    /// loopback host (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`), where browsers send no
    /// cookie of a plain-http site otherwise. An `http` base URL on any other host is a
    /// misconfiguration (a TLS proxy in front should be given as `https`); the cookie still never
    /// travels in clear.
    pub fn secure_cookie(&self) -> bool {
        self.is_https() || !crate::is_loopback(&self.base_url)
    }

    /// The cookie path: the base URL's path, so an app under a prefix keeps its cookie there.
    pub fn cookie_path(&self) -> String {
        let path = self.base_url.path().trim_end_matches('/');
        if path.is_empty() {
            "/".into()
        } else {
            path.into()
        }
    }

    /// The local URL of the sign-in route, asking to come back to `return_to` afterwards when
    /// the visitor may be sent there (see [`can_return_to`](Site::can_return_to)).
    pub fn sign_in_location(&self, return_to: Option<&str>) -> String {
        let path = self.local(&self.paths.sign_in);
        match return_to {
            Some(target) if self.can_return_to(target) => {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", target)
                    .finish();
                format!("{path}?{query}")
            }
            _ => path,
        }
    }

    /// Whether a visitor may be sent to `path` after signing in: a path on this site
    /// ([`is_local_path`]) other than the callback route, whose query holds an authorization code
    /// already spent (sending it again would make Logto revoke the new sign-in), and which is
    /// therefore never written into a URL or a page.
    pub fn can_return_to(&self, path: &str) -> bool {
        let route = path.split(['?', '#']).next().unwrap_or(path);
        is_local_path(path) && route != self.local(&self.paths.callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(base_url: &str) -> Site {
        Site::new(base_url, SitePaths::default()).unwrap()
    }

    #[test]
    fn urls_follow_the_base_url_and_its_prefix() {
        let site = site("https://app.test/shop/");
        assert_eq!(site.callback_url(), "https://app.test/shop/callback");
        assert_eq!(site.post_sign_out_url(), "https://app.test/shop/");
        assert_eq!(site.cookie_path(), "/shop");
        assert_eq!(site.local("/"), "/shop/");
        assert_eq!(
            site.sign_in_location(Some("/orders?id=1")),
            "/shop/sign-in?return_to=%2Forders%3Fid%3D1"
        );
        assert_eq!(site.sign_in_location(Some("//evil.test")), "/shop/sign-in");
    }

    #[test]
    fn the_callback_is_never_a_page_to_come_back_to() {
        let site = site("https://app.test/shop/");
        for spent in [
            "/shop/callback?code=spent&state=s",
            "/shop/callback",
            "/shop/callback#x",
        ] {
            assert!(!site.can_return_to(spent), "{spent}");
            assert_eq!(site.sign_in_location(Some(spent)), "/shop/sign-in");
        }
        assert!(site.can_return_to("/shop/callbacks?page=2"));
        assert!(site.can_return_to("/shop/orders?code=1"));
        assert!(site.is_https());
        assert_eq!(self::site("http://localhost:3000").cookie_path(), "/");
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
            assert_eq!(site(base_url).secure_cookie(), secure, "{base_url}");
        }
    }

    #[test]
    fn bad_sites_are_refused_with_the_reason() {
        let path = |set: fn(&mut SitePaths)| {
            let mut paths = SitePaths::default();
            set(&mut paths);
            paths
        };
        for (base_url, paths, expected) in [
            ("not a url", SitePaths::default(), "is not a URL"),
            ("ftp://app.test", SitePaths::default(), "http(s) URL"),
            ("http://app.test/?q=1", SitePaths::default(), "no query"),
            (
                "http://app.test",
                path(|p| p.callback = "callback".into()),
                "callback path",
            ),
            (
                "http://app.test",
                path(|p| p.post_sign_in_redirect = "//evil.test".into()),
                "post sign-in redirect",
            ),
        ] {
            let error = Site::new(base_url, paths).unwrap_err();
            assert!(
                matches!(&error, LogtoError::InvalidConfig(message) if message.contains(expected)),
                "{base_url}: {error}"
            );
        }
    }
}
