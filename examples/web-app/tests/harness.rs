//! Starting the sample app's processes, Redis, and a cookie-keeping HTTP client.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use logto_test_support::{SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET, free_port};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The `web-app` example binary, next to this test. Built once per test process (a no-op when
/// up to date): running only this test target does not rebuild examples.
fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            // target/<profile>/deps/<this test> → target/<profile>/examples/web-app
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
            let mut build = std::process::Command::new(
                std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            );
            build
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "logto-examples",
                    "--example",
                    "web-app",
                ])
                .arg("--manifest-path")
                .arg(repo_root().join("Cargo.toml"));
            if profile_dir
                .file_name()
                .is_some_and(|name| name == "release")
            {
                build.arg("--release");
            }
            let status = build
                .status()
                .expect("run cargo to build the web-app example");
            assert!(status.success(), "`cargo build --example web-app` failed");
            let path = profile_dir
                .join("examples")
                .join(format!("web-app{}", std::env::consts::EXE_SUFFIX));
            assert!(
                path.exists(),
                "{} is missing after the build",
                path.display()
            );
            path
        })
        .clone()
}

/// A running `web-app` process, killed on drop.
pub struct WebApp {
    pub url: String,
    child: Child,
}

impl Drop for WebApp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl WebApp {
    /// Starts the sample against `idp` with the shopping API and organizations, sessions in
    /// `session_store` (`memory` or a `redis://` URL).
    pub async fn start(idp: &TestIdp, session_store: &str) -> WebApp {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(binary())
            .env("LOGTO_ENDPOINT", idp.endpoint())
            .env("LOGTO_APP_ID", WEB_APP_ID)
            .env("LOGTO_APP_SECRET", WEB_APP_SECRET)
            .env(
                "LOGTO_SCOPES",
                "email custom_data urn:logto:scope:organizations shopping:read",
            )
            .env("LOGTO_RESOURCES", SHOPPING_API)
            .env("PORT", port.to_string())
            .env("BASE_URL", &url)
            .env("SESSION_STORE", session_store)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the web-app example");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(line))) if line.starts_with("web-app listening on") => {}
            other => panic!("the web-app did not start: {other:?} (its stderr is above)"),
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        WebApp { url, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// A private Redis server on a free port, stopped on drop.
pub struct Redis {
    pub url: String,
    child: Child,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Redis {
    pub async fn start() -> Redis {
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it with `apt-get install -y redis-server` \
                     (scripts/test.sh does)"
                )
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "redis-server did not get ready");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Redis {
            url: format!("redis://127.0.0.1:{port}"),
            child,
        }
    }
}

/// A script's HTTP client: a cookie jar, no automatic redirects.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
}

impl Client {
    pub fn new() -> Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Client { http, jar }
    }

    /// The same session cookie, for another app process.
    pub fn same_session_on(&self, from: &WebApp, to: &WebApp) -> Client {
        use reqwest::cookie::CookieStore;
        let other = Client::new();
        let cookies = self.jar.cookies(&from.url.parse().unwrap()).unwrap();
        for cookie in cookies.to_str().unwrap().split("; ") {
            other.jar.add_cookie_str(cookie, &to.url.parse().unwrap());
        }
        other
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    pub async fn json(&self, url: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Signs in through the app and the IdP's login page.
    pub async fn sign_in(&self, app: &WebApp, idp: &TestIdp, user: (&str, &str)) {
        let response = self.get(&app.url("/sign-in")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let callback = idp.sign_in(&location(&response), user.0, user.1).await;
        let response = self.get(&callback).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "callback: {}",
            response.text().await.unwrap()
        );
        assert_eq!(location(&response), "/");
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}
