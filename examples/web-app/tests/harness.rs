//! Starting the sample app's processes (the browser and Redis come from logto-test-support).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use logto_test_support::{
    Browser, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET, example_binary, free_port,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The samples of the web-app contract: `web-app` (axum) and `web-app-actix` (actix-web), with
/// the same routes, JSON contract and environment variables.
pub const APPS: [&str; 2] = ["web-app", "web-app-actix"];

/// The axum sample (the tests of what only it has: the connector buttons in Chromium).
pub const AXUM: &str = APPS[0];

/// Runs the scenario `$scenario(app)` as one test per sample of [`APPS`].
macro_rules! for_each_app {
    ($scenario:ident: $axum:ident, $actix:ident) => {
        #[tokio::test]
        async fn $axum() {
            $scenario(crate::harness::APPS[0]).await;
        }

        #[tokio::test]
        async fn $actix() {
            $scenario(crate::harness::APPS[1]).await;
        }
    };
}
pub(crate) use for_each_app;

/// The example binary `app`, next to this test. Built once per test process (a no-op when up to
/// date): running only this test target does not rebuild examples.
fn binary(app: &str) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; APPS.len()] = [const { OnceLock::new() }; APPS.len()];
    let index = APPS
        .iter()
        .position(|name| *name == app)
        .expect("one of APPS");
    BUILT[index]
        .get_or_init(|| example_binary(&repo_root().join("Cargo.toml"), "logto-examples", app))
        .clone()
}

/// The sample's settings (its environment variables).
pub struct Sample<'a> {
    /// Which sample: one of [`APPS`].
    pub app: &'a str,
    pub endpoint: &'a str,
    pub app_id: &'a str,
    pub app_secret: &'a str,
    pub scopes: &'a str,
    pub resources: &'a str,
    pub session_store: &'a str,
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
    /// Starts the sample `app` against `idp` with the shopping API and organizations, sessions in
    /// `session_store` (`memory` or a `redis://` URL).
    pub async fn start(app: &str, idp: &TestIdp, session_store: &str) -> WebApp {
        let sample = Sample {
            app,
            endpoint: idp.endpoint(),
            app_id: WEB_APP_ID,
            app_secret: WEB_APP_SECRET,
            scopes: "email custom_data urn:logto:scope:organizations shopping:read",
            resources: SHOPPING_API,
            session_store,
        };
        WebApp::launch(free_port(), &sample).await
    }

    /// [`WebApp::start`] with more environment variables (`LOGTO_SOCIAL_TARGET`…).
    pub async fn start_with_env(
        app: &str,
        idp: &TestIdp,
        session_store: &str,
        env: &[(&str, &str)],
    ) -> WebApp {
        let sample = Sample {
            app,
            endpoint: idp.endpoint(),
            app_id: WEB_APP_ID,
            app_secret: WEB_APP_SECRET,
            scopes: "email custom_data urn:logto:scope:organizations shopping:read",
            resources: SHOPPING_API,
            session_store,
        };
        WebApp::launch_with_env(free_port(), &sample, env).await
    }

    /// Starts the sample on `port` with these settings.
    pub async fn launch(port: u16, sample: &Sample<'_>) -> WebApp {
        WebApp::launch_with_env(port, sample, &[]).await
    }

    /// Starts the sample on `port` with these settings and more environment variables.
    pub async fn launch_with_env(port: u16, sample: &Sample<'_>, env: &[(&str, &str)]) -> WebApp {
        let url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(binary(sample.app))
            .env("LOGTO_ENDPOINT", sample.endpoint)
            .env("LOGTO_APP_ID", sample.app_id)
            .env("LOGTO_APP_SECRET", sample.app_secret)
            .env("LOGTO_SCOPES", sample.scopes)
            .env("LOGTO_RESOURCES", sample.resources)
            .env("PORT", port.to_string())
            .env("BASE_URL", &url)
            .env("SESSION_STORE", sample.session_store)
            .env("RUST_LOG", "warn")
            // Only the buttons asked for here, whatever the test runner's environment has.
            .env_remove("LOGTO_SOCIAL_TARGET")
            .env_remove("LOGTO_SOCIAL_NAME")
            .env_remove("LOGTO_SSO_CONNECTOR_ID")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start the {} example: {e}", sample.app));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(line))) if line.starts_with("web-app listening on") => {}
            other => panic!(
                "the {} did not start: {other:?} (its stderr is above)",
                sample.app
            ),
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        WebApp { url, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Kills the process and waits until it is gone.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Signs `user` in with `browser` through the app's `/sign-in`, back to the home page.
    pub async fn sign_in(&self, browser: &Browser, idp: &TestIdp, user: (&str, &str)) {
        let (sign_in, callback) = (self.url("/sign-in"), self.url("/callback"));
        assert_eq!(browser.sign_in(idp, &sign_in, &callback, user).await, "/");
    }
}
