//! Bearer extraction and the axum integration over real HTTP.

mod support;

use axum::Router;
use axum::routing::get;
use logto_api_auth::{
    AuthError, AuthInfo, AuthLayer, ExpectedAudience, RequireAuth, ScopeMatch, ScopeRequirement,
    Scopes, Validator, extract_bearer,
};
use serde_json::{Value, json};
use support::{MockIssuer, RESOURCE, TestKey};

#[test]
fn bearer_header_forms() {
    let ok = [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer   abc", "abc"),
        ("  Bearer abc  ", "abc"),
        ("Bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="),
    ];
    for (header, token) in ok {
        assert_eq!(extract_bearer(Some(header)).unwrap(), token, "{header:?}");
    }
    let cases = [
        (None, "auth.authorization_header_missing"),
        (Some(""), "auth.authorization_header_missing"),
        (Some("   "), "auth.authorization_header_missing"),
        (Some("Bearer"), "auth.authorization_token_invalid_format"),
        (Some("Bearer "), "auth.authorization_token_invalid_format"),
        (Some("abc"), "auth.authorization_token_invalid_format"),
        (
            Some("Bearer a b"),
            "auth.authorization_token_invalid_format",
        ),
        (
            Some("Bearer\tabc"),
            "auth.authorization_token_invalid_format",
        ),
        (
            Some("Bearer a\"b"),
            "auth.authorization_token_invalid_format",
        ),
        (
            Some("Bearer ===="),
            "auth.authorization_token_invalid_format",
        ),
        (
            Some("Bearer a=b"),
            "auth.authorization_token_invalid_format",
        ),
        (Some("Bearer é"), "auth.authorization_token_invalid_format"),
        (
            Some("Basic dXNlcjpwYXNz"),
            "auth.authorization_token_type_not_supported",
        ),
        (
            Some("Token abc"),
            "auth.authorization_token_type_not_supported",
        ),
        (
            Some("Bearer, abc"),
            "auth.authorization_token_type_not_supported",
        ),
    ];
    for (header, code) in cases {
        let err = extract_bearer(header).unwrap_err();
        assert_eq!(err.code(), code, "{header:?}");
        assert_eq!(err.status(), 401);
    }
}

struct Read;
impl Scopes for Read {
    const SCOPES: &'static [&'static str] = &["shopping:read"];
}
struct Write;
impl Scopes for Write {
    const SCOPES: &'static [&'static str] = &["shopping:write"];
}
struct ReadOrAdmin;
impl Scopes for ReadOrAdmin {
    const SCOPES: &'static [&'static str] = &["admin", "shopping:read"];
    const MATCH: ScopeMatch = ScopeMatch::Any;
}

async fn profile(auth: RequireAuth) -> axum::Json<Value> {
    axum::Json(json!({"sub": auth.subject(), "scopes": auth.scopes()}))
}

async fn server(m: &MockIssuer) -> String {
    let v = Validator::builder(&m.endpoint)
        .resource(RESOURCE)
        .build()
        .await
        .unwrap();
    let org = v.with_audience(ExpectedAudience::AnyOrganization);
    let org_routes = Router::new()
        .route(
            "/org/{id}",
            get(
                |auth: AuthInfo, axum::extract::Path(id): axum::extract::Path<String>| async move {
                    auth.require_organization(&id)?;
                    Ok::<_, AuthError>(id)
                },
            ),
        )
        .route_layer(AuthLayer::new(org).require(ScopeRequirement::all_of(["read:projects"])));
    let app = Router::new()
        .route("/profile", get(profile))
        .route("/read", get(|_: RequireAuth<Read>| async { "read" }))
        .route("/write", get(|_: RequireAuth<Write>| async { "write" }))
        .route(
            "/either",
            get(|_: RequireAuth<ReadOrAdmin>| async { "either" }),
        )
        .route("/no-layer", get(|_: AuthInfo| async { "never" }))
        .merge(org_routes)
        .with_state(v);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn get_with(base: &str, path: &str, auth: Option<&str>) -> (u16, Option<String>, Value) {
    let client = reqwest::Client::new();
    let mut req = client.get(format!("{base}{path}"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let www = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, www, body)
}

#[tokio::test]
async fn extractor_answers() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let base = server(&m).await;
    let token = k.sign(&m.claims("shopping:read"), json!({}));
    let bearer = format!("Bearer {token}");

    let (s, www, body) = get_with(&base, "/profile", Some(&bearer)).await;
    assert_eq!((s, www), (200, None));
    assert_eq!(body, json!({"sub": "user-1", "scopes": ["shopping:read"]}));
    assert_eq!(get_with(&base, "/read", Some(&bearer)).await.0, 200);
    assert_eq!(get_with(&base, "/either", Some(&bearer)).await.0, 200);
    let lower = format!("bearer {token}");
    assert_eq!(get_with(&base, "/read", Some(&lower)).await.0, 200);
    let spaced = format!("Bearer    {token}");
    assert_eq!(get_with(&base, "/read", Some(&spaced)).await.0, 200);

    let (s, www, body) = get_with(&base, "/write", Some(&bearer)).await;
    assert_eq!(s, 403);
    assert_eq!(
        www.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="shopping:write""#)
    );
    assert_eq!(body["code"], "insufficient_scope");

    let invalid = |www: Option<String>| {
        assert_eq!(www.as_deref(), Some(r#"Bearer error="invalid_token""#));
    };
    let expired = {
        let mut c = m.claims("shopping:read");
        c["exp"] = json!(1_000_000);
        k.sign(&c, json!({}))
    };
    for bad in [
        "Bearer garbage".to_owned(),
        format!("Bearer {expired}"),
        format!(
            "Bearer {}",
            TestKey::generate("ES384", "k1").sign(&m.claims("shopping:read"), json!({}))
        ),
    ] {
        let (s, www, body) = get_with(&base, "/read", Some(&bad)).await;
        assert_eq!(s, 401);
        invalid(www);
        assert_eq!(
            body,
            json!({"code": "invalid_token", "message": "The access token is invalid."})
        );
    }

    let header_cases = [
        (None, "auth.authorization_header_missing", "Bearer"),
        (
            Some("Bearer"),
            "auth.authorization_token_invalid_format",
            r#"Bearer error="invalid_request""#,
        ),
        (
            Some("Basic dXNlcjpwYXNz"),
            "auth.authorization_token_type_not_supported",
            "Bearer",
        ),
        (
            Some("Bearer a b"),
            "auth.authorization_token_invalid_format",
            r#"Bearer error="invalid_request""#,
        ),
    ];
    for (header, code, www_expected) in header_cases {
        let (s, www, body) = get_with(&base, "/profile", header).await;
        assert_eq!(s, 401, "{header:?}");
        assert_eq!(body["code"], code);
        assert_eq!(www.as_deref(), Some(www_expected));
    }

    // Two Authorization headers.
    let res = reqwest::Client::new()
        .get(format!("{base}/profile"))
        .header("authorization", &bearer)
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Oversize header values: refused without parsing (or by hyper first).
    for size in [20 * 1024, 1024 * 1024] {
        let big = format!("Bearer {}", "a".repeat(size));
        let res = reqwest::Client::new()
            .get(format!("{base}/profile"))
            .header("authorization", big)
            .send()
            .await;
        match res {
            Ok(r) => assert!(matches!(r.status().as_u16(), 401 | 431), "{}", r.status()),
            Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
        }
    }
    // Server is still fine.
    assert_eq!(get_with(&base, "/read", Some(&bearer)).await.0, 200);
}

#[tokio::test]
async fn layer_answers() {
    let k = TestKey::generate("ES384", "k1");
    let m = MockIssuer::start(&[&k]).await;
    let base = server(&m).await;
    let org_token = format!(
        "Bearer {}",
        k.sign(&m.org_claims("org-acme", "read:projects"), json!({}))
    );
    let org_no_scope = format!(
        "Bearer {}",
        k.sign(&m.org_claims("org-acme", ""), json!({}))
    );
    let resource_token = format!("Bearer {}", k.sign(&m.claims("read:projects"), json!({})));

    let (s, _, body) = get_with(&base, "/org/org-acme", Some(&org_token)).await;
    assert_eq!((s, body), (200, json!("org-acme")));
    let (s, www, body) = get_with(&base, "/org/org-other", Some(&org_token)).await;
    assert_eq!(s, 401);
    assert_eq!(www.as_deref(), Some(r#"Bearer error="invalid_token""#));
    assert_eq!(body["code"], "invalid_token");
    assert_eq!(
        get_with(&base, "/org/org-acme", Some(&org_no_scope))
            .await
            .0,
        403
    );
    assert_eq!(
        get_with(&base, "/org/org-acme", Some(&resource_token))
            .await
            .0,
        401
    );
    assert_eq!(get_with(&base, "/org/org-acme", None).await.0, 401);
    // AuthInfo without a layer is a routing bug: 500, not a pass.
    let (s, _, body) = get_with(&base, "/no-layer", Some(&resource_token)).await;
    assert_eq!(s, 500);
    assert_eq!(body["code"], "internal_error");
}
