//! Access tokens sent to an API, through logto-api-auth's `Validator::validate_with` (key set
//! fetched once from a loopback stand-in): size cap, header, key, signature, `typ` `at+jwt`,
//! issuer, audience (an API resource, or any organization), time claims, scopes; and through
//! logto's `AccessTokenClaims::decode_unverified` (what an app reads of its own tokens).
//!
//! Input: as the `id_token` target (flags byte; raw token, or header and payload to sign; bit 1
//! picks the key); bit 2 picks the organization validator, bit 3 requires the scope
//! `read:items`.
//!
//! Properties: an accepted token has the expected issuer, audience and scopes, is unexpired,
//! its claims are what was signed; with any one bit of its signature flipped it is refused.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use logto_api_auth::{ExpectedAudience, ScopeRequirement, Validator};
use logto_fuzz::{
    API, API_ISSUER, FAKE_LOGTO, NO_REFETCH, Signer, alter_signature, block_on, sign,
};

static VALIDATORS: LazyLock<(Validator, Validator)> = LazyLock::new(|| {
    let resource = block_on(
        Validator::builder_from_metadata(API_ISSUER, format!("{}/oidc/jwks", FAKE_LOGTO.endpoint))
            .resource(API)
            .jwks_min_refresh_interval(NO_REFETCH)
            .jwks_max_age(NO_REFETCH)
            .build(),
    )
    .expect("validator");
    let organizations = resource.with_audience(ExpectedAudience::AnyOrganization);
    (resource, organizations)
});

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
        let Some((_, header, payload)) = logto_fuzz::split_input(data) else {
            return;
        };
        sign(header, payload, Signer::pick(flags >> 1))
    };
    // What an app reads of the tokens it holds: must not panic, whatever the token.
    let unverified = logto::AccessTokenClaims::decode_unverified(&token);

    let validator = if flags & 4 == 0 {
        &VALIDATORS.0
    } else {
        &VALIDATORS.1
    };
    let scopes = if flags & 8 == 0 {
        ScopeRequirement::none()
    } else {
        ScopeRequirement::all_of(["read:items"])
    };
    let Ok(info) = block_on(validator.validate_with(&token, &scopes)) else {
        return;
    };
    logto_fuzz::trace("accepted access token");
    assert_eq!(
        info.claims().get("iss").and_then(|v| v.as_str()),
        Some(API_ISSUER)
    );
    if flags & 4 == 0 {
        assert!(info.audience().iter().any(|a| a == API));
    } else {
        let org = info
            .organization_id()
            .expect("an organization token names its organization");
        assert!(!org.is_empty());
    }
    if flags & 8 != 0 {
        assert!(info.has_scope("read:items"));
    }
    assert!(info.expires_at().saturating_add(60) > logto_fuzz::now());
    if let Ok(claims) = unverified {
        assert_eq!(claims.aud, info.audience());
        assert_eq!(Some(claims.exp), Some(info.expires_at()));
    }
    for which in [0, data.len(), data.len().wrapping_mul(31) + 7] {
        let altered = alter_signature(&token, which).expect("a verified token has a signature");
        assert!(
            block_on(validator.validate_with(&altered, &scopes)).is_err(),
            "an access token with an altered signature was accepted"
        );
    }
});
