//! The api-server example as a process, against the test IdP and (in
//! `real_logto`) the real Logto, with real resource and organization access
//! tokens. Every test runs against both binaries of the same contract: `api-server` (axum) and
//! `api-server-actix` (actix-web).

#[path = "../../../crates/logto-api-auth/tests/support/idp.rs"]
#[allow(dead_code)]
mod idp;
mod real_logto;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use logto_test_support::{
    ALICE, ALICE_SUB, ORG_ACME, SHOPPING_API, TestIdp, example_binary, free_port,
};
use serde_json::Value;

/// The binaries of the api-server contract.
const SERVERS: [&str; 2] = ["api-server", "api-server-actix"];

/// Runs the scenario `$scenario(name)` as one test per binary of [`SERVERS`].
macro_rules! for_each_server {
    ($scenario:ident: $axum:ident, $actix:ident) => {
        #[tokio::test]
        async fn $axum() {
            $scenario(crate::SERVERS[0]).await;
        }

        #[tokio::test]
        async fn $actix() {
            $scenario(crate::SERVERS[1]).await;
        }
    };
}
pub(crate) use for_each_server;

/// `target/<profile>/examples/<name>`, built once per test process if needed.
fn binary(name: &str) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; SERVERS.len()] = [const { OnceLock::new() }; SERVERS.len()];
    let index = SERVERS
        .iter()
        .position(|server| *server == name)
        .expect("one of SERVERS");
    BUILT[index]
        .get_or_init(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
            example_binary(&manifest, "logto-examples", name)
        })
        .clone()
}

struct Server {
    base: String,
    _child: tokio::process::Child,
}

async fn start(server: &str, idp: &TestIdp) -> Server {
    start_with(server, idp.endpoint(), SHOPPING_API).await
}

/// The example `server` for the Logto at `endpoint` and the API resource `resource`.
async fn start_with(server: &str, endpoint: &str, resource: &str) -> Server {
    let port = free_port();
    let child = tokio::process::Command::new(binary(server))
        .env("LOGTO_ENDPOINT", endpoint)
        .env("API_RESOURCE", resource)
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/health")).await.is_ok() {
            return Server {
                base,
                _child: child,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{server} did not start");
}

async fn call(method: &str, url: &str, token: Option<&str>) -> (u16, Option<String>, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let www = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, www, res.json().await.unwrap_or(Value::Null))
}

for_each_server!(real_tokens: api_server_with_real_tokens, api_server_actix_with_real_tokens);

async fn real_tokens(name: &str) {
    let idp = TestIdp::start().await;
    let server = start(name, &idp).await;
    let mut grant = idp::Grant::sign_in(&idp, ALICE).await;
    let token = grant.resource_token().await;
    let org_token = grant.organization_token(ORG_ACME).await;
    let b = &server.base;

    let (status, _, body) = call("GET", &format!("{b}/api/profile"), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["sub"], ALICE_SUB);
    assert_eq!(body["client_id"], "web-app");
    assert!(
        body["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "shopping:read")
    );

    assert_eq!(
        call("GET", &format!("{b}/api/shopping"), Some(&token))
            .await
            .0,
        200
    );
    // Only shopping:read was requested.
    let (status, www, body) = call("POST", &format!("{b}/api/shopping"), Some(&token)).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "insufficient_scope");
    assert_eq!(
        www.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="shopping:write""#)
    );

    let projects = |org: &str| format!("{b}/api/organizations/{org}/projects");
    let (status, _, body) = call("GET", &projects(ORG_ACME), Some(&org_token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["organization_id"], ORG_ACME);
    // Organization-level API resource token.
    let org_resource_token = grant.organization_resource_token(ORG_ACME).await;
    let shopping = |org: &str| format!("{b}/api/organizations/{org}/shopping");
    let (status, _, body) = call("GET", &shopping(ORG_ACME), Some(&org_resource_token)).await;
    assert_eq!(
        (status, &body["organization_id"]),
        (200, &Value::from(ORG_ACME))
    );
    for (url, token) in [
        (shopping("org-globex"), &org_resource_token),
        (shopping(ORG_ACME), &token),
        (shopping(ORG_ACME), &org_token),
        (projects(ORG_ACME), &org_resource_token),
    ] {
        let (status, _, body) = call("GET", &url, Some(token)).await;
        assert_eq!(
            (status, &body["code"]),
            (401, &Value::from("invalid_token")),
            "{url}"
        );
    }
    assert_eq!(
        call("GET", &projects("org-globex"), Some(&org_token))
            .await
            .0,
        401
    );
    assert_eq!(call("GET", &projects(ORG_ACME), Some(&token)).await.0, 401);
    // An organization token is not a resource token.
    let (status, www, body) = call("GET", &format!("{b}/api/profile"), Some(&org_token)).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "invalid_token");
    assert_eq!(www.as_deref(), Some(r#"Bearer error="invalid_token""#));

    let (status, www, body) = call("GET", &format!("{b}/api/profile"), None).await;
    assert_eq!((status, www.as_deref()), (401, Some("Bearer")));
    assert_eq!(body["code"], "auth.authorization_header_missing");
}
