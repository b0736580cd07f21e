//! A backend that talks to Logto on its own behalf (machine to machine): it gets a Management API
//! token, creates a user, gives them a role, and prints both.
//!
//! ```text
//! LOGTO_ENDPOINT=https://auth.your-app.com \
//! LOGTO_M2M_APP_ID=… LOGTO_M2M_APP_SECRET=… \
//! cargo run --example m2m
//! ```
//!
//! The M2M app needs Management API access (Console → the app → Roles: a role with the
//! "Logto Management API access" permission). For Logto Cloud, also set `LOGTO_TENANT_ID` (the
//! Management API's resource is then `https://<tenant-id>.logto.app/api`). `ROLE_NAME` (default
//! `example-viewer`) is the user role assigned, created when missing.
//!
//! Prints one JSON object: `{"token": {"scope", "expires_in_seconds"}, "user": {"id",
//! "username"}, "roles": ["…"]}` (the token itself is never printed).

use std::process::ExitCode;
use std::time::Instant;

use logto_backend::{BackendError, Management, Method, NewRole, NewUser, Role, Tenant};
use serde_json::json;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the example's documentation)"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("m2m example: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = env("LOGTO_ENDPOINT")?;
    let tenant = match std::env::var("LOGTO_TENANT_ID") {
        Ok(id) => Tenant::cloud(id),
        Err(_) => Tenant::Oss,
    };
    let management = Management::builder(
        endpoint,
        env("LOGTO_M2M_APP_ID")?,
        env("LOGTO_M2M_APP_SECRET")?,
    )
    .tenant(tenant)
    .build()?;

    // 1. A Management API token (client credentials), cached by the token source.
    let token = management.token_source().access_token().await?;

    // 2. A user.
    let suffix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let user = management
        .create_user(
            &NewUser::new()
                .username(format!("m2m_example_{suffix}"))
                .name("Created by the m2m example")
                .custom_data(json!({ "source": "m2m example" })),
        )
        .await?;

    // 3. A role for them: found by name (the raw escape hatch), else created.
    let role_name = std::env::var("ROLE_NAME").unwrap_or_else(|_| "example-viewer".into());
    let role = find_or_create_role(&management, &role_name).await?;
    management.assign_user_roles(&user.id, [&role.id]).await?;

    // 4. What Logto now says.
    let roles = management.list_user_roles(&user.id).await?;
    let output = json!({
        "token": {
            "scope": token.scope(),
            "expires_in_seconds": token.expires_at().saturating_duration_since(Instant::now()).as_secs(),
        },
        "user": { "id": user.id, "username": user.username },
        "roles": roles.iter().map(|r| &r.name).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}

async fn find_or_create_role(management: &Management, name: &str) -> Result<Role, BackendError> {
    for _ in 0..2 {
        let path = format!(
            "/api/roles?type=User&page_size=100&search={}",
            url_encode(name)
        );
        let found = management.raw(Method::GET, &path, None).await?;
        let existing = found
            .as_array()
            .into_iter()
            .flatten()
            .find(|role| role["name"] == name)
            .cloned();
        if let Some(role) = existing {
            return serde_json::from_value(role).map_err(|e| BackendError::UnexpectedResponse {
                operation: "Management API",
                status: 200,
                detail: e.to_string(),
            });
        }
        match management
            .create_role(&NewRole::new(name, "Assigned by the m2m example"))
            .await
        {
            Ok(role) => return Ok(role),
            // Created meanwhile by someone else: look it up again.
            Err(BackendError::Rejected(e)) if e.code == "role.name_in_use" => continue,
            Err(e) => return Err(e),
        }
    }
    management
        .create_role(&NewRole::new(name, "Assigned by the m2m example"))
        .await
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
