//! Sign-in through Logto's connectors against the real Logto (testing/logto): an OAuth 2.0 social
//! connector (Logto's `oauth2` connector, with a `profileMap` for an upstream whose profile uses
//! its own field names) and an OIDC enterprise SSO connector, the upstreams being the project's
//! test IdP (testing/idp). Each test provisions its own app, connectors and upstream users;
//! production defaults throughout (the sign-in experience only gains the test's connector).

use logto::{
    DirectSignIn, LogtoClient, LogtoConfig, LogtoHandle, MemoryStorage, SignInOptions,
    UserInfoScope,
};
use logto_test_support::logto::{
    AtUpstream, ConnectorSignIn, SocialUpstream, SsoUpstream, UPSTREAM_PASSWORD, UpstreamUser,
};
use logto_test_support::{App, AppKind, RealLogto, TestIdp};
use serde_json::{Value, json};

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/";

/// 10 random hex characters.
fn tag(logto: &RealLogto) -> String {
    logto.unique("t")[2..12].to_owned()
}

async fn social(
    logto: &RealLogto,
    auth_method: &str,
    client_secret_in_logto: &str,
) -> SocialUpstream {
    let user = UpstreamUser::new("carol", &tag(logto), "social.example");
    logto
        .social_upstream(user, auth_method, client_secret_in_logto)
        .await
}

async fn sso(logto: &RealLogto, client_secret_in_logto: &str) -> SsoUpstream {
    let domain = format!("corp-{}.example", tag(logto));
    let user = UpstreamUser::new("dave", &tag(logto), &domain);
    logto
        .sso_upstream(user, &domain, client_secret_in_logto)
        .await
}

async fn app(logto: &RealLogto) -> App {
    logto
        .create_app(AppKind::Traditional, &[REDIRECT_URI], &[POST_LOGOUT_URI])
        .await
}

fn client(logto: &RealLogto, app: &App) -> LogtoClient {
    let config = LogtoConfig::builder(logto.endpoint(), &app.id)
        .app_secret(app.secret.as_deref().unwrap())
        .scopes([UserInfoScope::Email, UserInfoScope::Identities])
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    LogtoClient::new(config, MemoryStorage::new())
}

/// Signs `client` in through the connector `options` name, signing in at the upstream.
async fn sign_in_through(
    logto: &RealLogto,
    client: &LogtoClient,
    options: SignInOptions,
    upstream: &TestIdp,
    user: &UpstreamUser,
) {
    let url = client.sign_in_with(options).await.unwrap();
    let callback = logto
        .browser()
        .sign_in_with_connector(
            &url,
            AtUpstream::SignIn(&upstream.browser(), &user.username, UPSTREAM_PASSWORD),
        )
        .await
        .callback();
    client.handle_sign_in_callback(&callback).await.unwrap();
}

fn direct(how: DirectSignIn) -> SignInOptions {
    SignInOptions::new(REDIRECT_URI).direct_sign_in(how)
}

#[tokio::test]
async fn social_sign_in_maps_the_upstream_profile_and_finds_the_same_user_again() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let social = social(&logto, "client_secret_post", "social-secret").await;
    let app = app(&logto).await;
    let client = client(&logto, &app);
    let options = || direct(DirectSignIn::social(&social.connector.target));
    sign_in_through(&logto, &client, options(), &social.idp, &social.user).await;

    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.name.as_deref(), Some(social.user.name.as_str()));
    assert_eq!(claims.email.as_deref(), Some(social.user.email.as_str()));
    assert_eq!(
        claims.picture.as_deref(),
        Some(social.user.picture.as_str())
    );
    let info = client.fetch_user_info().await.unwrap();
    eprintln!("userinfo: {}", serde_json::to_string(&info).unwrap());
    assert_eq!(info.sub, claims.sub);
    let identity = &info.identities.as_ref().unwrap()[&social.connector.target];
    assert_eq!(identity.user_id, social.user.id);
    let details = identity.details.as_ref().unwrap();
    assert_eq!(details["id"], json!(social.user.id));
    assert_eq!(details["email"], json!(social.user.email));
    assert_eq!(details["name"], json!(social.user.name));
    assert_eq!(details["avatar"], json!(social.user.picture));
    // The upstream's own profile, as it sent it.
    assert_eq!(details["rawData"]["uid"], json!(social.user.id));
    assert_eq!(details["rawData"]["mail"], json!(social.user.email));

    // Again, with a new Logto session: the same Logto user.
    let again = self::client(&logto, &app);
    sign_in_through(&logto, &again, options(), &social.idp, &social.user).await;
    assert_eq!(again.get_id_token_claims().await.unwrap().sub, claims.sub);
}

/// Every `tokenEndpointAuthMethod` Logto's OAuth 2.0 connector offers
/// (`connector-oauth2/src/oauth2/types.ts`): the upstream client is registered with that method.
#[tokio::test]
async fn social_sign_in_with_each_token_endpoint_auth_method() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let app = app(&logto).await;
    for method in [
        "client_secret_post",
        "client_secret_basic",
        "client_secret_jwt",
    ] {
        let social = social(&logto, method, "social-secret").await;
        let client = client(&logto, &app);
        let options = direct(DirectSignIn::social(&social.connector.target));
        sign_in_through(&logto, &client, options, &social.idp, &social.user).await;
        let info = client.fetch_user_info().await.unwrap();
        let identity = &info.identities.as_ref().unwrap()[&social.connector.target];
        assert_eq!(identity.user_id, social.user.id, "{method}");
        let token_requests = social.idp.stats().await.authorization_code_grants;
        assert_eq!(token_requests, 1, "{method}");
    }
}

#[tokio::test]
async fn sso_sign_in_directly_and_by_a_company_login_hint() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let sso = sso(&logto, "sso-secret").await;
    let app = app(&logto).await;
    let client = client(&logto, &app);
    sign_in_through(
        &logto,
        &client,
        direct(DirectSignIn::sso(&sso.connector_id)),
        &sso.idp,
        &sso.user,
    )
    .await;
    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.name.as_deref(), Some(sso.user.name.as_str()));
    assert_eq!(claims.email.as_deref(), Some(sso.user.email.as_str()));
    assert_eq!(claims.picture.as_deref(), Some(sso.user.picture.as_str()));
    let info = client.fetch_user_info().await.unwrap();
    eprintln!("userinfo: {}", serde_json::to_string(&info).unwrap());
    let identities = info.sso_identities.as_deref().unwrap();
    assert_eq!(identities.len(), 1, "{identities:?}");
    assert_eq!(identities[0].issuer, sso.idp.issuer());
    assert_eq!(identities[0].identity_id, sso.user.id);
    assert_eq!(identities[0].detail["email"], json!(sso.user.email));
    assert_eq!(identities[0].detail["name"], json!(sso.user.name));
    assert!(identities[0].extra.is_empty(), "{:?}", identities[0].extra);
    assert!(info.identities.as_ref().unwrap().is_empty());

    // The company address alone routes to the connector; the same Logto user.
    let again = self::client(&logto, &app);
    let hint = SignInOptions::new(REDIRECT_URI).login_hint(sso.user.email.as_str());
    sign_in_through(&logto, &again, hint, &sso.idp, &sso.user).await;
    assert_eq!(again.get_id_token_claims().await.unwrap().sub, claims.sub);
}

/// What Logto 1.37.1 does with an upstream failure: the connector's `verify` fails, and its sign-in
/// page shows the message and stays on Logto (`use-social-sign-in-listener.ts`,
/// `use-single-sign-on-listener.ts`): nothing comes back to the app's callback. The client has
/// nothing stored, and a sign-in afterwards works.
#[tokio::test]
async fn upstream_cancel_and_bad_client_secret_leave_nothing_and_a_sign_in_works_after() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let app = app(&logto).await;

    // The user cancels at the social upstream.
    let social = social(&logto, "client_secret_post", "social-secret").await;
    let client = client(&logto, &app);
    let options = || direct(DirectSignIn::social(&social.connector.target));
    let url = client.sign_in_with(options()).await.unwrap();
    let outcome = logto
        .browser()
        .sign_in_with_connector(&url, AtUpstream::Cancel)
        .await;
    eprintln!("cancel: {outcome:?}");
    let ConnectorSignIn::Failed { status, body, .. } = outcome else {
        panic!("{outcome:?}");
    };
    // Logto's OAuth 2.0 connector gets the upstream's `error` where it expects a `code`.
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "connector.general", "{body}");
    assert_eq!(body["data"]["error"], "oidc.aborted", "{body}");
    assert!(!client.is_authenticated().await.unwrap());
    sign_in_through(&logto, &client, options(), &social.idp, &social.user).await;
    assert!(client.is_authenticated().await.unwrap());

    // A wrong client secret in Logto's social connector: the upstream refuses the code exchange.
    let bad = self::social(&logto, "client_secret_post", "wrong-secret").await;
    let client = self::client(&logto, &app);
    let url = client
        .sign_in_with(direct(DirectSignIn::social(&bad.connector.target)))
        .await
        .unwrap();
    let outcome = logto
        .browser()
        .sign_in_with_connector(
            &url,
            AtUpstream::SignIn(&bad.idp.browser(), &bad.user.username, UPSTREAM_PASSWORD),
        )
        .await;
    eprintln!("bad social secret: {outcome:?}");
    let ConnectorSignIn::Failed { status, body, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("connector.general")),
        "{body}"
    );
    assert!(!client.is_authenticated().await.unwrap());

    // A wrong client secret in the SSO connector.
    let bad_sso = sso(&logto, "wrong-secret").await;
    let url = client
        .sign_in_with(direct(DirectSignIn::sso(&bad_sso.connector_id)))
        .await
        .unwrap();
    let outcome = logto
        .browser()
        .sign_in_with_connector(
            &url,
            AtUpstream::SignIn(
                &bad_sso.idp.browser(),
                &bad_sso.user.username,
                UPSTREAM_PASSWORD,
            ),
        )
        .await;
    eprintln!("bad SSO secret: {outcome:?}");
    let ConnectorSignIn::Failed { status, body, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        (status, &body["code"]),
        (500, &json!("connector.authorization_failed")),
        "{body}"
    );
    assert!(
        body["data"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid_client")),
        "{body}"
    );
    assert!(!client.is_authenticated().await.unwrap());

    // The same client signs in afterwards (a password user of Logto).
    let user = logto.create_user("erin", Value::Null).await;
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = logto.sign_in(&url, &user).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    assert_eq!(client.get_id_token_claims().await.unwrap().sub, user.id);
}
