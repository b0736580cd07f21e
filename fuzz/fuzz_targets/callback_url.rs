//! The callback URL Logto redirects the browser to, as `handle_sign_in_callback` reads it:
//! matched against the pending sign-in (scheme, host, port, path, `state`), then Logto's error,
//! the issuer (RFC 9207) and the code.
//!
//! Input: the callback URL. Properties: a code is only ever taken from a URL to the redirect URI
//! that carries the sign-in's `state` once, and the issuer once if at all.
#![no_main]

use libfuzzer_sys::fuzz_target;
use url::Url;

const REDIRECT_URI: &str = "http://localhost:3000/callback";
const STATE: &str = "ZtQ8bQq6uF2rU3mGz4xLkA";
const ISSUER: &str = "http://localhost:3001/oidc";

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    for required in [true, false] {
        let Ok(code) = logto::fuzzing::callback_code(url, REDIRECT_URI, STATE, ISSUER, required)
        else {
            continue;
        };
        logto_fuzz::trace("accepted callback");
        assert!(!code.is_empty());
        let parsed = Url::parse(url).expect("an accepted callback URL parses");
        let expected = Url::parse(REDIRECT_URI).unwrap();
        assert_eq!(parsed.scheme(), expected.scheme());
        assert_eq!(parsed.host_str(), expected.host_str());
        assert_eq!(
            parsed.port_or_known_default(),
            expected.port_or_known_default()
        );
        assert_eq!(parsed.path(), expected.path());
        let values = |name: &str| {
            parsed
                .query_pairs()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(values("state"), [STATE]);
        assert_eq!(values("code"), [code]);
        assert!(values("error").is_empty());
        match values("iss").as_slice() {
            [] => assert!(!required),
            [iss] => assert_eq!(iss, ISSUER),
            more => panic!("several iss accepted: {more:?}"),
        }
    }
});
