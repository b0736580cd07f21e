//! A userinfo response body (`/oidc/me`), read into `UserInfo` as `fetch_user_info` does, and
//! the same JSON read as ID-token and access-token claims (the payloads `get_id_token_claims` and
//! `AccessTokenClaims::decode_unverified` read).
//!
//! Input: the JSON body. Property: whatever is accepted round-trips exactly (serialized and read
//! again, it is equal; serialized twice, the same bytes): absent, `null` and present claims stay
//! apart.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logto::{AccessTokenClaims, IdTokenClaims, UserInfo};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let json = serde_json::to_string(&value).expect("claims serialize");
    let again: T = serde_json::from_str(&json).expect("serialized claims read back");
    assert_eq!(value, again);
    assert_eq!(json, serde_json::to_string(&again).unwrap());
}

fuzz_target!(|data: &[u8]| {
    round_trip::<UserInfo>(data);
    round_trip::<IdTokenClaims>(data);
    round_trip::<AccessTokenClaims>(data);
});
