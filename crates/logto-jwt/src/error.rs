use crate::Algorithm;

/// Everything that can go wrong while parsing, verifying or checking a token,
/// or while loading the keys that verify it.
///
/// Messages never contain the token itself. Values taken from a token (such
/// as a `kid` or an `alg` name) are shortened before they are stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not a compact JWS: three base64url (unpadded) parts, the
    /// first two JSON objects.
    #[error("malformed token ({0}); pass the raw compact JWS (`header.payload.signature`)")]
    Malformed(&'static str),
    /// The token is longer than the configured limit; it was not parsed.
    #[error(
        "token is {len} bytes, over the {max}-byte limit; raise the limit if your tokens are that large"
    )]
    TooLarge {
        /// Length of the token in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The header names an algorithm that is not accepted (`none`, HMAC, or
    /// an unknown name).
    #[error(
        "algorithm `{0}` is not accepted; only asymmetric JOSE algorithms (ES*, RS*, PS*, EdDSA) are"
    )]
    UnsupportedAlgorithm(String),
    /// The header carries a parameter that could point at another key
    /// (`jku`, `x5u`, `jwk`, `x5c`) or a `crit` extension; keys only come
    /// from the issuer's key set.
    #[error("header parameter `{0}` is refused; keys are only taken from the issuer's JWKS")]
    ForbiddenHeader(&'static str),
    /// The token's `alg` differs from the algorithm of the key it names.
    #[error("token algorithm {token} does not match the key's algorithm {key}")]
    AlgorithmMismatch {
        /// Algorithm in the token header.
        token: Algorithm,
        /// Algorithm of the selected key.
        key: Algorithm,
    },
    /// No key in the key set fits the token: its `kid` is unknown, or it has
    /// no `kid` and the set does not hold exactly one key of its algorithm.
    #[error(
        "no key for this token (kid {kid:?}); it was not issued by this issuer, or its key was rotated out"
    )]
    UnknownKey {
        /// The token's `kid`, shortened, if any.
        kid: Option<String>,
    },
    /// The signature does not verify with the selected key.
    #[error("invalid token signature")]
    InvalidSignature,
    /// The token's `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// The token's `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("token not yet valid (nbf or iat in the future); check the clocks if this persists")]
    NotYetValid,
    /// A required claim is absent.
    #[error("required claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// The payload does not deserialize into the requested claims type.
    #[error("token claims do not have the expected shape: {0}")]
    InvalidClaims(String),
    /// A JWK cannot be used for verification.
    #[error("unusable JWK: {0}")]
    InvalidKey(String),
    /// The JWKS could not be fetched (network error, timeout, HTTP status).
    #[error("fetching the JWKS failed: {0}; check the JWKS URI and that the issuer is reachable")]
    JwksFetch(String),
    /// The JWKS document is not a JSON key set with at least one usable key.
    #[error("the JWKS document is invalid: {0}")]
    InvalidJwks(String),
}

impl Error {
    /// True for errors about reaching or reading the key set (as opposed to
    /// errors about the token): these are server-side problems.
    #[must_use]
    pub fn is_key_source_error(&self) -> bool {
        matches!(self, Error::JwksFetch(_) | Error::InvalidJwks(_))
    }
}

/// Shortens a value taken from untrusted input before it is stored in an error.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    let s: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX + 1)
        .collect();
    if s.chars().count() > MAX {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    } else {
        s
    }
}
