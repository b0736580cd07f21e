//! The real-Logto handle works: Management API provisioning and a headless sign-in through
//! Logto's Experience API end at the app's redirect URI with a code.

use logto_test_support::{AppKind, RealLogto};
use serde_json::json;
use url::Url;

#[tokio::test]
async fn provisions_and_signs_in_headlessly() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let redirect_uri = "http://127.0.0.1:9/callback";
    let app = logto
        .create_app(
            AppKind::Traditional,
            &[redirect_uri],
            &["http://127.0.0.1:9/"],
        )
        .await;
    assert!(app.secret.is_some());
    let user = logto
        .create_user("carol", json!({ "name": "Carol", "primaryEmail": format!("{}@example.com", logto.unique("carol")) }))
        .await;

    let mut authorization = Url::parse(&logto.url("/oidc/auth")).unwrap();
    authorization
        .query_pairs_mut()
        .append_pair("client_id", &app.id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile offline_access")
        .append_pair("prompt", "consent")
        .append_pair("state", "s1")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    let callback = Url::parse(&logto.sign_in(authorization.as_str(), &user).await).unwrap();
    assert_eq!(callback.path(), "/callback", "{callback}");
    let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert!(query.contains_key("code"), "{callback}");
    assert_eq!(query["state"], "s1");
    assert_eq!(query["iss"], logto.issuer());
}

#[tokio::test]
async fn a_world_is_created_and_its_users_sign_in() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let world = logto
        .world("http://127.0.0.1:9/callback", "http://127.0.0.1:9/")
        .await;
    let user = logto
        .api(
            reqwest::Method::GET,
            &format!("/api/users/{}", world.alice.id),
            None,
        )
        .await;
    assert_eq!(user["customData"]["plan"], "pro");
    assert_eq!(
        user["identities"]["github"]["userId"]
            .as_str()
            .unwrap()
            .len(),
        13
    );
    // A second world in the same tenant finds the tenant-wide organization scopes.
    let other = logto
        .world("http://127.0.0.1:9/callback", "http://127.0.0.1:9/")
        .await;
    assert_ne!(other.alice.id, world.alice.id);
}
