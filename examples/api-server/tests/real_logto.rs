//! The api-server example as a process against the real Logto (testing/logto): `LOGTO_ENDPOINT`
//! is the real Logto, `API_RESOURCE` an API resource of a fresh world, and the tokens are the ones
//! Logto issues to signed-in users through the `logto` client.

use logto::{LogtoClient, LogtoConfig, MemoryStorage, UserInfoScope};
use logto_test_support::{RealLogto, User, World};
use serde_json::{Value, json};

use super::{call, for_each_server, start_with};

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/";

async fn signed_in(logto: &RealLogto, world: &World, user: &User) -> LogtoClient {
    let config = LogtoConfig::builder(logto.endpoint(), &world.web_app.id)
        .app_secret(world.web_app.secret.as_ref().unwrap())
        .scopes([UserInfoScope::Organizations])
        .scopes([
            "shopping:read",
            "shopping:write",
            "store:read",
            "read:projects",
            "write:projects",
        ])
        .resources([&world.shopping.indicator, &world.store.indicator])
        .build()
        .unwrap();
    let client = LogtoClient::new(
        logto::LogtoHandle::new(config).unwrap(),
        MemoryStorage::new(),
    );
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = logto.sign_in(&url, user).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    client
}

fn sorted(scopes: &Value) -> Vec<&str> {
    let mut scopes: Vec<&str> = scopes
        .as_array()
        .unwrap_or_else(|| panic!("no scopes: {scopes}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort_unstable();
    scopes
}

for_each_server!(
    tokens_from_the_real_logto: api_server_with_tokens_from_the_real_logto,
    api_server_actix_with_tokens_from_the_real_logto
);

async fn tokens_from_the_real_logto(name: &str) {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let world = logto.world(REDIRECT_URI, POST_LOGOUT_URI).await;
    let server = start_with(name, logto.endpoint(), &world.shopping.indicator).await;
    let b = &server.base;
    let alice = signed_in(&logto, &world, &world.alice).await;
    let bob = signed_in(&logto, &world, &world.bob).await;
    let shopping = world.shopping.indicator.as_str();

    // A resource token: accepted, subject, client and scopes as Logto put them.
    let token = alice.get_access_token(shopping).await.unwrap();
    let (status, _, body) = call("GET", &format!("{b}/api/profile"), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], json!(world.alice.id));
    assert_eq!(body["client_id"], json!(world.web_app.id));
    assert_eq!(sorted(&body["scopes"]), ["shopping:read", "shopping:write"]);
    let (status, _, body) = call("GET", &format!("{b}/api/shopping"), Some(&token)).await;
    assert_eq!((status, &body["owner"]), (200, &json!(world.alice.id)));
    let (status, _, body) = call("POST", &format!("{b}/api/shopping"), Some(&token)).await;
    assert_eq!(status, 201, "{body}");

    // Bob may read, not write.
    let bobs = bob.get_access_token(shopping).await.unwrap();
    assert_eq!(
        call("GET", &format!("{b}/api/shopping"), Some(&bobs))
            .await
            .0,
        200
    );
    let (status, www, body) = call("POST", &format!("{b}/api/shopping"), Some(&bobs)).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "insufficient_scope");
    assert_eq!(
        www.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="shopping:write""#)
    );

    // Logto's other tokens are not this API's.
    let organization = alice.get_organization_token(&world.acme).await.unwrap();
    let organization_level = alice
        .get_access_token_for_organization(shopping, &world.acme)
        .await
        .unwrap();
    let refused = [
        ("the ID token", alice.get_id_token().await.unwrap()),
        (
            "another API's token",
            alice
                .get_access_token(&world.store.indicator)
                .await
                .unwrap(),
        ),
        (
            "the opaque token",
            alice.get_opaque_access_token().await.unwrap(),
        ),
        ("an organization token", organization.clone()),
    ];
    for (what, bad) in &refused {
        let (status, www, body) = call("GET", &format!("{b}/api/shopping"), Some(bad)).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(
            body,
            json!({"code": "invalid_token", "message": "The access token is invalid."}),
            "{what}"
        );
        assert_eq!(
            www.as_deref(),
            Some(r#"Bearer error="invalid_token""#),
            "{what}"
        );
    }
    // The header errors of Logto's API protection guide.
    let (status, www, body) = call("GET", &format!("{b}/api/profile"), None).await;
    assert_eq!((status, www.as_deref()), (401, Some("Bearer")));
    assert_eq!(body["code"], "auth.authorization_header_missing");
    for (header, code) in [
        (
            format!("Basic {token}"),
            "auth.authorization_token_type_not_supported",
        ),
        (
            "Bearer".to_owned(),
            "auth.authorization_token_invalid_format",
        ),
        (
            format!("Bearer {token} x"),
            "auth.authorization_token_invalid_format",
        ),
    ] {
        let response = reqwest::Client::new()
            .get(format!("{b}/api/profile"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code);
    }

    // The organization route takes an organization token of its organization only.
    let projects = |org: &str| format!("{b}/api/organizations/{org}/projects");
    let (status, _, body) = call("GET", &projects(&world.acme), Some(&organization)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organization_id"], json!(world.acme));
    assert_eq!(body["sub"], json!(world.alice.id));
    assert_eq!(sorted(&body["scopes"]), ["read:projects", "write:projects"]);
    for (url, bad) in [
        (projects(&world.globex), &organization),
        (projects(&world.acme), &token),
        (projects(&world.acme), &organization_level),
    ] {
        let (status, _, body) = call("GET", &url, Some(bad)).await;
        assert_eq!(
            (status, &body["code"]),
            (401, &json!("invalid_token")),
            "{url}"
        );
    }

    // The organization-level API resource route takes the API's token for that organization.
    let items = |org: &str| format!("{b}/api/organizations/{org}/shopping");
    let (status, _, body) = call("GET", &items(&world.acme), Some(&organization_level)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organization_id"], json!(world.acme));
    for (url, bad) in [
        (items(&world.globex), &organization_level),
        (items(&world.acme), &token),
        (items(&world.acme), &organization),
    ] {
        let (status, _, body) = call("GET", &url, Some(bad)).await;
        assert_eq!(
            (status, &body["code"]),
            (401, &json!("invalid_token")),
            "{url}"
        );
    }
    // An organization-level token is still a token for the API.
    assert_eq!(
        call(
            "GET",
            &format!("{b}/api/shopping"),
            Some(&organization_level)
        )
        .await
        .0,
        200
    );
}
