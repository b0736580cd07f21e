//! Answers of Logto to a backend (logto-backend): the token endpoint's, as a token source or a
//! token exchange reads them (the token response or the typed error, then the token's expiry and
//! renewal time), and the Management API's error answers.
//!
//! Input: two bytes of HTTP status (100 to 599), then the body. Properties: a token is kept only
//! from a 2xx answer, as the body says it; it is renewed no later than it expires, and expires at
//! most a year on; an error answer keeps its status and never reads as a success.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logto_backend::fuzzing::{MAX_LIFETIME, management_error, token_answer};

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = 100 + u16::from_be_bytes(*status) % 500;
    match token_answer(status, body) {
        Ok(token) => {
            logto_fuzz::trace("token kept");
            assert!((200..300).contains(&status), "a token from a {status}");
            if let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) {
                assert_eq!(
                    body["access_token"].as_str(),
                    Some(token.access_token.as_str())
                );
            }
            assert!(token.renewed_in <= token.expires_in);
            assert!(token.expires_in <= MAX_LIFETIME);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    let error = management_error(status, body);
    assert!(!error.to_string().is_empty());
    if let Some(api) = error.api_error() {
        logto_fuzz::trace("Management API error body");
        assert_eq!(api.status, status);
    }
});
