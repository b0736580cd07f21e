//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): thin wrappers that hand
//! network input to the crate-private code that reads it. Not a public API.

use crate::error::LogtoError;
use crate::protocol::callback::{PendingSignIns, match_callback};
use crate::protocol::sign_in::SignInSession;
use crate::protocol::tokens::{CachedAccessToken, SessionTokens, TokenResponse, TokenTarget};

/// What [`LogtoClient::handle_sign_in_callback`](crate::LogtoClient::handle_sign_in_callback)
/// does with the callback URL before the token request: `match_callback` against a pending
/// sign-in to `redirect_uri` with `state`, then the code, checked against `issuer`.
pub fn callback_code(
    callback_url: &str,
    redirect_uri: &str,
    state: &str,
    issuer: &str,
    issuer_parameter_required: bool,
) -> Result<String, LogtoError> {
    let session = SignInSession {
        redirect_uri: redirect_uri.to_owned(),
        code_verifier: String::new(),
        state: state.to_owned(),
        nonce: String::new(),
        created_at: 0,
        max_age: None,
    };
    // As the client does: the pending sign-in the callback's state names, then its checks.
    let mut pending = PendingSignIns::default();
    pending.add(session, 0);
    let index = pending.find(callback_url)?;
    match_callback(callback_url, pending.get(index))?.into_code(issuer, issuer_parameter_required)
}

/// What the client keeps of a token endpoint response body.
#[derive(Debug)]
pub struct TokenOutcome {
    /// The session as stored, serialized.
    pub stored: String,
    /// The stored session read back and serialized again.
    pub reread: String,
    /// The access token.
    pub access_token: String,
    /// Seconds since the epoch.
    pub expires_at: u64,
    /// Seconds since the epoch.
    pub refresh_at: u64,
    /// Whether the cached token is used at `now` without a refresh.
    pub fresh_at_now: bool,
    /// The same, for the session read back.
    pub fresh_after_reread: bool,
}

/// A token endpoint response body as the client reads it at `now`: deserialized into
/// `TokenResponse` (the provider's `serde_json::from_slice`), its `token_type` checked, cached
/// with `CachedAccessToken::from_response` into a `SessionTokens` for `resource`, which is
/// stored (serialized) and read back as the storage does.
pub fn token_response(body: &[u8], resource: &str, now: u64) -> Result<TokenOutcome, LogtoError> {
    let response: TokenResponse =
        logto_jwt::http::from_json_object(body).map_err(|e| LogtoError::UnexpectedResponse {
            operation: "token request",
            status: 200,
            detail: e.to_string(),
        })?;
    response.check_token_type()?;
    let cached = CachedAccessToken::from_response(&response, now);
    let mut tokens = SessionTokens::new(
        "session".into(),
        response.id_token.clone().unwrap_or_default(),
        response.refresh_token.clone(),
        vec![resource.to_owned()],
    );
    let (expires_at, refresh_at, fresh_at_now) =
        (cached.expires_at, cached.refresh_at, cached.is_fresh(now));
    let target = TokenTarget::new((!resource.is_empty()).then_some(resource), None);
    tokens
        .access_tokens
        .insert(target.cache_key().into_owned(), cached);
    let stored = serde_json::to_string(&tokens).map_err(|e| LogtoError::Storage(Box::new(e)))?;
    let reread: SessionTokens = serde_json::from_str::<SessionTokens>(&stored)
        .map_err(|e| LogtoError::Storage(Box::new(e)))?
        .upgraded();
    let fresh_after_reread = reread.fresh_access_token(&target, now).is_some();
    let reread = serde_json::to_string(&reread).map_err(|e| LogtoError::Storage(Box::new(e)))?;
    Ok(TokenOutcome {
        stored,
        reread,
        access_token: response.access_token,
        expires_at,
        refresh_at,
        fresh_at_now,
        fresh_after_reread,
    })
}
