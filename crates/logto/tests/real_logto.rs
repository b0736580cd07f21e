//! The whole client against the real Logto (testing/logto): sign-in options, callback, the claims
//! of every scope, userinfo with social and SSO identities, API resource and organization tokens,
//! refresh with and without rotation, public clients, sign-out with revocation, and a grant
//! revoked in Logto. Each test provisions its own apps and users; production defaults throughout.

mod support;

use std::collections::HashMap;

use logto::{
    DirectSignIn, FirstScreen, Identifier, InteractionMode, LogtoClient, LogtoConfig,
    LogtoConfigBuilder, LogtoError, LogtoHandle, MemoryStorage, SignInOptions, Storage,
    UserInfoScope,
};
use logto_test_support::{App, RealLogto, User, World};
use serde_json::{Value, json};
use support::EVERY_USER_INFO_SCOPE;
use url::Url;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/";

/// The real Logto and a fresh world in it; `None` when the real-Logto tier is skipped.
async fn world() -> Option<(RealLogto, World)> {
    let logto = RealLogto::connect().await?;
    let world = logto.world(REDIRECT_URI, POST_LOGOUT_URI).await;
    Some((logto, world))
}

/// Every user-info scope, both APIs and their scopes, the organization scopes.
fn builder(logto: &RealLogto, world: &World, app: &App) -> LogtoConfigBuilder {
    let mut builder = LogtoConfig::builder(logto.endpoint(), &app.id)
        .scopes(EVERY_USER_INFO_SCOPE)
        .scopes([
            "shopping:read",
            "shopping:write",
            "store:read",
            "read:projects",
            "write:projects",
        ])
        .resources([&world.shopping.indicator, &world.store.indicator]);
    if let Some(secret) = &app.secret {
        builder = builder.app_secret(secret);
    }
    builder
}

fn client(logto: &RealLogto, world: &World) -> LogtoClient {
    LogtoClient::new(
        LogtoHandle::new(builder(logto, world, &world.web_app).build().unwrap()).unwrap(),
        MemoryStorage::new(),
    )
}

async fn sign_in<S: Storage>(logto: &RealLogto, client: &LogtoClient<S>, user: &User) {
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = logto.sign_in(&url, user).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
}

/// The refresh-token grant as Logto sees it: the answer to a refresh with this token.
async fn refresh_directly(logto: &RealLogto, app: &App, refresh_token: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(logto.url("/oidc/token"));
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    match &app.secret {
        Some(secret) => request = request.basic_auth(&app.id, Some(secret)),
        None => form.push(("client_id", &app.id)),
    }
    let response = request.form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn sign_in_gives_the_claims_of_every_scope() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    sign_in(&logto, &client, &world.alice).await;
    assert!(client.is_authenticated().await.unwrap());

    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.iss, logto.issuer());
    assert_eq!(claims.sub, world.alice.id);
    assert_eq!(claims.aud, std::slice::from_ref(&world.web_app.id));
    assert_eq!(claims.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(
        claims.username.as_deref(),
        Some(world.alice.username.as_str())
    );
    assert_eq!(
        claims.picture.as_deref(),
        Some("https://example.com/alice.png")
    );
    assert!(
        claims.created_at.copied().unwrap() > 1_600_000_000_000,
        "milliseconds"
    );
    assert_eq!(claims.email.as_deref(), Some(world.alice_email.as_str()));
    assert_eq!(claims.email_verified.copied(), Some(true));
    assert!(claims.phone_number.as_deref().unwrap().starts_with("1555"));
    let roles = claims.roles.as_deref().unwrap();
    assert!(roles.contains(&world.shopping_role) && roles.contains(&world.store_role));
    let organizations = claims.organizations.as_deref().unwrap();
    assert!(organizations.contains(&world.acme) && organizations.contains(&world.globex));
    let organization_roles = claims.organization_roles.as_deref().unwrap();
    assert!(organization_roles.contains(&format!("{}:{}", world.acme, world.admin_role)));
    assert!(organization_roles.contains(&format!("{}:{}", world.globex, world.member_role)));
    // Standard profile claims Logto sends only when set.
    assert_eq!(claims.extra["given_name"], "Alice");
    assert_eq!(claims.extra["locale"], "en-GB");
    // Userinfo-only claims are not in the ID token.
    let dump = serde_json::to_value(&claims).unwrap();
    for userinfo_only in [
        "custom_data",
        "identities",
        "sso_identities",
        "organization_data",
    ] {
        assert!(
            dump.get(userinfo_only).is_none(),
            "{userinfo_only} in {dump}"
        );
    }
}

/// Users who sign in through an enterprise SSO connector have an SSO identity: userinfo must read
/// Logto's shape of it.
#[tokio::test]
async fn userinfo_has_custom_data_identities_sso_identities_and_organizations() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    sign_in(&logto, &client, &world.alice).await;

    let info = client.fetch_user_info().await.unwrap();
    assert_eq!(info.sub, world.alice.id);
    assert_eq!(info.custom_data.as_ref().unwrap()["plan"], "pro");
    let github = &info.identities.as_ref().unwrap()["github"];
    assert!(github.user_id.starts_with("gh-"));
    assert_eq!(
        github.details.as_ref().unwrap()["rawData"]["login"],
        "alice"
    );
    let sso = info.sso_identities.as_deref().unwrap();
    assert_eq!(sso.len(), 1);
    assert_eq!(sso[0].issuer, world.sso_issuer);
    assert!(sso[0].identity_id.starts_with("sso-"));
    assert_eq!(sso[0].detail["email"], json!(world.alice_email));
    let organizations = info.organization_data.as_deref().unwrap();
    assert_eq!(organizations.len(), 2);
    assert!(
        organizations
            .iter()
            .any(|o| o.id == world.acme && o.name.starts_with("Acme"))
    );
    assert_eq!(
        info.address.as_ref().unwrap().locality.as_deref(),
        Some("Oxford")
    );

    // Serialized back, userinfo is exactly what Logto sent.
    let raw: Value = reqwest::Client::new()
        .get(logto.url("/oidc/me"))
        .bearer_auth(client.get_opaque_access_token().await.unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(&info).unwrap(), raw);
}

/// Logto's Python SDK tutorial: a requested claim the user lacks is `null` in the dump; an
/// unrequested one is absent.
#[tokio::test]
async fn the_json_dump_keeps_null_and_absent_claims_apart() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let config = LogtoConfig::builder(logto.endpoint(), &world.web_app.id)
        .app_secret(world.web_app.secret.as_ref().unwrap())
        .scopes([UserInfoScope::Email, UserInfoScope::CustomData])
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&logto, &client, &world.bob).await;

    let claims = serde_json::to_value(client.get_id_token_claims().await.unwrap()).unwrap();
    assert_eq!(
        claims["email"],
        Value::Null,
        "requested, bob has none: {claims}"
    );
    assert!(claims.as_object().unwrap().contains_key("email"));
    assert_eq!(
        claims["name"],
        Value::Null,
        "profile is always requested: {claims}"
    );
    assert!(
        claims.get("phone_number").is_none(),
        "not requested: {claims}"
    );
    assert!(claims.get("roles").is_none(), "not requested: {claims}");

    let info = serde_json::to_value(client.fetch_user_info().await.unwrap()).unwrap();
    assert!(info.as_object().unwrap().contains_key("email"), "{info}");
    assert!(info.get("identities").is_none(), "{info}");
    assert!(info.get("organization_data").is_none(), "{info}");
}

#[tokio::test]
async fn sign_in_options_reach_logtos_sign_in_pages() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    let page = |options: SignInOptions| {
        let client = &client;
        let logto = &logto;
        async move {
            let url = client.sign_in_with(options).await.unwrap();
            logto.browser().first_page(&url).await
        }
    };

    let default = page(SignInOptions::new(REDIRECT_URI)).await;
    assert_eq!(default.path(), "/sign-in");
    let register =
        page(SignInOptions::new(REDIRECT_URI).interaction_mode(InteractionMode::SignUp)).await;
    assert_eq!(register.path(), "/register");
    let identifier = page(
        SignInOptions::new(REDIRECT_URI)
            .first_screen(FirstScreen::IdentifierSignIn)
            .identifiers([Identifier::Username, Identifier::Email])
            .login_hint(world.alice_email.as_str()),
    )
    .await;
    assert_eq!(identifier.path(), "/identifier-sign-in");
    let params = query(identifier.as_str());
    assert_eq!(params["identifier"], "username email");
    assert_eq!(params["login_hint"], world.alice_email);
    let social =
        page(SignInOptions::new(REDIRECT_URI).direct_sign_in(DirectSignIn::social("github"))).await;
    assert_eq!(social.path(), "/direct/social/github");
    let sso = page(
        SignInOptions::new(REDIRECT_URI).direct_sign_in(DirectSignIn::sso(&world.sso_connector_id)),
    )
    .await;
    assert_eq!(
        sso.path(),
        format!("/direct/sso/{}", world.sso_connector_id)
    );
    let sso_screen =
        page(SignInOptions::new(REDIRECT_URI).first_screen(FirstScreen::SingleSignOn)).await;
    assert_eq!(sso_screen.path(), "/single-sign-on");
}

#[tokio::test]
async fn api_resource_organization_and_organization_level_tokens() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    sign_in(&logto, &client, &world.alice).await;

    let shopping = client
        .get_access_token_claims(&world.shopping.indicator)
        .await
        .unwrap();
    assert_eq!(
        shopping.aud,
        std::slice::from_ref(&world.shopping.indicator)
    );
    assert_eq!(shopping.sub, world.alice.id);
    assert_eq!(
        shopping.client_id.as_deref(),
        Some(world.web_app.id.as_str())
    );
    let mut scopes: Vec<&str> = shopping.scopes().collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["shopping:read", "shopping:write"]);
    let store = client
        .get_access_token_claims(&world.store.indicator)
        .await
        .unwrap();
    assert_eq!(store.scopes().collect::<Vec<_>>(), ["store:read"]);

    let organization = client
        .get_organization_token_claims(&world.acme)
        .await
        .unwrap();
    assert_eq!(
        organization.aud,
        [format!("urn:logto:organization:{}", world.acme)]
    );
    let mut scopes: Vec<&str> = organization.scopes().collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["read:projects", "write:projects"]);
    let member = client
        .get_organization_token_claims(&world.globex)
        .await
        .unwrap();
    assert_eq!(member.scopes().collect::<Vec<_>>(), ["read:projects"]);

    let token = client
        .get_access_token_for_organization(&world.shopping.indicator, &world.acme)
        .await
        .unwrap();
    let claims = logto::AccessTokenClaims::decode_unverified(&token).unwrap();
    assert_eq!(claims.aud, std::slice::from_ref(&world.shopping.indicator));
    assert_eq!(claims.organization_id.as_deref(), Some(world.acme.as_str()));
    // Logto grants the organization role's API scopes (admin: shopping:read) and, besides them,
    // those of the user's own roles (packages/core/src/libraries/user.ts).
    let mut scopes: Vec<&str> = claims.scopes().collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["shopping:read", "shopping:write"]);
    let bob = LogtoClient::new(
        LogtoHandle::new(builder(&logto, &world, &world.web_app).build().unwrap()).unwrap(),
        MemoryStorage::new(),
    );
    sign_in(&logto, &bob, &world.bob).await;
    assert!(matches!(
        bob.get_access_token_for_organization(&world.shopping.indicator, &world.acme)
            .await
            .unwrap_err(),
        LogtoError::OrganizationAccessDenied { .. }
    ));

    // Not a member: Logto refuses, and the session goes on.
    let stranger = logto.create_organization(&logto.unique("Initech")).await;
    assert!(matches!(
        client.get_organization_token(&stranger).await.unwrap_err(),
        LogtoError::OrganizationAccessDenied { .. }
    ));
    assert!(
        client
            .get_access_token(&world.store.indicator)
            .await
            .is_ok()
    );
    client.clear_access_token().await.unwrap();
    assert!(
        client
            .get_access_token(&world.store.indicator)
            .await
            .is_ok()
    );
}

/// A traditional web app gets the same refresh token back; `clear_access_token` must still make
/// the next call ask Logto for a new access token.
#[tokio::test]
async fn clear_access_token_asks_logto_again_when_the_refresh_token_does_not_rotate() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    sign_in(&logto, &client, &world.alice).await;
    let refresh_token = client.get_refresh_token().await.unwrap().unwrap();

    let first = client
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    assert_eq!(
        client.get_refresh_token().await.unwrap().unwrap(),
        refresh_token,
        "Logto keeps a traditional app's refresh token"
    );
    client.clear_access_token().await.unwrap();
    let second = client
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    assert_ne!(first, second, "a new token from Logto, not the cleared one");
    client.clear_access_token().await.unwrap();
    let third = client
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    assert_ne!(second, third);
}

/// The same with two processes (two configs) over one session store: one clears, the other must
/// not hand out the cleared token from its memory of its own last refresh.
#[tokio::test]
async fn clear_access_token_in_another_process_asks_logto_again() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let store = std::sync::Arc::new(MemoryStorage::new());
    let process = || {
        LogtoClient::new(
            LogtoHandle::new(builder(&logto, &world, &world.web_app).build().unwrap()).unwrap(),
            store.clone(),
        )
    };
    let (one, two) = (process(), process());
    sign_in(&logto, &one, &world.alice).await;

    let first = one
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    two.clear_access_token().await.unwrap();
    let second = one
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    assert_ne!(first, second, "a new token from Logto, not the cleared one");
    assert_eq!(
        two.get_access_token(&world.shopping.indicator)
            .await
            .unwrap(),
        second
    );
}

/// A public client (SPA) has no secret and gets a new refresh token on every refresh.
#[tokio::test]
async fn a_public_client_signs_in_and_follows_refresh_token_rotation() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let config = builder(&logto, &world, &world.spa).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    assert!(!config.config().is_confidential());
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&logto, &client, &world.bob).await;
    let first_refresh_token = client.get_refresh_token().await.unwrap().unwrap();

    let shopping = client
        .get_access_token_claims(&world.shopping.indicator)
        .await
        .unwrap();
    assert_eq!(shopping.scopes().collect::<Vec<_>>(), ["shopping:read"]);
    let second_refresh_token = client.get_refresh_token().await.unwrap().unwrap();
    assert_ne!(first_refresh_token, second_refresh_token, "rotated");

    client.clear_access_token().await.unwrap();
    client
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    assert_ne!(
        client.get_refresh_token().await.unwrap().unwrap(),
        second_refresh_token
    );
    // The ID token from each refresh was verified and kept.
    assert_eq!(
        client.get_id_token_claims().await.unwrap().sub,
        world.bob.id
    );
}

/// Logto spends the refresh token before refusing a resource it was not asked for at sign-in: the
/// client refuses such calls itself, and the session lives on.
#[tokio::test]
async fn a_resource_outside_the_config_is_refused_locally_and_the_session_survives() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let other = logto
        .create_api_resource(
            &format!("https://{}.example.com/api", logto.unique("other")),
            &["x:read"],
            None,
        )
        .await;
    // The SPA is where Logto would spend the refresh token: it rotates on every use.
    for app in [&world.web_app, &world.spa] {
        let client = LogtoClient::new(
            LogtoHandle::new(builder(&logto, &world, app).build().unwrap()).unwrap(),
            MemoryStorage::new(),
        );
        sign_in(&logto, &client, &world.alice).await;

        let error = client.get_access_token(&other.indicator).await.unwrap_err();
        assert!(
            matches!(error, LogtoError::ResourceNotConfigured { .. }),
            "{error}"
        );
        let error = client
            .get_access_token_for_organization(&other.indicator, &world.acme)
            .await
            .unwrap_err();
        assert!(
            matches!(error, LogtoError::ResourceNotConfigured { .. }),
            "{error}"
        );

        // Twice, so that a spent refresh token would show.
        for _ in 0..2 {
            client.clear_access_token().await.unwrap();
            client
                .get_access_token(&world.shopping.indicator)
                .await
                .unwrap();
        }
        assert!(client.is_authenticated().await.unwrap());
    }
}

#[tokio::test]
async fn a_grant_revoked_in_logto_ends_the_session() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    sign_in(&logto, &client, &world.alice).await;
    client
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();

    logto.revoke_user_grants(&world.alice.id).await;
    let error = client
        .get_access_token(&world.store.indicator)
        .await
        .unwrap_err();
    assert!(matches!(error, LogtoError::SessionExpired), "{error}");
    assert!(error.needs_sign_in());
    assert!(!client.is_authenticated().await.unwrap());

    // Logto also revokes the cached userinfo token with the grant: the client refreshes and
    // learns that the grant is gone, rather than failing on Logto's 401.
    sign_in(&logto, &client, &world.alice).await;
    client.fetch_user_info().await.unwrap();
    logto.revoke_user_grants(&world.alice.id).await;
    let error = client.fetch_user_info().await.unwrap_err();
    assert!(matches!(error, LogtoError::SessionExpired), "{error}");
    assert!(!client.is_authenticated().await.unwrap());
}

#[tokio::test]
async fn sign_out_revokes_the_refresh_token_and_ends_the_logto_session() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    let browser = logto.browser();
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = browser.sign_in(&url, &world.alice).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    let refresh_token = client.get_refresh_token().await.unwrap().unwrap();

    let end_session = client.sign_out(Some(POST_LOGOUT_URI)).await.unwrap();
    assert!(!client.is_authenticated().await.unwrap());
    let (status, body) = refresh_directly(&logto, &world.web_app, &refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // Logto ends its own session and sends the user back.
    let back = browser.visit(&end_session).await;
    assert_eq!(back, POST_LOGOUT_URI);
    // The next sign-in in that browser asks for the password again.
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    assert_eq!(browser.first_page(&url).await.path(), "/sign-in");
}

#[tokio::test]
async fn callback_errors_are_typed_and_a_new_sign_in_works() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = logto.sign_in(&url, &world.alice).await;
    let params = query(&callback);

    // A forged state.
    let forged = callback.replace(&format!("state={}", params["state"]), "state=forged");
    assert!(matches!(
        client.handle_sign_in_callback(&forged).await.unwrap_err(),
        LogtoError::StateMismatch
    ));
    // The pending sign-in was not used up by the forgery.
    client.handle_sign_in_callback(&callback).await.unwrap();
    // A replayed callback finds no pending sign-in.
    assert!(matches!(
        client.handle_sign_in_callback(&callback).await.unwrap_err(),
        LogtoError::SignInSessionMissing
    ));
    assert!(client.is_authenticated().await.unwrap());
}

/// `max_age` reaches Logto, which then puts `auth_time` in the ID token; the client checks it.
#[tokio::test]
async fn max_age_makes_logto_send_auth_time_and_a_fresh_sign_in_passes() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    let url = client
        .sign_in_with(SignInOptions::new(REDIRECT_URI).extra_param("max_age", "300"))
        .await
        .unwrap();
    assert_eq!(query(&url)["max_age"], "300");
    let callback = logto.sign_in(&url, &world.alice).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    let claims = client.get_id_token_claims().await.unwrap();
    let auth_time = claims.extra["auth_time"].as_u64().expect("auth_time");
    assert!(auth_time <= claims.iat && claims.iat - auth_time < 300);
}

/// Two tabs start a sign-in each and Logto answers them in the other order: both complete, each
/// with the code and PKCE verifier of its own sign-in (Logto refuses a mismatched verifier).
#[tokio::test]
async fn sign_ins_started_in_two_tabs_complete_in_any_order() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let client = client(&logto, &world);
    let first_tab = client.sign_in(REDIRECT_URI).await.unwrap();
    let second_tab = client.sign_in(REDIRECT_URI).await.unwrap();
    let second_callback = logto.sign_in(&second_tab, &world.bob).await;
    let first_callback = logto.sign_in(&first_tab, &world.alice).await;

    client
        .handle_sign_in_callback(&first_callback)
        .await
        .unwrap();
    assert_eq!(
        client.get_id_token_claims().await.unwrap().sub,
        world.alice.id
    );
    client
        .handle_sign_in_callback(&second_callback)
        .await
        .unwrap();
    assert_eq!(
        client.get_id_token_claims().await.unwrap().sub,
        world.bob.id
    );
    assert!(matches!(
        client
            .handle_sign_in_callback(&first_callback)
            .await
            .unwrap_err(),
        LogtoError::SignInSessionMissing
    ));
}

/// Logto rotates its signing key right after a sign-in: the callback of a sign-in started before,
/// and the refreshes after, verify against the new key (refetched, whatever the flood guard says).
#[tokio::test]
async fn a_signing_key_rotation_right_after_sign_in_keeps_users_signed_in() {
    let Some(logto) = RealLogto::start_dedicated().await else {
        return;
    };
    let world = logto.world(REDIRECT_URI, POST_LOGOUT_URI).await;
    let config = builder(&logto, &world, &world.web_app).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let signed_in = LogtoClient::new(config.clone(), MemoryStorage::new());
    sign_in(&logto, &signed_in, &world.alice).await; // the keys are fetched now

    // A second user is on Logto's sign-in page when the key rotates.
    let pending = LogtoClient::new(config.clone(), MemoryStorage::new());
    let url = pending.sign_in(REDIRECT_URI).await.unwrap();
    logto.rotate_signing_keys().await;
    let callback = logto.sign_in(&url, &world.bob).await;
    pending.handle_sign_in_callback(&callback).await.unwrap();
    assert_eq!(
        pending.get_id_token_claims().await.unwrap().sub,
        world.bob.id
    );

    // The refresh brings an ID token signed with the new key: the session stays.
    signed_in
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    assert!(signed_in.is_authenticated().await.unwrap());
    let header = signed_in.get_id_token().await.unwrap();
    assert!(header.split('.').count() == 3);
    signed_in.clear_access_token().await.unwrap();
    signed_in
        .get_access_token(&world.store.indicator)
        .await
        .unwrap();
    assert_eq!(
        signed_in.get_id_token_claims().await.unwrap().sub,
        world.alice.id
    );
}
