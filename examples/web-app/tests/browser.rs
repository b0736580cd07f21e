//! The sample in a real browser: headless Chromium driven by the scripts of `testing/e2e`, signing
//! in on the real Logto's sign-in page, and through a social connector and enterprise SSO.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use logto_test_support::logto::{UPSTREAM_PASSWORD, UpstreamUser};
use logto_test_support::{RealLogto, World, free_port};
use serde_json::json;

use crate::harness::{AXUM, Sample, WebApp, for_each_app, repo_root};

const SCOPES: &str = "email custom_data identities roles urn:logto:scope:organizations \
                      urn:logto:scope:organization_roles shopping:read read:projects";

/// Runs `node testing/e2e/<script>` with `env` (and `CHROMIUM`); panics with its output unless it
/// ends with `e2e: ok`.
async fn run_e2e(script: &str, env: &[(&str, &str)]) {
    let root = repo_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} not found: install Chromium with `apt-get install -y chromium` (scripts/test.sh does)"
    );
    assert!(
        root.join("testing/e2e/node_modules/playwright-core")
            .is_dir(),
        "the browser test's npm packages are missing: run `npm ci --prefix testing/e2e`"
    );
    let output =
        tokio::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(root.join("testing/e2e").join(script))
            .envs(env.iter().copied())
            .env("CHROMIUM", &chromium)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(180), output)
        .await
        .expect("the browser test took over 3 minutes")
        .expect("run node (is Node.js 20+ installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("e2e: ok"),
        "the browser test {script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// A fresh world whose web app accepts the sample on `port`, and the sample's settings for it.
async fn world_for(logto: &RealLogto, port: u16) -> World {
    logto
        .world(
            &format!("http://127.0.0.1:{port}/callback"),
            &format!("http://127.0.0.1:{port}/"),
        )
        .await
}

/// The settings of the sample `app` for `world`.
fn sample<'a>(app: &'a str, logto: &'a RealLogto, world: &'a World) -> Sample<'a> {
    Sample {
        app,
        endpoint: logto.endpoint(),
        app_id: &world.web_app.id,
        app_secret: world.web_app.secret.as_deref().unwrap(),
        scopes: SCOPES,
        resources: &world.shopping.indicator,
        session_store: "memory",
    }
}

/// Empties the screenshots a test is about to take, so that a stale one never passes for new.
fn fresh<S: AsRef<str>>(names: &[S]) -> Vec<PathBuf> {
    let dir = repo_root().join("testing/artifacts");
    names
        .iter()
        .map(|name| {
            let path = dir.join(name.as_ref());
            let _ = std::fs::remove_file(&path);
            path
        })
        .collect()
}

for_each_app!(
    sign_in_on_logtos_page_and_out: sign_in_on_logtos_page_and_out_in_chromium,
    sign_in_on_logtos_page_and_out_in_chromium_actix
);

/// The sample `name` in Chromium: sign-in on Logto's page, the pages, sign-out (screenshots
/// `testing/artifacts/<name>-signed-in.png` and `…-signed-in-logto-sign-in.png`).
async fn sign_in_on_logtos_page_and_out(name: &str) {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let pictures = fresh(&[
        format!("{name}-signed-in.png"),
        format!("{name}-signed-in-logto-sign-in.png"),
    ]);
    let port = free_port();
    let world = world_for(&logto, port).await;
    let app = WebApp::launch(port, &sample(name, &logto, &world)).await;
    run_e2e(
        "web-app.mjs",
        &[
            ("APP_URL", &app.url),
            ("IDP_URL", logto.endpoint()),
            ("USERNAME", &world.alice.username),
            ("PASSWORD", &world.alice.password),
            ("RESOURCE", &world.shopping.indicator),
            ("ORGANIZATION", &world.acme),
            ("SCREENSHOT", pictures[0].to_str().unwrap()),
        ],
    )
    .await;
    for picture in &pictures {
        assert!(picture.is_file(), "no screenshot at {}", picture.display());
    }
}

/// "Continue with <provider>" and "Sign in with SSO" on the sample's home page: Chromium signs in
/// at each upstream provider and comes back through Logto as the Logto user linked to that
/// upstream account.
#[tokio::test]
async fn sign_in_through_a_social_connector_and_enterprise_sso_in_chromium() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let pictures = fresh(&[
        "web-app-signed-in-social-upstream.png",
        "web-app-signed-in-social.png",
        "web-app-signed-in-sso-upstream.png",
        "web-app-signed-in-sso.png",
    ]);
    let port = free_port();
    let world = world_for(&logto, port).await;
    let tag = &logto.unique("t")[2..12];
    let social = logto
        .social_upstream(
            UpstreamUser::new("carol", tag, "social.example"),
            "client_secret_post",
            "social-secret",
        )
        .await;
    // Bob already has this upstream account linked: the sign-in finds him.
    logto
        .link_social_identity(
            &world.bob.id,
            &social.connector.target,
            &social.user.id,
            json!({ "id": social.user.id, "name": social.user.name }),
        )
        .await;
    let domain = format!("corp-{tag}.example");
    let sso = logto
        .sso_upstream(
            UpstreamUser::new("dave", tag, &domain),
            &domain,
            "sso-secret",
        )
        .await;
    logto
        .link_sso_identity(
            &world.alice.id,
            &sso.connector_id,
            &sso.idp.issuer(),
            &sso.user.id,
            json!({ "email": sso.user.email }),
        )
        .await;

    let app = WebApp::launch_with_env(
        port,
        &sample(AXUM, &logto, &world),
        &[
            ("LOGTO_SOCIAL_TARGET", &social.connector.target),
            ("LOGTO_SOCIAL_NAME", "Upstream Social"),
            ("LOGTO_SSO_CONNECTOR_ID", &sso.connector_id),
        ],
    )
    .await;
    run_e2e(
        "connectors.mjs",
        &[
            ("APP_URL", &app.url),
            ("SOCIAL_URL", social.idp.endpoint()),
            ("SSO_URL", sso.idp.endpoint()),
            ("UPSTREAM_PASSWORD", UPSTREAM_PASSWORD),
            ("SOCIAL_USERNAME", &social.user.username),
            ("SOCIAL_SUB", &world.bob.id),
            ("SOCIAL_TARGET", &social.connector.target),
            ("SSO_USERNAME", &sso.user.username),
            ("SSO_SUB", &world.alice.id),
            (
                "SCREENSHOTS",
                repo_root().join("testing/artifacts").to_str().unwrap(),
            ),
        ],
    )
    .await;
    for picture in &pictures {
        assert!(picture.is_file(), "no screenshot at {}", picture.display());
    }
}
