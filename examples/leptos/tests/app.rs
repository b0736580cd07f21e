//! The Leptos sample as users run it: its binary in its own process, the shopping API
//! (examples/api-server) in another, against the real Logto; over HTTP and in headless Chromium
//! (`testing/e2e/leptos.mjs`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use logto_test_support::{Browser, RealLogto, World, example_binary, free_port, location};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The repository root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_owned()
}

/// A process of the test, killed on drop.
struct Process {
    url: String,
    _child: Child,
}

impl Process {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// Waits until `output` has a line starting with `ready` (30 s at most), then keeps draining it.
async fn wait_ready(what: &str, output: impl AsyncRead + Unpin + Send + 'static, ready: &str) {
    let mut lines = BufReader::new(output).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    match line {
        Ok(Ok(Some(line))) if line.starts_with(ready) => {}
        other => panic!("{what} did not start: {other:?} (its stderr is above)"),
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}

/// The app on `port` with these environment variables (over `LOGTO_ENDPOINT`… of the caller).
async fn start_app(port: u16, env: &[(&str, &str)]) -> Process {
    let url = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_logto-leptos-example"))
        .env_remove("LOGTO_APP_SECRET")
        .env_remove("LOGTO_SCOPES")
        .env_remove("LOGTO_RESOURCES")
        .env_remove("API_URL")
        .env_remove("HOST")
        .env("PORT", port.to_string())
        .env("BASE_URL", &url)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Leptos sample");
    let stdout = child.stdout.take().unwrap();
    wait_ready(
        "the Leptos sample",
        stdout,
        "logto-leptos-example listening on",
    )
    .await;
    Process { url, _child: child }
}

/// examples/api-server for the API resource `resource` of `logto`.
async fn start_api(logto: &RealLogto, resource: &str) -> Process {
    let binary = example_binary(
        &repo_root().join("Cargo.toml"),
        "logto-leptos-example",
        "api-server",
    );
    let port = free_port();
    let mut child = Command::new(binary)
        .env("LOGTO_ENDPOINT", logto.endpoint())
        .env("API_RESOURCE", resource)
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the api-server example");
    let stderr = child.stderr.take().unwrap();
    wait_ready("the api-server example", stderr, "api-server: listening on").await;
    Process {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
    }
}

/// A fresh world whose web app accepts the sample on `port`, the API for its shopping resource,
/// and the sample configured with both.
async fn signed_in_setup(logto: &RealLogto) -> (World, Process, Process) {
    let port = free_port();
    let world = logto
        .world(
            &format!("http://127.0.0.1:{port}/callback"),
            &format!("http://127.0.0.1:{port}/"),
        )
        .await;
    let api = start_api(logto, &world.shopping.indicator).await;
    let app = start_app(
        port,
        &[
            ("LOGTO_ENDPOINT", logto.endpoint()),
            ("LOGTO_APP_ID", &world.web_app.id),
            ("LOGTO_APP_SECRET", world.web_app.secret.as_deref().unwrap()),
            ("LOGTO_SCOPES", "email shopping:read"),
            ("LOGTO_RESOURCES", &world.shopping.indicator),
            ("API_URL", &api.url("/api/shopping")),
        ],
    )
    .await;
    (world, api, app)
}

/// `POST` to a server function's endpoint (as a hydrated Leptos client does): status and JSON.
async fn call(browser: &Browser, url: &str) -> (StatusCode, Value) {
    let response = browser
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_no_jwt(url, &text);
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The page at `url`: status and HTML.
async fn page(browser: &Browser, url: &str) -> (StatusCode, String) {
    let response = browser.get(url).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert_no_jwt(url, &html);
    (status, html)
}

/// Panics when `text` holds something shaped like a JWT (an ID, access or refresh token).
fn assert_no_jwt(url: &str, text: &str) {
    let jwt = text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != '.');
    for word in jwt {
        let parts: Vec<&str> = word.split('.').collect();
        assert!(
            !(parts.len() == 3 && parts[0].starts_with("eyJ") && parts[1].starts_with("eyJ")),
            "{url} sent a token to the browser: {word}"
        );
    }
}

/// Signed out, the page offers sign-in and both server functions answer `401 "NotSignedIn"`;
/// the "Call the API" page is the signed-out page. Needs no Logto: nothing asks it anything.
#[tokio::test]
async fn signed_out_server_functions_say_not_signed_in() {
    let app = start_app(
        free_port(),
        &[
            // Never contacted: a signed-out visitor needs nothing from Logto.
            ("LOGTO_ENDPOINT", "http://127.0.0.1:9"),
            ("LOGTO_APP_ID", "leptos-sample"),
            ("LOGTO_APP_SECRET", "secret"),
            ("LOGTO_RESOURCES", "https://shopping.example.com/api"),
            ("API_URL", "http://127.0.0.1:9/api/shopping"),
        ],
    )
    .await;
    let browser = Browser::new();

    for path in ["/", "/?call=api"] {
        let (status, html) = page(&browser, &app.url(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains(r#"<section id="signed-out">"#), "{html}");
        assert!(html.contains(r#"href="/sign-in""#), "{html}");
        assert!(!html.contains("signed-in"), "{html}");
    }
    for function in ["get_claims", "call_api"] {
        let (status, body) = call(&browser, &app.url(&format!("/api/{function}"))).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!("NotSignedIn")),
            "{function}"
        );
    }
    // An unknown server function.
    let (status, _) = call(&browser, &app.url("/api/get_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Signed in through Logto over HTTP: the server functions answer the claims and the API's
/// answer (the API saw the user's token with `shopping:read`), the page shows both, no token
/// ever reaches the client; a user without `shopping:read` gets the API's refusal; after
/// sign-out the functions say "not signed in" again.
#[tokio::test]
async fn signed_in_server_functions_answer_claims_and_the_apis_answer() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (world, _api, app) = signed_in_setup(&logto).await;

    let browser = Browser::new();
    let response = browser.get(&app.url("/sign-in")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = logto.sign_in(&location(&response), &world.bob).await;
    assert!(callback.starts_with(&app.url("/callback")), "{callback}");
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");

    let (status, claims) = call(&browser, &app.url("/api/get_claims")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], json!(world.bob.id));
    assert_eq!(claims["username"], json!(world.bob.username));
    assert_eq!(claims["iss"], json!(logto.issuer()));

    let (status, answer) = call(&browser, &app.url("/api/call_api")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["owner"], json!(world.bob.id));
    assert_eq!(answer["items"][0]["name"], json!("apples"));

    let (status, html) = page(&browser, &app.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<section id="signed-in">"#), "{html}");
    assert!(html.contains(&world.bob.id), "{html}");
    assert!(!html.contains("api-answer"), "{html}");
    let (status, html) = page(&browser, &app.url("/?call=api")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<pre id="api-answer">"#), "{html}");
    assert!(html.contains("apples"), "{html}");

    // Sign-out ends the session: the functions say "not signed in" again.
    let response = browser.get(&app.url("/sign-out")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for function in ["get_claims", "call_api"] {
        let (status, body) = call(&browser, &app.url(&format!("/api/{function}"))).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!("NotSignedIn"))
        );
    }

    // A user without `shopping:read`: the API refuses the token, the function says so.
    let carol = logto.create_user("carol", Value::Null).await;
    let browser = Browser::new();
    let response = browser.get(&app.url("/sign-in")).await;
    let callback = logto.sign_in(&location(&response), &carol).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    let (status, body) = call(&browser, &app.url("/api/call_api")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["Api"]["status"], json!(403), "{body}");
    let (status, html) = page(&browser, &app.url("/?call=api")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="api-error""#), "{html}");
    assert!(html.contains("the API answered 403"), "{html}");
}

/// The sample in Chromium: sign-in on Logto's sign-in page, the claims from `get_claims`, the
/// API's answer from `call_api`, no token in any response the browser saw, sign-out
/// (screenshot `testing/artifacts/leptos-signed-in.png`).
#[tokio::test]
async fn sign_in_claims_api_and_sign_out_in_chromium() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let screenshot = repo_root().join("testing/artifacts/leptos-signed-in.png");
    let _ = std::fs::remove_file(&screenshot);
    let (world, _api, app) = signed_in_setup(&logto).await;

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
            .arg(root.join("testing/e2e/leptos.mjs"))
            .env("APP_URL", &app.url)
            .env("IDP_URL", logto.endpoint())
            .env("USERNAME", &world.bob.username)
            .env("PASSWORD", &world.bob.password)
            .env("SUB", &world.bob.id)
            .env("RESOURCE", &world.shopping.indicator)
            .env("SCREENSHOT", &screenshot)
            .env("CHROMIUM", &chromium)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
    let output = tokio::time::timeout(Duration::from_secs(180), output)
        .await
        .expect("the browser test took over 3 minutes")
        .expect("run node (is Node.js 20+ installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("e2e: ok"),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
    assert!(
        screenshot.is_file(),
        "no screenshot at {}",
        screenshot.display()
    );
}
