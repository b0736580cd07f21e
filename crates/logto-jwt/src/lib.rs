//! JOSE for Logto: parse, select keys for and verify the signed JWTs (ID
//! tokens and access tokens) that a Logto tenant issues, on `aws-lc-rs`.
//!
//! * [`Algorithm`] — the asymmetric JWS algorithms; `none` and HMAC cannot
//!   be represented, so they can never be accepted.
//! * [`UnverifiedToken`] → [`VerifiedToken`] — size cap, strict header
//!   checks (no `jku`, `x5u`, `jwk`, `x5c` or `crit`), signature with a key
//!   whose algorithm must equal the token's.
//! * [`PublicKey`], [`KeySet`] — JWKs parsed once into verification keys.
//! * [`JwksCache`] — the issuer's key set, refreshed on key rotation with a
//!   rate limit and single flight.
//! * [`RegisteredClaims`] — `iss`, `sub`, `aud`, and the time checks.
//! * [`http`] — the HTTP edge the Logto crates share: client policy, root certificates,
//!   capped reads, discovery with its issuer check.
//!
//! Claims other than time are left to the caller (see `logto-api-auth` for
//! access tokens).
//!
//! ```
//! use logto_jwt::{Error, UnverifiedToken};
//! // An HS256 token is refused while parsing, before any key is looked up.
//! let hs256 = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
//! assert!(matches!(
//!     UnverifiedToken::parse(hs256, 16 * 1024),
//!     Err(Error::UnsupportedAlgorithm(_))
//! ));
//! ```

mod alg;
mod cache;
mod claims;
mod error;
pub mod http;
mod jwk;
mod net;
mod token;

pub use alg::Algorithm;
pub use cache::{JwksCache, JwksOptions};
pub use claims::{Audience, MAX_LEEWAY, RegisteredClaims, check_leeway, numeric_date, unix_now};
pub use error::Error;
pub use jwk::{KeySet, MAX_JWKS_KEYS, PublicKey};
pub use net::is_loopback;
/// The HTTP client crate the key cache and [`http::HttpOptions`] take clients of.
pub use reqwest;
pub use token::{Header, UnverifiedToken, VerifiedToken, decode_payload};

/// The README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
