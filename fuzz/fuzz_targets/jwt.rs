//! `logto_jwt` on its own: a compact JWS parsed (`UnverifiedToken::parse`: size cap, three
//! parts, base64url, header checks), its key chosen and signature verified against a fixed key
//! set (`KeySet::verify`), its registered claims read and time-checked; and a header on its own
//! (`Header::from_json`).
//!
//! Input: as the `id_token` target (flags byte; raw token, or header and payload to sign).
//!
//! Properties: a verified token's header is the parsed one and its payload what was signed;
//! registered claims round-trip exactly; with any one bit of its signature flipped, or signed
//! by the other key, it is refused; `none` and HMAC are never accepted.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use logto_fuzz::{KEY_SET, Signer, alter_signature, sign, split_input};
use logto_jwt::{Algorithm, Header, RegisteredClaims, UnverifiedToken};

const MAX_LEN: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some(&flags) = data.first() else {
        return;
    };
    let (token, signed_payload) = if flags & 1 == 0 {
        match std::str::from_utf8(&data[1..]) {
            Ok(token) => (token.to_owned(), None),
            Err(_) => return,
        }
    } else {
        let Some((_, header, payload)) = split_input(data) else {
            return;
        };
        let _ = Header::from_json(header);
        (
            sign(header, payload, Signer::pick(flags >> 1)),
            Some(payload),
        )
    };
    let Ok(unverified) = UnverifiedToken::parse(&token, MAX_LEN) else {
        return;
    };
    assert!(token.len() <= MAX_LEN);
    let header_json = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    assert_eq!(
        &Header::from_json(&header_json).unwrap(),
        unverified.header()
    );
    assert!(Algorithm::ALL.contains(&unverified.header().alg));
    let Ok(verified) = KEY_SET.verify(&unverified) else {
        return;
    };
    logto_fuzz::trace("verified JWT");
    assert_eq!(verified.header(), unverified.header());
    if let Some(payload) = signed_payload {
        assert_eq!(verified.payload_json(), payload);
    }
    if let Ok(claims) = verified.claims::<RegisteredClaims>() {
        let _ = claims.check_time(logto_fuzz::now(), 60);
        let json = serde_json::to_string(&claims).unwrap();
        assert_eq!(
            serde_json::from_str::<RegisteredClaims>(&json).unwrap(),
            claims
        );
    }
    for which in [0, data.len(), data.len().wrapping_mul(31) + 7] {
        let altered = alter_signature(&token, which).expect("a verified token has a signature");
        if let Ok(altered) = UnverifiedToken::parse(&altered, MAX_LEN) {
            assert!(
                KEY_SET.verify(&altered).is_err(),
                "an altered signature was accepted"
            );
        }
    }
});
