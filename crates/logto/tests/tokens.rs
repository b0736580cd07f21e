//! Access tokens per resource, refresh, rotation, organizations and sign-out, against the test IdP.

mod support;

use logto::{AccessTokenClaims, LogtoClient, LogtoError, LogtoHandle, MemoryStorage};
use logto_test_support::{ALICE_SUB, ORG_ACME, SHOPPING_API, STORE_API, TestIdp, WEB_APP_ID};
use serde_json::json;
use support::*;

#[tokio::test]
async fn access_tokens_are_per_resource_and_cached() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.reset_stats().await;

    let shopping = client.get_access_token(SHOPPING_API).await.unwrap();
    let claims = client.get_access_token_claims(SHOPPING_API).await.unwrap();
    assert_eq!(claims.aud, [SHOPPING_API]);
    assert_eq!(claims.sub, ALICE_SUB);
    assert_eq!(claims.client_id.as_deref(), Some(WEB_APP_ID));
    let scopes: Vec<&str> = claims.scopes().collect();
    assert!(scopes.contains(&"shopping:read") && scopes.contains(&"shopping:write"));
    assert!(!scopes.contains(&"store:read"), "scopes are per resource");

    let store = client.get_access_token(STORE_API).await.unwrap();
    assert_ne!(shopping, store);
    assert_eq!(
        client.get_access_token_claims(STORE_API).await.unwrap().aud,
        [STORE_API]
    );

    // Cached: asking again does not refresh.
    assert_eq!(
        client.get_access_token(SHOPPING_API).await.unwrap(),
        shopping
    );
    assert_eq!(idp.stats().await.refresh_token_grants, 2);

    // The token without a resource is the opaque one for userinfo.
    let opaque = client.get_opaque_access_token().await.unwrap();
    assert_ne!(opaque.split('.').count(), 3);
    // The empty string is not "no resource": it is refused, and nothing is sent.
    let grants = idp.stats().await.refresh_token_grants;
    for error in [
        client.get_access_token("").await.unwrap_err(),
        client.get_access_token_claims("").await.unwrap_err(),
        client
            .get_access_token_for_organization("", "org-1")
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&error, LogtoError::InvalidArgument(m) if m.contains("get_opaque_access_token")),
            "{error:?}"
        );
    }
    assert_eq!(idp.stats().await.refresh_token_grants, grants);
}

#[tokio::test]
async fn a_token_close_to_expiry_is_refreshed_and_the_refresh_token_rotates() {
    // A 30 s token is kept for half its life, then refreshed.
    let idp = TestIdp::start_with(
        json!({"access_token_ttl": 30, "refresh_token_reuse_grace_seconds": 0}),
    )
    .await;
    let client = signed_in(&idp).await;
    idp.reset_stats().await;
    let first_refresh_token = client.get_refresh_token().await.unwrap().unwrap();

    let first = client.get_access_token(SHOPPING_API).await.unwrap();
    let second_refresh_token = client.get_refresh_token().await.unwrap().unwrap();
    assert_ne!(first_refresh_token, second_refresh_token, "rotated");
    assert_eq!(
        client.get_access_token(SHOPPING_API).await.unwrap(),
        first,
        "cached"
    );
    assert_eq!(idp.stats().await.refresh_token_grants, 1);

    // Time passes: the stored token reaches its refresh point (edited in storage, not slept for).
    age_access_token(&client, SHOPPING_API, 16).await;
    let second = client.get_access_token(SHOPPING_API).await.unwrap();
    assert_ne!(first, second);
    assert_ne!(
        client.get_refresh_token().await.unwrap().unwrap(),
        second_refresh_token
    );
    assert_eq!(idp.stats().await.refresh_token_grants, 2);

    // And past its expiry.
    age_access_token(&client, SHOPPING_API, 31).await;
    let third = client.get_access_token(SHOPPING_API).await.unwrap();
    assert_ne!(second, third);
    assert_eq!(idp.stats().await.refresh_token_grants, 3);

    // The refreshed ID tokens were verified and stored; the user is the same.
    let claims = client.get_id_token_claims().await.unwrap();
    assert_eq!(claims.sub, ALICE_SUB);
}

#[tokio::test]
async fn a_token_and_its_claims_come_from_one_look_up() {
    let idp = TestIdp::start_with(
        json!({"access_token_ttl": 30, "refresh_token_reuse_grace_seconds": 0}),
    )
    .await;
    let client = signed_in(&idp).await;
    idp.reset_stats().await;

    let (token, claims) = client
        .get_access_token_and_claims(SHOPPING_API)
        .await
        .unwrap();
    assert_eq!(
        claims,
        AccessTokenClaims::decode_unverified(&token).unwrap()
    );
    assert_eq!(claims.aud, [SHOPPING_API]);
    assert_eq!(idp.stats().await.refresh_token_grants, 1);
    // Cached: the same token and claims, nothing sent.
    assert_eq!(
        client
            .get_access_token_and_claims(SHOPPING_API)
            .await
            .unwrap(),
        (token.clone(), claims.clone())
    );
    assert_eq!(idp.stats().await.refresh_token_grants, 1);

    // A token due for refresh: one refresh, and the claims are the new token's.
    age_access_token(&client, SHOPPING_API, 16).await;
    let (refreshed, refreshed_claims) = client
        .get_access_token_and_claims(SHOPPING_API)
        .await
        .unwrap();
    assert_ne!(refreshed, token);
    assert_eq!(
        refreshed_claims,
        AccessTokenClaims::decode_unverified(&refreshed).unwrap()
    );
    assert_eq!(idp.stats().await.refresh_token_grants, 2);

    // Organization tokens likewise.
    let (org_token, org_claims) = client
        .get_organization_token_and_claims(ORG_ACME)
        .await
        .unwrap();
    assert_eq!(
        org_claims,
        AccessTokenClaims::decode_unverified(&org_token).unwrap()
    );
    assert_eq!(
        org_claims.aud,
        [format!("urn:logto:organization:{ORG_ACME}")]
    );
    // Refused inputs are refused as by the single calls, before anything is sent.
    assert!(matches!(
        client.get_access_token_and_claims("").await.unwrap_err(),
        LogtoError::InvalidArgument(_)
    ));
}

/// Moves the stored token of `resource` `seconds` into the past.
async fn age_access_token(client: &LogtoClient, resource: &str, seconds: u64) {
    let mut stored = stored_session(client.storage()).await;
    let cached = &mut stored["access_tokens"][resource];
    for field in ["expires_at", "refresh_at"] {
        cached[field] = json!(cached[field].as_u64().unwrap() - seconds);
    }
    store_session(client.storage(), &stored).await;
}

#[tokio::test]
async fn concurrent_requests_of_one_session_share_one_refresh() {
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let client = signed_in(&idp).await;
    idp.reset_stats().await;

    let calls = (0..8).map(|_| client.get_access_token(SHOPPING_API));
    let tokens = futures_util::future::try_join_all(calls).await.unwrap();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(idp.stats().await.refresh_token_grants, 1);
}

#[tokio::test]
async fn concurrent_requests_through_stale_copies_of_a_session_do_not_reuse_a_refresh_token() {
    // Two requests of one session, each with its own copy of the stored session (as a web
    // framework loads it per request), asking for different resources at once.
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let signed_in = signed_in(&idp).await;
    let config = signed_in.handle().clone();
    let first = LogtoClient::new(config.clone(), copy_of(signed_in.storage()).await);
    let second = LogtoClient::new(config, copy_of(signed_in.storage()).await);
    idp.reset_stats().await;

    let (a, b) = tokio::join!(
        first.get_access_token(SHOPPING_API),
        second.get_access_token(STORE_API)
    );
    a.unwrap();
    b.unwrap();
    // Both refreshed in turn, the second with the rotated token: the grant is still alive.
    assert_eq!(idp.stats().await.refresh_token_grants, 2);
    first.clear_access_token().await.unwrap();
    first.get_access_token(SHOPPING_API).await.unwrap();
    second.fetch_user_info().await.unwrap();
}

#[tokio::test]
async fn organization_tokens_for_a_member() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let claims = client
        .get_organization_token_claims(ORG_ACME)
        .await
        .unwrap();
    assert_eq!(claims.aud, [format!("urn:logto:organization:{ORG_ACME}")]);
    assert!(claims.scopes().any(|s| s == "read:projects"));
    let token = client.get_organization_token(ORG_ACME).await.unwrap();
    assert_eq!(token.split('.').count(), 3);

    // An organization-level API resource token carries the organization.
    let token = client
        .get_access_token_for_organization(SHOPPING_API, ORG_ACME)
        .await
        .unwrap();
    let claims: serde_json::Value = decode_claims(&token);
    assert_eq!(claims["aud"], SHOPPING_API);
    assert_eq!(claims["organization_id"], ORG_ACME);
}

#[tokio::test]
async fn an_organization_the_user_is_not_in_is_a_clear_error() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let err = client
        .get_organization_token("org-nobody")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LogtoError::OrganizationAccessDenied { organization_id } if organization_id == "org-nobody"),
        "{err}"
    );
    // The session survives the refusal.
    assert!(client.is_authenticated().await.unwrap());
    client.get_access_token(SHOPPING_API).await.unwrap();
}

#[tokio::test]
async fn organization_tokens_need_the_organizations_scope() {
    let idp = TestIdp::start().await;
    let config = logto::LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(logto_test_support::WEB_APP_SECRET)
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&idp, &client, ALICE).await.unwrap();
    let err = client.get_organization_token(ORG_ACME).await.unwrap_err();
    assert!(
        matches!(err, LogtoError::MissingOrganizationsScope),
        "{err}"
    );
}

#[tokio::test]
async fn a_revoked_grant_clears_the_session() {
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let client = signed_in(&idp).await;
    let old_refresh_token = client.get_refresh_token().await.unwrap().unwrap();
    client.get_access_token(SHOPPING_API).await.unwrap();

    // Someone replays the rotated-out refresh token: Logto revokes the whole grant.
    let mut stored = stored_session(client.storage()).await;
    stored["refresh_token"] = json!(old_refresh_token);
    stored["access_tokens"] = json!({});
    // A thief works elsewhere: it shares none of this process's refresh coordination.
    stored["session_id"] = json!("stolen-elsewhere");
    let stolen = MemoryStorage::new();
    store_session(&stolen, &stored).await;
    let thief = LogtoClient::new(client.handle().clone(), stolen);
    let err = thief.get_access_token(STORE_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::SessionExpired), "{err}");
    assert!(!thief.is_authenticated().await.unwrap());

    // The real session's grant is gone too: its next refresh fails and signs it out.
    let err = client.get_access_token(STORE_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::SessionExpired), "{err}");
    assert!(err.needs_sign_in());
    assert!(!client.is_authenticated().await.unwrap());
}

#[tokio::test]
async fn clear_access_token_forces_a_refresh() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let first = client.get_access_token(SHOPPING_API).await.unwrap();
    client.clear_access_token().await.unwrap();
    idp.reset_stats().await;
    let second = client.get_access_token(SHOPPING_API).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(idp.stats().await.refresh_token_grants, 1);
}

/// A caller dropped while its refresh waits for Logto's answer (a web request whose browser went
/// away): the refresh runs on in its own task and stores the rotated refresh token, so the session
/// lives on; without that, the next refresh would reuse the spent token and lose the grant.
#[tokio::test]
async fn a_refresh_whose_caller_is_dropped_still_stores_the_rotated_refresh_token() {
    let idp = TestIdp::start_with(json!({ "refresh_token_reuse_grace_seconds": 0 })).await;
    let client = signed_in(&idp).await;
    let first = client.get_refresh_token().await.unwrap();
    client.clear_access_token().await.unwrap();
    idp.reset_stats().await;

    idp.hold_next_token_response().await;
    tokio::select! {
        result = client.get_access_token(SHOPPING_API) => {
            panic!("answered while the token response is held (ok: {})", result.is_ok())
        }
        () = idp.wait_for_held_token_response() => {}
    }
    idp.release_token_response().await;

    // The next call waits for the refresh still running, then takes its access token.
    client.get_access_token(SHOPPING_API).await.unwrap();
    let second = client.get_refresh_token().await.unwrap();
    assert_ne!(second, first, "the rotated refresh token was stored");
    assert_eq!(idp.stats().await.refresh_token_grants, 1);

    // The grant is alive: the stored refresh token refreshes again.
    client.clear_access_token().await.unwrap();
    client.get_access_token(SHOPPING_API).await.unwrap();
    assert_ne!(client.get_refresh_token().await.unwrap(), second);
    assert_eq!(idp.stats().await.refresh_token_grants, 2);
}

#[tokio::test]
async fn not_signed_in_is_a_typed_error() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    for err in [
        client.get_access_token(SHOPPING_API).await.unwrap_err(),
        client.get_id_token_claims().await.unwrap_err(),
        client.fetch_user_info().await.unwrap_err(),
    ] {
        assert!(matches!(err, LogtoError::NotAuthenticated), "{err}");
    }
}

#[tokio::test]
async fn sign_out_clears_revokes_and_returns_the_end_session_url() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let refresh_token = client.get_refresh_token().await.unwrap().unwrap();
    let id_token = client.get_id_token().await.unwrap();
    let url = client.sign_out(Some(POST_LOGOUT_URI)).await.unwrap();
    assert_eq!(
        url,
        format!(
            "{}/session/end?client_id=web-app&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%2F",
            idp.issuer()
        )
    );
    assert!(!client.is_authenticated().await.unwrap());
    assert_eq!(idp.stats().await.revocation, 1);

    // The revoked refresh token no longer works (a copy of the session, stolen before).
    let stolen = MemoryStorage::new();
    let session = json!({"session_id": "x", "id_token": id_token, "refresh_token": refresh_token});
    store_session(&stolen, &session).await;
    let thief = LogtoClient::new(client.handle().clone(), stolen);
    let err = thief.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::SessionExpired), "{err}");
}

#[tokio::test]
async fn sign_out_clears_the_session_even_when_logto_is_down() {
    let mut idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.stop().await;
    let url = client.sign_out(None).await.unwrap();
    assert!(
        url.ends_with("/oidc/session/end?client_id=web-app"),
        "{url}"
    );
    assert!(!client.is_authenticated().await.unwrap());
}

fn decode_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_refreshed_id_token_about_another_user_ends_the_session() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.override_next_token_response(json!({
        "id_token_claims": {"sub": "user-mallory"},
        "id_token_signing": "idp"
    }))
    .await;
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(
        matches!(&err, LogtoError::InvalidIdToken { reason, .. } if reason.contains("subject")),
        "{err}"
    );
    assert!(!client.is_authenticated().await.unwrap());
}

// --- Requests Logto is bound to refuse are refused locally, before anything is sent. ---

const UNKNOWN_API: &str = "https://unknown.example.com/api";

#[tokio::test]
async fn a_resource_not_in_the_config_is_refused_before_any_request() {
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let client = signed_in(&idp).await;
    let refresh_token = client.get_refresh_token().await.unwrap();
    idp.reset_stats().await;

    for err in [
        client.get_access_token(UNKNOWN_API).await.unwrap_err(),
        client
            .get_access_token_claims(UNKNOWN_API)
            .await
            .unwrap_err(),
        client
            .get_access_token_for_organization(UNKNOWN_API, ORG_ACME)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, LogtoError::ResourceNotConfigured { resource } if resource == UNKNOWN_API),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("resources") && message.contains("sign the user in again"),
            "{message}"
        );
        assert!(!err.needs_sign_in());
    }
    assert_eq!(idp.stats().await.token, 0, "nothing was sent");
    assert_eq!(client.get_refresh_token().await.unwrap(), refresh_token);
    client.get_access_token(SHOPPING_API).await.unwrap();
}

#[tokio::test]
async fn a_resource_added_to_the_config_after_sign_in_needs_a_new_sign_in() {
    let idp = TestIdp::start().await;
    let before = logto::LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(logto_test_support::WEB_APP_SECRET)
        .resources([SHOPPING_API])
        .build()
        .unwrap();
    let client = LogtoClient::new(LogtoHandle::new(before).unwrap(), MemoryStorage::new());
    sign_in(&idp, &client, ALICE).await.unwrap();

    // The app is redeployed with one more API; the user's session was granted the old ones.
    let after = logto::LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(logto_test_support::WEB_APP_SECRET)
        .resources([SHOPPING_API, STORE_API])
        .build()
        .unwrap();
    let client = LogtoClient::new(
        LogtoHandle::new(after).unwrap(),
        copy_of(client.storage()).await,
    );
    idp.reset_stats().await;
    let err = client.get_access_token(STORE_API).await.unwrap_err();
    assert!(
        matches!(&err, LogtoError::ResourceNotConfigured { resource } if resource == STORE_API),
        "{err:?}"
    );
    assert_eq!(idp.stats().await.token, 0, "nothing was sent");
    client.get_access_token(SHOPPING_API).await.unwrap();

    // Signed in again, the session has it.
    sign_in(&idp, &client, ALICE).await.unwrap();
    client.get_access_token(STORE_API).await.unwrap();
}

#[tokio::test]
async fn an_empty_organization_id_is_refused_before_any_request() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.reset_stats().await;
    for err in [
        client.get_organization_token("").await.unwrap_err(),
        client.get_organization_token_claims(" ").await.unwrap_err(),
        client
            .get_access_token_for_organization(SHOPPING_API, "")
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, LogtoError::InvalidArgument(m) if m.contains("organization id")),
            "{err:?}"
        );
    }
    assert_eq!(idp.stats().await.token, 0, "nothing was sent");
}

#[tokio::test]
async fn organization_requests_without_the_organizations_scope_send_nothing() {
    let idp = TestIdp::start().await;
    let config = logto::LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(logto_test_support::WEB_APP_SECRET)
        .resources([SHOPPING_API])
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(&idp, &client, ALICE).await.unwrap();
    idp.reset_stats().await;
    for err in [
        client.get_organization_token(ORG_ACME).await.unwrap_err(),
        client
            .get_access_token_for_organization(SHOPPING_API, ORG_ACME)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, LogtoError::MissingOrganizationsScope),
            "{err}"
        );
    }
    assert_eq!(idp.stats().await.token, 0, "nothing was sent");
}

// --- A failed refresh keeps the refresh token, unless Logto says the grant is gone. ---

#[tokio::test]
async fn refused_and_failed_refreshes_keep_the_refresh_token() {
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let client = signed_in(&idp).await;
    let refresh_token = client.get_refresh_token().await.unwrap();
    for over in [
        json!({"raw": {"status": 400, "body": {"error": "invalid_request", "error_description": "nope"}}}),
        json!({"raw": {"status": 401, "body": {"error": "invalid_client"}}}),
        json!({"raw": {"status": 200, "body": {"unexpected": true}}}),
        // Last: after a 5xx the client backs off (see hardening.rs).
        json!({"raw": {"status": 500, "content_type": "text/html", "body": "<html>down</html>"}}),
    ] {
        idp.override_next_token_response(over.clone()).await;
        let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
        assert!(!err.needs_sign_in(), "{over}: {err}");
        assert!(client.is_authenticated().await.unwrap(), "{over}");
        assert_eq!(
            client.get_refresh_token().await.unwrap(),
            refresh_token,
            "{over}"
        );
    }
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::Unavailable { .. }), "{err}");
    // Another process, not backing off, refreshes with the kept refresh token.
    let other = LogtoClient::new(
        LogtoHandle::new(builder(&idp).build().unwrap()).unwrap(),
        copy_of(client.storage()).await,
    );
    other.get_access_token(SHOPPING_API).await.unwrap();
}

#[tokio::test]
async fn an_unreadable_stored_id_token_fails_before_the_refresh_token_is_spent() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    let mut stored = stored_session(client.storage()).await;
    let id_token = stored["id_token"].clone();
    stored["id_token"] = json!("not-a-jwt");
    stored["access_tokens"] = json!({});
    store_session(client.storage(), &stored).await;
    idp.reset_stats().await;

    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::InvalidToken { .. }), "{err:?}");
    assert_eq!(
        idp.stats().await.token,
        0,
        "the refresh token was not spent"
    );

    // Repaired, the session refreshes with the refresh token it still has.
    stored["id_token"] = id_token;
    store_session(client.storage(), &stored).await;
    client.get_access_token(SHOPPING_API).await.unwrap();
}

/// A storage whose next session write fails when armed.
#[derive(Default)]
struct FailingWrites {
    inner: MemoryStorage,
    fail_next: std::sync::atomic::AtomicBool,
}

impl logto::Storage for FailingWrites {
    async fn get(&self, key: logto::StorageKey) -> Result<Option<String>, logto::BoxError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: logto::StorageKey, value: String) -> Result<(), logto::BoxError> {
        if key == logto::StorageKey::Tokens
            && self
                .fail_next
                .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err("the session store is down".into());
        }
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: logto::StorageKey) -> Result<(), logto::BoxError> {
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn a_session_write_failing_after_a_refresh_does_not_lose_the_rotated_refresh_token() {
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let client = LogtoClient::new(
        LogtoHandle::new(builder(&idp).build().unwrap()).unwrap(),
        FailingWrites::default(),
    );
    sign_in(&idp, &client, ALICE).await.unwrap();
    let refresh_token = client.get_refresh_token().await.unwrap();

    client
        .storage()
        .fail_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(matches!(err, LogtoError::Storage(_)), "{err:?}");
    // The store still has the spent refresh token; this process remembers the rotated one and
    // uses it instead (reusing the spent one would revoke the grant).
    assert_eq!(client.get_refresh_token().await.unwrap(), refresh_token);
    client.get_access_token(SHOPPING_API).await.unwrap();
    assert_ne!(client.get_refresh_token().await.unwrap(), refresh_token);
    client.get_access_token(STORE_API).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
}

// --- clear_access_token, whether or not Logto rotates the refresh token. ---

/// The IdP, with Logto's refresh token rotation rule for `web-app` (see
/// testing/idp/lib/refresh-rotation.mjs): a traditional web app gets the same refresh token back
/// until 70 % of its lifetime has passed; public clients get a new one every time.
async fn idp_with_logto_rotation() -> TestIdp {
    TestIdp::start_with(json!({
        "refresh_token_reuse_grace_seconds": 0,
        "clients": [
            {
                "client_id": WEB_APP_ID,
                "client_secret": logto_test_support::WEB_APP_SECRET,
                "token_endpoint_auth_method": "client_secret_basic",
                "refresh_token_rotation": "logto"
            },
            {
                "client_id": logto_test_support::PUBLIC_APP_ID,
                "token_endpoint_auth_method": "none",
                "refresh_token_rotation": "logto"
            }
        ]
    }))
    .await
}

/// A signed-in client of the public app (a native or single-page app's client id).
async fn signed_in_public(idp: &TestIdp) -> LogtoClient {
    let config = logto::LogtoConfig::builder(idp.endpoint(), logto_test_support::PUBLIC_APP_ID)
        .resources([SHOPPING_API, STORE_API])
        .scopes(["shopping:read", "store:read"])
        .build()
        .unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let client = LogtoClient::new(config, MemoryStorage::new());
    sign_in(idp, &client, ALICE).await.unwrap();
    client
}

/// Refreshes, clears, refreshes again, a few times: each clear costs one refresh at Logto and
/// yields a new token. Returns whether the refresh token changed on the first refresh.
async fn clear_forces_refreshes(idp: &TestIdp, client: &LogtoClient) -> bool {
    let initial_refresh_token = client.get_refresh_token().await.unwrap();
    idp.reset_stats().await;
    let mut previous = client.get_access_token(SHOPPING_API).await.unwrap();
    let rotated = client.get_refresh_token().await.unwrap() != initial_refresh_token;
    for round in 1..=3 {
        client.clear_access_token().await.unwrap();
        let next = client.get_access_token(SHOPPING_API).await.unwrap();
        assert_ne!(next, previous, "round {round}: the cleared token came back");
        assert_eq!(idp.stats().await.refresh_token_grants, round + 1);
        previous = next;
    }
    // The grant is alive.
    client.fetch_user_info().await.unwrap();
    rotated
}

#[tokio::test]
async fn clear_access_token_forces_a_refresh_when_logto_returns_the_same_refresh_token() {
    let idp = idp_with_logto_rotation().await;
    let client = signed_in(&idp).await;
    assert!(
        !clear_forces_refreshes(&idp, &client).await,
        "a web app keeps its refresh token"
    );
}

#[tokio::test]
async fn clear_access_token_forces_a_refresh_when_logto_rotates_the_refresh_token() {
    let idp = idp_with_logto_rotation().await;
    let client = signed_in_public(&idp).await;
    assert!(
        clear_forces_refreshes(&idp, &client).await,
        "a public client gets a new refresh token"
    );
}

/// Two requests of one session through their own copies of it, at once, then each again.
async fn stale_copies_share_the_session(idp: &TestIdp, signed_in: &LogtoClient) {
    let config = signed_in.handle().clone();
    let first = LogtoClient::new(config.clone(), copy_of(signed_in.storage()).await);
    let second = LogtoClient::new(config, copy_of(signed_in.storage()).await);
    idp.reset_stats().await;
    let (a, b) = tokio::join!(
        first.get_access_token(SHOPPING_API),
        second.get_access_token(STORE_API)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(idp.stats().await.refresh_token_grants, 2);
    first.clear_access_token().await.unwrap();
    first.get_access_token(STORE_API).await.unwrap();
    second.clear_access_token().await.unwrap();
    second.get_access_token(SHOPPING_API).await.unwrap();
    assert_eq!(idp.stats().await.refresh_token_grants, 4);
    second.fetch_user_info().await.unwrap();
}

#[tokio::test]
async fn stale_copies_of_a_session_work_when_logto_returns_the_same_refresh_token() {
    let idp = idp_with_logto_rotation().await;
    let client = signed_in(&idp).await;
    stale_copies_share_the_session(&idp, &client).await;
}

#[tokio::test]
async fn stale_copies_of_a_session_work_when_logto_rotates_the_refresh_token() {
    let idp = idp_with_logto_rotation().await;
    let client = signed_in_public(&idp).await;
    stale_copies_share_the_session(&idp, &client).await;
}

#[tokio::test]
async fn clear_access_token_in_another_process_forces_a_refresh_when_logto_returns_the_same_refresh_token()
 {
    // Two processes (each with its own config, so its own refresh bookkeeping) serve one session
    // from a shared store.
    let idp = idp_with_logto_rotation().await;
    let storage = std::sync::Arc::new(MemoryStorage::new());
    let first = LogtoClient::new(
        LogtoHandle::new(builder(&idp).build().unwrap()).unwrap(),
        storage.clone(),
    );
    let second = LogtoClient::new(
        LogtoHandle::new(builder(&idp).build().unwrap()).unwrap(),
        storage,
    );
    sign_in(&idp, &first, ALICE).await.unwrap();
    let refresh_token = first.get_refresh_token().await.unwrap();

    let token = first.get_access_token(SHOPPING_API).await.unwrap();
    assert_eq!(first.get_refresh_token().await.unwrap(), refresh_token);
    second.clear_access_token().await.unwrap();
    idp.reset_stats().await;
    let next = first.get_access_token(SHOPPING_API).await.unwrap();
    assert_ne!(
        next, token,
        "the token cleared in the other process came back"
    );
    assert_eq!(idp.stats().await.refresh_token_grants, 1);
}
