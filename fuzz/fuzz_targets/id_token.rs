//! ID tokens, through `LogtoHandle::verify_id_token` (the checks `handle_sign_in_callback` and the
//! refresh run): parse, header checks, key choice and signature against the tenant's key set
//! (fetched once from a loopback stand-in), `typ`, then issuer, subject, audience / `azp`,
//! expiry, issue time and nonce.
//!
//! Input: a flags byte, then either the token itself (flags bit 0 clear), or a header and a
//! payload separated by a newline that the target signs with the tenant's key (bit 0 set; bit 1
//! picks ES384 or EdDSA; `$ISS` in the payload stands for the tenant's issuer), so that the claim
//! checks behind the signature are reached. Bit 2: a nonce is expected (`n-0S6_WzA2Mj`).
//!
//! Properties: an accepted token is the tenant's, for this app, unexpired, with the nonce; its
//! claims equal the payload's and round-trip exactly; with any one bit of its signature flipped
//! it is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logto::{IdTokenClaims, LogtoError};
use logto_fuzz::{
    APP_ID, FAKE_LOGTO, HANDLE, ISSUER_PLACEHOLDER, Signer, alter_signature, block_on, now,
    replace, sign, split_input,
};

const NONCE: &str = "n-0S6_WzA2Mj";

fuzz_target!(|data: &[u8]| {
    let Some(&flags) = data.first() else {
        return;
    };
    let token = if flags & 1 == 0 {
        match std::str::from_utf8(&data[1..]) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        }
    } else {
        let Some((_, header, payload)) = split_input(data) else {
            return;
        };
        let payload = replace(payload, ISSUER_PLACEHOLDER, FAKE_LOGTO.issuer.as_bytes());
        sign(header, &payload, Signer::pick(flags >> 1))
    };
    let nonce = (flags & 4 != 0).then_some(NONCE);
    let result = block_on(HANDLE.verify_id_token(&token, nonce));
    let claims = match result {
        Ok(claims) => claims,
        Err(LogtoError::InvalidIdToken { .. }) => return,
        Err(other) => panic!("an ID token is refused as invalid, not with {other:?}"),
    };
    logto_fuzz::trace("accepted ID token");
    assert_eq!(claims.iss, FAKE_LOGTO.issuer);
    assert!(!claims.sub.is_empty());
    assert!(claims.aud.iter().all(|aud| aud == APP_ID) && !claims.aud.is_empty());
    assert!(claims.exp.saturating_add(60) > now());
    if let Some(nonce) = nonce {
        assert_eq!(claims.nonce.as_deref(), Some(nonce));
    }
    // The claims as read unverified (`get_id_token_claims`) are the verified ones.
    let payload = token.split('.').nth(1).unwrap();
    let unverified = logto_fuzz_payload::<IdTokenClaims>(payload);
    assert_eq!(unverified.as_ref(), Some(&claims));
    let json = serde_json::to_string(&claims).unwrap();
    assert_eq!(
        serde_json::from_str::<IdTokenClaims>(&json).unwrap(),
        claims
    );
    for which in [0, data.len(), data.len().wrapping_mul(31) + 7] {
        let altered = alter_signature(&token, which).expect("a verified token has a signature");
        assert!(
            block_on(HANDLE.verify_id_token(&altered, nonce)).is_err(),
            "an ID token with an altered signature was accepted"
        );
    }
});

fn logto_fuzz_payload<T: serde::de::DeserializeOwned>(payload: &str) -> Option<T> {
    use base64::Engine;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&json).ok()
}
