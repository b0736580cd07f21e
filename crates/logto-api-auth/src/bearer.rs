use crate::AuthError;

/// Takes the token out of an `Authorization` header value.
///
/// Rules (those of Logto's API protection guide, made strict):
/// * absent or empty (after trimming) → `auth.authorization_header_missing`;
/// * fewer or more than two space-separated parts (`Bearer` alone,
///   `Bearer a b`) or a token with characters outside RFC 6750's
///   `b64token` → `auth.authorization_token_invalid_format`;
/// * a scheme other than `Bearer` (e.g. `Basic`) →
///   `auth.authorization_token_type_not_supported`.
///
/// **Case:** the scheme is matched case-insensitively (`bearer` and `BEARER`
/// are accepted), as RFC 7235 §2.1 requires of authentication schemes;
/// the guide's Python code compared it case-sensitively. Several spaces between scheme and
/// token are allowed (RFC 6750's `1*SP`); tabs are not.
///
/// ```
/// use logto_api_auth::extract_bearer;
/// assert_eq!(extract_bearer(Some("Bearer abc.def.ghi")).unwrap(), "abc.def.ghi");
/// assert_eq!(extract_bearer(Some("bearer abc")).unwrap(), "abc");
/// assert_eq!(extract_bearer(None).unwrap_err().code(), "auth.authorization_header_missing");
/// assert_eq!(extract_bearer(Some("Bearer")).unwrap_err().code(), "auth.authorization_token_invalid_format");
/// assert_eq!(extract_bearer(Some("Basic abc")).unwrap_err().code(), "auth.authorization_token_type_not_supported");
/// ```
///
/// # Errors
/// [`AuthError::HeaderMissing`], [`AuthError::InvalidFormat`],
/// [`AuthError::UnsupportedScheme`].
pub fn extract_bearer(header_value: Option<&str>) -> Result<&str, AuthError> {
    let value = header_value
        .map(|v| v.trim_matches([' ', '\t']))
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::HeaderMissing)?;
    let mut parts = value.split(' ').filter(|p| !p.is_empty());
    let (Some(scheme), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::InvalidFormat);
    };
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(AuthError::UnsupportedScheme);
    }
    if !is_b64token(token) {
        return Err(AuthError::InvalidFormat);
    }
    Ok(token)
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}
