//! # Logto for Rust backends
//!
//! What a backend does with [Logto](https://logto.io) on its own behalf, without a user's browser:
//!
//! - [`TokenSource`]: machine-to-machine access tokens (the client-credentials grant of an M2M
//!   app), for an API resource, with scopes, or for an organization; cached until shortly before
//!   they expire, renewed on demand, one request at a time however many tasks ask.
//! - [`Management`]: Logto's Management API with those tokens: users (create, read, update,
//!   custom data, profile, suspend), roles, organizations and their roles, one-time tokens
//!   (magic links), personal access tokens, impersonation subject tokens; and
//!   [`raw`](Management::raw) for every other endpoint.
//! - [`TokenExchange`]: RFC 8693 token exchange: a personal access token, or an impersonation
//!   subject token, for an access token that acts as the user.
//! - [`BackendError`]: one error type; Logto's OAuth error codes (`invalid_client`,
//!   `invalid_target`, `invalid_grant`…) and Management API error bodies as variants.
//!
//! Every request has a timeout (10 s by default); response bodies are capped at 1 MiB; plain
//! `http://` is refused off this machine unless `allow_insecure_http(true)`; secrets and tokens
//! never appear in `Debug` output or errors.
//!
//! A Logto behind a private CA or a proxy: every builder takes `.root_certificate(pem)` (the CA,
//! PEM; several calls or certificates add up) or `.http_client(client)` (a ready
//! [`reqwest::Client`]; it must not follow redirects):
//!
//! ```
//! use logto_backend::{BackendError, TokenSource};
//! let source = TokenSource::builder("https://logto.internal", "m2m-app-id", "m2m-app-secret")
//!     .resource("https://api.internal")
//!     .root_certificate(b"not a PEM certificate".to_vec())
//!     .build();
//! assert!(matches!(source, Err(BackendError::InvalidRootCertificate(_))));
//! let client = logto_backend::reqwest::Client::builder()
//!     .redirect(logto_backend::reqwest::redirect::Policy::none())
//!     .build()
//!     .unwrap();
//! let source = TokenSource::builder("https://logto.internal", "m2m-app-id", "m2m-app-secret")
//!     .http_client(client)
//!     .build()?;
//! # Ok::<(), BackendError>(())
//! ```
//!
//! ```no_run
//! use logto_backend::{Management, NewUser};
//!
//! # async fn run() -> Result<(), logto_backend::BackendError> {
//! let management = Management::new("https://auth.your-app.com", "m2m-app-id", "m2m-app-secret")?;
//! let user = management
//!     .create_user(&NewUser::new().username("alice").primary_email("alice@example.com"))
//!     .await?;
//! # Ok(()) }
//! ```

mod error;
mod exchange;
/// Entry points for the fuzz targets in `fuzz/` (not a public API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod management;
mod token_source;

pub use error::{ApiError, BackendError, SharedError};
pub use exchange::{ExchangeRequest, SubjectTokenType, TokenExchange, TokenExchangeBuilder};
pub use logto_jwt::http::OAuthErrorCode;
#[doc(hidden)]
pub use management::typed_operations as __typed_operations;
pub use management::{
    Address, Management, ManagementBuilder, NewOneTimeToken, NewOrganization, NewOrganizationRole,
    NewRole, NewUser, OSS_MANAGEMENT_RESOURCE, OneTimeToken, OneTimeTokenStatus, Organization,
    OrganizationRole, PersonalAccessToken, Role, RoleType, Secret, SubjectToken, Tenant, User,
    UserProfile, UserUpdate,
};
/// The HTTP client crate, for [`TokenSourceBuilder::http_client`] and the other builders'.
pub use reqwest;
pub use reqwest::Method;
pub use token_source::{AccessToken, DEFAULT_REFRESH_MARGIN, TokenSource, TokenSourceBuilder};

/// The README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
