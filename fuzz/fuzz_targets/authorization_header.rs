//! `Authorization` headers: logto-api-auth's `extract_bearer` on its own, and whole requests to an
//! axum route guarded by `RequireAuth` (the header read as the extractor reads it, the token
//! validated against a key set fetched once from a loopback stand-in).
//!
//! Input: header values, one a line (several lines: several `Authorization` headers).
//!
//! Properties: an extracted token is the second of exactly two space-separated parts whose first
//! is `Bearer` in any case, in RFC 6750's `b64token` alphabet; the route answers only 200, 400,
//! 401 or 403, with `WWW-Authenticate: Bearer…` on 401; a 200 needs exactly one header whose
//! token validates, and that token with an altered signature is refused.
#![no_main]

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::routing::get;
use libfuzzer_sys::fuzz_target;
use logto_api_auth::{RequireAuth, Validator, extract_bearer};
use logto_fuzz::{API, API_ISSUER, FAKE_LOGTO, NO_REFETCH, alter_signature, block_on, send};

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    block_on(
        Validator::builder_from_metadata(API_ISSUER, format!("{}/oidc/jwks", FAKE_LOGTO.endpoint))
            .resource(API)
            .jwks_min_refresh_interval(NO_REFETCH)
            .jwks_max_age(NO_REFETCH)
            .build(),
    )
    .expect("validator")
});

async fn items(auth: RequireAuth) -> String {
    auth.subject().unwrap_or("").to_owned()
}

fn check_extracted(value: &str) {
    let Ok(token) = extract_bearer(Some(value)) else {
        return;
    };
    let trimmed = value.trim_matches([' ', '\t']);
    let (scheme, rest) = trimmed.split_once(' ').expect("two parts");
    assert!(scheme.eq_ignore_ascii_case("bearer"), "{value:?}");
    assert_eq!(rest.trim_start_matches(' '), token, "{value:?}");
    let body = token.trim_end_matches('=');
    assert!(!body.is_empty());
    assert!(
        body.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(whole) = std::str::from_utf8(data) {
        check_extracted(whole);
    }
    let mut request = Request::get("/items");
    let mut values = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            if let Ok(text) = value.to_str() {
                check_extracted(text);
            }
            request = request.header(header::AUTHORIZATION, value.clone());
            values.push(value);
        }
    }
    let app = Router::new()
        .route("/items", get(items))
        .with_state(VALIDATOR.clone());
    let (parts, _) = send(app, request.body(Body::empty()).unwrap());
    let status = parts.status.as_u16();
    assert!(matches!(status, 200 | 400 | 401 | 403), "status {status}");
    if status == 401 {
        let challenge = parts
            .headers
            .get(header::WWW_AUTHENTICATE)
            .expect("a challenge");
        assert!(challenge.as_bytes().starts_with(b"Bearer"));
    }
    logto_fuzz::trace(&format!("status {status}"));
    if status == 200 {
        assert_eq!(values.len(), 1, "a 200 with several Authorization headers");
        let token = extract_bearer(values[0].to_str().ok()).expect("a bearer token");
        for which in [0, data.len()] {
            if let Some(altered) = alter_signature(token, which) {
                assert!(block_on(VALIDATOR.validate(&altered)).is_err());
            }
        }
    }
});
