//! Logto rotates its signing key: ID tokens the client receives from Logto's token endpoint verify
//! right away (the key set is refetched whatever the flood guard says), a key set that cannot be
//! fetched never ends a session, and ID tokens that really fail still do. Production defaults
//! throughout (a 30 s minimum JWKS refresh interval).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use logto::{BoxError, LogtoClient, LogtoError, LogtoHandle, MemoryStorage, Storage, StorageKey};
use logto_test_support::{ALICE_SUB, SHOPPING_API, STORE_API, TestIdp};
use serde_json::json;
use support::*;

/// The `kid` of a compact JWS's header.
fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_sign_in_right_after_a_key_rotation_succeeds() {
    let idp = TestIdp::start().await;
    let client = client(&idp);
    sign_in(&idp, &client, ALICE).await.unwrap();
    assert_eq!(idp.stats().await.jwks, 1);

    // Logto rotates its key a moment after the client fetched the keys, and drops the old one.
    let kid = idp.rotate_keys("ES384", false).await;
    let other = LogtoClient::new(client.handle().clone(), MemoryStorage::new());
    sign_in(&idp, &other, BOB).await.unwrap();
    assert_eq!(kid_of(&other.get_id_token().await.unwrap()), kid);
    assert_eq!(idp.stats().await.jwks, 2, "refetched once");

    // Again, with the old key kept in the JWKS.
    idp.rotate_keys("ES384", true).await;
    sign_in(&idp, &client, ALICE).await.unwrap();
    assert_eq!(idp.stats().await.jwks, 3);
}

#[tokio::test]
async fn a_refresh_right_after_a_key_rotation_keeps_the_session() {
    let idp = TestIdp::start_with(json!({"refresh_token_reuse_grace_seconds": 0})).await;
    let client = signed_in(&idp).await;
    let kid = idp.rotate_keys("ES384", false).await;

    client.get_access_token(SHOPPING_API).await.unwrap();
    assert!(client.is_authenticated().await.unwrap());
    let id_token = client.get_id_token().await.unwrap();
    assert_eq!(kid_of(&id_token), kid, "the refreshed ID token is stored");
    assert_eq!(client.get_id_token_claims().await.unwrap().sub, ALICE_SUB);
    // The grant is alive: the next refresh works too.
    client.get_access_token(STORE_API).await.unwrap();
    assert_eq!(idp.stats().await.jwks, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_refreshing_at_once_after_a_key_rotation_share_one_key_fetch() {
    let idp = TestIdp::start().await;
    let config = builder(&idp).build().unwrap();
    let config = LogtoHandle::new(config).unwrap();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let client = LogtoClient::new(config.clone(), MemoryStorage::new());
        sign_in(&idp, &client, ALICE).await.unwrap();
        clients.push(client);
    }
    assert_eq!(idp.stats().await.jwks, 1);
    idp.rotate_keys("ES384", false).await;

    let calls = clients.iter().map(|c| c.get_access_token(SHOPPING_API));
    futures_util::future::try_join_all(calls).await.unwrap();
    assert_eq!(idp.stats().await.jwks, 2, "one refetch for all");
}

#[tokio::test]
async fn an_id_token_handed_in_from_elsewhere_stays_rate_limited() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.rotate_keys("ES384", false).await;
    // A token that did not come from the token endpoint: `verify_id_token`'s refetches are
    // guarded, so a stranger's made-up key ids cannot make it hammer Logto.
    let now = logto_jwt::unix_now();
    let payload = json!({
        "iss": idp.issuer(), "sub": ALICE_SUB, "aud": "web-app", "iat": now, "exp": now + 600
    });
    let token = idp.sign(payload, None, "idp").await;
    let err = client
        .handle()
        .verify_id_token(&token, None)
        .await
        .unwrap_err();
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
    assert_eq!(idp.stats().await.jwks, 1);
}

#[tokio::test]
async fn an_id_token_signed_by_a_key_logto_does_not_have_still_ends_the_session() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.override_next_token_response(json!({"id_token_signing": "foreign"}))
        .await;
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
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
    assert!(!client.is_authenticated().await.unwrap());
    assert_eq!(idp.stats().await.jwks, 2, "the keys were refetched first");
}

#[tokio::test]
async fn a_tampered_id_token_after_a_key_rotation_still_ends_the_session() {
    let idp = TestIdp::start().await;
    let client = signed_in(&idp).await;
    idp.rotate_keys("ES384", false).await;
    idp.override_next_token_response(json!({"id_token_signing": "tamper"}))
        .await;
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(
        matches!(
            &err,
            LogtoError::InvalidIdToken {
                source: Some(logto_jwt::Error::InvalidSignature),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!client.is_authenticated().await.unwrap());
}

/// A storage that stops the IdP right after the first session write once armed: Logto goes
/// down between answering a refresh and serving its keys.
struct StopsIdpOnWrite {
    inner: MemoryStorage,
    idp: Arc<tokio::sync::Mutex<TestIdp>>,
    armed: AtomicBool,
}

impl Storage for StopsIdpOnWrite {
    async fn get(&self, key: StorageKey) -> Result<Option<String>, BoxError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: StorageKey, value: String) -> Result<(), BoxError> {
        self.inner.set(key, value).await?;
        if key == StorageKey::Tokens && self.armed.swap(false, Ordering::SeqCst) {
            self.idp.lock().await.stop().await;
        }
        Ok(())
    }
    async fn delete(&self, key: StorageKey) -> Result<(), BoxError> {
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_after_a_refresh_keep_the_session_and_its_new_refresh_token() {
    let idp = Arc::new(tokio::sync::Mutex::new(TestIdp::start().await));
    let storage = Arc::new(StopsIdpOnWrite {
        inner: MemoryStorage::new(),
        idp: idp.clone(),
        armed: AtomicBool::new(false),
    });
    let client = {
        let idp = idp.lock().await;
        let client = LogtoClient::new(
            LogtoHandle::new(builder(&idp).build().unwrap()).unwrap(),
            storage.clone(),
        );
        sign_in(&idp, &client, ALICE).await.unwrap();
        idp.rotate_keys("ES384", false).await;
        client
    };
    let id_token = client.get_id_token().await.unwrap();
    let refresh_token = client.get_refresh_token().await.unwrap().unwrap();

    // Logto answers the refresh (a new refresh token, an ID token signed with its new key), then
    // goes down before the client can fetch the new key.
    storage.armed.store(true, Ordering::SeqCst);
    let err = client.get_access_token(SHOPPING_API).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogtoError::Network {
                operation: "JWKS",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!storage.armed.load(Ordering::SeqCst), "the IdP was stopped");

    // Our key cache could not be refreshed: that is no reason to sign the user out.
    assert!(client.is_authenticated().await.unwrap());
    let kept = client.get_refresh_token().await.unwrap().unwrap();
    assert_ne!(kept, refresh_token, "the rotated refresh token is stored");
    assert_eq!(
        client.get_id_token().await.unwrap(),
        id_token,
        "the unverified ID token is not"
    );
}
