//! [`RealLogto`]: the real Logto server started by `testing/logto/server.mjs`, provisioned through
//! its Management API, with a headless sign-in through Logto's Experience API (no browser).
//!
//! `scripts/test.sh` starts one Logto for the whole test run and exports `LOGTO_TEST_INSTANCE`
//! (the path of its `instance.json`); every test connects to it with [`RealLogto::connect`] and
//! creates its own apps, API resources and users, so tests stay independent. A test that changes
//! the whole tenant (signing-key rotation) starts its own with [`RealLogto::start_dedicated`].
//!
//! Without `LOGTO_TEST_INSTANCE`, [`RealLogto::connect`] panics with how to start one, unless
//! `LOGTO_RS_SKIP_REAL_LOGTO=1` says to skip the real-Logto tier (then it prints that it skips).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use url::Url;

use crate::{Form, TestIdp};

pub mod backend;

/// Environment variable naming the running Logto's `instance.json`.
pub const INSTANCE_ENV: &str = "LOGTO_TEST_INSTANCE";
/// Environment variable that, set to `1`, skips the tests against the real Logto (they say so).
pub const SKIP_ENV: &str = "LOGTO_RS_SKIP_REAL_LOGTO";

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../logto/server.mjs");
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// A first start may build Logto (minutes).
const START_TIMEOUT: Duration = Duration::from_secs(900);
const MAX_STEPS: usize = 30;

/// What `testing/logto/server.mjs` prints when Logto is ready.
#[derive(Debug, Clone, Deserialize)]
struct Instance {
    endpoint: String,
    m2m_app_id: String,
    m2m_app_secret: String,
    management_resource: String,
    database_url: String,
    psql: PathBuf,
}

/// A Logto server for tests: Management API calls and headless sign-ins. Panics on failure.
pub struct RealLogto {
    instance: Instance,
    http: reqwest::Client,
    management_token: tokio::sync::Mutex<Option<String>>,
    _process: Option<Arc<LogtoProcess>>,
}

impl std::fmt::Debug for RealLogto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealLogto")
            .field("endpoint", &self.instance.endpoint)
            .finish_non_exhaustive()
    }
}

/// A Logto started for one test; stopped (with its database) when dropped.
struct LogtoProcess {
    stdin: Option<ChildStdin>,
    child: Child,
}

impl Drop for LogtoProcess {
    /// Closes the server's stdin, which stops Logto, Redis and PostgreSQL, and waits for that (at
    /// most 15 s) before killing the server outright.
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..150 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.start_kill();
    }
}

/// An application registered in Logto.
#[derive(Debug, Clone)]
pub struct App {
    /// Its id (`client_id`).
    pub id: String,
    /// Its secret, for traditional web apps and M2M apps.
    pub secret: Option<String>,
}

/// Logto's application types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// `Traditional`: a confidential web app (gets the same refresh token back until 70 % of its life).
    Traditional,
    /// `SPA`: a public client (a new refresh token on every refresh).
    Spa,
    /// `Native`: a public client.
    Native,
    /// `MachineToMachine`: client credentials.
    MachineToMachine,
}

impl AppKind {
    fn as_str(self) -> &'static str {
        match self {
            AppKind::Traditional => "Traditional",
            AppKind::Spa => "SPA",
            AppKind::Native => "Native",
            AppKind::MachineToMachine => "MachineToMachine",
        }
    }
}

/// An API resource and its scopes.
#[derive(Debug, Clone)]
pub struct ApiResource {
    /// Logto's id of the resource.
    pub id: String,
    /// The resource indicator (the tokens' `aud`).
    pub indicator: String,
    /// Scope name → scope id.
    pub scopes: BTreeMap<String, String>,
}

impl ApiResource {
    /// The ids of these scope names.
    pub fn scope_ids(&self, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|name| {
                self.scopes
                    .get(*name)
                    .unwrap_or_else(|| panic!("no scope {name} on {}", self.indicator))
                    .clone()
            })
            .collect()
    }
}

/// A user with a password.
#[derive(Debug, Clone)]
pub struct User {
    /// Logto's user id (`sub`).
    pub id: String,
    /// The username to sign in with.
    pub username: String,
    /// The password.
    pub password: String,
}

impl RealLogto {
    /// The Logto of this test run (from `LOGTO_TEST_INSTANCE`), or `None` when the real-Logto tier
    /// is skipped explicitly with `LOGTO_RS_SKIP_REAL_LOGTO=1` (the test then prints that it skips).
    /// Panics, saying how to start one, when neither is set.
    pub async fn connect() -> Option<RealLogto> {
        if let Ok(path) = std::env::var(INSTANCE_ENV) {
            return Some(RealLogto::open(path.as_ref()));
        }
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED: this test runs against the real Logto, and {SKIP_ENV}=1 skips it");
            return None;
        }
        panic!(
            "this test runs against the real Logto, and none is running: run `bash scripts/test.sh`, \
             or start one with `node testing/logto/server.mjs --no-stdin-exit &` and set \
             {INSTANCE_ENV} to the `instance` path it prints (or set {SKIP_ENV}=1 to skip these tests)"
        )
    }

    /// The Logto described by this `instance.json` (written by `testing/logto/server.mjs`).
    pub fn open(path: &std::path::Path) -> RealLogto {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "{} cannot be read ({e}): is the test Logto still running?",
                path.display()
            )
        });
        let instance: Instance = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{} is not a Logto instance description: {e}",
                path.display()
            )
        });
        RealLogto::new(instance, None)
    }

    /// A Logto of this test's own (its own database, Redis and server), for tests that change the
    /// whole tenant such as a signing-key rotation. Stopped when the last clone of it is dropped.
    /// `None` when the real-Logto tier is skipped (see [`connect`](Self::connect)).
    pub async fn start_dedicated() -> Option<RealLogto> {
        if std::env::var(INSTANCE_ENV).is_err() && std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED: this test runs against the real Logto, and {SKIP_ENV}=1 skips it");
            return None;
        }
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
        let mut child = Command::new(&node)
            .arg(SERVER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{node} {SERVER}`: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("Logto did not start within {START_TIMEOUT:?}"))
            .expect("read Logto's ready line")
            .unwrap_or_else(|| panic!("Logto exited before it was ready (its stderr is above)"));
        let instance: Instance = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("unexpected ready line from Logto ({e}): {line}"));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let process = LogtoProcess {
            stdin: Some(stdin),
            child,
        };
        Some(RealLogto::new(instance, Some(Arc::new(process))))
    }

    fn new(instance: Instance, process: Option<Arc<LogtoProcess>>) -> RealLogto {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("build the Management API client");
        RealLogto {
            instance,
            http,
            management_token: tokio::sync::Mutex::new(None),
            _process: process,
        }
    }

    /// The Logto endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.instance.endpoint
    }

    /// The issuer, `endpoint + "/oidc"`.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.instance.endpoint)
    }

    /// `endpoint + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.instance.endpoint, path)
    }

    /// A unique name for this test's objects (`prefix-<random>`).
    pub fn unique(&self, prefix: &str) -> String {
        format!("{prefix}-{}", random_suffix())
    }

    // ---------------------------------------------------------------- Management API

    /// Calls the Management API and returns the JSON answer (`null` for an empty body); panics on
    /// an error status.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.try_api(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "Management API {method} {path} answered {status}: {value}"
        );
        value
    }

    /// Calls the Management API; returns the status and the JSON answer (`null` when empty).
    pub async fn try_api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.management_token().await;
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("Management API {method} {path}: {e}"));
        status_and_json(response).await
    }

    async fn management_token(&self) -> String {
        let mut cached = self.management_token.lock().await;
        if let Some(token) = cached.as_ref() {
            return token.clone();
        }
        let response = self
            .http
            .post(self.url("/oidc/token"))
            .basic_auth(
                &self.instance.m2m_app_id,
                Some(&self.instance.m2m_app_secret),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", self.instance.management_resource.as_str()),
                ("scope", "all"),
            ])
            .send()
            .await
            .expect("request a Management API token");
        let status = response.status();
        let body: Value = response.json().await.expect("token response JSON");
        assert!(status.is_success(), "Management API token: {status} {body}");
        let token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        *cached = Some(token.clone());
        token
    }

    /// Registers an application. Traditional and M2M apps get a secret.
    pub async fn create_app(
        &self,
        kind: AppKind,
        redirect_uris: &[&str],
        post_logout_redirect_uris: &[&str],
    ) -> App {
        let app = self
            .api(
                Method::POST,
                "/api/applications",
                Some(json!({
                    "name": self.unique(kind.as_str()),
                    "type": kind.as_str(),
                    "oidcClientMetadata": {
                        "redirectUris": redirect_uris,
                        "postLogoutRedirectUris": post_logout_redirect_uris,
                    },
                })),
            )
            .await;
        let secret = matches!(kind, AppKind::Traditional | AppKind::MachineToMachine)
            .then(|| app["secret"].as_str().expect("app secret").to_owned());
        App {
            id: string(&app, "id"),
            secret,
        }
    }

    /// Creates an API resource with these scopes; `access_token_ttl` in seconds (Logto's default:
    /// 3600).
    pub async fn create_api_resource(
        &self,
        indicator: &str,
        scopes: &[&str],
        access_token_ttl: Option<u64>,
    ) -> ApiResource {
        let mut body = json!({ "name": self.unique("api"), "indicator": indicator });
        if let Some(ttl) = access_token_ttl {
            body["accessTokenTtl"] = json!(ttl);
        }
        let resource = self.api(Method::POST, "/api/resources", Some(body)).await;
        let id = string(&resource, "id");
        let mut ids = BTreeMap::new();
        for name in scopes {
            let scope = self
                .api(
                    Method::POST,
                    &format!("/api/resources/{id}/scopes"),
                    Some(json!({ "name": name })),
                )
                .await;
            ids.insert((*name).to_owned(), string(&scope, "id"));
        }
        ApiResource {
            id,
            indicator: indicator.to_owned(),
            scopes: ids,
        }
    }

    /// Creates a user role with these API scopes; returns its id.
    pub async fn create_role(&self, name: &str, scope_ids: &[String]) -> String {
        let role = self
            .api(
                Method::POST,
                "/api/roles",
                Some(json!({ "name": name, "description": name, "scopeIds": scope_ids })),
            )
            .await;
        string(&role, "id")
    }

    /// Creates a user from Logto's user fields (`username` and `password` are added; a unique
    /// username is chosen from `username_prefix`), e.g.
    /// `json!({"name": "Alice", "primaryEmail": "alice@example.com", "customData": {…}})`.
    pub async fn create_user(&self, username_prefix: &str, fields: Value) -> User {
        let username = self.unique(username_prefix).replace('-', "_");
        let password = format!("pw-{}-Aa1!", random_suffix());
        self.create_user_named(&username, &password, fields).await
    }

    /// Creates a user with this username and password, and Logto's user fields.
    pub async fn create_user_named(&self, username: &str, password: &str, fields: Value) -> User {
        let mut body = match fields {
            Value::Object(map) => map,
            Value::Null => Default::default(),
            other => panic!("user fields must be an object, not {other}"),
        };
        body.insert("username".into(), json!(username));
        body.insert("password".into(), json!(password));
        let user = self
            .api(Method::POST, "/api/users", Some(Value::Object(body)))
            .await;
        User {
            id: string(&user, "id"),
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// Assigns user roles.
    pub async fn assign_roles(&self, user_id: &str, role_ids: &[String]) {
        self.api(
            Method::POST,
            &format!("/api/users/{user_id}/roles"),
            Some(json!({ "roleIds": role_ids })),
        )
        .await;
    }

    /// Creates an organization; returns its id.
    pub async fn create_organization(&self, name: &str) -> String {
        let organization = self
            .api(
                Method::POST,
                "/api/organizations",
                Some(json!({ "name": name, "description": format!("{name} (logto-rs tests)") })),
            )
            .await;
        string(&organization, "id")
    }

    /// Creates an organization role with organization scopes and API resource scopes (for
    /// organization-level API resources); returns its id.
    pub async fn create_organization_role(
        &self,
        name: &str,
        organization_scope_ids: &[String],
        resource_scope_ids: &[String],
    ) -> String {
        let role = self
            .api(
                Method::POST,
                "/api/organization-roles",
                Some(json!({
                    "name": name,
                    "organizationScopeIds": organization_scope_ids,
                    "resourceScopeIds": resource_scope_ids,
                })),
            )
            .await;
        string(&role, "id")
    }

    /// Adds a member to an organization with these organization roles.
    pub async fn add_organization_member(
        &self,
        organization_id: &str,
        user_id: &str,
        organization_role_ids: &[String],
    ) {
        self.add_to_organization(
            organization_id,
            "users",
            "userIds",
            user_id,
            organization_role_ids,
        )
        .await;
    }

    /// Adds a user (`users`, `userIds`) or an app (`applications`, `applicationIds`) to an
    /// organization, with these organization roles.
    pub(crate) async fn add_to_organization(
        &self,
        organization_id: &str,
        collection: &str,
        ids_field: &str,
        id: &str,
        organization_role_ids: &[String],
    ) {
        self.api(
            Method::POST,
            &format!("/api/organizations/{organization_id}/{collection}"),
            Some(json!({ ids_field: [id] })),
        )
        .await;
        if !organization_role_ids.is_empty() {
            self.api(
                Method::POST,
                &format!("/api/organizations/{organization_id}/{collection}/{id}/roles"),
                Some(json!({ "organizationRoleIds": organization_role_ids })),
            )
            .await;
        }
    }

    /// Links a social identity to a user, as a social connector would (no connector needed).
    pub async fn link_social_identity(
        &self,
        user_id: &str,
        target: &str,
        identity_user_id: &str,
        details: Value,
    ) {
        self.api(
            Method::PUT,
            &format!("/api/users/{user_id}/identities/{target}"),
            Some(json!({ "userId": identity_user_id, "details": details })),
        )
        .await;
    }

    /// Creates an OIDC enterprise SSO connector without configuration (not usable for sign-in: Logto
    /// would fetch its issuer's discovery document; it only owns identities); returns its id.
    pub async fn create_sso_connector(&self) -> String {
        let connector = self
            .api(
                Method::POST,
                "/api/sso-connectors",
                Some(json!({
                    "providerName": "OIDC",
                    "connectorName": self.unique("sso"),
                })),
            )
            .await;
        string(&connector, "id")
    }

    /// Links an enterprise SSO identity to a user as Logto stores it (the `user_sso_identities`
    /// table: an SSO identity has no Management API).
    pub async fn link_sso_identity(
        &self,
        user_id: &str,
        connector_id: &str,
        issuer: &str,
        identity_id: &str,
        detail: Value,
    ) {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let sql = format!(
            "insert into user_sso_identities \
             (tenant_id, id, user_id, issuer, identity_id, detail, sso_connector_id) \
             values ('default', {}, {}, {}, {}, {}::jsonb, {})",
            quote(&random_suffix()[..16]),
            quote(user_id),
            quote(issuer),
            quote(identity_id),
            quote(&detail.to_string()),
            quote(connector_id),
        );
        self.sql(&sql).await;
    }

    /// Runs SQL in Logto's database, for what Logto offers no API for (an SSO identity, the age of
    /// a refresh token). Panics when it fails.
    pub async fn sql(&self, sql: &str) {
        let output = Command::new(&self.instance.psql)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-d"])
            .arg(&self.instance.database_url)
            .args(["-c", sql])
            .output()
            .await
            .expect("run psql");
        assert!(
            output.status.success(),
            "SQL in Logto's database failed: {}\n{sql}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Sets the app's back-channel logout URI, with "session required" (logout tokens carry the
    /// Logto session's `sid`, and ID tokens too). Keeps the rest of its OIDC metadata.
    pub async fn set_back_channel_logout_uri(&self, app_id: &str, uri: &str) {
        let app = self
            .api(Method::GET, &format!("/api/applications/{app_id}"), None)
            .await;
        let mut metadata = app["oidcClientMetadata"].clone();
        metadata["backchannelLogoutUri"] = json!(uri);
        metadata["backchannelLogoutSessionRequired"] = json!(true);
        self.api(
            Method::PATCH,
            &format!("/api/applications/{app_id}"),
            Some(json!({ "oidcClientMetadata": metadata })),
        )
        .await;
    }

    /// Sets an API resource's access-token lifetime (applies at once).
    pub async fn set_access_token_ttl(&self, resource_id: &str, seconds: u64) {
        self.api(
            Method::PATCH,
            &format!("/api/resources/{resource_id}"),
            Some(json!({ "accessTokenTtl": seconds })),
        )
        .await;
    }

    /// Rotates the tenant's signing keys (Logto publishes the new key first and keeps one old one)
    /// and waits until the JWKS shows the new key. Returns the new key's `kid`. Changes the whole
    /// tenant: use a [`start_dedicated`](Self::start_dedicated) Logto.
    pub async fn rotate_signing_keys(&self) -> String {
        let old_kid = self.signing_kid().await;
        self.api(
            Method::POST,
            "/api/configs/oidc/private-keys/rotate",
            Some(json!({ "signingKeyAlgorithm": "EC" })),
        )
        .await;
        // The tenant reloads on its next request (Redis tenant cache); wait for the new JWKS.
        for _ in 0..200 {
            let kid = self.signing_kid().await;
            if kid != old_kid {
                return kid;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the JWKS still shows the old key {old_kid} after the rotation");
    }

    /// The `kid` of the first key of Logto's JWKS (the one it signs with).
    pub async fn signing_kid(&self) -> String {
        let jwks: Value = self
            .http
            .get(self.url("/oidc/jwks"))
            .send()
            .await
            .expect("GET /oidc/jwks")
            .json()
            .await
            .expect("JWKS JSON");
        string(&jwks["keys"][0], "kid")
    }

    /// The user's Logto sessions (ids).
    pub async fn user_session_ids(&self, user_id: &str) -> Vec<String> {
        let sessions = self
            .api(Method::GET, &format!("/api/users/{user_id}/sessions"), None)
            .await;
        sessions["sessions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|s| s["payload"]["uid"].as_str().or(s["id"].as_str()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ends every Logto session of the user and revokes all their grants (refresh tokens).
    pub async fn revoke_user_grants(&self, user_id: &str) {
        let ids = self.user_session_ids(user_id).await;
        assert!(!ids.is_empty(), "user {user_id} has no session to end");
        for id in ids {
            self.api(
                Method::DELETE,
                &format!("/api/users/{user_id}/sessions/{id}?revokeGrantsTarget=all"),
                None,
            )
            .await;
        }
    }

    // ---------------------------------------------------------------- browser-less sign-in

    /// A user agent with its own cookie jar on Logto.
    pub fn browser(&self) -> LogtoBrowser {
        LogtoBrowser::new(&self.instance.endpoint)
    }

    /// Signs in headlessly with a fresh cookie jar through Logto's Experience API and returns the
    /// URL Logto redirects to outside itself (the app's callback with `code`, `state`, `iss`, or an
    /// `error`), without requesting it.
    pub async fn sign_in(&self, authorization_url: &str, user: &User) -> String {
        self.browser().sign_in(authorization_url, user).await
    }
}

/// A response's status and JSON body (`null` when empty, a JSON string when not JSON).
async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

fn string(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{field}` in {value}"))
        .to_owned()
}

/// A cookie-keeping user agent on Logto: the Experience API for sign-in, and Logto's pages
/// (end session) followed until they leave Logto.
#[derive(Debug, Clone)]
pub struct LogtoBrowser {
    logto: Url,
    client: reqwest::Client,
}

impl LogtoBrowser {
    fn new(endpoint: &str) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("build the browser HTTP client");
        LogtoBrowser {
            logto: Url::parse(endpoint).expect("Logto endpoint URL"),
            client,
        }
    }

    /// Opens the authorization URL, signs in with username and password through the Experience
    /// API, and follows Logto's redirects until one leaves Logto; returns that URL. With a Logto
    /// session in this browser already, no sign-in happens (unless `prompt=login`).
    pub async fn sign_in(&self, authorization_url: &str, user: &User) -> String {
        let first = self.follow(authorization_url, Forms::Submit).await;
        if !self.on_logto(&first) {
            return first.to_string();
        }
        // Logto's sign-in page: drive the Experience API as the page would.
        self.experience(Method::PUT, "", json!({ "interactionEvent": "SignIn" }))
            .await;
        let verification = self
            .experience(
                Method::POST,
                "/verification/password",
                json!({
                    "identifier": { "type": "username", "value": user.username },
                    "password": user.password,
                }),
            )
            .await;
        let verification_id = string(&verification, "verificationId");
        self.experience(
            Method::POST,
            "/identification",
            json!({ "verificationId": verification_id }),
        )
        .await;
        let submitted = self.experience(Method::POST, "/submit", json!({})).await;
        let next = string(&submitted, "redirectTo");
        let out = self.follow(&next, Forms::Submit).await;
        assert!(
            !self.on_logto(&out),
            "after signing in as {}, Logto stayed on its own page {out}",
            user.username
        );
        out.to_string()
    }

    /// Opens `url` and follows Logto's redirects to the first page it shows (or the first URL off
    /// Logto): for an authorization URL, the sign-in page chosen by its parameters
    /// (`/sign-in`, `/register`, `/direct/social/<target>?fallback=…`, with `login_hint`…).
    pub async fn first_page(&self, url: &str) -> Url {
        self.follow(url, Forms::Stop).await
    }

    /// Follows `url` on Logto (auto-submitted forms such as the sign-out confirmation included)
    /// until a redirect leaves Logto or a page shows; returns that URL.
    pub async fn visit(&self, url: &str) -> String {
        self.follow(url, Forms::Submit).await.to_string()
    }

    async fn experience(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, value) = self.try_experience(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "Experience API {method} /api/experience{path} answered {status}: {value}"
        );
        value
    }

    fn on_logto(&self, url: &Url) -> bool {
        url.origin() == self.logto.origin()
    }

    /// GETs and follows redirects (and auto-submitting forms) while on Logto; stops at a URL off
    /// Logto, or at a Logto page without a form (e.g. the sign-in page), and returns it.
    async fn follow(&self, start: &str, forms: Forms) -> Url {
        let mut url = Url::parse(start).unwrap_or_else(|e| panic!("invalid URL {start:?}: {e}"));
        let mut post: Option<Vec<(String, String)>> = None;
        for _ in 0..MAX_STEPS {
            if !self.on_logto(&url) {
                return url;
            }
            let request = match post.take() {
                Some(fields) => self.client.post(url.clone()).form(&fields),
                None => self.client.get(url.clone()),
            };
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("{status} without a Location at {url}"));
                url = url
                    .join(location)
                    .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            assert!(
                status.is_success(),
                "Logto answered {status} at {url}:\n{}",
                &body[..body.len().min(2000)]
            );
            match Form::first_in(&body) {
                // oidc-provider's auto-submitting forms (sign-out confirmation).
                Some(form) if forms == Forms::Submit && !form.action.is_empty() => {
                    url = url
                        .join(&form.action)
                        .unwrap_or_else(|e| panic!("bad form action {:?}: {e}", form.action));
                    let mut fields = form.fields;
                    // Inputs outside the form that belong to it (Logto's `logout=yes`).
                    if let Some(id) = &form.id {
                        fields.extend(inputs_of_form(&body, id));
                    }
                    post = Some(fields);
                }
                _ => return url,
            }
        }
        panic!("more than {MAX_STEPS} steps on Logto from {start}");
    }
}

/// Whether [`LogtoBrowser::follow`] submits the forms of the pages it meets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Forms {
    Submit,
    Stop,
}

/// The named inputs anywhere in `html` whose `form` attribute is `form_id`.
fn inputs_of_form(html: &str, form_id: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<input") {
        let tag = &rest[i + "<input".len()..];
        let end = tag.find('>').unwrap_or(tag.len());
        let attrs = crate::attributes(&tag[..end]);
        if crate::get(&attrs, "form").as_deref() == Some(form_id) {
            if let Some(name) = crate::get(&attrs, "name") {
                fields.push((name, crate::get(&attrs, "value").unwrap_or_default()));
            }
        }
        rest = &tag[end..];
    }
    fields
}

/// 16 random hex characters, for unique names.
fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything a sign-in test needs, created fresh in Logto for one test (names unique to it): the
/// same world as the test IdP's fixtures.
///
/// - `web_app` (traditional, with a secret) and `spa` (public), both with `redirect_uri` and
///   `post_logout_redirect_uri` registered;
/// - `shopping` (`shopping:read`, `shopping:write`) and `store` (`store:read`, `store:write`) API
///   resources;
/// - `alice`: name, email, phone, address, custom data, a social identity (`github`) and an
///   enterprise SSO identity; roles `shopping_role` (both shopping scopes) and `store_role`
///   (`store:read`); `admin` of `acme` (organization scopes `read:projects`, `write:projects`, and
///   `shopping:read` on `shopping` at the organization level) and `member` of `globex`
///   (`read:projects`);
/// - `bob`: a username only; `shopping_reader_role` (`shopping:read`); no organization.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct World {
    pub redirect_uri: String,
    pub post_logout_redirect_uri: String,
    pub web_app: App,
    pub spa: App,
    pub shopping: ApiResource,
    pub store: ApiResource,
    pub alice: User,
    pub bob: User,
    pub alice_email: String,
    pub acme: String,
    pub globex: String,
    pub shopping_role: String,
    pub store_role: String,
    pub shopping_reader_role: String,
    pub admin_role: String,
    pub member_role: String,
    pub sso_issuer: String,
    pub sso_connector_id: String,
}

/// Organization scopes of the [`World`] (tenant-wide in Logto).
pub const ORGANIZATION_SCOPES: [&str; 2] = ["read:projects", "write:projects"];

impl RealLogto {
    /// Creates a [`World`] whose apps accept `redirect_uri` and `post_logout_redirect_uri`.
    pub async fn world(&self, redirect_uri: &str, post_logout_redirect_uri: &str) -> World {
        let tag = random_suffix()[..10].to_owned();
        self.build_world(Some(&tag), redirect_uri, post_logout_redirect_uri)
            .await
    }

    /// The [`World`] of the sample app, with plain names, once per Logto: users `alice` /
    /// `alice-password` and `bob` / `bob-password`, API resources `https://shopping.example.com/api`
    /// and `https://store.example.com/api`, organizations `Acme` and `Globex`.
    pub async fn sample_world(&self, redirect_uri: &str, post_logout_redirect_uri: &str) -> World {
        self.build_world(None, redirect_uri, post_logout_redirect_uri)
            .await
    }

    async fn build_world(
        &self,
        tag: Option<&str>,
        redirect_uri: &str,
        post_logout_redirect_uri: &str,
    ) -> World {
        // `what-tag`, or `what` for the sample.
        let name = |what: &str| match tag {
            Some(tag) => format!("{what}-{tag}"),
            None => what.to_owned(),
        };
        let host = |what: &str| format!("https://{}.example.com", name(what));
        let web_app = self
            .create_app(
                AppKind::Traditional,
                &[redirect_uri],
                &[post_logout_redirect_uri],
            )
            .await;
        let spa = self
            .create_app(AppKind::Spa, &[redirect_uri], &[post_logout_redirect_uri])
            .await;
        let shopping = self
            .create_api_resource(
                &format!("{}/api", host("shopping")),
                &["shopping:read", "shopping:write"],
                None,
            )
            .await;
        let store = self
            .create_api_resource(
                &format!("{}/api", host("store")),
                &["store:read", "store:write"],
                None,
            )
            .await;
        let shopping_role = name("shopping");
        let store_role = name("store");
        let shopping_reader_role = name("shopping-reader");
        let shopping_role_id = self
            .create_role(
                &shopping_role,
                &shopping.scope_ids(&["shopping:read", "shopping:write"]),
            )
            .await;
        let store_role_id = self
            .create_role(&store_role, &store.scope_ids(&["store:read"]))
            .await;
        let reader_role_id = self
            .create_role(
                &shopping_reader_role,
                &shopping.scope_ids(&["shopping:read"]),
            )
            .await;

        let alice_email = format!("{}@example.com", name("alice"));
        let alice_fields = json!({
            "name": "Alice Liddell",
            "primaryEmail": alice_email,
            "primaryPhone": format!("1555{}", &digits(tag.unwrap_or("0"))[..7]),
            "avatar": "https://example.com/alice.png",
            "customData": { "plan": "pro", "seats": 3 },
            "profile": {
                "givenName": "Alice",
                "familyName": "Liddell",
                "locale": "en-GB",
                "address": { "locality": "Oxford", "country": "GB" },
            },
        });
        let (alice, bob) = match tag {
            Some(_) => (
                self.create_user("alice", alice_fields).await,
                self.create_user("bob", Value::Null).await,
            ),
            None => (
                self.create_user_named("alice", "alice-password", alice_fields)
                    .await,
                self.create_user_named("bob", "bob-password", Value::Null)
                    .await,
            ),
        };
        self.assign_roles(&alice.id, &[shopping_role_id, store_role_id])
            .await;
        self.assign_roles(&bob.id, &[reader_role_id]).await;

        let mut organization_scope_ids = Vec::new();
        for scope in ORGANIZATION_SCOPES {
            organization_scope_ids.push(self.organization_scope_id(scope).await);
        }
        let admin_role = name("admin");
        let member_role = name("member");
        let admin_role_id = self
            .create_organization_role(
                &admin_role,
                &organization_scope_ids,
                &shopping.scope_ids(&["shopping:read"]),
            )
            .await;
        let member_role_id = self
            .create_organization_role(&member_role, &organization_scope_ids[..1], &[])
            .await;
        let acme = self.create_organization(&name("Acme")).await;
        let globex = self.create_organization(&name("Globex")).await;
        self.add_organization_member(&acme, &alice.id, &[admin_role_id])
            .await;
        self.add_organization_member(&globex, &alice.id, &[member_role_id])
            .await;

        self.link_social_identity(
            &alice.id,
            "github",
            &name("gh"),
            json!({ "id": name("gh"), "name": "Alice", "email": alice_email, "rawData": { "login": "alice" } }),
        )
        .await;
        let sso_issuer = host("sso");
        let sso_connector_id = self.create_sso_connector().await;
        self.link_sso_identity(
            &alice.id,
            &sso_connector_id,
            &sso_issuer,
            &name("sso"),
            json!({ "email": alice_email, "name": "Alice Liddell" }),
        )
        .await;

        World {
            redirect_uri: redirect_uri.to_owned(),
            post_logout_redirect_uri: post_logout_redirect_uri.to_owned(),
            web_app,
            spa,
            shopping,
            store,
            alice,
            bob,
            alice_email,
            acme,
            globex,
            shopping_role,
            store_role,
            shopping_reader_role,
            admin_role,
            member_role,
            sso_issuer,
            sso_connector_id,
        }
    }

    /// The id of the organization scope `name`, created when missing (organization scopes are
    /// tenant-wide, so tests running at once may race to create one).
    pub async fn organization_scope_id(&self, name: &str) -> String {
        for _ in 0..3 {
            let found = self
                .api(
                    Method::GET,
                    &format!("/api/organization-scopes?q={name}&page_size=100"),
                    None,
                )
                .await;
            if let Some(scope) = found
                .as_array()
                .and_then(|list| list.iter().find(|scope| scope["name"] == json!(name)))
            {
                return string(scope, "id");
            }
            let (status, created) = self
                .try_api(
                    Method::POST,
                    "/api/organization-scopes",
                    Some(json!({ "name": name })),
                )
                .await;
            if status.is_success() {
                return string(&created, "id");
            }
        }
        panic!("cannot create or find the organization scope {name}");
    }
}

/// The digits of `text`'s hex characters, as decimal digits (for unique phone numbers).
fn digits(text: &str) -> String {
    text.chars()
        .map(|c| char::from_digit(c.to_digit(16).unwrap_or(0) % 10, 10).unwrap())
        .chain(std::iter::repeat('0'))
        .take(10)
        .collect()
}

// ---------------------------------------------------------------- social and SSO connectors

/// A social connector created in Logto.
#[derive(Debug, Clone)]
pub struct SocialConnector {
    /// Logto's id of the connector (in its callback URI, `<logto>/callback/<id>`).
    pub id: String,
    /// Its `metadata.target`: the identities' key (`identities.<target>`) and
    /// `direct_sign_in=social:<target>`.
    pub target: String,
}

/// The fields of an OAuth 2.0 social connector's configuration (Logto's `oauth2` connector,
/// `packages/connectors/connector-oauth2`) that point at the upstream provider.
#[derive(Debug, Clone)]
pub struct OAuth2Upstream {
    /// `authorizationEndpoint`.
    pub authorization_endpoint: String,
    /// `tokenEndpoint`.
    pub token_endpoint: String,
    /// `userInfoEndpoint`.
    pub user_info_endpoint: String,
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: String,
    /// `tokenEndpointAuthMethod`: `client_secret_post` (Logto's default), `client_secret_basic`
    /// or `client_secret_jwt`.
    pub token_endpoint_auth_method: String,
    /// `scope`.
    pub scope: String,
    /// `profileMap`: Logto's profile field (`id`, `email`, `phone`, `name`, `avatar`) → the
    /// upstream's userinfo field.
    pub profile_map: Value,
}

impl OAuth2Upstream {
    /// The connector configuration Logto stores (`tokenEndpointResponseType` `json`: the
    /// connector's default, `query-string`, does not parse a JSON token response).
    pub fn config(&self) -> Value {
        json!({
            "authorizationEndpoint": self.authorization_endpoint,
            "tokenEndpoint": self.token_endpoint,
            "userInfoEndpoint": self.user_info_endpoint,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "tokenEndpointAuthMethod": self.token_endpoint_auth_method,
            "tokenEndpointResponseType": "json",
            "scope": self.scope,
            "profileMap": self.profile_map,
            "customConfig": {},
        })
    }
}

/// Serializes this process's and other test processes' read-modify-write of the tenant-wide sign-in
/// experience (`socialSignInConnectorTargets` is one list for all tests): a lock file created
/// exclusively, removed when dropped (one older than 30 s is taken as left by a crashed test).
struct SignInExperienceLock(PathBuf);

impl Drop for SignInExperienceLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn sign_in_experience_lock() -> SignInExperienceLock {
    let path = std::env::temp_dir().join("logto-rs-sign-in-exp.lock");
    for _ in 0..3000 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return SignInExperienceLock(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(30));
                if stale {
                    let _ = std::fs::remove_file(&path);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("create {}: {e}", path.display()),
        }
    }
    panic!("{} stayed locked for 30 s", path.display());
}

impl RealLogto {
    /// `<logto>/callback/<connector id>`: the redirect URI Logto's sign-in pages give a social or
    /// SSO connector (`packages/experience/src`: `${origin}/callback/${connectorId}`); the
    /// upstream provider must accept it.
    pub fn connector_callback_uri(&self, connector_id: &str) -> String {
        self.url(&format!("/callback/{connector_id}"))
    }

    /// A fresh connector id, to know the callback URI before the connector exists (Logto's
    /// `POST /api/connectors` takes a proposed `id`).
    pub fn new_connector_id(&self) -> String {
        format!("conn{}", &random_suffix()[..12])
    }

    /// Creates an OAuth 2.0 social connector (factory `oauth2`) with this id (see
    /// [`new_connector_id`](Self::new_connector_id)), a unique `metadata.target` and `config` (e.g.
    /// [`OAuth2Upstream::config`]), and enables it in the sign-in experience.
    pub async fn create_oauth2_connector(&self, id: &str, config: Value) -> SocialConnector {
        let target = format!("oauth2-{}", &random_suffix()[..10]);
        let connector = self
            .api(
                Method::POST,
                "/api/connectors",
                Some(json!({
                    "id": id,
                    "connectorId": "oauth2",
                    "config": config,
                    "metadata": {
                        "target": target,
                        "name": { "en": format!("OAuth 2.0 {target}") },
                        "logo": "https://example.com/oauth2.svg",
                        "logoDark": null,
                    },
                })),
            )
            .await;
        assert_eq!(connector["id"], json!(id), "{connector}");
        self.enable_social_sign_in(&target).await;
        SocialConnector {
            id: id.to_owned(),
            target,
        }
    }

    /// Replaces a connector's configuration.
    pub async fn update_connector_config(&self, connector_id: &str, config: Value) {
        self.api(
            Method::PATCH,
            &format!("/api/connectors/{connector_id}"),
            Some(json!({ "config": config })),
        )
        .await;
    }

    /// Adds `target` to the sign-in experience's `socialSignInConnectorTargets` (tenant-wide:
    /// keeps every other target; tests running at once take turns through a lock file).
    pub async fn enable_social_sign_in(&self, target: &str) {
        let _lock = sign_in_experience_lock().await;
        let sie = self.api(Method::GET, "/api/sign-in-exp", None).await;
        let mut targets: Vec<Value> = sie["socialSignInConnectorTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !targets.contains(&json!(target)) {
            targets.push(json!(target));
            let updated = self
                .api(
                    Method::PATCH,
                    "/api/sign-in-exp",
                    Some(json!({ "socialSignInConnectorTargets": targets })),
                )
                .await;
            assert!(
                updated["socialSignInConnectorTargets"]
                    .as_array()
                    .is_some_and(|list| list.contains(&json!(target))),
                "{target} not enabled: {updated}"
            );
        }
    }

    /// Turns on enterprise SSO in the sign-in experience (`singleSignOnEnabled`, tenant-wide).
    pub async fn enable_single_sign_on(&self) {
        let _lock = sign_in_experience_lock().await;
        let sie = self.api(Method::GET, "/api/sign-in-exp", None).await;
        if sie["singleSignOnEnabled"] != json!(true) {
            self.api(
                Method::PATCH,
                "/api/sign-in-exp",
                Some(json!({ "singleSignOnEnabled": true })),
            )
            .await;
        }
    }

    /// Creates an OIDC enterprise SSO connector for these email domains, not yet configured (its id
    /// is needed for the upstream's redirect URI first: see
    /// [`configure_oidc_sso_connector`](Self::configure_oidc_sso_connector)); returns its id.
    pub async fn create_oidc_sso_connector(&self, domains: &[&str]) -> String {
        let connector = self
            .api(
                Method::POST,
                "/api/sso-connectors",
                Some(json!({
                    "providerName": "OIDC",
                    "connectorName": self.unique("sso"),
                    "domains": domains,
                })),
            )
            .await;
        string(&connector, "id")
    }

    /// Configures an OIDC SSO connector (Logto fetches the issuer's discovery document to check
    /// it) and turns on SSO in the sign-in experience.
    pub async fn configure_oidc_sso_connector(
        &self,
        connector_id: &str,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        scope: &str,
    ) {
        self.api(
            Method::PATCH,
            &format!("/api/sso-connectors/{connector_id}"),
            Some(json!({
                "config": {
                    "issuer": issuer,
                    "clientId": client_id,
                    "clientSecret": client_secret,
                    "scope": scope,
                },
            })),
        )
        .await;
        self.enable_single_sign_on().await;
    }
}

/// What the user does at the upstream provider (the test IdP) during a connector sign-in.
#[derive(Debug, Clone, Copy)]
pub enum AtUpstream<'a> {
    /// Signs in with this username and password (`IdpBrowser` steps: the login form).
    SignIn(&'a crate::IdpBrowser, &'a str, &'a str),
    /// Cancels on the upstream's sign-in page (its `a#cancel`: `error=oidc.aborted`).
    Cancel,
}

/// How a connector sign-in through Logto ended.
#[derive(Debug, Clone)]
pub enum ConnectorSignIn {
    /// Logto redirected off itself: the app's redirect URI (with `code`… or `error`).
    Redirected(String),
    /// A step of the Experience API failed, as Logto's sign-in page would see it (it shows the
    /// message and stays on Logto): the step, the status and Logto's error body.
    Failed {
        /// e.g. `POST /verification/social/<id>/verify`.
        step: String,
        /// The HTTP status.
        status: u16,
        /// Logto's error body (`{"code","message",…}`).
        body: Value,
    },
}

impl ConnectorSignIn {
    /// The app's callback URL; panics when the sign-in failed at Logto.
    pub fn callback(self) -> String {
        match self {
            ConnectorSignIn::Redirected(url) => url,
            failed => panic!("the connector sign-in failed at Logto: {failed:?}"),
        }
    }
}

impl LogtoBrowser {
    /// Signs in through a social or enterprise SSO connector, doing what Logto's sign-in page does
    /// (`packages/experience/src`): the authorization URL's `direct_sign_in=social:<target>` (the
    /// enabled social connector with that target) or `sso:<id>`, else its `login_hint`'s email
    /// domain (`GET /api/experience/sso-connectors?email=`) picks the connector; then the
    /// connector's verification (`authorization-uri` with `redirectUri` `<logto>/callback/<id>`),
    /// the upstream (`at_upstream`), back to Logto's callback: `verify`, `identification` (a new
    /// user: `user.identity_not_exist` or `user.sso_identity_not_exist`, so the `Register` event and identification again; a
    /// username when Logto asks for one, `user.missing_profile`), `submit`, and Logto's redirects
    /// off itself. With a Logto session in this browser already, no sign-in happens.
    pub async fn sign_in_with_connector(
        &self,
        authorization_url: &str,
        at_upstream: AtUpstream<'_>,
    ) -> ConnectorSignIn {
        let first = self.follow(authorization_url, Forms::Stop).await;
        if !self.on_logto(&first) {
            return ConnectorSignIn::Redirected(first.to_string());
        }
        let params: BTreeMap<String, String> = Url::parse(authorization_url)
            .expect("authorization URL")
            .query_pairs()
            .into_owned()
            .collect();
        let settings = self.get_json("/api/.well-known/sign-in-exp").await;
        self.experience(Method::PUT, "", json!({ "interactionEvent": "SignIn" }))
            .await;

        let (kind, connector_id) = match params.get("direct_sign_in").map(|v| v.split_once(':')) {
            Some(Some(("social", target))) => {
                let connector = settings["socialConnectors"]
                    .as_array()
                    .and_then(|list| list.iter().find(|c| c["target"] == json!(target)))
                    .unwrap_or_else(|| {
                        panic!("no enabled social connector with target {target} (the page would fall back to sign-in)")
                    });
                ("social", string(connector, "id"))
            }
            Some(Some(("sso", id))) => {
                let enabled = settings["ssoConnectors"]
                    .as_array()
                    .is_some_and(|list| list.iter().any(|c| c["id"] == json!(id)));
                assert!(
                    enabled,
                    "SSO connector {id} is not offered by the sign-in experience"
                );
                ("sso", id.to_owned())
            }
            _ => {
                let email = params.get("login_hint").unwrap_or_else(|| {
                    panic!("neither direct_sign_in nor login_hint in {authorization_url}")
                });
                let mut url = self.logto.join("api/experience/sso-connectors").unwrap();
                url.query_pairs_mut().append_pair("email", email);
                let found = self.get_json(url.as_str()).await;
                let id = found["connectorIds"][0]
                    .as_str()
                    .unwrap_or_else(|| panic!("no SSO connector for {email}: {found}"));
                ("sso", id.to_owned())
            }
        };

        let state = random_suffix();
        let redirect_uri = self
            .logto
            .join(&format!("callback/{connector_id}"))
            .unwrap();
        let created = self
            .experience(
                Method::POST,
                &format!("/verification/{kind}/{connector_id}/authorization-uri"),
                json!({ "state": state, "redirectUri": redirect_uri.as_str() }),
            )
            .await;
        let verification_id = string(&created, "verificationId");
        let upstream_url = string(&created, "authorizationUri");

        let back = match at_upstream {
            AtUpstream::SignIn(browser, username, password) => {
                browser.sign_in(&upstream_url, username, password).await
            }
            AtUpstream::Cancel => self.cancel_upstream(&upstream_url).await,
        };
        let back =
            Url::parse(&back).unwrap_or_else(|e| panic!("bad upstream redirect {back}: {e}"));
        assert_eq!(
            (back.origin(), back.path()),
            (redirect_uri.origin(), redirect_uri.path()),
            "the upstream did not come back to Logto's callback: {back}"
        );
        // Logto's callback page: the state must be the one stored, then the query goes to verify.
        let mut data: serde_json::Map<String, Value> = back
            .query_pairs()
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        assert_eq!(data.remove("state"), Some(json!(state)), "state at {back}");
        data.insert("redirectUri".into(), json!(redirect_uri.as_str()));

        let step = format!("POST /verification/{kind}/{connector_id}/verify");
        let (status, body) = self
            .try_experience(
                Method::POST,
                &format!("/verification/{kind}/{connector_id}/verify"),
                json!({ "verificationId": verification_id, "connectorData": data }),
            )
            .await;
        if !status.is_success() {
            return ConnectorSignIn::Failed {
                step,
                status: status.as_u16(),
                body,
            };
        }

        let identify = json!({ "verificationId": verification_id });
        let (status, body) = self
            .try_experience(Method::POST, "/identification", identify.clone())
            .await;
        if !status.is_success() {
            // `user.identity_not_exist` (social), `user.sso_identity_not_exist` (SSO).
            assert!(
                ["user.identity_not_exist", "user.sso_identity_not_exist"]
                    .contains(&body["code"].as_str().unwrap_or_default()),
                "identification answered {status}: {body}"
            );
            // A new user: the page registers with the verified identity.
            self.experience(
                Method::PUT,
                "/interaction-event",
                json!({ "interactionEvent": "Register" }),
            )
            .await;
            let (status, body) = self
                .try_experience(Method::POST, "/identification", identify)
                .await;
            let (mut status, mut body) = (status, body);
            // What Logto asks for, then identification again (the page's `fulfillProfile`).
            for _ in 0..3 {
                if status.is_success() {
                    break;
                }
                self.provide_missing_profile(&body, "identification").await;
                (status, body) = self
                    .try_experience(Method::POST, "/identification", json!({}))
                    .await;
            }
            assert!(
                status.is_success(),
                "identification answered {status}: {body}"
            );
        }
        let mut submitted = Value::Null;
        for _ in 0..3 {
            let (status, body) = self
                .try_experience(Method::POST, "/submit", json!({}))
                .await;
            if status.is_success() {
                submitted = body;
                break;
            }
            self.provide_missing_profile(&body, "submit").await;
        }
        let next = string(&submitted, "redirectTo");
        let out = self.follow(&next, Forms::Submit).await;
        assert!(
            !self.on_logto(&out),
            "after the connector sign-in, Logto stayed on its own page {out}"
        );
        ConnectorSignIn::Redirected(out.to_string())
    }

    /// After `user.missing_profile`: gives what Logto asks for, as its "continue" page would (a new
    /// username); panics on any other error.
    async fn provide_missing_profile(&self, error: &Value, step: &str) {
        assert_eq!(
            error["code"], "user.missing_profile",
            "{step} answered: {error}"
        );
        let missing = error["data"]["missingProfile"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            missing,
            vec![json!("username")],
            "Logto asks for a profile this helper does not give: {error}"
        );
        let username = format!("user_{}", &random_suffix()[..12]);
        self.experience(
            Method::POST,
            "/profile",
            json!({ "type": "username", "value": username }),
        )
        .await;
    }

    /// At the upstream (the test IdP): opens the authorization URL and presses its cancel link;
    /// returns where the upstream redirects off itself (Logto's callback with an `error`).
    async fn cancel_upstream(&self, authorization_url: &str) -> String {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("build the upstream client");
        let mut url = Url::parse(authorization_url).expect("upstream authorization URL");
        let upstream = url.origin();
        for _ in 0..MAX_STEPS {
            if url.origin() != upstream {
                return url.to_string();
            }
            let response = client
                .get(url.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
            if let Some(location) = response.headers().get(LOCATION) {
                url = url.join(location.to_str().unwrap()).unwrap();
                continue;
            }
            assert!(
                url.path().starts_with("/interaction/") && response.status().is_success(),
                "no sign-in page at the upstream: {} at {url}",
                response.status()
            );
            url = url.join(&format!("{}/abort", url.path())).unwrap();
        }
        panic!("more than {MAX_STEPS} steps at the upstream from {authorization_url}");
    }

    async fn get_json(&self, url_or_path: &str) -> Value {
        let url = self.logto.join(url_or_path).unwrap();
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "GET {url} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {e}: {text}"))
    }

    async fn try_experience(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let url = self.logto.join(&format!("api/experience{path}")).unwrap();
        let response = self
            .client
            .request(method.clone(), url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Experience API {method} {path}: {e}"));
        status_and_json(response).await
    }
}

// ---------------------------------------------------------------- upstream providers

/// The password of every [`UpstreamUser`] at its upstream provider.
pub const UPSTREAM_PASSWORD: &str = "upstream-password";

/// A user of an upstream provider (not of Logto): its id (`sub`, or `uid` at a social upstream),
/// username and profile.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct UpstreamUser {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub picture: String,
}

impl UpstreamUser {
    /// `<prefix>-id-<tag>`, `<prefix>_<tag>`, `<prefix>-<tag>@<email_domain>`…; `tag` may be
    /// empty (plain names, for the sample).
    pub fn new(prefix: &str, tag: &str, email_domain: &str) -> Self {
        let suffix = |sep: &str| {
            if tag.is_empty() {
                String::new()
            } else {
                format!("{sep}{tag}")
            }
        };
        UpstreamUser {
            id: format!("{prefix}-id{}", suffix("-")),
            username: format!("{prefix}{}", suffix("_")),
            name: format!("{prefix} Upstream{}", suffix(" ")),
            email: format!("{prefix}{}@{email_domain}", suffix("-")),
            picture: format!("https://{email_domain}/{prefix}{}.png", suffix("-")),
        }
    }

    /// The user as the test IdP's configuration lists it (password [`UPSTREAM_PASSWORD`]).
    pub fn idp_user(&self) -> Value {
        json!({
            "id": self.id,
            "username": self.username,
            "password": UPSTREAM_PASSWORD,
            "name": self.name,
            "email": self.email,
            "picture": self.picture,
        })
    }
}

/// A social upstream (the test IdP as a plain OAuth 2.0 provider whose userinfo says `uid`,
/// `mail`, `display_name`, `photo`) and Logto's OAuth 2.0 connector to it, with a `profileMap`.
/// The upstream stops when this is dropped.
#[derive(Debug)]
#[allow(missing_docs)]
pub struct SocialUpstream {
    pub idp: TestIdp,
    pub connector: SocialConnector,
    pub user: UpstreamUser,
}

/// An enterprise OIDC upstream (the test IdP, standard claims, users of one email domain) and
/// Logto's OIDC SSO connector for that domain. The upstream stops when this is dropped.
#[derive(Debug)]
#[allow(missing_docs)]
pub struct SsoUpstream {
    pub idp: TestIdp,
    pub connector_id: String,
    pub domain: String,
    pub user: UpstreamUser,
}

impl RealLogto {
    /// Starts a social upstream with `user` and connects Logto to it with an OAuth 2.0 connector
    /// using `token_endpoint_auth_method` and `client_secret_in_logto` (the upstream's is
    /// `social-secret`), enabled in the sign-in experience.
    pub async fn social_upstream(
        &self,
        user: UpstreamUser,
        token_endpoint_auth_method: &str,
        client_secret_in_logto: &str,
    ) -> SocialUpstream {
        let id = self.new_connector_id();
        let idp = TestIdp::start_with(json!({
            "userinfo_field_names": {
                "sub": "uid", "email": "mail", "name": "display_name", "picture": "photo",
            },
            "clients": [{
                "client_id": "logto-social",
                "client_secret": "social-secret",
                "token_endpoint_auth_method": token_endpoint_auth_method,
                "pkce_required": false,
                "redirect_uris": [self.connector_callback_uri(&id)],
            }],
            "users": [user.idp_user()],
        }))
        .await;
        let upstream = OAuth2Upstream {
            authorization_endpoint: idp.url("/oidc/auth"),
            token_endpoint: idp.url("/oidc/token"),
            user_info_endpoint: idp.url("/oidc/me"),
            client_id: "logto-social".into(),
            client_secret: client_secret_in_logto.into(),
            token_endpoint_auth_method: token_endpoint_auth_method.into(),
            scope: "openid profile email".into(),
            profile_map: json!({
                "id": "uid", "email": "mail", "name": "display_name", "avatar": "photo",
            }),
        };
        let connector = self.create_oauth2_connector(&id, upstream.config()).await;
        SocialUpstream {
            idp,
            connector,
            user,
        }
    }

    /// Starts an enterprise OIDC upstream with `user` and connects Logto to it with an OIDC SSO
    /// connector for `domain`, using `client_secret_in_logto` (the upstream's is `sso-secret`);
    /// enterprise SSO is switched on.
    pub async fn sso_upstream(
        &self,
        user: UpstreamUser,
        domain: &str,
        client_secret_in_logto: &str,
    ) -> SsoUpstream {
        let connector_id = self.create_oidc_sso_connector(&[domain]).await;
        let idp = TestIdp::start_with(json!({
            "clients": [{
                "client_id": "logto-sso",
                "client_secret": "sso-secret",
                "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": [self.connector_callback_uri(&connector_id)],
            }],
            "users": [user.idp_user()],
        }))
        .await;
        self.configure_oidc_sso_connector(
            &connector_id,
            &idp.issuer(),
            "logto-sso",
            client_secret_in_logto,
            "openid profile email",
        )
        .await;
        SsoUpstream {
            idp,
            connector_id,
            domain: domain.to_owned(),
            user,
        }
    }
}
