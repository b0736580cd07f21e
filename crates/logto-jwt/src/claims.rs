use serde::{Deserialize, Deserializer, Serialize};

use crate::Error;

/// The most clock skew a validator may be set to tolerate (5 minutes): past it, tokens long
/// expired would still pass. Clocks further apart need fixing (NTP), not a wider leeway.
pub const MAX_LEEWAY: std::time::Duration = std::time::Duration::from_secs(300);

/// Refuses a leeway past [`MAX_LEEWAY`], saying why (for a builder's configuration error).
///
/// ```
/// use std::time::Duration;
/// assert!(logto_jwt::check_leeway(Duration::from_secs(30)).is_ok());
/// assert!(logto_jwt::check_leeway(Duration::from_secs(3600)).unwrap_err().contains("leeway"));
/// ```
pub fn check_leeway(leeway: std::time::Duration) -> Result<(), String> {
    if leeway <= MAX_LEEWAY {
        return Ok(());
    }
    Err(format!(
        "the leeway of {leeway:?} is more than {MAX_LEEWAY:?}: tokens expired that long ago would \
         be accepted; keep it small (default 30 s) and set the server's clock right (NTP)"
    ))
}

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// An array of audiences.
    Many(Vec<String>),
}

impl Audience {
    /// True when `aud` is, or contains, `value`.
    #[must_use]
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|a| a == value)
    }

    /// Iterates over the audiences.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Audience::One(a) => std::slice::from_ref(a),
            Audience::Many(v) => v,
        };
        slice.iter().map(String::as_str)
    }
}

/// The registered claims of RFC 7519 that validators check.
///
/// ```
/// use logto_jwt::{Error, RegisteredClaims};
/// let c: RegisteredClaims =
///     serde_json::from_str(r#"{"sub":"u1","aud":["a","b"],"exp":1000,"iat":900}"#).unwrap();
/// assert!(c.aud.as_ref().unwrap().contains("b"));
/// assert!(c.check_time(950, 0).is_ok());
/// assert_eq!(c.check_time(1000, 0), Err(Error::Expired));
/// assert!(c.check_time(1000, 30).is_ok()); // within the leeway
/// assert_eq!(c.check_time(800, 30), Err(Error::NotYetValid)); // iat ahead
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisteredClaims {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Audience(s).
    pub aud: Option<Audience>,
    /// Expiry, in seconds since the Unix epoch.
    #[serde(default, deserialize_with = "numeric_date_field")]
    pub exp: Option<u64>,
    /// Not before, in seconds since the Unix epoch.
    #[serde(default, deserialize_with = "numeric_date_field")]
    pub nbf: Option<u64>,
    /// Issued at, in seconds since the Unix epoch.
    #[serde(default, deserialize_with = "numeric_date_field")]
    pub iat: Option<u64>,
}

/// Accepts integer and fractional NumericDates (RFC 7519 §2); fractions are
/// truncated. Negative or non-finite values are refused.
fn numeric_date_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => numeric_date(&n)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("NumericDate out of range")),
    }
}

/// A NumericDate (RFC 7519 §2) in whole Unix seconds: integers, and fractions truncated.
/// `None` for negative, non-finite or absurdly large values.
///
/// ```
/// use logto_jwt::numeric_date;
/// let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
/// assert_eq!(numeric_date(&n("1700000000")), Some(1_700_000_000));
/// assert_eq!(numeric_date(&n("1700000000.9")), Some(1_700_000_000));
/// assert_eq!(numeric_date(&n("-1")), None);
/// ```
#[must_use]
pub fn numeric_date(number: &serde_json::Number) -> Option<u64> {
    if let Some(u) = number.as_u64() {
        return Some(u);
    }
    match number.as_f64() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(f) if (0.0..1.0e15).contains(&f) => Some(f as u64),
        _ => None,
    }
}

impl RegisteredClaims {
    /// Checks the time claims against `now` (Unix seconds), allowing
    /// `leeway` seconds of clock skew: `exp` is required and must be after
    /// `now - leeway`; `nbf` and `iat`, when present, must not be after
    /// `now + leeway`.
    ///
    /// # Errors
    /// [`Error::MissingClaim`]`("exp")`, [`Error::Expired`],
    /// [`Error::NotYetValid`].
    pub fn check_time(&self, now: u64, leeway: u64) -> Result<(), Error> {
        let exp = self.exp.ok_or(Error::MissingClaim("exp"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(Error::Expired);
        }
        let latest = now.saturating_add(leeway);
        if self.nbf.is_some_and(|nbf| nbf > latest) || self.iat.is_some_and(|iat| iat > latest) {
            return Err(Error::NotYetValid);
        }
        Ok(())
    }
}

/// The current time in Unix seconds.
#[must_use]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
