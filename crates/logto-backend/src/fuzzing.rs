//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): thin wrappers that hand
//! network input to the crate-private code that reads it. Not a public API.

use std::time::{Duration, Instant};

use crate::error::BackendError;
use crate::token_source::{AccessToken, DEFAULT_REFRESH_MARGIN, lifetime_of, refresh_at};

/// The longest lifetime a token is taken to have.
pub const MAX_LIFETIME: Duration = crate::token_source::MAX_LIFETIME;

/// What a token source keeps of a token endpoint answer.
#[derive(Debug)]
pub struct TokenOutcome {
    /// The access token.
    pub access_token: String,
    /// The scopes granted, when said.
    pub scope: Option<String>,
    /// How long after the request the token expires.
    pub expires_in: Duration,
    /// How long after the request it is renewed.
    pub renewed_in: Duration,
}

/// What [`TokenSource`](crate::TokenSource) and [`TokenExchange`](crate::TokenExchange) do with
/// the token endpoint's answer `status` and `body`: the token response or the typed error, then
/// the token with its expiry and renewal time.
pub fn token_answer(status: u16, body: &[u8]) -> Result<TokenOutcome, BackendError> {
    let response = crate::http::token_answer("fuzzing", status, body)?;
    let now = Instant::now();
    let lifetime = lifetime_of(&response);
    let token = AccessToken::from_response(response, now);
    Ok(TokenOutcome {
        access_token: token.as_str().to_owned(),
        scope: token.scope().map(str::to_owned),
        expires_in: token.expires_at() - now,
        renewed_in: refresh_at(now, lifetime, DEFAULT_REFRESH_MARGIN) - now,
    })
}

/// What the Management API client makes of an error answer `status` and `body`.
pub fn management_error(status: u16, body: &[u8]) -> BackendError {
    BackendError::api("fuzzing", status, body)
}
