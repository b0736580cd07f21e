//! The sample in a real browser: headless Chromium driven by `testing/e2e/web-app.mjs`, signing in
//! on the real Logto's sign-in page.

use std::path::Path;
use std::process::Stdio;

use logto_test_support::{RealLogto, free_port};

use crate::harness::{Sample, WebApp, repo_root};

#[tokio::test]
async fn sign_in_on_logtos_page_and_out_in_chromium() {
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
    let screenshot = root.join("testing/artifacts/web-app-signed-in.png");
    let sign_in_page = root.join("testing/artifacts/web-app-signed-in-logto-sign-in.png");
    let _ = std::fs::remove_file(&screenshot);
    let _ = std::fs::remove_file(&sign_in_page);

    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let port = free_port();
    let world = logto
        .world(
            &format!("http://127.0.0.1:{port}/callback"),
            &format!("http://127.0.0.1:{port}/"),
        )
        .await;
    let scopes = "email custom_data identities roles urn:logto:scope:organizations \
                  urn:logto:scope:organization_roles shopping:read read:projects";
    let sample = Sample {
        endpoint: logto.endpoint(),
        app_id: &world.web_app.id,
        app_secret: world.web_app.secret.as_deref().unwrap(),
        scopes,
        resources: &world.shopping.indicator,
        session_store: "memory",
    };
    let app = WebApp::launch(port, &sample).await;
    let output =
        tokio::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(root.join("testing/e2e/web-app.mjs"))
            .env("APP_URL", &app.url)
            .env("IDP_URL", logto.endpoint())
            .env("USERNAME", &world.alice.username)
            .env("PASSWORD", &world.alice.password)
            .env("RESOURCE", &world.shopping.indicator)
            .env("ORGANIZATION", &world.acme)
            .env("SCREENSHOT", &screenshot)
            .env("CHROMIUM", &chromium)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(180), output)
        .await
        .expect("the browser test took over 3 minutes")
        .expect("run node testing/e2e/web-app.mjs (is Node.js 20+ installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("e2e: ok"), "{stdout}");
    for picture in [&screenshot, &sign_in_page] {
        assert!(picture.is_file(), "no screenshot at {}", picture.display());
    }
}
