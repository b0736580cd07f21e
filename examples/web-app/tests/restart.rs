//! The samples' default store, SQLite: sessions survive a restart of the app, sealed at rest, for
//! both samples (axum and actix-web).

use logto_test_support::{ALICE, Browser, TestIdp, free_port};
use reqwest::StatusCode;

use crate::harness::{WebApp, for_each_app};

for_each_app!(
    restart: a_restart_of_the_app_loses_no_session,
    a_restart_of_the_app_loses_no_session_actix
);

async fn restart(sample: &str) {
    let idp = TestIdp::start().await;
    let dir = std::env::temp_dir().join(format!("logto-sample-sqlite-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("sessions.sqlite3");
    let store = format!("sqlite:{}", database.display());

    let first = WebApp::start(sample, &idp, &store).await;
    let browser = Browser::new();
    first.sign_in(&browser, &idp, ALICE).await;
    let (status, token) = browser.get_json(&first.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let first_url = first.url.clone();
    first.stop().await;

    // Sealed at rest, with a key the app generated beside the database, readable by it only.
    let stored = String::from_utf8_lossy(&std::fs::read(&database).unwrap()).into_owned();
    assert!(
        !stored.contains("eyJhbGci"),
        "a JWT is in the database in clear"
    );
    let key_file = dir.join("sessions.sqlite3.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // The app again, on the same database: the visitor is still signed in, with the same tokens.
    idp.reset_stats().await;
    let second = WebApp::start(sample, &idp, &store).await;
    let browser = browser.with_cookies_for(&first_url, &second.url);
    let (status, claims) = browser.get_json(&second.url("/protected")).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], "user-alice");
    let (status, again) = browser.get_json(&second.url("/protected/resource")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["access_token"], token["access_token"]);
    assert_eq!(
        idp.stats().await.token,
        0,
        "nothing was asked of the IdP again"
    );

    // A wrong key (the file replaced): signed out, not an error.
    let second_url = second.url.clone();
    second.stop().await;
    std::fs::remove_file(&key_file).unwrap();
    let third = WebApp::start(sample, &idp, &store).await;
    let browser = browser.with_cookies_for(&second_url, &third.url);
    let (status, body) = browser.get_json(&third.url("/protected")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}
