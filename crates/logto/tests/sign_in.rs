//! Sign-in against the test IdP: the authorization request, the callback, the ID token's claims and
//! userinfo.

mod support;

use logto::{
    DirectSignIn, FirstScreen, Identifier, InteractionMode, LogtoClient, LogtoConfig, LogtoHandle,
    MemoryStorage, SignInOptions,
};
use logto_test_support::{ALICE_SUB, ORG_ACME, PUBLIC_APP_ID, SHOPPING_API, STORE_API, TestIdp};
use serde_json::Value;
use support::*;

#[tokio::test]
async fn the_authorization_request_carries_pkce_state_nonce_and_logto_options() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let options = SignInOptions::new(REDIRECT_URI)
        .interaction_mode(InteractionMode::SignUp)
        .first_screen(FirstScreen::IdentifierRegister)
        .identifiers([Identifier::Email])
        .direct_sign_in(DirectSignIn::social("github"))
        .login_hint("alice@example.com")
        .organization_id(ORG_ACME)
        .extra_param("ui_locales", "fr");
    let url = client.sign_in_with(options).await.unwrap();
    // The IdP shows its login page for this URL: the request was accepted as valid.
    let callback = idp.sign_in(&url, ALICE.0, ALICE.1).await;
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");

    let seen = idp.last_authorization_request().await;
    let get = |name: &str| seen.get(name).cloned().unwrap_or(Value::Null);
    assert_eq!(get("client_id"), "web-app");
    assert_eq!(get("redirect_uri"), REDIRECT_URI);
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("prompt"), "consent");
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("code_challenge").as_str().unwrap().len(), 43);
    assert!(get("state").as_str().unwrap().len() >= 43);
    assert!(get("nonce").as_str().unwrap().len() >= 43);
    let scope = get("scope");
    let scopes: Vec<&str> = scope.as_str().unwrap().split(' ').collect();
    assert_eq!(&scopes[..3], ["openid", "offline_access", "profile"]);
    assert!(scopes.contains(&"urn:logto:scope:organizations"));
    assert_eq!(
        get("resource"),
        serde_json::json!([SHOPPING_API, STORE_API, "urn:logto:resource:organizations"])
    );
    assert_eq!(get("interaction_mode"), "signUp");
    assert_eq!(get("first_screen"), "identifier:register");
    assert_eq!(get("identifier"), "email");
    assert_eq!(get("direct_sign_in"), "social:github");
    assert_eq!(get("login_hint"), "alice@example.com");
    assert_eq!(get("organization_id"), ORG_ACME);
    assert_eq!(get("ui_locales"), "fr");
}

#[tokio::test]
async fn a_full_sign_in_stores_a_verified_session() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    assert!(!client.is_authenticated().await.unwrap());
    sign_in(&idp, &client, ALICE).await.unwrap();

    assert!(client.is_authenticated().await.unwrap());
    assert!(client.get_refresh_token().await.unwrap().is_some());
    assert_eq!(client.get_id_token().await.unwrap().split('.').count(), 3);
    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.sub, ALICE_SUB);
    assert_eq!(claims.iss, idp.issuer());
    assert_eq!(claims.aud, ["web-app"]);
    assert_eq!(claims.username.as_deref(), Some("alice"));
    assert!(claims.email.is_some() && claims.email_verified.copied() == Some(true));
    assert!(claims.phone_number.is_some());
    assert!(
        claims.created_at.copied().unwrap() > 1_000_000_000_000,
        "milliseconds"
    );
    assert_eq!(claims.roles.as_deref(), Some(&["admin".to_owned()][..]));
    assert!(
        claims
            .organizations
            .as_deref()
            .unwrap()
            .contains(&ORG_ACME.to_owned())
    );
    assert!(
        claims
            .organization_roles
            .as_deref()
            .unwrap()
            .contains(&"org-acme:admin".to_owned())
    );
    // Userinfo-only claims are not in the ID token.
    assert!(claims.custom_data.is_absent() && !claims.extra.contains_key("custom_data"));
}

#[tokio::test]
async fn fetch_user_info_has_the_userinfo_only_claims() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let info = client.fetch_user_info().await.unwrap();
    assert_eq!(info.sub, ALICE_SUB);
    assert_eq!(info.custom_data.as_ref().unwrap()["plan"], "pro");
    let identities = info.identities.as_ref().unwrap();
    assert_eq!(identities["github"].user_id, "gh-1");
    let sso = info.sso_identities.as_deref().unwrap();
    assert_eq!(
        (sso[0].issuer.as_str(), sso[0].identity_id.as_str()),
        ("https://sso.example.com", "sso-1")
    );
    let orgs = info.organization_data.as_deref().unwrap();
    assert!(orgs.iter().any(|o| o.id == ORG_ACME && o.name == "Acme"));
    assert_eq!(idp.stats().await.userinfo, 1);
}

#[tokio::test]
async fn a_public_client_signs_in_without_a_secret() {
    let idp = TestIdp::start().await;
    let config = LogtoConfig::builder(format!("{}/", idp.endpoint()), PUBLIC_APP_ID)
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&idp, &client, support::BOB).await.unwrap();
    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.aud, [PUBLIC_APP_ID]);
    // The refresh path works for a public client too.
    client.clear_access_token().await.unwrap();
    client.fetch_user_info().await.unwrap();
}

#[tokio::test]
async fn every_signing_algorithm_logto_uses_verifies() {
    for alg in ["ES256", "ES512", "RS256", "PS256", "EdDSA"] {
        let idp = TestIdp::start_with(serde_json::json!({ "signing_alg": alg })).await;
        let client = client(&idp);
        sign_in(&idp, &client, ALICE)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let token = client.get_id_token().await.unwrap();
        let header: Value =
            serde_json::from_slice(&base64_url_decode(token.split('.').next().unwrap())).unwrap();
        assert_eq!(header["alg"], alg);
    }
}

#[tokio::test]
async fn clients_from_one_config_share_discovery_and_keys() {
    let idp = TestIdp::start().await;
    let config = builder(&idp).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    for _ in 0..3 {
        let client = LogtoClient::new(config.clone(), MemoryStorage::new());
        sign_in(&idp, &client, ALICE).await.unwrap();
    }
    let stats = idp.stats().await;
    assert_eq!(stats.discovery, 1);
    assert_eq!(stats.jwks, 1);
}

#[tokio::test]
async fn two_clients_never_share_a_session() {
    let idp = TestIdp::start().await;
    let config = builder(&idp).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let alice = LogtoClient::new(config.clone(), MemoryStorage::new());
    let bob = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&idp, &alice, ALICE).await.unwrap();
    assert!(!bob.is_authenticated().await.unwrap());
    sign_in(&idp, &bob, BOB).await.unwrap();
    assert_eq!(alice.get_id_token_claims().await.unwrap().sub, ALICE_SUB);
    assert_ne!(bob.get_id_token_claims().await.unwrap().sub, ALICE_SUB);
}

fn base64_url_decode(segment: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap()
}

#[tokio::test]
async fn userinfo_about_another_user_is_refused() {
    let idp = TestIdp::start().await;
    let alice = signed_in(&idp).await;
    let bob = client(&idp);
    sign_in(&idp, &bob, BOB).await.unwrap();
    let bobs_token = bob.get_opaque_access_token().await.unwrap();

    // Alice's session somehow holds Bob's userinfo token.
    let mut stored = stored_session(alice.storage()).await;
    stored["access_tokens"][""]["token"] = Value::String(bobs_token);
    store_session(alice.storage(), &stored).await;
    let err = alice.fetch_user_info().await.unwrap_err();
    assert!(
        matches!(err, logto::LogtoError::UserInfoSubjectMismatch),
        "{err}"
    );
}

#[tokio::test]
async fn prompt_login_and_lists_reach_logto() {
    let idp = TestIdp::start().await;
    let config = builder(&idp)
        .prompt([logto::Prompt::Login, logto::Prompt::Consent])
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&idp, &client, ALICE).await.unwrap();
    assert_eq!(
        idp.last_authorization_request().await["prompt"],
        "login consent"
    );
    assert!(client.get_refresh_token().await.unwrap().is_some());
}
