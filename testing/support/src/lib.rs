//! Test-only handle on the logto-rs test identity provider (`testing/idp`).
//!
//! [`TestIdp::start`] spawns `node testing/idp/server.mjs` on a free port and waits for its ready
//! line; the IdP is an `oidc-provider` v9 server configured like a Logto tenant (issuer
//! `<endpoint>/oidc`, ES384 keys, resource indicators, organization tokens, refresh-token rotation
//! with reuse detection…). See `testing/idp/README.md` for what it does and how to configure it.
//!
//! The node process dies with the [`TestIdp`] (it is killed on drop) and, because its stdin is a
//! pipe held by this process, also when the test process itself dies.
//!
//! Requires `npm ci --prefix testing/idp` once, and Node.js 20+ as `node` on the `PATH` (or the
//! `NODE` environment variable naming the binary).
//!
//! ```no_run
//! # async fn demo() {
//! use logto_test_support::{TestIdp, ALICE};
//! let idp = TestIdp::start().await;
//! let authorization_url = format!("{}/oidc/auth?client_id=…", idp.endpoint());
//! let callback = idp.sign_in(&authorization_url, ALICE.0, ALICE.1).await;
//! # }
//! ```
//!
//! Besides the IdP: [`Browser`], a cookie-keeping user agent for the apps under test; [`Redis`], a
//! private `redis-server`; [`StoreFaults`], faults injected into an app's session store;
//! [`example_binary`], an example program built for the running test's profile; and [`keys`],
//! fixed signing keys for unit tests.
//!
//! Everything here panics with a descriptive message on failure: it is meant for tests only.

mod browser;
mod examples;
#[allow(missing_docs)]
pub mod keys;
pub mod logto;
mod redis;
mod store_faults;
pub mod tls;
pub mod web_scenarios;

pub use browser::{Browser, location, set_cookies, sets_cookie_for};
pub use examples::example_binary;
pub use logto::{ApiResource, App, AppKind, LogtoBrowser, RealLogto, User, World};
pub use redis::{Redis, signed_in_sessions};
pub use store_faults::StoreFaults;
pub use tls::{TestCa, TlsIdp};

use std::{
    net::TcpListener,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, ChildStderr, ChildStdin, Command},
};
use url::Url;

/// Confidential client (`client_secret_basic`; a body secret is accepted too).
pub const WEB_APP_ID: &str = "web-app";
/// Secret of [`WEB_APP_ID`].
pub const WEB_APP_SECRET: &str = "web-app-secret";
/// Public client (`token_endpoint_auth_method` `none`, PKCE only).
pub const PUBLIC_APP_ID: &str = "public-app";
/// A second confidential client, for audience tests.
pub const WEB_APP_2_ID: &str = "web-app-2";
/// Secret of [`WEB_APP_2_ID`].
pub const WEB_APP_2_SECRET: &str = "web-app-2-secret";

/// Registered redirect URI of every default client. Loopback redirect URIs match whatever their
/// port, so `http://127.0.0.1:<any port>/callback` is accepted too (as is `localhost`).
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// Registered post-logout redirect URI of every default client (any port on loopback hosts).
pub const POST_LOGOUT_REDIRECT_URI: &str = "http://127.0.0.1/";

/// Fixture user with every claim set, roles and organizations: `(username, password)`.
pub const ALICE: (&str, &str) = ("alice", "alice-password");
/// Fixture user with a minimal profile and no organizations: `(username, password)`.
pub const BOB: (&str, &str) = ("bob", "bob-password");
/// `sub` of [`ALICE`].
pub const ALICE_SUB: &str = "user-alice";
/// `sub` of [`BOB`].
pub const BOB_SUB: &str = "user-bob";

/// API resource with scopes `shopping:read shopping:write` (alice's roles: both; bob's: read).
pub const SHOPPING_API: &str = "https://shopping.example.com/api";
/// API resource with scopes `store:read store:write` (alice's roles: `store:read`; bob's: none).
pub const STORE_API: &str = "https://store.example.com/api";
/// Alice is `admin` there: organization scopes `read:projects write:projects`, and
/// `shopping:read` on [`SHOPPING_API`] at the organization level.
pub const ORG_ACME: &str = "org-acme";
/// Alice is `member` there: organization scope `read:projects`.
pub const ORG_GLOBEX: &str = "org-globex";
/// Logto's reserved organization resource indicator.
pub const ORGANIZATIONS_RESOURCE: &str = "urn:logto:resource:organizations";

/// Sign-in route queries no sign-in can start with, and the message of the adapters' JSON answer
/// (`400 {"error": "bad_request", "message": …}`): it names the parameter and what it must be.
pub const UNUSABLE_SIGN_IN_QUERIES: [(&str, &str); 2] = [
    (
        "interaction_mode=nope",
        "bad request: interaction_mode \"nope\" must be `signIn` or `signUp`",
    ),
    (
        "direct_sign_in=github",
        "bad request: direct sign-in \"github\" must be `social:<target>` or `sso:<connector id>`",
    ),
];

const IDP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../idp");
const IDP_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../idp/server.mjs");
const START_TIMEOUT: Duration = Duration::from_secs(20);
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_LOG: usize = 256 * 1024;
const MAX_BROWSER_STEPS: usize = 30;

/// Counters of the IdP's endpoints since start (or the last [`TestIdp::reset_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Discovery document requests.
    pub discovery: u64,
    /// JWKS requests.
    pub jwks: u64,
    /// Authorization endpoint requests (`GET /oidc/auth`, not the internal resumes).
    pub authorization: u64,
    /// Token endpoint requests, whatever the grant or outcome.
    pub token: u64,
    /// Token requests with `grant_type=authorization_code`.
    pub authorization_code_grants: u64,
    /// Token requests with `grant_type=refresh_token`.
    pub refresh_token_grants: u64,
    /// Userinfo (`/oidc/me`) requests.
    pub userinfo: u64,
    /// Revocation requests.
    pub revocation: u64,
    /// Introspection requests.
    pub introspection: u64,
    /// End-session (`/oidc/session/end`) requests, not counting its confirmation.
    pub end_session: u64,
}

#[derive(Deserialize)]
struct Ready {
    ready: bool,
    base_url: String,
}

/// A running test IdP. Killed when dropped.
pub struct TestIdp {
    endpoint: String,
    http: reqwest::Client,
    log: Arc<Mutex<String>>,
    // Field order matters on drop: closing stdin first lets node exit on its own, then the
    // child is killed in case it did not.
    _stdin: ChildStdin,
    child: Child,
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdp")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl TestIdp {
    /// Starts the IdP with its default configuration (users alice and bob, clients web-app,
    /// web-app-2 and public-app, the shopping and store API resources, ES384 keys).
    pub async fn start() -> TestIdp {
        Self::start_with(Value::Object(Map::new())).await
    }

    /// Starts the IdP with this configuration (the JSON documented in `testing/idp/README.md`,
    /// e.g. `json!({"signing_alg": "RS256", "access_token_ttl": 5})`).
    ///
    /// Waits for the ready line for at most 20 s; panics with the IdP's stderr if it does not
    /// come. The IdP's stderr is also forwarded to this process's stderr, prefixed `[idp]`.
    pub async fn start_with(config: Value) -> TestIdp {
        assert!(
            Path::new(IDP_DIR).join("node_modules").is_dir(),
            "the test IdP's dependencies are not installed: run `npm ci --prefix testing/idp` \
             (from the repository root) first"
        );
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
        let mut child = Command::new(&node)
            .arg(IDP_SERVER)
            .arg("--config")
            .arg(config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `{node} {IDP_SERVER}` (is Node.js 20+ installed?): {e}")
            });

        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr_task = tokio::spawn(forward_stderr(stderr, Arc::clone(&log)));

        let mut lines = BufReader::new(stdout).lines();
        let line = match tokio::time::timeout(START_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(result) => {
                let status = child.wait().await;
                // The child is gone: its stderr reaches EOF promptly.
                let _ = tokio::time::timeout(Duration::from_secs(5), stderr_task).await;
                panic!(
                    "the test IdP exited before it was ready (stdout: {result:?}, status: {status:?}); \
                     its stderr:\n{}",
                    lock(&log)
                );
            }
            Err(_) => panic!(
                "the test IdP did not print its ready line within {START_TIMEOUT:?}; its stderr so far:\n{}",
                lock(&log)
            ),
        };
        let ready: Ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("unexpected first line from the test IdP ({e}): {line}"));
        assert!(ready.ready, "the test IdP is not ready: {line}");

        // Nothing else is expected on stdout, but never let the pipe fill up.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("build the admin HTTP client");
        TestIdp {
            endpoint: ready.base_url,
            http,
            log,
            _stdin: stdin,
            child,
        }
    }

    /// Stops the IdP now (kills the node process and waits for it to exit): later requests to
    /// [`endpoint`](Self::endpoint) fail to connect, as with a Logto that is down.
    pub async fn stop(&mut self) {
        // An error means it had already exited.
        let _ = self.child.kill().await;
    }

    /// The Logto endpoint, `http://127.0.0.1:PORT` (no `/oidc`, no trailing slash).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The issuer, `endpoint + "/oidc"`.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.endpoint)
    }

    /// `endpoint + path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint, path)
    }

    /// Everything the IdP wrote to stderr so far (rejected OAuth requests are logged there).
    pub fn log(&self) -> String {
        lock(&self.log).clone()
    }

    /// A headless browser with its own cookie jar, for flows that need the IdP session to persist
    /// between steps (SSO without a second login, sign-out of a signed-in session).
    pub fn browser(&self) -> IdpBrowser {
        IdpBrowser::new(&self.endpoint)
    }

    /// Signs in headlessly with a fresh cookie jar: GETs the authorization URL, follows the
    /// redirects, posts the login form with these credentials (consent is automatic), and
    /// follows until a redirect leaves the IdP. Returns that URL (the app's callback with
    /// `code`, `state`, `iss` — or `error`, `error_description`…) without requesting it.
    ///
    /// Panics if the credentials are refused, or on an IdP error page.
    pub async fn sign_in(&self, authorization_url: &str, username: &str, password: &str) -> String {
        self.browser()
            .sign_in(authorization_url, username, password)
            .await
    }

    /// Follows a URL on the IdP with a fresh cookie jar (e.g. an end-session URL: the logout
    /// confirmation is submitted like Logto's page does) until a redirect leaves the IdP, and
    /// returns that URL. Panics if a login page shows up.
    pub async fn visit(&self, url: &str) -> String {
        self.browser().visit(url).await
    }

    /// The query parameters of the last `/oidc/auth` request; a repeated parameter (e.g.
    /// `resource`) is an array of strings, any other a string. Empty if there was none.
    pub async fn last_authorization_request(&self) -> Map<String, Value> {
        self.admin_get("/__test/last-authorization-request").await
    }

    /// Makes a new key of `alg` (`ES256`, `ES384`, `ES512`, `RS256`, `PS256`, `EdDSA`) the
    /// signing key; the old keys stay in the JWKS when `keep_old`. Returns the new `kid`.
    pub async fn rotate_keys(&self, alg: &str, keep_old: bool) -> String {
        #[derive(Deserialize)]
        struct Rotated {
            kid: String,
        }
        let rotated: Rotated = self
            .admin_post(
                "/__test/rotate-keys",
                &serde_json::json!({ "alg": alg, "keep_old": keep_old }),
            )
            .await
            .json()
            .await
            .expect("rotate-keys response");
        rotated.kid
    }

    /// The request counters.
    pub async fn stats(&self) -> Stats {
        self.admin_get("/__test/stats").await
    }

    /// Zeroes the request counters.
    pub async fn reset_stats(&self) {
        self.admin_post("/__test/stats/reset", &Value::Object(Map::new()))
            .await;
    }

    /// Overrides the next `/oidc/token` response, once. Members (all optional):
    /// `id_token_claims` (merged into the ID token's claims, `null` deletes),
    /// `id_token_header` (merged into its header), `id_token_signing`
    /// (`"idp"` re-sign with the IdP key, `"none"` unsigned, `"foreign"` a key not in the JWKS,
    /// `"tamper"` change `sub` after signing), `merge` (merged into the JSON body, `null`
    /// deletes), or `raw` `{"status", "content_type", "body"}` to answer that instead.
    pub async fn override_next_token_response(&self, over: Value) {
        self.admin_post("/__test/next-token-response", &over).await;
    }

    /// Makes the next `/oidc/token` response slow: the IdP processes the request (rotating a
    /// refresh token), then holds the answer until [`release_token_response`](Self::release_token_response).
    pub async fn hold_next_token_response(&self) {
        self.override_next_token_response(serde_json::json!({ "hold": true }))
            .await;
    }

    /// Returns once a token response is held (see
    /// [`hold_next_token_response`](Self::hold_next_token_response)).
    pub async fn wait_for_held_token_response(&self) {
        self.admin_post("/__test/held-token-response", &Value::Object(Map::new()))
            .await;
    }

    /// Sends the held token response.
    pub async fn release_token_response(&self) {
        self.admin_post("/__test/release-token-response", &Value::Object(Map::new()))
            .await;
    }

    /// A compact JWS of `payload`, signed with the IdP's current key (`key = "idp"`) or with a
    /// key whose `kid` is not in the JWKS (`"foreign"`). The header is
    /// `{"alg", "typ": "JWT", "kid"}` merged with `header` (a `null` member deletes; a different
    /// `alg` is written as is while the key's real algorithm signs).
    pub async fn sign(&self, payload: Value, header: Option<Value>, key: &str) -> String {
        #[derive(Deserialize)]
        struct Signed {
            token: String,
        }
        let mut body = serde_json::json!({ "payload": payload, "key": key });
        if let Some(header) = header {
            body["header"] = header;
        }
        let signed: Signed = self
            .admin_post("/__test/sign", &body)
            .await
            .json()
            .await
            .expect("sign response");
        signed.token
    }

    async fn admin_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on the test IdP: {e}"));
        let response = check_admin(path, response).await;
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: bad JSON: {e}"))
    }

    async fn admin_post(&self, path: &str, body: &Value) -> reqwest::Response {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} on the test IdP: {e}"));
        check_admin(path, response).await
    }
}

async fn check_admin(path: &str, response: reqwest::Response) -> reqwest::Response {
    if response.status().is_success() {
        return response;
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    panic!("test IdP admin call {path} failed with {status}: {body}");
}

fn lock(log: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies the IdP's stderr to ours (prefixed) and into `log` (its last `MAX_LOG` bytes).
async fn forward_stderr(stderr: ChildStderr, log: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[idp] {line}");
        let mut log = lock(&log);
        log.push_str(&line);
        log.push('\n');
        if log.len() > MAX_LOG {
            let mut cut = log.len() - MAX_LOG / 2;
            while !log.is_char_boundary(cut) {
                cut += 1;
            }
            log.drain(..cut);
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound then released), for tests that start their own servers.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind 127.0.0.1:0")
}

/// A minimal headless browser for the IdP's pages: a cookie jar, manual redirects, the login
/// form and auto-submitting forms. Obtained from [`TestIdp::browser`].
#[derive(Debug, Clone)]
pub struct IdpBrowser {
    idp: Url,
    client: reqwest::Client,
}

enum Step {
    Get(Url),
    Post(Url, Vec<(String, String)>),
}

impl IdpBrowser {
    fn new(endpoint: &str) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("build the browser HTTP client");
        IdpBrowser {
            idp: Url::parse(endpoint).expect("IdP endpoint URL"),
            client,
        }
    }

    /// Like [`TestIdp::sign_in`], keeping this browser's cookies (a second sign-in with the same
    /// browser reuses the IdP session and shows no login page unless `prompt=login`).
    pub async fn sign_in(&self, authorization_url: &str, username: &str, password: &str) -> String {
        self.navigate(authorization_url, Some((username, password)))
            .await
    }

    /// Like [`TestIdp::visit`], keeping this browser's cookies (e.g. the end-session URL after a
    /// sign-in with this browser signs that session out).
    pub async fn visit(&self, url: &str) -> String {
        self.navigate(url, None).await
    }

    fn on_idp(&self, url: &Url) -> bool {
        url.origin() == self.idp.origin()
    }

    async fn navigate(&self, start: &str, credentials: Option<(&str, &str)>) -> String {
        let start = Url::parse(start).unwrap_or_else(|e| panic!("invalid URL {start:?}: {e}"));
        if !self.on_idp(&start) {
            panic!("{start} is not on the test IdP ({})", self.idp);
        }
        let mut step = Step::Get(start);
        let mut login_posted = false;
        for _ in 0..MAX_BROWSER_STEPS {
            let (url, response) = match step {
                Step::Get(url) => {
                    let response = self.client.get(url.clone()).send().await;
                    (url, response)
                }
                Step::Post(url, fields) => {
                    let response = self.client.post(url.clone()).form(&fields).send().await;
                    (url, response)
                }
            };
            let response = response.unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
            let status = response.status();

            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_else(|| panic!("{status} without a Location header at {url}"));
                let next = url
                    .join(location)
                    .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
                if !self.on_idp(&next) {
                    return next.to_string();
                }
                step = Step::Get(next);
                continue;
            }

            let body = response.text().await.unwrap_or_default();
            if !status.is_success() {
                panic!("the test IdP answered {status} at {url}:\n{body}");
            }
            let form = Form::first_in(&body)
                .unwrap_or_else(|| panic!("no redirect and no form at {url} ({status}):\n{body}"));
            let action = url
                .join(&form.action)
                .unwrap_or_else(|e| panic!("bad form action {:?} at {url}: {e}", form.action));
            let mut fields = form.fields;

            if form.id.as_deref() == Some("login-form") {
                let Some((username, password)) = credentials else {
                    panic!(
                        "the test IdP asks for a sign-in at {url}, but no credentials were given"
                    );
                };
                if login_posted {
                    let error = element_text(&body, "error").unwrap_or_default();
                    panic!("signing in as {username:?} failed: {error}");
                }
                login_posted = true;
                fields.retain(|(name, _)| name != "username" && name != "password");
                fields.push(("username".to_owned(), username.to_owned()));
                fields.push(("password".to_owned(), password.to_owned()));
            }

            if !self.on_idp(&action) {
                // An auto-submitting form that posts to the app (response_mode=form_post):
                // report it as a URL carrying the fields in its query.
                let mut target = action;
                target
                    .query_pairs_mut()
                    .extend_pairs(fields.iter().map(|(k, v)| (k, v)));
                return target.to_string();
            }
            step = Step::Post(action, fields);
        }
        panic!("more than {MAX_BROWSER_STEPS} steps on the test IdP without leaving it");
    }
}

/// The first HTML form of a page: its id, action and named input fields.
struct Form {
    id: Option<String>,
    action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    fn first_in(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let tag_end = start + html[start..].find('>')?;
        let attrs = attributes(&html[start + "<form".len()..tag_end]);
        let body_end = html[tag_end..]
            .find("</form>")
            .map_or(html.len(), |i| tag_end + i);
        let body = &html[tag_end..body_end];
        let mut fields = Vec::new();
        let mut rest = body;
        while let Some(i) = rest.find("<input") {
            let tag = &rest[i + "<input".len()..];
            let end = tag.find('>').unwrap_or(tag.len());
            let input = attributes(&tag[..end]);
            if let Some(name) = get(&input, "name") {
                fields.push((name, get(&input, "value").unwrap_or_default()));
            }
            rest = &tag[end..];
        }
        Some(Form {
            id: get(&attrs, "id"),
            action: get(&attrs, "action").unwrap_or_default(),
            fields,
        })
    }
}

fn get(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// Parses the attributes of a tag (the text between the tag name and `>`).
fn attributes(tag: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = tag.chars().collect();
    let mut attrs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
            i += 1;
        }
        let name_start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '=' | '/' | '>') {
            i += 1;
        }
        let name: String = chars[name_start..i]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '=' {
            i += 1;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let quote = chars[i];
                i += 1;
                let value_start = i;
                while i < chars.len() && chars[i] != quote {
                    i += 1;
                }
                value = chars[value_start..i].iter().collect();
                i += 1;
            } else {
                let value_start = i;
                while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '>' {
                    i += 1;
                }
                value = chars[value_start..i].iter().collect();
            }
        }
        if !name.is_empty() {
            attrs.push((name, unescape_html(&value)));
        } else if i == name_start {
            i += 1; // a stray character: skip it
        }
    }
    attrs
}

/// The text content of the element with this id (no nested markup expected).
fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(unescape_html(html[open_end..close].trim()))
}

/// Decodes the character references HTML-escaping produces (`&amp;`, `&#39;`, `&#x2F;`…).
fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms_and_entities() {
        let html = r#"<p id="error" role="alert">Wrong &amp; bad</p>
            <form id="login-form" method="post" action="/interaction/a&#x2F;b/login">
            <input id="username" name="username" type="text" value="al&quot;ice" required autofocus>
            <input type='hidden' name=xsrf value=abc/>
            <input id="password" name="password" type="password" required >
            </form>"#;
        let form = Form::first_in(html).expect("form");
        assert_eq!(form.id.as_deref(), Some("login-form"));
        assert_eq!(form.action, "/interaction/a/b/login");
        assert_eq!(
            form.fields,
            vec![
                ("username".to_owned(), "al\"ice".to_owned()),
                ("xsrf".to_owned(), "abc/".to_owned()),
                ("password".to_owned(), String::new()),
            ]
        );
        assert_eq!(element_text(html, "error").as_deref(), Some("Wrong & bad"));
        assert_eq!(unescape_html("a &unknown; &#65;&"), "a &unknown; A&");
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("free port can be bound");
    }
}
