use std::fmt;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::{Algorithm, Error, UnverifiedToken, VerifiedToken};

/// Most entries a JWKS document may hold (usable or not). Issuers publish a
/// handful; a bigger document is refused rather than parsed key by key.
pub const MAX_JWKS_KEYS: usize = 100;

/// One verification key, parsed once from a JWK.
///
/// Supported: EC keys on P-256, P-384 and P-521 (ES256/384/512), RSA keys of
/// 2048 to 8192 bits (RS*/PS*; an RSA JWK without `alg` is taken as RS256)
/// and OKP Ed25519 keys (EdDSA). A JWK's `alg`, if present, must agree with
/// its key type and curve; its `use`, if present, must be `sig`; its
/// `key_ops`, if present, must contain `verify`.
///
/// ```
/// use logto_jwt::{Algorithm, PublicKey};
/// let jwk = br#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// let key = PublicKey::from_jwk(jwk).unwrap();
/// assert_eq!(key.kid(), Some("k1"));
/// assert_eq!(key.algorithm(), Algorithm::EdDsa);
/// ```
#[derive(Clone)]
pub struct PublicKey {
    kid: Option<String>,
    alg: Algorithm,
    key: ParsedPublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

fn field(v: Option<&String>, name: &str) -> Result<Vec<u8>, Error> {
    let v = v.ok_or_else(|| Error::InvalidKey(format!("missing `{name}`")))?;
    URL_SAFE_NO_PAD
        .decode(v)
        .map_err(|_| Error::InvalidKey(format!("`{name}` is not base64url")))
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

impl PublicKey {
    /// Parses one JWK (JSON object).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when the JWK is not a usable signature
    /// verification key.
    pub fn from_jwk(json: &[u8]) -> Result<PublicKey, Error> {
        let jwk: Jwk = serde_json::from_slice(json)
            .map_err(|e| Error::InvalidKey(format!("not a JWK object: {e}")))?;
        PublicKey::from_parsed(jwk)
    }

    pub(crate) fn from_value(value: serde_json::Value) -> Result<PublicKey, Error> {
        let jwk: Jwk = serde_json::from_value(value)
            .map_err(|e| Error::InvalidKey(format!("not a JWK object: {e}")))?;
        PublicKey::from_parsed(jwk)
    }

    fn from_parsed(jwk: Jwk) -> Result<PublicKey, Error> {
        if let Some(u) = &jwk.use_ {
            if u != "sig" {
                return Err(Error::InvalidKey(format!(
                    "`use` is `{}`, not `sig`",
                    crate::error::shorten(u)
                )));
            }
        }
        if let Some(ops) = &jwk.key_ops {
            if !ops.iter().any(|o| o == "verify") {
                return Err(Error::InvalidKey(
                    "`key_ops` does not allow `verify`".into(),
                ));
            }
        }
        let declared = match &jwk.alg {
            Some(a) => Some(a.parse::<Algorithm>().map_err(|_| {
                Error::InvalidKey(format!("unsupported `alg` `{}`", crate::error::shorten(a)))
            })?),
            None => None,
        };
        let (alg, key) = match jwk.kty.as_str() {
            "EC" => {
                let alg = match jwk.crv.as_deref() {
                    Some("P-256") => Algorithm::Es256,
                    Some("P-384") => Algorithm::Es384,
                    Some("P-521") => Algorithm::Es512,
                    _ => return Err(Error::InvalidKey("unsupported EC curve".into())),
                };
                let x = field(jwk.x.as_ref(), "x")?;
                let y = field(jwk.y.as_ref(), "y")?;
                let size = match alg {
                    Algorithm::Es256 => 32,
                    Algorithm::Es384 => 48,
                    _ => 66,
                };
                if x.len() != size || y.len() != size {
                    return Err(Error::InvalidKey(
                        "EC coordinates have the wrong length".into(),
                    ));
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(alg.verification(), &point)
                    .map_err(|_| Error::InvalidKey("EC point is not on the curve".into()))?;
                (alg, key)
            }
            "RSA" => {
                let alg = declared.unwrap_or(Algorithm::Rs256);
                let params = alg
                    .rsa_params()
                    .ok_or_else(|| Error::InvalidKey("`alg` does not fit an RSA key".into()))?;
                let n = field(jwk.n.as_ref(), "n")?;
                let e = field(jwk.e.as_ref(), "e")?;
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                if !(256..=1024).contains(&n.len()) {
                    return Err(Error::InvalidKey(
                        "RSA modulus must be 2048 to 8192 bits".into(),
                    ));
                }
                let key = RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(params)
                    .map_err(|_| Error::InvalidKey("RSA components are invalid".into()))?;
                (alg, key)
            }
            "OKP" => {
                if jwk.crv.as_deref() != Some("Ed25519") {
                    return Err(Error::InvalidKey(
                        "unsupported OKP curve (only Ed25519)".into(),
                    ));
                }
                let x = field(jwk.x.as_ref(), "x")?;
                if x.len() != 32 {
                    return Err(Error::InvalidKey("Ed25519 key must be 32 bytes".into()));
                }
                let key = ParsedPublicKey::new(Algorithm::EdDsa.verification(), &x)
                    .map_err(|_| Error::InvalidKey("Ed25519 key is invalid".into()))?;
                (Algorithm::EdDsa, key)
            }
            other => {
                return Err(Error::InvalidKey(format!(
                    "unsupported key type `{}`",
                    crate::error::shorten(other)
                )));
            }
        };
        if let Some(d) = declared {
            if d != alg {
                return Err(Error::InvalidKey(format!(
                    "`alg` {d} does not fit the key (which is {alg})"
                )));
            }
        }
        Ok(PublicKey {
            kid: jwk.kid,
            alg,
            key,
        })
    }

    /// The key id (`kid`), if the JWK has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.key
            .verify_sig(message, signature)
            .map_err(|_| Error::InvalidSignature)
    }
}

/// A set of verification keys, from a JWKS document.
///
/// Keys that cannot be used (unknown types, encryption keys, bad encodings)
/// are skipped, not fatal. Several keys may share a `kid`: a token naming it
/// is tried against each of them ([`KeySet::verify`]).
///
/// ```
/// use logto_jwt::{Algorithm, KeySet};
/// let jwks = br#"{"keys":[
///   {"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///   {"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]}"#;
/// let set = KeySet::from_json(jwks).unwrap();
/// assert_eq!(set.len(), 1); // the symmetric key was skipped
/// assert!(set.find(Some("k1"), Algorithm::EdDsa).is_ok());
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a JWKS (`{"keys": [...]}`), keeping the usable keys.
    ///
    /// # Errors
    /// [`Error::InvalidJwks`] when the document is not a JSON object with a
    /// `keys` array, or that array has more than [`MAX_JWKS_KEYS`] entries.
    pub fn from_json(json: &[u8]) -> Result<KeySet, Error> {
        let raw: RawSet = crate::http::from_json_object(json)
            .map_err(|_| Error::InvalidJwks("not a JSON object with a `keys` array".into()))?;
        if raw.keys.len() > MAX_JWKS_KEYS {
            return Err(Error::InvalidJwks(format!(
                "{} keys, over the limit of {MAX_JWKS_KEYS}",
                raw.keys.len()
            )));
        }
        let mut keys = Vec::with_capacity(raw.keys.len());
        for value in raw.keys {
            match PublicKey::from_value(value) {
                Ok(k) => keys.push(k),
                Err(e) => tracing::debug!(error = %e, "skipping JWK"),
            }
        }
        Ok(KeySet { keys })
    }

    /// Builds a set from keys.
    #[must_use]
    pub fn from_keys(keys: Vec<PublicKey>) -> KeySet {
        KeySet { keys }
    }

    /// The usable keys.
    #[must_use]
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Number of usable keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is usable.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Picks the key for a token: by `kid` when the token has one, else the
    /// only key of algorithm `alg`. When several keys share the `kid`, this
    /// is the first of algorithm `alg`; [`KeySet::verify`] tries them all.
    ///
    /// # Errors
    /// [`Error::UnknownKey`] when no key fits; [`Error::AlgorithmMismatch`]
    /// when the key named by `kid` has another algorithm.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<&PublicKey, Error> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid));
                let first = named.next().ok_or_else(|| Error::UnknownKey {
                    kid: Some(crate::error::shorten(kid)),
                })?;
                if first.alg == alg {
                    return Ok(first);
                }
                named
                    .find(|k| k.alg == alg)
                    .ok_or(Error::AlgorithmMismatch {
                        token: alg,
                        key: first.alg,
                    })
            }
            None => {
                let mut same = self.keys.iter().filter(|k| k.alg == alg);
                match (same.next(), same.next()) {
                    (Some(k), None) => Ok(k),
                    _ => Err(Error::UnknownKey { kid: None }),
                }
            }
        }
    }

    /// Verifies `token`'s signature with the key it names: as
    /// [`find`](Self::find) picks it, except that a `kid` held by several
    /// keys is ambiguous, so each of those keys of the token's algorithm is
    /// tried in turn until one verifies.
    ///
    /// # Errors
    /// Those of [`find`](Self::find), and [`Error::InvalidSignature`] when
    /// no candidate key verifies the signature (or [`Error::Malformed`] for a
    /// payload that is not base64url).
    pub fn verify(&self, token: &UnverifiedToken<'_>) -> Result<VerifiedToken, Error> {
        let header = token.header();
        let first = self.find(header.kid.as_deref(), header.alg)?;
        let result = token.verify(first);
        let Some(kid) = header.kid.as_deref() else {
            return result;
        };
        if !matches!(result, Err(Error::InvalidSignature)) {
            return result;
        }
        let mut others = self
            .keys
            .iter()
            .filter(|k| k.kid() == Some(kid) && k.alg == header.alg && !std::ptr::eq(*k, first));
        others
            .find_map(|k| token.verify(k).ok())
            .ok_or(Error::InvalidSignature)
    }
}
