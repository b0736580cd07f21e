//! [`Browser`]: a user agent in front of an app under test (a cookie jar, no automatic
//! redirects), and helpers to read its responses.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::TestIdp;

/// A user agent for an app under test: it keeps cookies, never follows redirects (tests look at
/// each one) and gives up on a request after 30 s.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The HTTP client, for requests the helpers below do not cover.
    pub http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// An empty cookie jar.
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("build the test browser's HTTP client");
        Browser { http, jar }
    }

    /// Another browser holding the cookies this one has for `from` (a base URL), sent to `to`:
    /// the same user on another instance of the app.
    pub fn with_cookies_for(&self, from: &str, to: &str) -> Browser {
        let other = Browser::new();
        let to = to.parse().expect("a base URL");
        if let Some(cookies) = self.jar.cookies(&from.parse().expect("a base URL")) {
            for cookie in cookies.to_str().unwrap().split("; ") {
                other.jar.add_cookie_str(cookie, &to);
            }
        }
        other
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// `GET url` with `Accept: application/json`: the status and the body as JSON (a JSON string
    /// holding the text when it is not JSON).
    pub async fn get_json(&self, url: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// Signs in: opens the app's `sign_in_url` (which must redirect to the IdP), signs in there as
    /// `user`, checks that Logto redirects to a URL starting with `callback_prefix`, and opens it.
    /// Returns where the app's callback redirected to.
    pub async fn sign_in(
        &self,
        idp: &TestIdp,
        sign_in_url: &str,
        callback_prefix: &str,
        user: (&str, &str),
    ) -> String {
        let response = self.get(sign_in_url).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{sign_in_url}");
        let callback = idp.sign_in(&location(&response), user.0, user.1).await;
        assert!(callback.starts_with(callback_prefix), "{callback}");
        let response = self.get(&callback).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "the callback failed: {}",
            response.text().await.unwrap()
        );
        location(&response)
    }
}

/// The `Location` header of a response (panics when there is none).
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location in the {} response", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// Whether a response sets cookie `name` to last `max_age` seconds.
pub fn sets_cookie_for(response: &reqwest::Response, name: &str, max_age: u64) -> bool {
    set_cookies(response).iter().any(|cookie| {
        cookie.starts_with(&format!("{name}="))
            && cookie
                .split(';')
                .any(|attribute| attribute.trim() == format!("Max-Age={max_age}"))
    })
}
