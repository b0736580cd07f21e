//! A token endpoint response body (authorization code or refresh grant), as the client reads
//! it: JSON into the token response, `token_type` checked, the access token cached with its
//! expiry and stored in the session (serialized, read back).
//!
//! Input: the body. Properties: only Bearer tokens are kept; the refresh time is never after
//! the expiry; the stored session reads back to exactly what was stored.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    for (resource, now) in [("", NOW), ("https://api.fuzz.test", u64::MAX - 5)] {
        let Ok(outcome) = logto::fuzzing::token_response(data, resource, now) else {
            continue;
        };
        logto_fuzz::trace("accepted token response");
        // (Members the client ignores may hold what a `Value` refuses, e.g. lone surrogates.)
        if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
            let token_type = body["token_type"].as_str().expect("a token type");
            assert!(token_type.eq_ignore_ascii_case("bearer"));
            assert_eq!(
                body["access_token"].as_str(),
                Some(outcome.access_token.as_str())
            );
        }
        assert!(outcome.refresh_at <= outcome.expires_at);
        assert!(outcome.expires_at >= now.min(outcome.expires_at));
        if outcome.fresh_at_now {
            assert!(now < outcome.expires_at);
        }
        assert_eq!(outcome.fresh_at_now, outcome.fresh_after_reread);
        assert_eq!(
            outcome.stored, outcome.reread,
            "the stored session reads back exactly"
        );
    }
});
