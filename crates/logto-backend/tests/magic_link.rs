//! Magic links against the real Logto: a backend issues a one-time token through the Management
//! API, the web app puts it in the sign-in URL (`logto::SignInOptions::one_time_token` with
//! `login_hint`), and the user signs in through Logto's one-time-token page without a password.

use logto::{LogtoClient, LogtoConfig, MemoryStorage, SignInOptions, UserInfoScope};
use logto_backend::{Management, NewOneTimeToken, NewUser};
use logto_test_support::RealLogto;
use logto_test_support::logto::backend::MagicLinkSignIn;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

#[tokio::test]
async fn a_user_signs_in_with_a_one_time_token_issued_by_the_backend() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (id, secret) = logto.management_app();
    let management = Management::new(logto.endpoint(), id, secret).unwrap();
    let email = format!("{}@example.com", logto.unique("magic"));
    let user = management
        .create_user(
            &NewUser::new()
                .username(logto.unique("magic").replace('-', "_"))
                .password(format!("{}-Aa1!", logto.unique("pw")))
                .primary_email(&email),
        )
        .await
        .unwrap();

    // The backend issues the token (and would email the link).
    let one_time = management
        .create_one_time_token(&NewOneTimeToken::new(&email))
        .await
        .unwrap();

    // The web app's sign-in URL carries it.
    let app = logto
        .create_app(
            logto_test_support::AppKind::Traditional,
            &[REDIRECT_URI],
            &[],
        )
        .await;
    let config = LogtoConfig::builder(logto.endpoint(), &app.id)
        .app_secret(app.secret.clone().unwrap())
        .scopes([UserInfoScope::Email])
        .build()
        .unwrap();
    let client = LogtoClient::new(
        logto::LogtoHandle::new(config.clone()).unwrap(),
        MemoryStorage::new(),
    );
    let url = client
        .sign_in_with(
            SignInOptions::new(REDIRECT_URI)
                .one_time_token(one_time.token.expose())
                .login_hint(&email),
        )
        .await
        .unwrap();
    let MagicLinkSignIn::Redirected(callback) = logto.browser().sign_in_with_magic_link(&url).await
    else {
        panic!("the magic link was refused");
    };
    client.handle_sign_in_callback(&callback).await.unwrap();
    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.email.as_deref(), Some(email.as_str()));

    // The token is spent: a second sign-in with it is refused.
    let client = LogtoClient::new(
        logto::LogtoHandle::new(config).unwrap(),
        MemoryStorage::new(),
    );
    let url = client
        .sign_in_with(
            SignInOptions::new(REDIRECT_URI)
                .one_time_token(one_time.token.expose())
                .login_hint(&email),
        )
        .await
        .unwrap();
    let MagicLinkSignIn::Refused { status, body } =
        logto.browser().sign_in_with_magic_link(&url).await
    else {
        panic!("a spent one-time token signed in again");
    };
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "one_time_token.token_consumed", "{body}");
}

#[tokio::test]
async fn a_magic_link_for_a_new_email_registers_the_user() {
    // Registration asks for a password (this tenant's sign-up), which Logto checks against
    // pwnedpasswords.com by default: unreachable here, so a Logto of this test's own, with that
    // check off (a tenant-wide setting).
    let Some(logto) = RealLogto::start_dedicated().await else {
        return;
    };
    logto
        .api(
            reqwest::Method::PATCH,
            "/api/sign-in-exp",
            Some(serde_json::json!({ "passwordPolicy": { "rejects": { "pwned": false } } })),
        )
        .await;
    let (id, secret) = logto.management_app();
    let management = Management::new(logto.endpoint(), id, secret).unwrap();
    let email = format!("{}@example.com", logto.unique("invitee"));
    let one_time = management
        .create_one_time_token(&NewOneTimeToken::new(&email))
        .await
        .unwrap();
    let app = logto
        .create_app(
            logto_test_support::AppKind::Traditional,
            &[REDIRECT_URI],
            &[],
        )
        .await;
    let config = LogtoConfig::builder(logto.endpoint(), &app.id)
        .app_secret(app.secret.clone().unwrap())
        .scopes([UserInfoScope::Email])
        .build()
        .unwrap();
    let client = LogtoClient::new(
        logto::LogtoHandle::new(config).unwrap(),
        MemoryStorage::new(),
    );
    let url = client
        .sign_in_with(
            SignInOptions::new(REDIRECT_URI)
                .one_time_token(one_time.token.expose())
                .login_hint(&email),
        )
        .await
        .unwrap();
    let MagicLinkSignIn::Redirected(callback) = logto.browser().sign_in_with_magic_link(&url).await
    else {
        panic!("the magic link was refused");
    };
    client.handle_sign_in_callback(&callback).await.unwrap();
    let claims = client.get_id_token_claims().await.unwrap();
    let user = management.get_user(&claims.sub).await.unwrap();
    assert_eq!(user.primary_email.as_deref(), Some(email.as_str()));
}
