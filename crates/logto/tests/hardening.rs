//! Hardening against what a misbehaving or hostile token endpoint may send, and against misuse of
//! the client's arguments: each test forges one response (or argument) and expects a typed error or
//! a sane result, never a panic, and nothing lost.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use logto::{LogtoClient, LogtoError, LogtoHandle, Storage, StorageKey};
use logto_test_support::{ALICE_SUB, ORG_ACME, SHOPPING_API, TestIdp, WEB_APP_ID};
use serde_json::{Value, json};
use support::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The `nonce` of an authorization URL.
fn nonce_of(authorization_url: &str) -> String {
    url::Url::parse(authorization_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .unwrap()
        .1
        .into_owned()
}

/// Starts alice's sign-in; returns the callback URL and a valid ID token (signed by the IdP) for
/// that sign-in, for a forged token response.
async fn pending_sign_in(idp: &TestIdp, client: &LogtoClient) -> (String, String) {
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let nonce = nonce_of(&url);
    let callback = idp.sign_in(&url, ALICE.0, ALICE.1).await;
    let id_token = idp
        .sign(
            json!({
                "iss": idp.issuer(), "sub": ALICE_SUB, "aud": WEB_APP_ID,
                "exp": now() + 3600, "iat": now(), "nonce": nonce
            }),
            None,
            "idp",
        )
        .await;
    (callback, id_token)
}

/// Makes the IdP's next token response exactly `body` (a JSON text, sent as is).
async fn answer_next_token_request_with(idp: &TestIdp, body: String) {
    idp.override_next_token_response(json!({
        "raw": {"status": 200, "content_type": "application/json", "body": body}
    }))
    .await;
}

async fn assert_signed_out(client: &LogtoClient) {
    assert!(!client.is_authenticated().await.unwrap());
    assert_eq!(
        client.storage().get(StorageKey::Tokens).await.unwrap(),
        None
    );
}

// --- 1. Time arithmetic on values from the network saturates. ---

const HUGE: &str = "18446744073709551615";

#[tokio::test]
async fn a_huge_expires_in_at_the_callback_does_not_overflow() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let (callback, id_token) = pending_sign_in(&idp, &client).await;
    answer_next_token_request_with(
        &idp,
        format!(
            r#"{{"access_token":"at-huge","id_token":"{id_token}","expires_in":{HUGE},"token_type":"Bearer","scope":"openid"}}"#
        ),
    )
    .await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    assert_eq!(client.get_opaque_access_token().await.unwrap(), "at-huge");
}

#[tokio::test]
async fn a_huge_expires_in_on_refresh_does_not_overflow() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let refresh_token = client.get_refresh_token().await.unwrap();
    answer_next_token_request_with(
        &idp,
        format!(r#"{{"access_token":"at-huge","expires_in":{HUGE},"token_type":"Bearer"}}"#),
    )
    .await;
    assert_eq!(
        client.get_access_token(SHOPPING_API).await.unwrap(),
        "at-huge"
    );
    assert_eq!(client.get_refresh_token().await.unwrap(), refresh_token);
    // Cached, and still usable.
    assert_eq!(
        client.get_access_token(SHOPPING_API).await.unwrap(),
        "at-huge"
    );
}

// --- 2. Only bearer tokens are accepted. ---

fn not_bearer() -> Vec<Value> {
    vec![json!("mac"), json!("DPoP"), json!(""), Value::Null]
}

fn assert_not_bearer(err: &LogtoError, token_type: &Value) {
    assert!(
        matches!(err, LogtoError::UnsupportedTokenType { .. }),
        "{token_type}: {err}"
    );
}

#[tokio::test]
async fn a_token_response_that_is_not_bearer_fails_the_callback_and_stores_nothing() {
    let idp = TestIdp::start().await;
    for token_type in not_bearer() {
        let client = client(&idp);
        let callback = callback_url(&idp, &client, ALICE).await;
        idp.override_next_token_response(json!({"merge": {"token_type": token_type}}))
            .await;
        let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
        assert_not_bearer(&err, &token_type);
        assert_signed_out(&client).await;
    }
    // Any case of Bearer is fine (RFC 6749 §7.1).
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    idp.override_next_token_response(json!({"merge": {"token_type": "bEaReR"}}))
        .await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
}

#[tokio::test]
async fn a_refresh_that_is_not_bearer_fails_and_keeps_the_refresh_token() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let refresh_token = client.get_refresh_token().await.unwrap();
    for token_type in not_bearer() {
        // Logto gives a confidential client the same refresh token back (no rotation).
        idp.override_next_token_response(
            json!({"merge": {"token_type": token_type, "refresh_token": refresh_token}}),
        )
        .await;
        let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
        assert_not_bearer(&err, &token_type);
        assert!(client.is_authenticated().await.unwrap());
        assert_eq!(client.get_refresh_token().await.unwrap(), refresh_token);
    }
    // The token is not cached: the next call refreshes again, and gets a bearer token.
    client.get_access_token(SHOPPING_API).await.unwrap();
}

#[tokio::test]
async fn a_refresh_that_is_not_bearer_keeps_the_refresh_token_logto_rotated_to() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.override_next_token_response(
        json!({"merge": {"token_type": "mac", "refresh_token": "rotated-refresh-token"}}),
    )
    .await;
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert_not_bearer(&err, &json!("mac"));
    assert!(client.is_authenticated().await.unwrap());
    assert_eq!(
        client.get_refresh_token().await.unwrap().as_deref(),
        Some("rotated-refresh-token")
    );
}

// --- 3. The ID token at sign-in: subject, type, audiences, at_hash. ---

/// Signs alice in with the IdP's next token response altered by `over`; returns the error, after
/// checking that nothing was stored.
async fn sign_in_with_forged_id_token(over: Value) -> LogtoError {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    idp.override_next_token_response(over.clone()).await;
    let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
    assert_signed_out(&client).await;
    err
}

fn assert_invalid_id_token(err: &LogtoError, needle: &str) {
    match err {
        LogtoError::InvalidIdToken { reason, .. } => assert!(
            reason.contains(needle),
            "{reason:?} should mention {needle:?}"
        ),
        other => panic!("expected an invalid ID token ({needle}), got {other}"),
    }
}

#[tokio::test]
async fn an_id_token_with_an_empty_subject_is_refused() {
    let err = sign_in_with_forged_id_token(json!({"id_token_claims": {"sub": ""}})).await;
    assert_invalid_id_token(&err, "subject");
}

#[tokio::test]
async fn an_access_token_presented_as_an_id_token_is_refused() {
    for typ in ["at+jwt", "application/at+jwt"] {
        let err = sign_in_with_forged_id_token(json!({"id_token_header": {"typ": typ}})).await;
        assert_invalid_id_token(&err, "typ");
    }
}

#[tokio::test]
async fn an_id_token_without_typ_or_with_any_case_of_jwt_is_accepted() {
    let idp = TestIdp::start().await;
    for typ in [Value::Null, json!("jwt"), json!("application/jwt")] {
        let client = client(&idp);
        let callback = callback_url(&idp, &client, ALICE).await;
        idp.override_next_token_response(json!({"id_token_header": {"typ": typ}}))
            .await;
        client.handle_sign_in_callback(&callback).await.unwrap();
    }
}

#[tokio::test]
async fn an_id_token_for_an_extra_untrusted_audience_is_refused() {
    let err = sign_in_with_forged_id_token(json!({"id_token_claims": {
        "aud": [WEB_APP_ID, "https://untrusted.example"], "azp": WEB_APP_ID
    }}))
    .await;
    assert_invalid_id_token(&err, "https://untrusted.example");
}

#[tokio::test]
async fn an_id_token_whose_at_hash_does_not_match_is_refused() {
    let err = sign_in_with_forged_id_token(
        json!({"id_token_claims": {"at_hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}),
    )
    .await;
    assert_invalid_id_token(&err, "at_hash");
    // The at_hash of another access token.
    let err =
        sign_in_with_forged_id_token(json!({"merge": {"access_token": "another-token"}})).await;
    assert_invalid_id_token(&err, "at_hash");
}

#[tokio::test]
async fn a_refreshed_id_token_whose_at_hash_does_not_match_ends_the_session() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.override_next_token_response(
        json!({"id_token_claims": {"at_hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}),
    )
    .await;
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert_invalid_id_token(&err, "at_hash");
    assert_signed_out(&client).await;
}

#[tokio::test]
async fn at_hash_is_checked_with_the_hash_of_each_algorithm() {
    // The IdP computes at_hash as oidc-provider does; sign-in and refresh verify it.
    for alg in ["ES256", "ES512", "RS256", "PS256", "EdDSA"] {
        let idp = TestIdp::start_with(json!({ "signing_alg": alg })).await;
        let client = signed_in(&idp).await;
        client.get_access_token(SHOPPING_API).await.unwrap();
        let raw = client.get_id_token().await.unwrap();
        assert!(raw.contains('.'), "{alg}");
    }
}

/// With `max_age` asked, the ID token must carry a recent enough `auth_time`.
#[tokio::test]
async fn with_max_age_an_old_or_missing_auth_time_is_refused() {
    for (auth_time, needle) in [
        (json!(now() - 3600), "longer ago than max_age"),
        (Value::Null, "no auth_time"),
    ] {
        let idp = TestIdp::start().await;
        let client = client(&idp);
        let url = client
            .sign_in_with(logto::SignInOptions::new(REDIRECT_URI).extra_param("max_age", "60"))
            .await
            .unwrap();
        let callback = idp.sign_in(&url, ALICE.0, ALICE.1).await;
        idp.override_next_token_response(json!({"id_token_claims": {"auth_time": auth_time}}))
            .await;
        let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
        assert_invalid_id_token(&err, needle);
        assert_signed_out(&client).await;
    }
    // A max_age that is not a number of seconds is refused before anything is sent.
    let idp = TestIdp::start().await;
    let err = client(&idp)
        .sign_in_with(logto::SignInOptions::new(REDIRECT_URI).extra_param("max_age", "soon"))
        .await
        .unwrap_err();
    assert!(matches!(err, LogtoError::InvalidArgument(_)), "{err}");
}

// --- 4. A refreshed ID token keeps the original's azp, auth_time and nonce (OIDC Core §12.2). ---

#[tokio::test]
async fn a_refreshed_id_token_that_changes_azp_auth_time_or_nonce_ends_the_session() {
    let idp = TestIdp::start().await;
    for (claims, needle) in [
        (json!({"azp": "another-app"}), "azp"),
        (json!({"azp": WEB_APP_ID}), "azp"),
        (json!({"auth_time": 1_000_000_000u64}), "auth_time"),
        (json!({"nonce": "another-nonce"}), "nonce"),
    ] {
        let client = signed_in(&idp).await;
        let original = client.get_id_token_claims().await.unwrap();
        assert!(original.extra.get("azp").is_none_or(Value::is_null));
        idp.override_next_token_response(json!({ "id_token_claims": claims }))
            .await;
        let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
        assert_invalid_id_token(&err, needle);
        assert_signed_out(&client).await;
    }
}

#[tokio::test]
async fn a_refreshed_id_token_with_the_original_nonce_or_none_is_accepted() {
    let idp = TestIdp::start_with(json!({"access_token_ttl": 1})).await;
    let client = signed_in(&idp).await;
    let original = client.get_id_token_claims().await.unwrap();
    let nonce = original.nonce.as_deref().unwrap().to_owned();
    for claims in [json!({ "nonce": nonce }), json!({ "nonce": null })] {
        idp.override_next_token_response(json!({ "id_token_claims": claims }))
            .await;
        client.get_access_token(SHOPPING_API).await.unwrap();
        assert_eq!(client.get_id_token_claims().await.unwrap().sub, ALICE_SUB);
    }
}

// --- 5. Resources are absolute URIs without a fragment; cache keys cannot collide. ---

const SHOPPING_API_ACME: &str = "https://shopping.example.com/api#org-acme";

#[tokio::test]
async fn a_resource_with_a_fragment_or_not_absolute_is_refused_in_the_config() {
    let idp = TestIdp::start().await;
    for resource in [
        SHOPPING_API_ACME,
        "shopping",
        "/api",
        "https://api.example#",
    ] {
        let err = builder(&idp).resources([resource]).build().unwrap_err();
        assert!(
            matches!(err, LogtoError::InvalidConfig(_)),
            "{resource}: {err}"
        );
    }
    // Logto's reserved urn: resources are fine.
    builder(&idp)
        .resources(["urn:logto:resource:organizations"])
        .build()
        .unwrap();
}

#[tokio::test]
async fn a_resource_with_a_fragment_is_refused_in_calls_and_never_served_an_organization_token() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let org_token = client
        .get_access_token_for_organization(SHOPPING_API, ORG_ACME)
        .await
        .unwrap();
    idp.reset_stats().await;
    for resource in [
        SHOPPING_API_ACME,
        "shopping",
        "https://shopping.example.com/api#",
    ] {
        let err = client.get_access_token(resource).await.unwrap_err();
        assert!(
            matches!(err, LogtoError::InvalidArgument(_)),
            "{resource}: {err}"
        );
        let err = client
            .get_access_token_for_organization(resource, ORG_ACME)
            .await
            .unwrap_err();
        assert!(
            matches!(err, LogtoError::InvalidArgument(_)),
            "{resource}: {err}"
        );
    }
    assert_eq!(idp.stats().await.token, 0, "nothing was sent");
    assert_eq!(
        client
            .get_access_token_for_organization(SHOPPING_API, ORG_ACME)
            .await
            .unwrap(),
        org_token,
        "still cached"
    );
    assert_ne!(
        client.get_access_token(SHOPPING_API).await.unwrap(),
        org_token
    );
}

#[tokio::test]
async fn a_session_stored_with_old_cache_keys_still_works() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let resource_token = client.get_access_token(SHOPPING_API).await.unwrap();
    let org_token = client
        .get_access_token_for_organization(SHOPPING_API, ORG_ACME)
        .await
        .unwrap();
    // As an older version stored it: organization tokens under `<resource>#<org>`.
    let mut stored = stored_session(client.storage()).await;
    let mut old_keys = serde_json::Map::new();
    for (key, cached) in stored["access_tokens"].as_object().unwrap() {
        let key = match serde_json::from_str::<(String, String)>(key) {
            Ok((resource, org)) => format!("{resource}#{org}"),
            Err(_) => key.clone(),
        };
        old_keys.insert(key, cached.clone());
    }
    assert!(old_keys.contains_key(&format!("{SHOPPING_API}#{ORG_ACME}")));
    stored["access_tokens"] = Value::Object(old_keys);
    stored.as_object_mut().unwrap().remove("cache_keys");
    store_session(client.storage(), &stored).await;
    idp.reset_stats().await;

    // Resource tokens are still found; organization tokens are fetched again.
    assert_eq!(
        client.get_access_token(SHOPPING_API).await.unwrap(),
        resource_token
    );
    assert_eq!(idp.stats().await.token, 0);
    let refreshed = client
        .get_access_token_for_organization(SHOPPING_API, ORG_ACME)
        .await
        .unwrap();
    assert_ne!(refreshed, org_token);
    assert_eq!(idp.stats().await.token, 1);
}

// --- 6. A pending sign-in expires after ten minutes. ---

/// Moves the pending sign-in `seconds` into the past (edited in storage, not slept for).
async fn age_sign_in_session(client: &LogtoClient, seconds: u64) {
    let storage = client.storage();
    let raw = storage
        .get(StorageKey::SignInSession)
        .await
        .unwrap()
        .unwrap();
    let mut pending: Value = serde_json::from_str(&raw).unwrap();
    for session in pending.as_array_mut().expect("a list of pending sign-ins") {
        let created_at = session["created_at"].as_u64().unwrap_or_else(now);
        session["created_at"] = json!(created_at - seconds);
    }
    storage
        .set(StorageKey::SignInSession, pending.to_string())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sign_in_that_took_more_than_ten_minutes_is_refused() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    age_sign_in_session(&client, 601).await;
    idp.reset_stats().await;
    let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
    assert!(matches!(err, LogtoError::SignInSessionExpired), "{err}");
    assert!(err.needs_sign_in());
    assert!(err.to_string().contains("took too long"), "{err}");
    assert_signed_out(&client).await;
    assert_eq!(idp.stats().await.token, 0, "the code was never sent");
    // Used up: the same callback now finds no pending sign-in.
    let err = client.handle_sign_in_callback(&callback).await.unwrap_err();
    assert!(matches!(err, LogtoError::SignInSessionMissing), "{err}");
}

// --- 7. Sign-ins started in several tabs each complete. ---

#[tokio::test]
async fn sign_ins_started_in_two_tabs_each_complete() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let first_tab = callback_url(&idp, &client, ALICE).await;
    let second_tab = callback_url(&idp, &client, ALICE).await;
    // The first tab's callback comes back after the second sign-in started.
    client.handle_sign_in_callback(&first_tab).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
    // The second tab's is still pending, and completes too; then none is left.
    client.handle_sign_in_callback(&second_tab).await.unwrap();
    let err = client
        .handle_sign_in_callback(&second_tab)
        .await
        .unwrap_err();
    assert!(matches!(err, LogtoError::SignInSessionMissing), "{err}");
    assert_eq!(
        client
            .storage()
            .get(StorageKey::SignInSession)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_expired_tab_does_not_spoil_a_fresh_one() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let old_tab = callback_url(&idp, &client, ALICE).await;
    age_sign_in_session(&client, 601).await;
    let new_tab = callback_url(&idp, &client, ALICE).await;
    // The old one was dropped when the new one started: its state names no pending sign-in.
    let err = client.handle_sign_in_callback(&old_tab).await.unwrap_err();
    assert!(matches!(err, LogtoError::StateMismatch), "{err}");
    client.handle_sign_in_callback(&new_tab).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
}

#[tokio::test]
async fn a_sign_in_within_ten_minutes_completes() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    let callback = callback_url(&idp, &client, ALICE).await;
    age_sign_in_session(&client, 590).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
}

// --- 8. After Logto fails, requests back off together instead of retrying at once. ---

#[tokio::test]
async fn after_a_5xx_waiting_requests_fail_fast_instead_of_retrying() {
    let (base, requests) = counted_response_server(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    let config = logto::LogtoConfig::builder(base, WEB_APP_ID)
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let sign_ins = (0..50).map(|_| {
        let client = LogtoClient::new(config.clone(), logto::MemoryStorage::new());
        async move { client.sign_in(REDIRECT_URI).await.unwrap_err() }
    });
    let errors = futures_util::future::join_all(sign_ins).await;
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one request reached the failing server"
    );
    let failed = errors
        .iter()
        .filter(|e| matches!(e, LogtoError::UnexpectedResponse { status: 503, .. }))
        .count();
    let unavailable: Vec<_> = errors
        .iter()
        .filter_map(|e| match e {
            LogtoError::Unavailable {
                operation: "discovery",
                retry_after,
            } => Some(*retry_after),
            _ => None,
        })
        .collect();
    assert_eq!((failed, unavailable.len()), (1, 49), "{errors:?}");
    assert!(
        unavailable
            .iter()
            .all(|wait| *wait <= std::time::Duration::from_secs(1))
    );
    assert!(
        errors[1].to_string().contains("try again in 1 s"),
        "{}",
        errors[1]
    );
}

#[tokio::test]
async fn a_token_endpoint_5xx_keeps_the_session_and_one_request_probes_after_the_wait() {
    let idp = TestIdp::start().await;
    let wait = std::time::Duration::from_millis(300);
    let client = LogtoClient::new(
        LogtoHandle::new(builder(&idp).retry_interval(wait).build().unwrap()).unwrap(),
        logto::MemoryStorage::new(),
    );
    sign_in(&idp, &client, ALICE).await.unwrap();
    let refresh_token = client.get_refresh_token().await.unwrap();
    client.clear_access_token().await.unwrap();
    idp.override_next_token_response(json!({
        "raw": {"status": 500, "content_type": "application/json",
                "body": "{\"error\":\"server_error\"}"}
    }))
    .await;
    idp.reset_stats().await;

    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(
        matches!(err, LogtoError::UnexpectedResponse { status: 500, .. })
            || matches!(err, LogtoError::TokenRequest { .. }),
        "{err:?}"
    );
    // At once: refused here, nothing sent, the session intact.
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::Unavailable { .. }), "{err:?}");
    assert_eq!(idp.stats().await.token, 1);
    assert_eq!(client.get_refresh_token().await.unwrap(), refresh_token);

    // After the wait, Logto is asked again, and answers.
    tokio::time::sleep(wait).await;
    client.get_access_token(SHOPPING_API).await.unwrap();
    assert_eq!(idp.stats().await.token, 2);
}
