//! # Logto for actix-web
//!
//! The same guarantees as logto-axum, on the same `logto` core, for
//! [actix-web](https://docs.rs/actix-web) 4:
//!
//! - [`Logto`]: the app-wide handle. [`Logto::configure`] serves `/sign-in`, `/callback`,
//!   `/sign-out` and `/back-channel-logout`; [`Logto::middleware`] adds the actix-session sessions
//!   (in a [`MemoryStore`], feature `sqlite` a `SqliteStore` file, or feature `redis` a
//!   `RedisStore` shared by several processes; sealed at rest with [`EncryptedStore`]) with a safe
//!   cookie, and makes the extractors work.
//! - [`Auth`]: the per-request [`LogtoClient`](logto::LogtoClient) of the visitor.
//! - [`Authenticated`]: signed out, a browser is redirected to sign-in and a script
//!   (`Accept: application/json`) gets `401 {"error": "not_authenticated"}`; signed in, the
//!   handler gets the ID-token claims (`Authenticated<IdTokenClaims>`, the default) or the
//!   fetched userinfo (`Authenticated<UserInfo>`).
//! - [`api`]: protect an API with Logto access tokens ([`api::RequireAuth`] extractor,
//!   [`api::ApiAuth`] middleware) on [`logto_api_auth::Validator`].
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use logto::{LogtoConfig, UserInfo};
//! use logto_actix::{Authenticated, Logto, MemoryStore};
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
//! let store = MemoryStore::default();
//! HttpServer::new(move || {
//!     App::new()
//!         .route("/profile", web::get().to(profile))
//!         .configure(|routes| logto.configure(routes))
//!         .wrap(logto.middleware(store.clone()))
//! })
//! .bind(("127.0.0.1", 3000))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! ## Sessions
//!
//! The cookie holds only the session id, encrypted (`HttpOnly`, `SameSite=Lax` so that the IdP's
//! redirect back carries it, `Secure` unless the base URL is `http` on a loopback host); tokens
//! stay in the store, in a record of their own written the moment they change, so that a request
//! finishing late never writes back an older copy of them. The session id changes when a sign-in
//! completes.
//!
//! A signed-in session, its token record, its back-channel logout index and its cookie are renewed
//! by the extractors once a tenth of [`LogtoBuilder::session_ttl`] (14 days) has passed since the
//! sign-in or the last renewal (the tokens written again under the refresh lock, never an older
//! copy), not on every request. A signed-in session thus ends between nine tenths of that TTL and
//! the whole TTL after the visitor's last request. A session that holds nothing but a pending
//! sign-in (valid for 10 minutes) ends 15 minutes after it was last written, so that sign-ins
//! never completed leave nothing in the store for long.
//!
//! Several processes can share one `RedisStore` (feature `redis`); give them the same cookie key
//! ([`LogtoBuilder::cookie_key`]) and the store as [`LogtoBuilder::refresh_lock`], so that a
//! refresh never runs in two processes at once for one session (Logto revokes the whole grant
//! when a rotated-out refresh token is used again).

pub mod api;
mod back_channel;
mod encrypted_store;
mod error;
mod extract;
mod handle;
mod middleware;
#[cfg(feature = "redis")]
mod redis_store;
mod routes;
#[cfg(feature = "sqlite")]
mod sqlite_store;
mod storage;
mod store;

pub use encrypted_store::{EncryptedStore, SessionKey};
pub use error::{Error, Rejection};
pub use extract::{Auth, Authenticated, UserData};
pub use handle::{Logto, LogtoBuilder};
pub use logto_api_auth;
pub use middleware::{LogtoMiddleware, LogtoService, SessionErrors, SessionStoreOf};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite_store::SqliteStore;
pub use storage::SessionStorage;
pub use store::{MemoryStore, TokenStore};

/// The lock taken around token refreshes across processes (from the `logto` core).
pub use logto::{LockGuard, RefreshLock};

/// The boxed error of storage and lock back ends.
pub type BoxError = logto::BoxError;

/// The README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
