//! Protect an API with Logto access tokens.
//!
//! Port of Logto's API protection guide (Python) to Rust, faster and
//! stricter:
//!
//! * [`Validator`] — framework-agnostic. Built from the Logto endpoint
//!   (discovery gives `issuer` and `jwks_uri`) and the expected audience (an
//!   API resource or an organization). Verifies the signature with the
//!   issuer's keys (ES384 by default, any of ES256/384/512, RS*, PS*, EdDSA;
//!   never `none` or HMAC), then `typ` (`at+jwt`), `iss`, `aud`, `exp`,
//!   `nbf`/`iat` with leeway, and scopes. Valid tokens are cached until
//!   they expire, so a hot token costs one hash-map lookup.
//! * [`extract_bearer`] — the `Authorization: Bearer` header, with the
//!   guide's error codes.
//! * [`AuthError`] — status, code, safe message and `WWW-Authenticate`
//!   (RFC 6750) for every failure.
//! * With the `axum` feature (default): [`RequireAuth`] extractor with
//!   type-level scopes, [`AuthLayer`] for whole routers, and `IntoResponse`
//!   for [`AuthError`].
//!
//! # Decisions
//!
//! * **Scheme case.** `bearer` and `BEARER` are accepted: RFC 7235 §2.1 makes
//!   authentication schemes case-insensitive. The Python guide compared
//!   `Bearer` case-sensitively; everything else about its error codes is kept.
//! * **Header strictness.** Exactly `<scheme> 1*SP <token>`; a third part, a
//!   tab, a character outside RFC 6750's `b64token` or two `Authorization`
//!   headers are `auth.authorization_token_invalid_format` (the Python
//!   guide silently used the second word).
//! * **Answers.** 401 with `WWW-Authenticate: Bearer` (no `error` attribute
//!   when no bearer credentials were sent, RFC 6750 §3.1),
//!   `error="invalid_request"` for a malformed header, `error="invalid_token"`
//!   for every failed token check, 403 `error="insufficient_scope",
//!   scope="…"` for scopes. The body is `{"code", "message"}` with a generic
//!   message; the reason is only in [`AuthError`]'s `Display` (logged at
//!   debug level by the axum integration).
//! * **Keys unavailable.** When the issuer's keys have never been fetched
//!   and cannot be (Logto down at start), the answer is 503
//!   `auth.keys_unavailable`, not 401: the client's token is not at fault.
//!   Once keys are loaded, fetch failures keep the old keys.
//! * **Organizations.** A token for another organization than the route's
//!   is `invalid_token` (wrong audience), not `insufficient_scope`. An
//!   organization token (`aud` = `urn:logto:organization:<id>`) needs an
//!   organization audience; an organization-level API resource token (`aud` =
//!   the API, plus an `organization_id` claim) is a token for the API, and
//!   [`AuthInfo::require_organization`] checks its organization. Logto also
//!   puts the API scopes a user holds through organization roles, of every
//!   organization, on the plain token for the API: a scope that must hold in
//!   one organization needs the organization-level token and
//!   `require_organization`.
//! * **Machine-to-machine tokens.** Logto sets `sub` to the application's id
//!   (= `client_id`) on client-credentials tokens:
//!   [`AuthInfo::user_id`] is `None` for them, [`AuthInfo::subject`] is
//!   `sub` as signed.
//! * **Key rotation.** Logto signs with a new key as soon as it rotates (it
//!   keeps publishing the previous one). A token whose `kid` the validator
//!   does not hold makes it fetch the JWKS again, at most once per
//!   [`jwks_min_refresh_interval`](ValidatorBuilder::jwks_min_refresh_interval)
//!   (default 30 s, so that a flood of made-up `kid`s costs Logto one request
//!   per interval): when the validator fetched the JWKS less than that
//!   before the rotation, tokens signed with the new key are `invalid_token`
//!   until the interval has passed since that fetch, then the first one
//!   fetches the new key and passes. Tokens signed with the previous key pass
//!   while Logto publishes it.
//! * **Discovery** is trusted only for the tenant it was asked of: the
//!   discovered `issuer` must be `<endpoint>/oidc` (trailing slash
//!   tolerated), else [`BuildError::IssuerMismatch`]. The endpoint and the
//!   `jwks_uri` must be `https://`, or `http://` on a loopback host
//!   (`127.0.0.0/8`, `::1`, `localhost`), else [`BuildError::InsecureUrl`];
//!   [`ValidatorBuilder::allow_insecure_http`] lifts this, for development
//!   only.
//! * **Key material** only comes from the discovered `jwks_uri`: `jku`,
//!   `x5u`, `jwk`, `x5c` and any `crit` header are refused. An RSA JWK
//!   without `alg` is taken as RS256.
//! * **Cache.** Valid tokens are cached per validator, keyed on the whole
//!   token, up to [`ValidatorBuilder::cache_capacity`] entries (FIFO
//!   eviction after dropping expired ones), and re-checked for `exp` on
//!   every hit. Scopes are checked on every request. When a new key set
//!   comes in, cached tokens are verified again against it.
//! * **Key removal.** The JWKS is refetched in the background once it is
//!   [`jwks_max_age`](ValidatorBuilder::jwks_max_age) old (default 10 min):
//!   tokens signed with a key Logto no longer publishes are then refused.
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
pub use axum_support::{AuthLayer, AuthService, RequireAuth};
pub use bearer::extract_bearer;
pub use error::{AuthError, BuildError, TokenRejection};
pub use info::{AuthInfo, ORGANIZATION_AUDIENCE_PREFIX};
pub use logto_jwt;
/// The HTTP client crate, for [`ValidatorBuilder::http_client`].
pub use logto_jwt::reqwest;
pub use scopes::{NoScopes, ScopeMatch, ScopeRequirement, Scopes};
pub use validator::{ExpectedAudience, Validator, ValidatorBuilder};

/// The README's code blocks, compiled by `cargo test --doc` (the example is the axum extractor).
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
