//! The framework-agnostic validator against a mock issuer with generated keys.

mod support;

use std::time::Duration;

use logto_api_auth::logto_jwt::Error as JwtError;
use logto_api_auth::{
    AuthError, BuildError, ExpectedAudience, ScopeRequirement, TokenRejection, Validator,
};
use serde_json::json;
use support::{MockIssuer, RESOURCE, TestKey, b64, rejection, sign_with_header, validator};

#[tokio::test]
async fn valid_resource_token_gives_auth_info() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    assert_eq!(v.issuer(), m.issuer);
    let token = k.sign(&m.claims("shopping:read profile"), json!({}));
    let auth = v.validate(&token).await.unwrap();
    assert_eq!(auth.subject(), Some("user-1"));
    assert_eq!(auth.client_id(), Some("web-app"));
    assert_eq!(auth.scopes(), ["shopping:read", "profile"]);
    assert!(auth.has_scope("profile") && !auth.has_scope("shopping"));
    assert_eq!(auth.audience(), [RESOURCE]);
    assert_eq!(auth.organization_id(), None);
    assert_eq!(auth.claims()["jti"], "jti-1");
    // Empty scope is fine.
    let token = k.sign(&m.claims(""), json!({}));
    assert!(v.validate(&token).await.unwrap().scopes().is_empty());
}

#[tokio::test]
async fn every_logto_algorithm_is_accepted_from_the_keys() {
    for alg in ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"] {
        let k = TestKey::generate(alg, "k");
        let m = MockIssuer::start(&[&k]).await;
        let v = validator(&m.endpoint).await;
        let token = k.sign(&m.claims("a"), json!({}));
        v.validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

#[tokio::test]
async fn endpoint_with_trailing_slash_and_discovery_errors() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = Validator::builder(format!("{}/", m.endpoint))
        .resource(RESOURCE)
        .build()
        .await
        .unwrap();
    assert_eq!(v.issuer(), m.issuer);
    assert_eq!(m.discovery_hits(), 1);
    assert_eq!(m.jwks_hits(), 0, "JWKS is fetched lazily");

    // No audience.
    let err = Validator::builder(&m.endpoint).build().await.unwrap_err();
    assert!(matches!(err, BuildError::Config(_)), "{err}");
    // A leeway past five minutes.
    let err = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .leeway(Duration::from_secs(301))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, BuildError::Config(ref s) if s.contains("leeway")),
        "{err}"
    );
    // 404 (endpoint given with /oidc).
    let err = Validator::builder(format!("{}/oidc", m.endpoint))
        .resource(RESOURCE)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, BuildError::Discovery(ref s) if s.contains("404")),
        "{err}"
    );
    // Not a URL.
    assert!(matches!(
        Validator::builder("not a url")
            .resource(RESOURCE)
            .build()
            .await,
        Err(BuildError::Config(_))
    ));
    // Nobody listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    assert!(matches!(
        Validator::builder(format!("http://{addr}"))
            .resource(RESOURCE)
            .build()
            .await,
        Err(BuildError::Discovery(_))
    ));
}

#[tokio::test]
async fn discovery_does_not_follow_redirects_and_times_out() {
    use axum::response::Redirect;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route(
            "/redirect/oidc/.well-known/openid-configuration",
            axum::routing::get(|| async { Redirect::temporary("http://127.0.0.1:1/evil") }),
        )
        .route(
            "/slow/oidc/.well-known/openid-configuration",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "{}"
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let err = Validator::builder(format!("http://{addr}/redirect"))
        .resource(RESOURCE)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, BuildError::Discovery(ref s) if s.contains("307")),
        "{err}"
    );
    let started = std::time::Instant::now();
    let err = Validator::builder(format!("http://{addr}/slow"))
        .resource(RESOURCE)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::Discovery(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn forged_tokens_are_rejected() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    let claims = m.claims("shopping:read");
    let payload = b64(claims.to_string().as_bytes());

    // alg: none, with and without a signature part.
    for sig in ["", "c2ln"] {
        let token = format!(
            "{}.{payload}.{sig}",
            b64(br#"{"alg":"none","typ":"at+jwt"}"#)
        );
        let r = rejection(v.validate(&token).await);
        assert!(matches!(
            r,
            TokenRejection::Jwt(JwtError::UnsupportedAlgorithm(_) | JwtError::Malformed(_))
        ));
    }
    // HS256 with the public JWK as the secret.
    let input = format!(
        "{}.{payload}",
        b64(br#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#)
    );
    let secret = k.jwk(true).to_string();
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes()),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64(mac.as_ref()));
    assert_eq!(
        rejection(v.validate(&token).await),
        TokenRejection::Jwt(JwtError::UnsupportedAlgorithm("HS256".into()))
    );
    // Signed by a foreign key that claims our kid.
    let foreign = TestKey::generate("ES384", "k1");
    assert_eq!(
        rejection(v.validate(&foreign.sign(&claims, json!({}))).await),
        TokenRejection::Jwt(JwtError::InvalidSignature)
    );
    // Our key, but the token says ES256.
    let token = sign_with_header(
        &k,
        &json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"}),
        &claims,
    );
    assert!(matches!(
        rejection(v.validate(&token).await),
        TokenRejection::Jwt(JwtError::AlgorithmMismatch { .. })
    ));
    // Embedded key / key URL.
    for (name, value) in [
        ("jwk", foreign.jwk(true)),
        ("jku", json!("http://127.0.0.1:1/jwks")),
    ] {
        let token = foreign.sign(&claims, json!({ name: value }));
        assert!(matches!(
            rejection(v.validate(&token).await),
            TokenRejection::Jwt(JwtError::ForbiddenHeader(_))
        ));
    }
    // Non-JWT garbage and oversize.
    for garbage in ["garbage", "a.b.c", "eyJ.eyJ.eyJ", "..", "\u{feff}"] {
        assert!(matches!(
            rejection(v.validate(garbage).await),
            TokenRejection::Jwt(JwtError::Malformed(_))
        ));
    }
    let huge = "a".repeat(1024 * 1024);
    assert!(matches!(
        rejection(v.validate(&huge).await),
        TokenRejection::Jwt(JwtError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn claim_checks() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    let now = logto_api_auth::logto_jwt::unix_now();
    let check = |patch: serde_json::Value, header: serde_json::Value| {
        let mut c = m.claims("shopping:read");
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                c.as_object_mut().unwrap().remove(key);
            } else {
                c[key] = value.clone();
            }
        }
        k.sign(&c, header)
    };
    let cases = [
        (
            json!({"iss": "https://evil.example/oidc"}),
            json!({}),
            TokenRejection::WrongIssuer,
        ),
        (json!({"iss": null}), json!({}), TokenRejection::WrongIssuer),
        (
            json!({"iss": format!("{}/", m.issuer)}),
            json!({}),
            TokenRejection::WrongIssuer,
        ),
        (
            json!({"aud": "https://other.example.com"}),
            json!({}),
            TokenRejection::WrongAudience,
        ),
        (
            json!({"aud": null}),
            json!({}),
            TokenRejection::WrongAudience,
        ),
        (
            json!({"aud": ["https://other", "urn:logto:organization:x"]}),
            json!({}),
            TokenRejection::WrongAudience,
        ),
        (
            json!({"aud": 5}),
            json!({}),
            TokenRejection::BadClaim("aud"),
        ),
        (
            json!({"exp": now - 3600}),
            json!({}),
            TokenRejection::Jwt(JwtError::Expired),
        ),
        (
            json!({"exp": now - 31}),
            json!({}),
            TokenRejection::Jwt(JwtError::Expired),
        ),
        (
            json!({"exp": null}),
            json!({}),
            TokenRejection::Jwt(JwtError::MissingClaim("exp")),
        ),
        (
            json!({"exp": "soon"}),
            json!({}),
            TokenRejection::BadClaim("exp"),
        ),
        (
            json!({"nbf": now + 3600}),
            json!({}),
            TokenRejection::Jwt(JwtError::NotYetValid),
        ),
        (
            json!({"iat": now + 3600}),
            json!({}),
            TokenRejection::Jwt(JwtError::NotYetValid),
        ),
        (
            json!({"scope": ["a"]}),
            json!({}),
            TokenRejection::BadClaim("scope"),
        ),
        (
            json!({"sub": 42}),
            json!({}),
            TokenRejection::BadClaim("sub"),
        ),
        (json!({}), json!({"typ": "JWT"}), TokenRejection::WrongType),
        (json!({}), json!({"typ": null}), TokenRejection::WrongType),
    ];
    for (patch, header, expected) in cases {
        let token = check(patch.clone(), header.clone());
        assert_eq!(
            rejection(v.validate(&token).await),
            expected,
            "{patch} {header}"
        );
    }
    // Within the default 30 s leeway.
    for patch in [
        json!({"exp": now - 5}),
        json!({"nbf": now + 5}),
        json!({"iat": now + 5}),
    ] {
        v.validate(&check(patch.clone(), json!({})))
            .await
            .unwrap_or_else(|e| panic!("{patch}: {e}"));
    }
    // `application/at+jwt` is the same type; several audiences are fine.
    v.validate(&check(json!({}), json!({"typ": "application/at+jwt"})))
        .await
        .unwrap();
    v.validate(&check(json!({"aud": ["x", RESOURCE]}), json!({})))
        .await
        .unwrap();
    // A stricter leeway.
    let strict = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .leeway(Duration::ZERO)
        .build()
        .await
        .unwrap();
    assert_eq!(
        rejection(
            strict
                .validate(&check(json!({"exp": now - 5}), json!({})))
                .await
        ),
        TokenRejection::Jwt(JwtError::Expired)
    );
}

#[tokio::test]
async fn scopes_all_of_any_of_whole_word() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    let token = k.sign(&m.claims("shopping:read profile"), json!({}));
    let ok = |r: &ScopeRequirement| r.clone();
    v.validate_with(&token, &ok(&ScopeRequirement::all_of(["shopping:read"])))
        .await
        .unwrap();
    v.validate_with(
        &token,
        &ScopeRequirement::any_of(["shopping:write", "profile"]),
    )
    .await
    .unwrap();
    for req in [
        ScopeRequirement::all_of(["shopping:read", "shopping:write"]),
        ScopeRequirement::all_of(["shopping"]),
        ScopeRequirement::all_of(["read"]),
        ScopeRequirement::any_of(["shopping:write", "admin"]),
        ScopeRequirement::all_of(["shopping:read profile"]),
    ] {
        let err = v.validate_with(&token, &req).await.unwrap_err();
        assert!(matches!(err, AuthError::InsufficientScope(_)), "{req}");
        assert_eq!(err.status(), 403);
        assert_eq!(err.code(), "insufficient_scope");
    }
    // Validator-wide requirement.
    let strict = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .required_scopes(ScopeRequirement::all_of(["shopping:write"]))
        .build()
        .await
        .unwrap();
    assert!(matches!(
        strict.validate(&token).await,
        Err(AuthError::InsufficientScope(_))
    ));
}

#[tokio::test]
async fn organization_tokens() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let resource = validator(&m.endpoint).await;
    let any_org = resource.with_audience(ExpectedAudience::AnyOrganization);
    let acme = resource.with_audience(ExpectedAudience::Organization("org-acme".into()));
    let other = Validator::builder(&m.endpoint)
        .organization("org-other")
        .build()
        .await
        .unwrap();

    let org_token = k.sign(&m.org_claims("org-acme", "read:projects"), json!({}));
    let auth = any_org.validate(&org_token).await.unwrap();
    assert_eq!(auth.organization_id(), Some("org-acme"));
    auth.require_organization("org-acme").unwrap();
    let err = auth.require_organization("org-other").unwrap_err();
    assert_eq!(err.code(), "invalid_token");
    acme.validate(&org_token).await.unwrap();
    assert_eq!(
        rejection(other.validate(&org_token).await),
        TokenRejection::WrongAudience
    );
    // An organization token is not a resource token, and vice versa.
    assert_eq!(
        rejection(resource.validate(&org_token).await),
        TokenRejection::WrongAudience
    );
    let res_token = k.sign(&m.claims("shopping:read"), json!({}));
    assert_eq!(
        rejection(any_org.validate(&res_token).await),
        TokenRejection::WrongAudience
    );
    // Empty organization id.
    let empty = k.sign(&m.org_claims("", "x"), json!({}));
    assert_eq!(
        rejection(any_org.validate(&empty).await),
        TokenRejection::WrongAudience
    );
    // Organization-level API resource: resource audience + organization_id claim.
    let mut c = m.claims("shopping:read");
    c["organization_id"] = json!("org-acme");
    let auth = resource.validate(&k.sign(&c, json!({}))).await.unwrap();
    assert_eq!(auth.organization_id(), Some("org-acme"));
    // Derived validators share the key cache: one fetch for `resource`,
    // `any_org` and `acme`, one for the separately built `other`.
    assert_eq!(m.jwks_hits(), 2);
}

#[tokio::test]
async fn unknown_kid_then_success_after_rotation() {
    let old = TestKey::generate("ES384", "old");
    let new = TestKey::generate("ES384", "new");
    let m = MockIssuer::start(&[&old]).await;
    let v = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .jwks_min_refresh_interval(Duration::from_millis(1000))
        .build()
        .await
        .unwrap();
    v.validate(&old.sign(&m.claims("a"), json!({})))
        .await
        .unwrap();
    let token = new.sign(&m.claims("a"), json!({}));
    // Unknown kid (just fetched, so no refetch yet).
    assert!(matches!(
        rejection(v.validate(&token).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
    assert_eq!(m.jwks_hits(), 1);
    // Rotation on the issuer; after the interval the kid is found.
    m.set_keys(&[&new, &old]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    v.validate(&token).await.unwrap();
    assert_eq!(m.jwks_hits(), 2);
    // A flood of bad kids inside the interval: no extra fetch.
    for i in 0..100 {
        let bad = new.sign(&m.claims("a"), json!({"kid": format!("bad{i}")}));
        assert!(v.validate(&bad).await.is_err());
    }
    assert!(m.jwks_hits() <= 3);
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_cached_tokens() {
    let removed = TestKey::generate("ES384", "removed");
    let kept = TestKey::generate("ES384", "kept");
    let m = MockIssuer::start(&[&removed, &kept]).await;
    // The subject is the max age, which is never shorter than the flood-guard interval: both at
    // zero make the key set stale at once.
    let v = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .jwks_min_refresh_interval(Duration::ZERO)
        .jwks_max_age(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let token = removed.sign(&m.claims("a"), json!({}));
    for _ in 0..3 {
        v.validate(&token).await.unwrap();
    }

    // Logto drops the key: once the (background) refetch has the new key set, the token is
    // refused, although it is cached and not expired.
    m.set_keys(&[&kept]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let refused = loop {
        match v.validate(&token).await {
            Ok(_) => assert!(
                std::time::Instant::now() < deadline,
                "the removed key still verifies"
            ),
            Err(e) => break e,
        }
        tokio::task::yield_now().await;
    };
    assert!(matches!(
        refused,
        AuthError::InvalidToken(TokenRejection::Jwt(JwtError::UnknownKey { .. }))
    ));
    v.validate(&kept.sign(&m.claims("a"), json!({})))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cached_token_needs_no_key_set_fetch() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    let token = k.sign(&m.claims("a"), json!({}));
    for _ in 0..50 {
        v.validate(&token).await.unwrap();
    }
    assert_eq!(m.jwks_hits(), 1);
}

#[tokio::test]
async fn cached_tokens_still_expire() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    let mut c = m.claims("a");
    let now = logto_api_auth::logto_jwt::unix_now();
    // Expired, but within the default 30 s leeway for 2 s more.
    c["exp"] = json!(now + 2 - 30);
    let token = k.sign(&c, json!({}));
    v.validate(&token).await.unwrap();
    v.validate(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        rejection(v.validate(&token).await),
        TokenRejection::Jwt(JwtError::Expired)
    );
}

#[tokio::test]
async fn cache_is_bounded_and_per_audience() {
    let k = TestKey::generate("EdDSA", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .cache_capacity(8)
        .build()
        .await
        .unwrap();
    let tokens: Vec<String> = (0..100)
        .map(|i| {
            let mut c = m.claims("a");
            c["jti"] = json!(i);
            k.sign(&c, json!({}))
        })
        .collect();
    for t in &tokens {
        v.validate(t).await.unwrap();
    }
    for t in &tokens {
        v.validate(t).await.unwrap();
    }
    // A token cached by the resource validator is not valid for another audience.
    let org = v.with_audience(ExpectedAudience::AnyOrganization);
    assert!(org.validate(&tokens[0]).await.is_err());
    // Disabled cache still validates.
    let nocache = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .cache_capacity(0)
        .build()
        .await
        .unwrap();
    nocache.validate(&tokens[0]).await.unwrap();
}

#[tokio::test]
async fn keys_unavailable_is_a_server_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let v = Validator::builder_from_metadata(
        format!("http://{addr}/oidc"),
        format!("http://{addr}/oidc/jwks"),
    )
    .resource(RESOURCE)
    .timeout(Duration::from_millis(500))
    .build()
    .await
    .unwrap();
    let k = TestKey::generate("ES384", "k1");
    let mut c = serde_json::json!({"iss": format!("http://{addr}/oidc"), "aud": RESOURCE});
    c["exp"] = json!(logto_api_auth::logto_jwt::unix_now() + 60);
    let err = v.validate(&k.sign(&c, json!({}))).await.unwrap_err();
    assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err}");
    assert_eq!(err.status(), 503);
    // Garbage is still a client error.
    assert_eq!(v.validate("garbage").await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn error_display_never_contains_the_token() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let v = validator(&m.endpoint).await;
    let mut c = m.claims("a");
    c["iss"] = json!("https://evil");
    let token = k.sign(&c, json!({"kid": "kid-x"}));
    let err = v.validate(&token).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), err.body_json()] {
        for part in token.split('.') {
            assert!(!text.contains(part), "{text}");
        }
    }
    assert_eq!(
        err.body_json(),
        r#"{"code":"invalid_token","message":"The access token is invalid."}"#
    );
}

/// A discovery endpoint at `http://127.0.0.1:<port>` answering `document(endpoint)`.
async fn discovery_server(document: impl Fn(&str) -> serde_json::Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let body = document(&endpoint).to_string();
    let app = axum::Router::new().route(
        "/oidc/.well-known/openid-configuration",
        axum::routing::get(move || async move { ([("content-type", "application/json")], body) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    endpoint
}

#[tokio::test]
async fn a_discovered_issuer_other_than_the_endpoint_is_refused() {
    let endpoint = discovery_server(
        |e| json!({"issuer": "https://evil.example/oidc", "jwks_uri": format!("{e}/oidc/jwks")}),
    )
    .await;
    let err = Validator::builder(&endpoint)
        .resource(RESOURCE)
        .build()
        .await
        .unwrap_err();
    match &err {
        BuildError::IssuerMismatch {
            expected,
            discovered,
        } => {
            assert_eq!(expected, &format!("{endpoint}/oidc"));
            assert_eq!(discovered, "https://evil.example/oidc");
        }
        other => panic!("{other:?}"),
    }
    // Another path on the same host is another issuer too.
    let endpoint = discovery_server(
        |e| json!({"issuer": format!("{e}/other/oidc"), "jwks_uri": format!("{e}/oidc/jwks")}),
    )
    .await;
    let err = Validator::builder(&endpoint)
        .resource(RESOURCE)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::IssuerMismatch { .. }), "{err}");
    // A trailing slash on either side is tolerated; the issuer is kept as discovered.
    let endpoint = discovery_server(
        |e| json!({"issuer": format!("{e}/oidc/"), "jwks_uri": format!("{e}/oidc/jwks")}),
    )
    .await;
    let v = Validator::builder(format!("{endpoint}/"))
        .resource(RESOURCE)
        .build()
        .await
        .unwrap();
    assert_eq!(v.issuer(), format!("{endpoint}/oidc/"));
}

#[tokio::test]
async fn plain_http_is_refused_off_the_loopback_interface() {
    // A discovered jwks_uri over plain http to another host.
    let endpoint = discovery_server(
        |e| json!({"issuer": format!("{e}/oidc"), "jwks_uri": "http://keys.example.com/oidc/jwks"}),
    )
    .await;
    let err = Validator::builder(&endpoint)
        .resource(RESOURCE)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::InsecureUrl {
                what: "jwks_uri",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("allow_insecure_http(true)"),
        "{err}"
    );
    Validator::builder(&endpoint)
        .resource(RESOURCE)
        .allow_insecure_http(true)
        .build()
        .await
        .unwrap();
    // The endpoint itself, refused before any request.
    for endpoint in ["http://tenant.example.com", "http://10.0.0.1:3001/"] {
        let err = Validator::builder(endpoint)
            .resource(RESOURCE)
            .build()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                BuildError::InsecureUrl {
                    what: "endpoint",
                    ..
                }
            ),
            "{endpoint}: {err}"
        );
    }
    // Opted in: the endpoint is tried (and here cannot be reached).
    let err = Validator::builder("http://192.0.2.1")
        .resource(RESOURCE)
        .allow_insecure_http(true)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::Discovery(_)), "{err}");
    // Metadata: the jwks_uri likewise; https and loopback http are fine.
    let err = Validator::builder_from_metadata(
        "https://tenant.example.com/oidc",
        "http://tenant.example.com/oidc/jwks",
    )
    .resource(RESOURCE)
    .build()
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::InsecureUrl {
                what: "jwks_uri",
                ..
            }
        ),
        "{err}"
    );
    for jwks_uri in [
        "https://tenant.example.com/oidc/jwks",
        "http://127.0.0.1:3001/oidc/jwks",
        "http://127.8.9.10/oidc/jwks",
        "http://[::1]:3001/oidc/jwks",
        "http://localhost:3001/oidc/jwks",
    ] {
        Validator::builder_from_metadata("https://tenant.example.com/oidc", jwks_uri)
            .resource(RESOURCE)
            .build()
            .await
            .unwrap_or_else(|e| panic!("{jwks_uri}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_jwks_endpoint_is_retried_with_backoff() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/oidc/jwks",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { axum::http::StatusCode::SERVICE_UNAVAILABLE }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let issuer = format!("http://{addr}/oidc");
    let v = Validator::builder_from_metadata(&issuer, format!("{issuer}/jwks"))
        .resource(RESOURCE)
        .jwks_min_refresh_interval(Duration::from_millis(100))
        .jwks_max_retry_interval(Duration::from_millis(800))
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    let k = TestKey::generate("ES384", "k1");
    let mut c = json!({"iss": issuer, "aud": RESOURCE});
    c["exp"] = json!(logto_api_auth::logto_jwt::unix_now() + 60);
    let token = k.sign(&c, json!({}));
    // 1.6 s of requests: a fetch per 100 ms would be 16; backing off, about 5.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1600) {
        let err = v.validate(&token).await.unwrap_err();
        assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fetches = hits.load(Ordering::SeqCst);
    assert!((2..=8).contains(&fetches), "{fetches} fetches in 1.6 s");
}
