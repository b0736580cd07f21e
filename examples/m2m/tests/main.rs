//! The m2m example as a process against the real Logto, as its documentation runs it.

use std::path::PathBuf;

use logto_backend::Management;
use logto_test_support::{RealLogto, example_binary};
use serde_json::Value;

#[tokio::test]
async fn the_example_creates_a_user_with_a_role_and_prints_them() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let binary = example_binary(&manifest, "logto-examples", "m2m");
    let (id, secret) = logto.management_app();
    let role_name = logto.unique("example-viewer");
    let output = tokio::process::Command::new(binary)
        .env("LOGTO_ENDPOINT", logto.endpoint())
        .env("LOGTO_M2M_APP_ID", &id)
        .env("LOGTO_M2M_APP_SECRET", &secret)
        .env("ROLE_NAME", &role_name)
        .env_remove("LOGTO_TENANT_ID")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the example failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains(&secret), "the secret was printed");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["token"]["scope"], "all", "{printed}");
    assert!(printed["token"]["expires_in_seconds"].as_u64().unwrap() > 0);
    assert_eq!(printed["roles"], serde_json::json!([role_name]));

    // Logto agrees.
    let management = Management::new(logto.endpoint(), id.clone(), secret.clone()).unwrap();
    let user_id = printed["user"]["id"].as_str().unwrap();
    let user = management.get_user(user_id).await.unwrap();
    assert_eq!(
        user.username.as_deref(),
        printed["user"]["username"].as_str()
    );
    let roles = management.list_user_roles(user_id).await.unwrap();
    assert_eq!(roles[0].name, role_name);

    // A second run finds the role instead of creating it.
    let binary = example_binary(&manifest, "logto-examples", "m2m");
    let output = tokio::process::Command::new(binary)
        .env("LOGTO_ENDPOINT", logto.endpoint())
        .env("LOGTO_M2M_APP_ID", &id)
        .env("LOGTO_M2M_APP_SECRET", &secret)
        .env("ROLE_NAME", &role_name)
        .output()
        .await
        .unwrap();
    assert!(output.status.success());

    // Wrong credentials: a clear message, a failure exit.
    let binary = example_binary(&manifest, "logto-examples", "m2m");
    let output = tokio::process::Command::new(binary)
        .env("LOGTO_ENDPOINT", logto.endpoint())
        .env("LOGTO_M2M_APP_ID", &id)
        .env("LOGTO_M2M_APP_SECRET", "wrong")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid_client"), "{stderr}");
}
