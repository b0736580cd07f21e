//! The quick-start example as a process against the real Logto, as its documentation runs it:
//! signed out, sign in through Logto, the pages of a signed-in user, sign out.

use std::path::PathBuf;
use std::process::Stdio;

use logto_test_support::{AppKind, RealLogto, example_binary, free_port, location};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn a_user_signs_in_sees_their_pages_and_signs_out() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let port = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let app = logto
        .create_app(
            AppKind::Traditional,
            &[&format!("{base_url}/callback")],
            &[&format!("{base_url}/")],
        )
        .await;
    // A fresh address each run: the test may run again on the same Logto.
    let email = format!("{}@example.com", logto.unique("quick"));
    let user = logto
        .create_user("quickstart", json!({ "primaryEmail": email }))
        .await;

    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut child =
        tokio::process::Command::new(example_binary(&manifest, "logto-examples", "quickstart"))
            .env("LOGTO_ENDPOINT", logto.endpoint())
            .env("LOGTO_APP_ID", &app.id)
            .env("LOGTO_APP_SECRET", app.secret.as_deref().unwrap())
            .env("PORT", port.to_string())
            .env("BASE_URL", &base_url)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next_line().await.unwrap().unwrap_or_default();
    assert_eq!(ready, format!("quickstart listening on {base_url}"));

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| browser.get(format!("{base_url}{path}")).send();

    // Signed out: a sign-in link, and the profile page sends the browser to sign in.
    let home = get("/").await.unwrap().text().await.unwrap();
    assert!(home.contains(r#"href="/sign-in""#), "{home}");
    let response = get("/profile").await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-in?return_to=%2Fprofile");

    // Sign in through Logto, coming back to the profile page.
    let response = get("/sign-in?return_to=%2Fprofile").await.unwrap();
    let callback = logto.sign_in(&location(&response), &user).await;
    assert!(
        callback.starts_with(&format!("{base_url}/callback?")),
        "{callback}"
    );
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&response), "/profile");

    let home = get("/").await.unwrap().text().await.unwrap();
    assert!(
        home.contains(&format!(r#"<b id="sub">{}</b>"#, user.id)),
        "{home}"
    );
    let profile: Value = get("/profile").await.unwrap().json().await.unwrap();
    assert_eq!(profile["sub"], user.id.as_str());
    assert_eq!(profile["email"], email.as_str());

    // Sign out: to Logto's end-session endpoint, and signed out here.
    let response = get("/sign-out").await.unwrap();
    assert!(
        location(&response).starts_with(&logto.url("/oidc/session/end")),
        "{}",
        location(&response)
    );
    let home = get("/").await.unwrap().text().await.unwrap();
    assert!(home.contains(r#"href="/sign-in""#), "{home}");
}
