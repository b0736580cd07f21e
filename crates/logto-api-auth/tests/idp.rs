//! Against the test IdP (a Logto-like oidc-provider): real resource and
//! organization tokens, and tokens it signs on request (forged claims,
//! foreign keys, rotation).

mod support;

use std::time::Duration;

use logto_api_auth::logto_jwt::Error as JwtError;
use logto_api_auth::{BuildError, ExpectedAudience, ScopeRequirement, TokenRejection, Validator};
use logto_test_support::{ALICE, ALICE_SUB, BOB, ORG_ACME, ORG_GLOBEX, SHOPPING_API, TestIdp};
use serde_json::{Value, json};
use support::idp::Grant;
use support::{rejection, validator};

/// Claims of a shopping API token, as the IdP would issue them.
fn claims(idp: &TestIdp, scope: &str) -> Value {
    let now = logto_api_auth::logto_jwt::unix_now();
    json!({"jti": "j", "sub": ALICE_SUB, "iat": now, "exp": now + 600, "scope": scope,
           "client_id": "web-app", "iss": idp.issuer(), "aud": SHOPPING_API})
}

fn at_jwt() -> Option<Value> {
    Some(json!({"typ": "at+jwt"}))
}

#[tokio::test]
async fn real_resource_and_organization_tokens() {
    let idp = TestIdp::start().await;
    let v = validator(idp.endpoint()).await;
    let mut grant = Grant::sign_in(&idp, ALICE).await;

    let token = grant.resource_token().await;
    let auth = v
        .validate_with(&token, &ScopeRequirement::all_of(["shopping:read"]))
        .await
        .unwrap();
    assert_eq!(auth.subject(), Some(ALICE_SUB));
    assert_eq!(auth.client_id(), Some("web-app"));
    assert!(auth.has_scope("shopping:read"));
    assert_eq!(auth.audience(), [SHOPPING_API]);
    assert_eq!(auth.organization_id(), None);
    // Not granted: write.
    let err = v
        .validate_with(&token, &ScopeRequirement::all_of(["shopping:write"]))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (403, "insufficient_scope"));

    // Organization token: only for an organization validator.
    let org_token = grant.organization_token(ORG_ACME).await;
    let orgs = v.with_audience(ExpectedAudience::AnyOrganization);
    let auth = orgs.validate(&org_token).await.unwrap();
    assert_eq!(auth.organization_id(), Some(ORG_ACME));
    assert!(auth.has_scope("read:projects"));
    auth.require_organization(ORG_ACME).unwrap();
    assert!(auth.require_organization(ORG_GLOBEX).is_err());
    let globex = v.with_audience(ExpectedAudience::Organization(ORG_GLOBEX.into()));
    assert_eq!(
        rejection(globex.validate(&org_token).await),
        TokenRejection::WrongAudience
    );
    assert_eq!(
        rejection(v.validate(&org_token).await),
        TokenRejection::WrongAudience
    );
    assert_eq!(
        rejection(orgs.validate(&token).await),
        TokenRejection::WrongAudience
    );

    // Organization-level API resource token.
    let org_res = grant.organization_resource_token(ORG_ACME).await;
    let auth = v.validate(&org_res).await.unwrap();
    assert_eq!(auth.organization_id(), Some(ORG_ACME));
    assert!(auth.has_scope("shopping:read"));

    // The ID token is not an access token.
    assert_eq!(
        rejection(v.validate(&grant.id_token).await),
        TokenRejection::WrongType
    );

    // Bob's token works too, with his own subject.
    let mut bob = Grant::sign_in(&idp, BOB).await;
    let auth = v.validate(&bob.resource_token().await).await.unwrap();
    assert_eq!(auth.subject(), Some(logto_test_support::BOB_SUB));

    // One discovery, one JWKS fetch for everything above.
    let stats = idp.stats().await;
    assert_eq!(stats.jwks, 1, "{stats:?}");
}

#[tokio::test]
async fn forged_tokens_from_the_idp() {
    let idp = TestIdp::start().await;
    let v = validator(idp.endpoint()).await;
    let good = idp
        .sign(claims(&idp, "shopping:read"), at_jwt(), "idp")
        .await;
    v.validate(&good).await.unwrap();

    let now = logto_api_auth::logto_jwt::unix_now();
    let patched = |patch: Value| {
        let mut c = claims(&idp, "shopping:read");
        for (k, val) in patch.as_object().unwrap() {
            c[k] = val.clone();
        }
        c
    };
    let cases = [
        (
            patched(json!({"iss": "https://evil.example/oidc"})),
            TokenRejection::WrongIssuer,
        ),
        (
            patched(json!({"aud": "https://other.example.com/api"})),
            TokenRejection::WrongAudience,
        ),
        (
            patched(json!({"exp": now - 600})),
            TokenRejection::Jwt(JwtError::Expired),
        ),
        (
            patched(json!({"nbf": now + 600})),
            TokenRejection::Jwt(JwtError::NotYetValid),
        ),
    ];
    for (c, expected) in cases {
        let token = idp.sign(c.clone(), at_jwt(), "idp").await;
        assert_eq!(rejection(v.validate(&token).await), expected, "{c}");
    }
    // Missing scope → 403.
    let token = idp.sign(claims(&idp, "profile"), at_jwt(), "idp").await;
    let err = v
        .validate_with(&token, &ScopeRequirement::all_of(["shopping:read"]))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    // Wrong key (not in the JWKS).
    let token = idp
        .sign(claims(&idp, "shopping:read"), at_jwt(), "foreign")
        .await;
    assert!(matches!(
        rejection(v.validate(&token).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
    // The IdP's key, another alg in the header; none; HS256.
    for alg in ["ES256", "none", "HS256"] {
        let token = idp
            .sign(
                claims(&idp, "shopping:read"),
                Some(json!({"typ": "at+jwt", "alg": alg})),
                "idp",
            )
            .await;
        assert!(
            matches!(
                rejection(v.validate(&token).await),
                TokenRejection::Jwt(
                    JwtError::AlgorithmMismatch { .. } | JwtError::UnsupportedAlgorithm(_)
                )
            ),
            "{alg}"
        );
    }
    // HS256 "signed" with the IdP's real public key (its JWK, and its raw x
    // coordinate) as the HMAC secret; and alg none.
    let jwks: Value = reqwest::get(idp.url("/oidc/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    let payload = support::b64(claims(&idp, "shopping:read").to_string().as_bytes());
    let header = support::b64(
        json!({"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]})
            .to_string()
            .as_bytes(),
    );
    let input = format!("{header}.{payload}");
    let x = support::keys::b64_decode(jwk["x"].as_str().unwrap());
    for secret in [jwk.to_string().into_bytes(), x] {
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
            input.as_bytes(),
        );
        let token = format!("{input}.{}", support::b64(mac.as_ref()));
        assert_eq!(
            rejection(v.validate(&token).await),
            TokenRejection::Jwt(JwtError::UnsupportedAlgorithm("HS256".into()))
        );
    }
    let none_header = support::b64(
        json!({"alg": "none", "typ": "at+jwt", "kid": jwk["kid"]})
            .to_string()
            .as_bytes(),
    );
    assert!(matches!(
        rejection(v.validate(&format!("{none_header}.{payload}.")).await),
        TokenRejection::Jwt(JwtError::UnsupportedAlgorithm(_))
    ));
    // ID-token typ.
    let token = idp.sign(claims(&idp, "shopping:read"), None, "idp").await;
    assert_eq!(
        rejection(v.validate(&token).await),
        TokenRejection::WrongType
    );
    // Tampered payload of a real signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = support::b64(patched(json!({"sub": "admin"})).to_string().as_bytes());
    assert_eq!(
        rejection(v.validate(&parts.join(".")).await),
        TokenRejection::Jwt(JwtError::InvalidSignature)
    );
}

#[tokio::test]
async fn key_rotation_unknown_kid_then_success() {
    let idp = TestIdp::start().await;
    let v = Validator::builder(idp.endpoint())
        .resource(SHOPPING_API)
        .jwks_min_refresh_interval(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    let mut grant = Grant::sign_in(&idp, ALICE).await;
    v.validate(&grant.resource_token().await).await.unwrap();
    idp.reset_stats().await;

    // Rotate (dropping the old key); the first token is signed with a key the
    // cache does not know, fetched just now: no refetch inside the interval.
    let kid = idp.rotate_keys("ES384", false).await;
    let token = grant.resource_token().await;
    let header: Value =
        serde_json::from_slice(&support::keys::b64_decode(token.split('.').next().unwrap()))
            .unwrap();
    assert_eq!(header["kid"], kid.as_str());
    // Inside the interval since the first fetch: unknown, and no refetch.
    assert!(matches!(
        rejection(v.validate(&token).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
    assert_eq!(idp.stats().await.jwks, 0);
    // After the interval the unknown kid triggers one fetch, and succeeds.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    v.validate(&token).await.unwrap();
    assert_eq!(idp.stats().await.jwks, 1);

    // A flood of foreign kids within the interval: at most one more fetch.
    idp.reset_stats().await;
    let foreign = idp
        .sign(claims(&idp, "shopping:read"), at_jwt(), "foreign")
        .await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let v = v.clone();
            let t = foreign.clone();
            tokio::spawn(async move { v.validate(&t).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_err());
    }
    for _ in 0..50 {
        assert!(v.validate(&foreign).await.is_err());
    }
    assert!(idp.stats().await.jwks <= 1);
}

#[tokio::test]
async fn other_signing_algorithms() {
    for alg in ["ES256", "ES512", "RS256", "PS256", "EdDSA"] {
        let idp = TestIdp::start_with(json!({"signing_alg": alg})).await;
        let v = validator(idp.endpoint()).await;
        let mut grant = Grant::sign_in(&idp, ALICE).await;
        let token = grant.resource_token().await;
        let auth = v
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(auth.subject(), Some(ALICE_SUB), "{alg}");
    }
}

#[tokio::test]
async fn discovery_and_keys_when_logto_is_down() {
    let mut idp = TestIdp::start().await;
    let v = Validator::builder(format!("{}/", idp.endpoint()))
        .resource(SHOPPING_API)
        .timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    assert_eq!(v.issuer(), idp.issuer());
    let token = idp
        .sign(claims(&idp, "shopping:read"), at_jwt(), "idp")
        .await;
    let endpoint = idp.endpoint().to_owned();
    idp.stop().await;
    // Keys never fetched and the tenant is down: a server-side error.
    let err = v.validate(&token).await.unwrap_err();
    assert_eq!(err.status(), 503, "{err}");
    // Discovery against a stopped tenant fails with a clear error.
    let err = Validator::builder(endpoint)
        .resource(SHOPPING_API)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::Discovery(_)));
}
