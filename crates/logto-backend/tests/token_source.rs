//! `TokenSource` against the real Logto (client-credentials tokens for an API resource and for
//! an organization, caching, renewal, one request under 1,000 concurrent callers, Logto's
//! refusals as typed errors), and against a fake token endpoint for what Logto cannot be made to
//! do (unreachable, slow, 5xx, oversized answers, a hung request whose caller is cancelled).

mod common;

use std::time::Duration;

use common::{Answer, FakeLogto, claims, closed_port_endpoint};
use logto_backend::{BackendError, OAuthErrorCode, TokenSource};
use logto_test_support::RealLogto;

/// An API resource with `read` and `write`, an M2M role with `read` only, an M2M app with it.
async fn app_with_read_scope(logto: &RealLogto, ttl: Option<u64>) -> (String, String, String) {
    let indicator = format!("https://{}.example.com/api", logto.unique("m2m"));
    let api = logto
        .create_api_resource(&indicator, &["read", "write"], ttl)
        .await;
    let role = logto
        .create_m2m_role(&logto.unique("m2m-reader"), &api.scope_ids(&["read"]))
        .await;
    let app = logto.create_m2m_app(&[role]).await;
    (indicator, app.id, app.secret.unwrap())
}

#[tokio::test]
async fn an_m2m_token_for_an_api_resource_carries_the_apps_scopes_and_is_cached() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (indicator, app_id, secret) = app_with_read_scope(&logto, None).await;
    let tokens = TokenSource::builder(logto.endpoint(), &app_id, &secret)
        .resource(&indicator)
        .scopes(["read", "write"])
        .build()
        .unwrap();
    let token = tokens.access_token().await.unwrap();
    let claims = claims(token.as_str());
    assert_eq!(claims["sub"], app_id.as_str(), "{claims}");
    assert_eq!(claims["client_id"], app_id.as_str());
    assert_eq!(claims["aud"], indicator.as_str());
    assert_eq!(claims["iss"], logto.issuer().as_str());
    assert_eq!(token.scope(), Some("read"), "only the role's scope");
    assert_eq!(claims["scope"], "read");
    assert!(
        !format!("{token:?}").contains(token.as_str()),
        "token in Debug"
    );

    let again = tokens.clone().access_token().await.unwrap();
    assert_eq!(again.as_str(), token.as_str(), "the cached token");
    assert_eq!(tokens.requests_sent(), 1);

    tokens.invalidate(&token);
    let renewed = tokens.access_token().await.unwrap();
    assert_ne!(
        renewed.as_str(),
        token.as_str(),
        "a new token after invalidate"
    );
    assert_eq!(tokens.requests_sent(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_send_one_token_request() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (indicator, app_id, secret) = app_with_read_scope(&logto, None).await;
    let tokens = TokenSource::builder(logto.endpoint(), &app_id, &secret)
        .resource(&indicator)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.access_token().await.unwrap() })
        })
        .collect();
    let mut values = std::collections::BTreeSet::new();
    for task in tasks {
        values.insert(task.await.unwrap().as_str().to_owned());
    }
    // Logto issues a new token for every request: one token means one request.
    assert_eq!(values.len(), 1, "the callers got different tokens");
    assert_eq!(tokens.requests_sent(), 1);
    println!(
        "token requests for 1000 concurrent callers: {}",
        tokens.requests_sent()
    );
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    // Tokens of 2 s: renewed after 1 s (the margin is at most half the lifetime).
    let (indicator, app_id, secret) = app_with_read_scope(&logto, Some(2)).await;
    let tokens = TokenSource::builder(logto.endpoint(), &app_id, &secret)
        .resource(&indicator)
        .build()
        .unwrap();
    let first = tokens.access_token().await.unwrap();
    assert_eq!(
        claims(first.as_str())["exp"].as_i64().unwrap()
            - claims(first.as_str())["iat"].as_i64().unwrap(),
        2
    );
    assert_eq!(
        tokens.access_token().await.unwrap().as_str(),
        first.as_str()
    );
    // Waiting for the token to age is the behaviour under test, not a synchronisation.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renewed = tokens.access_token().await.unwrap();
    assert_ne!(renewed.as_str(), first.as_str());
    assert!(
        std::time::Instant::now() < first.expires_at(),
        "renewed before expiry"
    );
    assert_eq!(tokens.requests_sent(), 2);
}

#[tokio::test]
async fn an_organization_token_for_an_m2m_app_in_the_organization() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let scope = logto.organization_scope_id("read:projects").await;
    let role = logto
        .create_m2m_organization_role(&logto.unique("org-m2m"), &[scope])
        .await;
    let organization = logto.create_organization(&logto.unique("org")).await;
    let app = logto.create_m2m_app(&[]).await;
    let secret = app.secret.clone().unwrap();
    logto
        .add_organization_app(&organization, &app.id, &[role])
        .await;

    let tokens = TokenSource::builder(logto.endpoint(), &app.id, &secret)
        .organization_id(&organization)
        .scopes(["read:projects", "write:projects"])
        .build()
        .unwrap();
    let token = tokens.access_token().await.unwrap();
    let claims = claims(token.as_str());
    assert_eq!(
        claims["aud"],
        format!("urn:logto:organization:{organization}")
    );
    assert_eq!(claims["sub"], app.id.as_str());
    assert_eq!(token.scope(), Some("read:projects"));

    // An organization the app is not in: access_denied.
    let other = logto.create_organization(&logto.unique("org")).await;
    let error = TokenSource::builder(logto.endpoint(), &app.id, &secret)
        .organization_id(&other)
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::AccessDenied { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn logtos_refusals_are_typed() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let (indicator, app_id, secret) = app_with_read_scope(&logto, None).await;
    let error = TokenSource::builder(logto.endpoint(), &app_id, "wrong-secret")
        .resource(&indicator)
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidClient { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("wrong-secret"));

    let error = TokenSource::builder(logto.endpoint(), &app_id, &secret)
        .resource("https://unknown.example.com/api")
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidTarget { .. }),
        "{error:?}"
    );

    // Neither resource nor organization.
    let error = TokenSource::builder(logto.endpoint(), &app_id, &secret)
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidTarget { .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------- faults

fn source(endpoint: &str, timeout: Duration) -> TokenSource {
    TokenSource::builder(endpoint, "app", "secret")
        .resource("https://api.example.com")
        .timeout(timeout)
        .build()
        .unwrap()
}

#[tokio::test]
async fn unreachable_slow_failing_and_oversized_logto() {
    let error = source(&closed_port_endpoint().await, Duration::from_secs(5))
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.is_transient());

    let hung = FakeLogto::start(false, |_| Answer::Hang).await;
    let error = source(&hung.endpoint, Duration::from_millis(300))
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::Timeout { .. }), "{error:?}");

    let failing = FakeLogto::start(false, |_| Answer::Status(503, "")).await;
    let error = source(&failing.endpoint, Duration::from_secs(5))
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::UnexpectedResponse { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());

    let huge = FakeLogto::start(false, |_| Answer::Huge).await;
    let error = source(&huge.endpoint, Duration::from_secs(5))
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BackendError::UnexpectedResponse { detail, .. } if detail.contains("larger")),
        "{error:?}"
    );

    let unknown = FakeLogto::start(false, |_| Answer::Status(400, "slow_down")).await;
    let error = source(&unknown.endpoint, Duration::from_secs(5))
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            BackendError::OAuth {
                error: OAuthErrorCode::SlowDown,
                status: 400,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn callers_waiting_for_a_failed_request_share_its_error_and_the_next_caller_retries() {
    let logto = FakeLogto::start(true, |n| {
        if n == 1 {
            Answer::Status(500, "")
        } else {
            Answer::Token
        }
    })
    .await;
    let tokens = source(&logto.endpoint, Duration::from_secs(5));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.access_token().await })
        })
        .collect();
    logto.received(1).await;
    logto.release();
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert!(error.is_transient(), "{error:?}");
    }
    assert_eq!(logto.requests(), 1, "one request for the 50 callers");
    let token = tokens.access_token().await.unwrap();
    assert_eq!(token.as_str(), "token-2");
    assert_eq!(logto.requests(), 2);
}

#[tokio::test]
async fn a_cancelled_caller_does_not_block_the_others() {
    let logto =
        FakeLogto::start(false, |n| if n == 1 { Answer::Hang } else { Answer::Token }).await;
    let tokens = source(&logto.endpoint, Duration::from_secs(30));
    let first = tokio::spawn({
        let tokens = tokens.clone();
        async move { tokens.access_token().await }
    });
    logto.received(1).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let token = tokio::time::timeout(Duration::from_secs(10), tokens.access_token())
        .await
        .expect("the cancelled caller wedged the token source")
        .unwrap();
    assert_eq!(token.as_str(), "token-2");
}
