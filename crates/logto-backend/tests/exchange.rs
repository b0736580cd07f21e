//! Token exchange (RFC 8693) against the real Logto: a personal access token for an API
//! resource token (how CLIs and CI jobs act as a user), impersonation with a Management API
//! subject token and an actor (`act` claim), and the refusals as typed errors.

mod common;

use common::claims;
use logto::{LogtoClient, LogtoConfig, MemoryStorage};
use logto_backend::{BackendError, ExchangeRequest, Management, SubjectTokenType, TokenExchange};
use logto_test_support::{App, AppKind, RealLogto};
use serde_json::json;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

struct Setup {
    logto: RealLogto,
    management: Management,
    app: App,
    exchange: TokenExchange,
    indicator: String,
    user_id: String,
}

/// An API resource (`read`, `write`), a user with a role granting `read`, and a traditional
/// app allowed to exchange tokens.
async fn setup() -> Option<Setup> {
    let logto = RealLogto::connect().await?;
    let (id, secret) = logto.management_app();
    let management = Management::new(logto.endpoint(), id, secret).unwrap();
    let indicator = format!("https://{}.example.com/api", logto.unique("exchange"));
    let api = logto
        .create_api_resource(&indicator, &["read", "write"], None)
        .await;
    let role = logto
        .create_role(&logto.unique("reader"), &api.scope_ids(&["read"]))
        .await;
    let user = logto.create_user("exchange", json!({})).await;
    logto.assign_roles(&user.id, &[role]).await;
    let app = logto
        .create_app(AppKind::Traditional, &[REDIRECT_URI], &[])
        .await;
    logto.allow_token_exchange(&app.id).await;
    let exchange = TokenExchange::builder(logto.endpoint(), &app.id)
        .app_secret(app.secret.clone().unwrap())
        .build()
        .unwrap();
    Some(Setup {
        logto,
        management,
        app,
        exchange,
        indicator,
        user_id: user.id,
    })
}

#[tokio::test]
async fn a_personal_access_token_becomes_an_access_token_of_its_user() {
    let Some(s) = setup().await else { return };
    let pat = s
        .management
        .create_personal_access_token(&s.user_id, "ci", None)
        .await
        .unwrap();
    assert_eq!(pat.user_id, s.user_id);
    assert!(
        !format!("{pat:?}").contains(pat.value.expose()),
        "token in Debug"
    );

    let token = s
        .exchange
        .exchange(
            &ExchangeRequest::new(pat.value.expose(), SubjectTokenType::PersonalAccessToken)
                .resource(&s.indicator)
                .scopes(["read", "write"]),
        )
        .await
        .unwrap();
    let claims = claims(token.as_str());
    assert_eq!(claims["sub"], s.user_id.as_str(), "{claims}");
    assert_eq!(claims["aud"], s.indicator.as_str());
    assert_eq!(claims["client_id"], s.app.id.as_str());
    assert_eq!(token.scope(), Some("read"), "only the user's scopes");
    assert!(claims.get("act").is_none(), "no actor: {claims}");

    // A personal access token can be exchanged again (it is not consumed).
    let again = s
        .exchange
        .personal_access_token(pat.value.expose(), &s.indicator)
        .await
        .unwrap();
    assert_eq!(claims_of(&again)["sub"], s.user_id.as_str());

    // An unknown one: invalid_grant.
    let error = s
        .exchange
        .personal_access_token("pat_not-a-token", &s.indicator)
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidGrant { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn impersonation_carries_the_actor_in_the_act_claim_and_works_once() {
    let Some(s) = setup().await else { return };
    // The support agent signs in to the app; their opaque (userinfo) token is the actor token.
    let agent = s.logto.create_user("agent", json!({})).await;
    let config = LogtoConfig::builder(s.logto.endpoint(), &s.app.id)
        .app_secret(s.app.secret.clone().unwrap())
        .build()
        .unwrap();
    let client = LogtoClient::new(
        logto::LogtoHandle::new(config).unwrap(),
        MemoryStorage::new(),
    );
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = s.logto.sign_in(&url, &agent).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    let actor_token = client.get_opaque_access_token().await.unwrap();

    let subject = s
        .management
        .create_subject_token(&s.user_id, Some(&json!({ "ticket": "T-42" })))
        .await
        .unwrap();
    assert!(subject.expires_in > 0);
    let token = s
        .exchange
        .impersonate(
            subject.subject_token.expose(),
            &s.indicator,
            Some(&actor_token),
        )
        .await
        .unwrap();
    let claims = claims(token.as_str());
    assert_eq!(claims["sub"], s.user_id.as_str(), "{claims}");
    assert_eq!(claims["act"], json!({ "sub": agent.id }), "{claims}");
    assert_eq!(claims["aud"], s.indicator.as_str());

    // A subject token works once.
    let error = s
        .exchange
        .impersonate(subject.subject_token.expose(), &s.indicator, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidGrant { .. }),
        "{error:?}"
    );

    // Without an actor: no `act`.
    let subject = s
        .management
        .create_subject_token(&s.user_id, None)
        .await
        .unwrap();
    let token = s
        .exchange
        .impersonate(subject.subject_token.expose(), &s.indicator, None)
        .await
        .unwrap();
    assert!(claims_of(&token).get("act").is_none());

    // A bad actor token: invalid_grant.
    let subject = s
        .management
        .create_subject_token(&s.user_id, None)
        .await
        .unwrap();
    let error = s
        .exchange
        .impersonate(
            subject.subject_token.expose(),
            &s.indicator,
            Some("not-a-token"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidGrant { .. }),
        "{error:?}"
    );
}

fn claims_of(token: &logto_backend::AccessToken) -> serde_json::Value {
    claims(token.as_str())
}

#[tokio::test]
async fn an_app_without_token_exchange_is_refused() {
    let Some(s) = setup().await else { return };
    let other = s
        .logto
        .create_app(AppKind::Traditional, &[REDIRECT_URI], &[])
        .await;
    let exchange = TokenExchange::builder(s.logto.endpoint(), &other.id)
        .app_secret(other.secret.unwrap())
        .build()
        .unwrap();
    let pat = s
        .management
        .create_personal_access_token(&s.user_id, "cli", None)
        .await
        .unwrap();
    let error = exchange
        .personal_access_token(pat.value.expose(), &s.indicator)
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::GrantNotAllowed), "{error:?}");
    // A wrong secret: invalid_client.
    let exchange = TokenExchange::builder(s.logto.endpoint(), &s.app.id)
        .app_secret("wrong")
        .build()
        .unwrap();
    let error = exchange
        .personal_access_token(pat.value.expose(), &s.indicator)
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidClient { .. }),
        "{error:?}"
    );
}
