//! # Logto for Rust web apps
//!
//! The Rust form of Logto's Python SDK: sign users in with [Logto](https://logto.io), read their
//! claims, and get access tokens for your APIs and organizations. The names follow the Python SDK
//! in snake_case, so Logto's Python tutorial maps line by line:
//!
//! | Python | Rust |
//! | --- | --- |
//! | `LogtoConfig(endpoint=…, appId=…, appSecret=…)` | [`LogtoConfig::builder`]`(endpoint, app_id).app_secret(…).build()?` |
//! | `LogtoClient(config, storage=…)` | [`LogtoClient::new`]`(handle, storage)`, with one [`LogtoHandle::new`]`(config)?` per process |
//! | `await client.signIn(redirectUri=…, interactionMode=…)` | [`sign_in`](LogtoClient::sign_in) / [`sign_in_with`](LogtoClient::sign_in_with) |
//! | `await client.handleSignInCallback(request.url)` | [`handle_sign_in_callback`](LogtoClient::handle_sign_in_callback) |
//! | `client.isAuthenticated()` | [`is_authenticated`](LogtoClient::is_authenticated) |
//! | `client.getIdTokenClaims()` | [`get_id_token_claims`](LogtoClient::get_id_token_claims) |
//! | `await client.fetchUserInfo()` | [`fetch_user_info`](LogtoClient::fetch_user_info) |
//! | `await client.getAccessToken(resource)` | [`get_access_token`](LogtoClient::get_access_token) |
//! | `await client.getAccessToken()` (no resource: for userinfo) | [`get_opaque_access_token`](LogtoClient::get_opaque_access_token) |
//! | `await client.getAccessTokenClaims(resource)` | [`get_access_token_claims`](LogtoClient::get_access_token_claims); the token and its claims together: [`get_access_token_and_claims`](LogtoClient::get_access_token_and_claims) |
//! | `await client.getOrganizationToken(id)` | [`get_organization_token`](LogtoClient::get_organization_token) |
//! | `await client.getOrganizationTokenClaims(id)` | [`get_organization_token_claims`](LogtoClient::get_organization_token_claims); with the token: [`get_organization_token_and_claims`](LogtoClient::get_organization_token_and_claims) |
//! | `await client.signOut(postLogoutRedirectUri=…)` | [`sign_out`](LogtoClient::sign_out) |
//!
//! ```no_run
//! use logto::{LogtoClient, LogtoConfig, LogtoHandle, MemoryStorage, UserInfoScope};
//!
//! # async fn run() -> Result<(), logto::LogtoError> {
//! let config = LogtoConfig::builder("https://your-tenant.logto.app", "your-app-id")
//!     .app_secret("your-app-secret")
//!     .scopes([UserInfoScope::Email, UserInfoScope::Organizations])
//!     .resources(["https://shopping.your-app.com/api"])
//!     .build()?;
//! let logto = LogtoHandle::new(config)?; // once per process: connections, keys, caches
//! let client = LogtoClient::new(logto.clone(), MemoryStorage::new());
//! let sign_in_url = client.sign_in("https://your-app.com/callback").await?;
//! // … the user signs in at Logto and comes back to /callback …
//! # let callback_url = "";
//! client.handle_sign_in_callback(callback_url).await?;
//! let token = client.get_access_token("https://shopping.your-app.com/api").await?;
//! # Ok(()) }
//! ```
//!
//! ## Layers
//! - [`LogtoConfig`]: the configuration, a plain value (built in code or deserialized).
//! - `protocol` (private): the pure protocol core (URL building, callback checks, token and claims
//!   models); its public types are at the crate root.
//! - `provider` (private): the I/O edge (discovery, token endpoint, userinfo, revocation, JWKS
//!   cache).
//! - [`LogtoHandle`]: the runtime one process shares (the edge, caches, refresh coordination).
//! - [`LogtoClient`]: the per-user facade over a [`LogtoHandle`] and a [`Storage`].
//! - [`RefreshLock`]: the lock that keeps several processes from refreshing one session at once.
//! - [`web`]: the building blocks of framework adapters.
//!
//! Framework integrations (`logto-axum`, `logto-actix`) build on these.

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod protocol;

mod backoff;
mod client;
mod config;
mod error;
mod handle;
mod lock;
mod parsed_cache;
mod provider;
mod refresh;
mod storage;
pub mod web;

pub use client::LogtoClient;
pub use config::{
    LogtoConfig, LogtoConfigBuilder, ORGANIZATIONS_RESOURCE, Prompt, RESERVED_SCOPES, UserInfoScope,
};
pub use error::{BoxError, LogtoError};
pub use handle::LogtoHandle;
pub use lock::{BoxFuture, LockGuard, RefreshLock};
/// The JWT layer, whose errors [`LogtoError`] carries.
pub use logto_jwt;
pub use logto_jwt::http::OAuthErrorCode;
pub use logto_jwt::is_loopback;
pub use protocol::claims::{
    AccessTokenClaims, Address, Claim, IdTokenClaims, Identity, OrganizationData, SsoIdentity,
    UserInfo,
};
pub use protocol::logout_token::{BACK_CHANNEL_LOGOUT_EVENT, LogoutToken};
pub use protocol::sign_in::{
    DirectSignIn, FirstScreen, Identifier, InteractionMode, SignInOptions,
};
/// The HTTP client crate, for [`LogtoHandle::with_http_client`].
pub use reqwest;
pub use storage::{MemoryStorage, Storage, StorageKey};

/// The README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
