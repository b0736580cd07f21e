//! Protect an API with Logto access tokens.
//!
//! Port of Logto's "API protection" guide (seed 004) for Rust, faster and
//! stricter:
//!
//! * [`Validator`] — framework-agnostic. Built from the Logto endpoint
//!   (discovery gives `issuer` and `jwks_uri`) and the expected audience (an
//!   API resource or an organization). Verifies the signature with the
//!   issuer's keys (ES384 by default, any of ES256/384/512, RS*, PS*, EdDSA;
//!   never `none` or HMAC), then `typ` (`at+jwt`), `iss`, `aud`, `exp`,
//!   `nbf`/`iat` with leeway, and scopes. Valid tokens are cached until
//!   they expire, so a hot token costs one hash-map lookup.
//! * [`extract_bearer`] — the `Authorization: Bearer` header, with seed
//!   004's error codes.
//! * [`AuthError`] — status, code, safe message and `WWW-Authenticate`
//!   (RFC 6750) for every failure.
//! * With the `axum` feature (default): [`RequireAuth`] extractor with
//!   type-level scopes, [`AuthLayer`] for whole routers, and `IntoResponse`
//!   for [`AuthError`].
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Json, Router, routing::get};
//! use logto_api_auth::{RequireAuth, Scopes, Validator};
//!
//! struct ReadItems;
//! impl Scopes for ReadItems {
//!     const SCOPES: &'static [&'static str] = &["read:items"];
//! }
//!
//! async fn items(auth: RequireAuth<ReadItems>) -> Json<Vec<String>> {
//!     Json(vec![format!("items of {:?}", auth.subject())])
//! }
//!
//! let validator = Validator::builder("https://tenant.logto.app")
//!     .resource("https://api.example.com")
//!     .build()
//!     .await?;
//! let app: Router = Router::new().route("/items", get(items)).with_state(validator);
//! # Ok(()) }
//! ```

#[cfg(feature = "axum")]
mod axum_support;
mod bearer;
mod cache;
mod error;
mod info;
mod scopes;
mod validator;

#[cfg(feature = "axum")]
pub use axum_support::{AuthLayer, AuthService, NoScopes, RequireAuth, Scopes};
pub use bearer::extract_bearer;
pub use error::{AuthError, TokenRejection};
pub use info::{AuthInfo, ORGANIZATION_AUDIENCE_PREFIX};
pub use logto_jwt;
pub use scopes::{ScopeMatch, ScopeRequirement};
pub use validator::{ExpectedAudience, Validator, ValidatorBuilder};
