//! The sample in a real browser: headless Chromium driven by `testing/e2e/web-app.mjs`.

use std::path::Path;
use std::process::Stdio;

use logto_test_support::{ALICE, ORG_ACME, SHOPPING_API, TestIdp};

use crate::harness::{WebApp, repo_root};

#[tokio::test]
async fn sign_in_and_out_in_chromium() {
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
    let _ = std::fs::remove_file(&screenshot);

    let idp = TestIdp::start().await;
    let app = WebApp::start(&idp, "memory").await;
    let output =
        tokio::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(root.join("testing/e2e/web-app.mjs"))
            .env("APP_URL", &app.url)
            .env("IDP_URL", idp.endpoint())
            .env("USERNAME", ALICE.0)
            .env("PASSWORD", ALICE.1)
            .env("RESOURCE", SHOPPING_API)
            .env("ORGANIZATION", ORG_ACME)
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
    assert!(
        screenshot.is_file(),
        "no screenshot at {}",
        screenshot.display()
    );
}
