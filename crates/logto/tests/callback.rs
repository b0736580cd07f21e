//! Bad callbacks and bad ID tokens: each is a typed error and leaves no session behind.

mod support;

use std::time::Duration;

use logto::{
    LogtoClient, LogtoConfig, LogtoError, LogtoHandle, MemoryStorage, Storage, StorageKey,
};
use logto_test_support::{TestIdp, WEB_APP_ID};
use serde_json::json;
use support::*;

/// Asserts that nothing was stored for a user: no tokens.
async fn assert_signed_out(client: &LogtoClient) {
    assert!(!client.is_authenticated().await.unwrap());
    assert_eq!(
        client.storage().get(StorageKey::Tokens).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_callback_without_a_pending_sign_in_is_refused() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let err = client
        .handle_sign_in_callback("http://127.0.0.1/callback?code=x&state=y")
        .await
        .unwrap_err();
    assert!(matches!(err, LogtoError::SignInSessionMissing), "{err}");
    assert!(err.needs_sign_in());
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
    assert!(matches!(err, LogtoError::SignInSessionMissing), "{err}");
    // The first sign-in still stands.
    assert!(client.is_authenticated().await.unwrap());
}

#[tokio::test]
async fn a_wrong_state_or_path_keeps_the_pending_sign_in() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;

    let forged = replace_param(&callback, "state", "forged");
    let err = client.handle_sign_in_callback(&forged).await.unwrap_err();
    assert!(matches!(err, LogtoError::StateMismatch), "{err}");

    let elsewhere = callback.replace("/callback", "/other");
    let err = client
        .handle_sign_in_callback(&elsewhere)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogtoError::CallbackUriMismatch { .. }),
        "{err}"
    );

    let err = client
        .handle_sign_in_callback("not a url")
        .await
        .unwrap_err();
    assert!(matches!(err, LogtoError::InvalidArgument(_)), "{err}");
    assert_signed_out(&client).await;

    // None of those used up the real sign-in.
    client.handle_sign_in_callback(&callback).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
}

#[tokio::test]
async fn an_error_from_logto_is_typed_and_ends_the_sign_in() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let state = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = format!(
        "{REDIRECT_URI}?error=access_denied&error_description=User+cancelled&state={state}&iss={}",
        idp.issuer()
    );
    match client.handle_sign_in_callback(&callback).await.unwrap_err() {
        LogtoError::SignInFailed { error, description } => {
            assert_eq!(error, logto::OAuthErrorCode::AccessDenied);
            assert_eq!(description.as_deref(), Some("User cancelled"));
        }
        other => panic!("{other}"),
    }
    assert_signed_out(&client).await;
}

#[tokio::test]
async fn a_wrong_issuer_parameter_is_refused() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    let mixed_up = replace_param(&callback, "iss", "https://evil.example/oidc");
    let err = client.handle_sign_in_callback(&mixed_up).await.unwrap_err();
    assert!(matches!(err, LogtoError::IssuerMismatch { .. }), "{err}");
    assert_signed_out(&client).await;
    assert_eq!(idp.stats().await.token, 0, "the code was never sent");
}

/// Signs alice in with the IdP's next token response altered by `over`; returns the error.
async fn sign_in_with_tampered_token(over: serde_json::Value) -> (LogtoError, LogtoClient) {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    idp.override_next_token_response(over).await;
    let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
    assert_signed_out(&client).await;
    (err, client)
}

fn assert_invalid_id_token(err: &LogtoError, needle: &str) {
    match err {
        LogtoError::InvalidIdToken { reason, .. } => {
            assert!(
                reason.contains(needle),
                "{reason:?} should mention {needle:?}"
            )
        }
        other => panic!("expected an invalid ID token ({needle}), got {other}"),
    }
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    let (err, _) = sign_in_with_tampered_token(json!({"id_token_signing": "tamper"})).await;
    assert_invalid_id_token(&err, "signature");
}

#[tokio::test]
async fn an_unsigned_id_token_is_refused() {
    let (err, _) = sign_in_with_tampered_token(json!({"id_token_signing": "none"})).await;
    assert_invalid_id_token(&err, "signature");
}

#[tokio::test]
async fn an_id_token_signed_by_an_unknown_key_is_refused() {
    let (err, _) = sign_in_with_tampered_token(json!({"id_token_signing": "foreign"})).await;
    assert_invalid_id_token(&err, "signature");
    assert!(
        matches!(
            &err,
            LogtoError::InvalidIdToken {
                source: Some(logto_jwt::Error::UnknownKey { .. }),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_id_token_with_a_wrong_issuer_is_refused() {
    let (err, _) = sign_in_with_tampered_token(
        json!({"id_token_claims": {"iss": "https://evil.example/oidc"}, "id_token_signing": "idp"}),
    )
    .await;
    assert_invalid_id_token(&err, "issuer");
}

#[tokio::test]
async fn an_id_token_for_another_app_is_refused() {
    let (err, _) = sign_in_with_tampered_token(
        json!({"id_token_claims": {"aud": "web-app-2"}, "id_token_signing": "idp"}),
    )
    .await;
    assert_invalid_id_token(&err, "audience");
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (err, _) = sign_in_with_tampered_token(json!({
        "id_token_claims": {"exp": now - 3600, "iat": now - 7200},
        "id_token_signing": "idp"
    }))
    .await;
    assert_invalid_id_token(&err, "expired");
}

#[tokio::test]
async fn an_id_token_with_a_wrong_nonce_is_refused() {
    let (err, _) = sign_in_with_tampered_token(
        json!({"id_token_claims": {"nonce": "someone-elses"}, "id_token_signing": "idp"}),
    )
    .await;
    assert_invalid_id_token(&err, "nonce");
}

#[tokio::test]
async fn a_non_json_token_response_is_a_typed_error() {
    let (err, _) = sign_in_with_tampered_token(json!({
        "raw": {"status": 200, "content_type": "text/html", "body": "<html>oops</html>"}
    }))
    .await;
    assert!(
        matches!(
            err,
            LogtoError::UnexpectedResponse {
                operation: "token request",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn after_key_rotation_new_id_tokens_verify() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    sign_in(&idp, &client, ALICE).await.unwrap();
    assert_eq!(idp.stats().await.jwks, 1);

    idp.rotate_keys("ES384", false).await;
    sign_in(&idp, &client, ALICE).await.unwrap();
    // The unknown kid made the client fetch the JWKS again, once.
    assert_eq!(idp.stats().await.jwks, 2);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_network_error() {
    let config = LogtoConfig::builder(closed_endpoint(), WEB_APP_ID)
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    let err = client.sign_in(REDIRECT_URI).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogtoError::Network {
                operation: "discovery",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out() {
    let config = LogtoConfig::builder(silent_server().await, WEB_APP_ID)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    let err = client.sign_in(REDIRECT_URI).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_non_json_discovery_document_is_a_typed_error() {
    let base = fixed_response_server(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<html></html>",
    )
    .await;
    let config = LogtoConfig::builder(base, WEB_APP_ID).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    let err = client.sign_in(REDIRECT_URI).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogtoError::UnexpectedResponse {
                operation: "discovery",
                status: 200,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_redirecting_provider_is_not_followed() {
    let base = fixed_response_server(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    let config = LogtoConfig::builder(base, WEB_APP_ID).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    let err = client.sign_in(REDIRECT_URI).await.unwrap_err();
    assert!(
        matches!(err, LogtoError::UnexpectedResponse { status: 302, .. }),
        "{err}"
    );
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.into()
}

#[tokio::test]
async fn a_discovery_document_of_another_issuer_is_refused() {
    let base = fixed_response_server(concat!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        r#"{"issuer":"https://evil.example/oidc","authorization_endpoint":"https://evil.example/oidc/auth","#,
        r#""token_endpoint":"https://evil.example/oidc/token","userinfo_endpoint":"https://evil.example/oidc/me","#,
        r#""jwks_uri":"https://evil.example/oidc/jwks","end_session_endpoint":"https://evil.example/oidc/session/end"}"#
    ))
    .await;
    let config = LogtoConfig::builder(base, WEB_APP_ID).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    let err = client.sign_in(REDIRECT_URI).await.unwrap_err();
    assert!(err.to_string().contains("issuer"), "{err}");
}
