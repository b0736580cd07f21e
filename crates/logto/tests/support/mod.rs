//! Shared set-up of the client's integration tests: a signed-in client against the test IdP, and
//! tiny misbehaving servers.
#![allow(dead_code)]

use logto::{
    LogtoClient, LogtoConfig, LogtoConfigBuilder, LogtoHandle, MemoryStorage, Storage,
    UserInfoScope,
};
use logto_test_support::{SHOPPING_API, STORE_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[allow(unused_imports)]
pub use logto_test_support::{ALICE, BOB};

/// The redirect URI registered for the test IdP's clients.
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1/";

/// The scopes of every user claim Logto has (the table of Logto's guide).
pub const EVERY_USER_INFO_SCOPE: [UserInfoScope; 8] = [
    UserInfoScope::Email,
    UserInfoScope::Phone,
    UserInfoScope::Address,
    UserInfoScope::CustomData,
    UserInfoScope::Identities,
    UserInfoScope::Roles,
    UserInfoScope::Organizations,
    UserInfoScope::OrganizationRoles,
];

/// The confidential web app of the test IdP with every user-info scope and both APIs.
pub fn builder(idp: &TestIdp) -> LogtoConfigBuilder {
    LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(WEB_APP_SECRET)
        .scopes(EVERY_USER_INFO_SCOPE)
        .scopes([
            "shopping:read",
            "shopping:write",
            "store:read",
            "read:projects",
        ])
        .resources([SHOPPING_API, STORE_API])
}

pub fn client(idp: &TestIdp) -> LogtoClient {
    LogtoClient::new(
        LogtoHandle::new(builder(idp).build().unwrap()).unwrap(),
        MemoryStorage::new(),
    )
}

/// Runs the whole sign-in of `user` through the IdP; returns the callback's result.
pub async fn sign_in<S: Storage>(
    idp: &TestIdp,
    client: &LogtoClient<S>,
    user: (&str, &str),
) -> Result<(), logto::LogtoError> {
    let callback = callback_url(idp, client, user).await;
    client.handle_sign_in_callback(&callback).await
}

/// Starts a sign-in and signs `user` in at the IdP; returns the callback URL.
pub async fn callback_url<S: Storage>(
    idp: &TestIdp,
    client: &LogtoClient<S>,
    user: (&str, &str),
) -> String {
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    idp.sign_in(&url, user.0, user.1).await
}

/// A signed-in client of alice.
pub async fn signed_in(idp: &TestIdp) -> LogtoClient {
    let client = client(idp);
    sign_in(idp, &client, ALICE).await.unwrap();
    client
}

/// A server on a free loopback port answering every request with this raw HTTP response.
/// Returns its base URL.
pub async fn fixed_response_server(response: &'static str) -> String {
    counted_response_server(response).await.0
}

/// [`fixed_response_server`], with the count of requests it received.
pub async fn counted_response_server(
    response: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (base, count)
}

/// A server that accepts connections and never answers. Returns its base URL.
pub async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    base
}

/// A loopback URL where nothing listens.
pub fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The signed-in session as stored, as JSON.
pub async fn stored_session<S: Storage>(storage: &S) -> serde_json::Value {
    let raw = storage
        .get(logto::StorageKey::Tokens)
        .await
        .unwrap()
        .expect("a stored session");
    serde_json::from_str(&raw).unwrap()
}

/// Replaces the stored session.
pub async fn store_session<S: Storage>(storage: &S, session: &serde_json::Value) {
    storage
        .set(logto::StorageKey::Tokens, session.to_string())
        .await
        .unwrap();
}

/// A new storage holding a copy of `storage`'s session, as a second request would load it.
pub async fn copy_of<S: Storage>(storage: &S) -> MemoryStorage {
    let copy = MemoryStorage::new();
    store_session(&copy, &stored_session(storage).await).await;
    copy
}
