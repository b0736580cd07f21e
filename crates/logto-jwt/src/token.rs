use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::{Algorithm, Error, PublicKey};

/// The protected header of a JWS, after the checks of [`UnverifiedToken::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The signature algorithm (never `none` or HMAC).
    pub alg: Algorithm,
    /// The key id, used to pick the key in the issuer's key set.
    pub kid: Option<String>,
    /// The media type of the token (`"at+jwt"` for Logto access tokens,
    /// `"JWT"` for ID tokens).
    pub typ: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    jku: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
    crit: Option<IgnoredAny>,
}

impl Header {
    /// Parses a header from its JSON form.
    ///
    /// Refuses `jku`, `x5u`, `jwk` and `x5c` (keys come only from the
    /// issuer's key set) and any `crit` (no extension is understood).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::UnsupportedAlgorithm`],
    /// [`Error::ForbiddenHeader`].
    pub fn from_json(json: &[u8]) -> Result<Header, Error> {
        let raw: RawHeader = serde_json::from_slice(json)
            .map_err(|_| Error::Malformed("header is not valid JSON"))?;
        for (name, present) in [
            ("jku", raw.jku.is_some()),
            ("x5u", raw.x5u.is_some()),
            ("jwk", raw.jwk.is_some()),
            ("x5c", raw.x5c.is_some()),
            ("crit", raw.crit.is_some()),
        ] {
            if present {
                return Err(Error::ForbiddenHeader(name));
            }
        }
        Ok(Header {
            alg: raw.alg.parse()?,
            kid: raw.kid,
            typ: raw.typ,
        })
    }
}

/// A compact JWS whose header has been parsed and checked, but whose
/// signature has not been verified yet.
///
/// ```
/// use logto_jwt::{Error, UnverifiedToken};
/// // `{"alg":"none"}` is never accepted.
/// let err = UnverifiedToken::parse("eyJhbGciOiJub25lIn0.e30.", 16 * 1024).unwrap_err();
/// assert!(matches!(err, Error::UnsupportedAlgorithm(_)));
/// ```
pub struct UnverifiedToken<'a> {
    header: Header,
    signing_input: &'a str,
    payload_b64: &'a str,
    signature: Vec<u8>,
}

impl fmt::Debug for UnverifiedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Error::Malformed(what))
}

/// The payload of a compact JWS, base64url-decoded but **not verified**: for reading the claims
/// of a token whose signature is checked elsewhere, or that is only a hint (an access token's
/// `exp`). Never trust it for an authorization decision.
///
/// ```
/// let payload = logto_jwt::decode_payload("e30.eyJzdWIiOiJ1MSJ9.c2ln").unwrap();
/// assert_eq!(payload, br#"{"sub":"u1"}"#);
/// assert!(logto_jwt::decode_payload("a.b").is_err());
/// ```
///
/// # Errors
/// [`Error::Malformed`] when `token` is not three dot-separated parts or the payload is not
/// base64url.
pub fn decode_payload(token: &str) -> Result<Vec<u8>, Error> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) => b64(payload, "payload is not base64url"),
        _ => Err(Error::Malformed("not three dot-separated parts")),
    }
}

impl<'a> UnverifiedToken<'a> {
    /// Splits `token`, decodes and checks its header, decodes its signature.
    ///
    /// Tokens longer than `max_len` bytes are refused before any decoding.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`],
    /// [`Error::UnsupportedAlgorithm`], [`Error::ForbiddenHeader`].
    pub fn parse(token: &'a str, max_len: usize) -> Result<Self, Error> {
        if token.len() > max_len {
            return Err(Error::TooLarge {
                len: token.len(),
                max: max_len,
            });
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed("expected three dot-separated parts"));
        };
        if h.is_empty() || p.is_empty() {
            return Err(Error::Malformed("empty header or payload"));
        }
        let header_json = b64(h, "header is not base64url")?;
        let header = Header::from_json(&header_json)?;
        let signature = b64(s, "signature is not base64url")?;
        if signature.is_empty() {
            return Err(Error::Malformed("empty signature"));
        }
        // The payload is decoded after the signature check, but its
        // alphabet is checked cheaply now so that garbage fails early.
        if !p
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::Malformed("payload is not base64url"));
        }
        Ok(UnverifiedToken {
            header,
            signing_input: &token[..h.len() + 1 + p.len()],
            payload_b64: p,
            signature,
        })
    }

    /// The checked header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Verifies the signature with `key`. The token's `alg` must equal the
    /// key's algorithm.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`], [`Error::InvalidSignature`],
    /// [`Error::Malformed`] (payload not base64url).
    pub fn verify(&self, key: &PublicKey) -> Result<VerifiedToken, Error> {
        if self.header.alg != key.algorithm() {
            return Err(Error::AlgorithmMismatch {
                token: self.header.alg,
                key: key.algorithm(),
            });
        }
        key.verify_signature(self.signing_input.as_bytes(), &self.signature)?;
        let payload = b64(self.payload_b64, "payload is not base64url")?;
        Ok(VerifiedToken {
            header: self.header.clone(),
            payload,
        })
    }
}

/// A token whose signature has been verified. Its claims (`exp`, `iss`,
/// `aud`…) still need checking: see [`crate::RegisteredClaims`].
#[derive(Clone)]
pub struct VerifiedToken {
    header: Header,
    payload: Vec<u8>,
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl VerifiedToken {
    /// The token's header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload (the JSON claims), as signed.
    #[must_use]
    pub fn payload_json(&self) -> &[u8] {
        &self.payload
    }

    /// Deserializes the payload.
    ///
    /// # Errors
    /// [`Error::InvalidClaims`] when the payload is not JSON of that shape.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.payload).map_err(|e| Error::InvalidClaims(e.to_string()))
    }
}
