//! The pure protocol core: URL building, callback checks, token and claims models. Private: its
//! public types are re-exported at the crate root.
//!
//! Nothing here does I/O, so every rule of the protocol is unit-tested without a network. The
//! crate's HTTP edge does the requests; [`LogtoClient`](crate::LogtoClient) ties the two to a
//! [`Storage`](crate::Storage).

pub(crate) mod callback;
pub mod claims;
pub(crate) mod id_token;
pub(crate) mod logout_token;
pub(crate) mod random;
pub mod sign_in;
pub(crate) mod sign_out;
pub(crate) mod tokens;

/// Seconds since the Unix epoch.
pub(crate) use logto_jwt::unix_now as now_unix;
