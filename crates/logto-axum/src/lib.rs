//! # Logto sign-in for axum
//!
//! The Flask integration of Logto's guide to adding authentication to a Python web app, for
//! [axum](https://docs.rs/axum) 0.8:
//!
//! - [`Logto`]: the app-wide handle. [`Logto::router`] serves `/sign-in`, `/callback` and
//!   `/sign-out`; [`Logto::layer`] adds the session middleware (a [`tower_sessions`] store of your
//!   choice, with a safe cookie) and makes the extractors work.
//! - [`Auth`]: the per-request [`LogtoClient`](logto::LogtoClient) of the visitor, over their
//!   session ([`SessionStorage`]).
//! - [`Authenticated`]: the `@authenticated` decorator as an extractor. Signed out, a browser is
//!   redirected to sign-in and a script (`Accept: application/json`) gets
//!   `401 {"error": "not_authenticated"}`; signed in, the handler gets the ID-token claims
//!   (`Authenticated<IdTokenClaims>`, the default) or the fetched userinfo
//!   (`Authenticated<UserInfo>`).
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use logto::{LogtoConfig, UserInfo};
//! use logto_axum::{Authenticated, Logto};
//! use tower_sessions::MemoryStore;
//!
//! async fn profile(Authenticated { user, .. }: Authenticated<UserInfo>) -> String {
//!     format!("hello {}", user.sub)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
//!     .app_secret("app-secret")
//!     .build()?;
//! let logto = Logto::builder(config, "http://localhost:3000").build()?;
//! let app = Router::new()
//!     .route("/profile", get(profile))
//!     .merge(logto.router())
//!     .layer(logto.layer(MemoryStore::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! ## Sessions
//!
//! The cookie holds only a session id (`HttpOnly`, `SameSite=Lax` so that the IdP's redirect back
//! carries it, `Secure` unless the base URL is `http` on a loopback host such as `localhost`); tokens stay in the store, however large.
//! The session id changes when a sign-in completes. The tokens live in a record of their own in
//! the same store, written the moment they change, so that a request finishing late never writes
//! back an older copy of them.
//!
//! A signed-in session, its token record, its back-channel logout index and its cookie are renewed
//! by the extractors once a tenth of [`LogtoBuilder::session_ttl`] (14 days) has passed since the
//! sign-in or the last renewal (the tokens written again under the refresh lock, never an older
//! copy), not on every request. A signed-in session thus ends between nine tenths of that TTL and
//! the whole TTL after the visitor's last request. A session that holds nothing but a pending
//! sign-in (valid for 10 minutes) ends 15 minutes after it was last written, so that sign-ins
//! never completed leave nothing in the store for long.
//!
//! Several processes can share one store (Redis: `RedisStore`, feature `redis`, plain or over TLS
//! with `rediss://`). Logto gives a traditional web app the same refresh token back until 70 % of
//! its lifetime has passed, and a new one on every refresh from then on; a rotated-out refresh
//! token used again more than 3 seconds later makes Logto revoke the whole grant. So a refresh
//! must never run in two processes at once for one session: give [`LogtoBuilder::refresh_lock`] a
//! [`RefreshLock`] shared by the processes (`RedisStore` is one).
//!
//! Records can be sealed at rest with [`EncryptedStore`] (AES-256-GCM-SIV, a [`SessionKey`] from
//! your configuration, old keys kept for rotation): the store then never holds a token in clear,
//! and a record that no key opens reads as signed out.
//!
//! A sign-out anywhere in the user's Logto session reaches the app through OpenID Connect
//! Back-Channel Logout: set base URL + `/back-channel-logout` as the app's "Backchannel logout
//! URI" in Logto Console (with "Is session required" on); [`Logto::router`] serves it and ends
//! the matching sessions in every process sharing the store.
//!
//! A grant revoked in Logto (the user's sessions ended in Logto Console, or a reused refresh
//! token) shows at the next request to Logto: the next refresh, or userinfo, whose access token
//! is revoked with the grant. The visitor is then signed out (a redirect to sign-in, or `401` for
//! a script), not shown an error. Pages that only read the ID-token claims need no request to
//! Logto and do not notice until then.

mod back_channel;
mod encrypted_store;
mod error;
mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod layer;
mod prefetch;
#[cfg(feature = "redis")]
mod redis_store;
mod routes;
mod storage;

pub use encrypted_store::{EncryptedStore, SessionKey};
pub use error::{Error, Rejection};
pub use extract::{Auth, Authenticated, UserData};
pub use handle::{Logto, LogtoBuilder};
pub use layer::{LogtoLayer, LogtoService, SessionStoreOf};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use storage::SessionStorage;
/// The crates users name next to this one: `logto::LogtoConfig`, `tower_sessions::MemoryStore`.
pub use {logto, tower_sessions};

/// The lock taken around token refreshes across processes (from the `logto` core).
pub use logto::{LockGuard, RefreshLock};

/// The boxed error of storage and lock back ends.
pub type BoxError = logto::BoxError;

/// The README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
