//! `Management` against the real Logto: users (create, read, update, custom data, profile,
//! suspend, delete), roles, organizations and their roles, one-time tokens, the raw escape hatch,
//! and Logto's error bodies as typed errors.

mod common;

use common::{Answer, FakeLogto};

use logto_backend::{
    BackendError, Management, Method, NewOneTimeToken, NewOrganization, NewOrganizationRole,
    NewRole, NewUser, OneTimeTokenStatus, RoleType, Tenant, TokenSource, UserProfile, UserUpdate,
};
use logto_test_support::RealLogto;
use serde_json::json;

fn management(logto: &RealLogto) -> Management {
    let (id, secret) = logto.management_app();
    Management::new(logto.endpoint(), id, secret).unwrap()
}

#[tokio::test]
async fn users_custom_data_profile_suspension_and_deletion() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let management = management(&logto);
    let username = logto.unique("mgmt").replace('-', "_");
    let email = format!("{username}@example.com");
    let user = management
        .create_user(
            &NewUser::new()
                .username(&username)
                .primary_email(&email)
                .password("a-Long-password-1")
                .name("Alice")
                .custom_data(json!({ "plan": "free", "seats": 1 }))
                .profile(UserProfile {
                    given_name: Some("Alice".into()),
                    ..UserProfile::default()
                }),
        )
        .await
        .unwrap();
    assert_eq!(user.username.as_deref(), Some(username.as_str()));
    assert_eq!(user.primary_email.as_deref(), Some(email.as_str()));
    assert_eq!(user.custom_data["plan"], "free");
    assert_eq!(user.profile.given_name.as_deref(), Some("Alice"));
    assert!(!user.is_suspended);

    let fetched = management.get_user(&user.id).await.unwrap();
    assert_eq!(fetched.id, user.id);

    let updated = management
        .update_user(&user.id, &UserUpdate::new().name("Alice Liddell"))
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(updated.custom_data["plan"], "free", "custom data kept");

    // custom-data merges.
    let merged = management
        .update_user_custom_data(&user.id, &json!({ "plan": "pro" }))
        .await
        .unwrap();
    assert_eq!(merged, json!({ "plan": "pro", "seats": 1 }));

    let profile = management
        .update_user_profile(
            &user.id,
            &UserProfile {
                family_name: Some("Liddell".into()),
                ..UserProfile::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(profile.family_name.as_deref(), Some("Liddell"));
    assert_eq!(
        profile.given_name.as_deref(),
        Some("Alice"),
        "profile merges"
    );

    assert!(
        management
            .set_user_suspended(&user.id, true)
            .await
            .unwrap()
            .is_suspended
    );
    assert!(management.get_user(&user.id).await.unwrap().is_suspended);
    assert!(
        !management
            .set_user_suspended(&user.id, false)
            .await
            .unwrap()
            .is_suspended
    );

    // A taken username: Rejected, with Logto's code.
    let error = management
        .create_user(&NewUser::new().username(&username))
        .await
        .unwrap_err();
    let BackendError::Rejected(body) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(body.code, "user.username_already_in_use");
    assert_eq!(body.status, 422);

    // Invalid input: Rejected with details.
    let error = management
        .create_user(&NewUser::new().primary_email("not-an-email"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BackendError::Rejected(e) if e.status == 400),
        "{error:?}"
    );

    management.delete_user(&user.id).await.unwrap();
    let error = management.get_user(&user.id).await.unwrap_err();
    let BackendError::NotFound(body) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(body.code, "entity.not_found");
}

#[tokio::test]
async fn roles_are_created_assigned_listed_and_removed() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let management = management(&logto);
    let indicator = format!("https://{}.example.com/api", logto.unique("roles"));
    let api = logto.create_api_resource(&indicator, &["read"], None).await;
    let name = logto.unique("editor");
    let role = management
        .create_role(&NewRole::new(&name, "Edits things").scope_ids(api.scope_ids(&["read"])))
        .await
        .unwrap();
    assert_eq!(role.name, name);
    assert_eq!(role.role_type, RoleType::User);
    let m2m_role = management
        .create_role(&NewRole::new(logto.unique("robot"), "For robots").machine_to_machine())
        .await
        .unwrap();
    assert_eq!(m2m_role.role_type, RoleType::MachineToMachine);

    let user = logto.create_user("roles", json!({})).await;
    management
        .assign_user_roles(&user.id, [&role.id])
        .await
        .unwrap();
    let roles = management.list_user_roles(&user.id).await.unwrap();
    assert_eq!(roles.iter().map(|r| &r.id).collect::<Vec<_>>(), [&role.id]);

    // An M2M role cannot go to a user: Logto's error, typed.
    let error = management
        .assign_user_roles(&user.id, [&m2m_role.id])
        .await
        .unwrap_err();
    assert!(error.api_error().is_some(), "{error:?}");

    management
        .remove_user_role(&user.id, &role.id)
        .await
        .unwrap();
    assert!(
        management
            .list_user_roles(&user.id)
            .await
            .unwrap()
            .is_empty()
    );
    let error = management
        .assign_user_roles(&user.id, ["no-such-role"])
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::NotFound(_)), "{error:?}");
}

#[tokio::test]
async fn organizations_members_and_organization_roles() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let management = management(&logto);
    let organization = management
        .create_organization(
            &NewOrganization::new(logto.unique("Acme"))
                .description("A company")
                .custom_data(json!({ "tier": "gold" })),
        )
        .await
        .unwrap();
    assert_eq!(organization.custom_data["tier"], "gold");
    assert_eq!(organization.description.as_deref(), Some("A company"));
    let scope = logto.organization_scope_id("read:projects").await;
    let role = management
        .create_organization_role(
            &NewOrganizationRole::new(logto.unique("org-admin"))
                .description("Admin")
                .organization_scope_ids([scope]),
        )
        .await
        .unwrap();
    let user = logto.create_user("orgs", json!({})).await;
    management
        .add_organization_members(&organization.id, [&user.id])
        .await
        .unwrap();
    management
        .assign_organization_roles(&organization.id, &user.id, [&role.id])
        .await
        .unwrap();
    let roles = management
        .list_organization_roles(&organization.id, &user.id)
        .await
        .unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].id, role.id);
    assert_eq!(roles[0].description.as_deref(), Some("Admin"));
}

#[tokio::test]
async fn one_time_tokens_and_the_raw_escape_hatch() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let management = management(&logto);
    let email = format!("{}@example.com", logto.unique("ott"));
    let token = management
        .create_one_time_token(&NewOneTimeToken::new(&email).expires_in(300))
        .await
        .unwrap();
    assert_eq!(token.email, email);
    assert_eq!(token.status, OneTimeTokenStatus::Active);
    // expiresAt is computed by Logto, createdAt by its database: a few ms apart.
    let lifetime = token.expires_at - token.created_at;
    assert!((295_000..=305_000).contains(&lifetime), "{lifetime} ms");
    assert!(!token.token.expose().is_empty());
    assert!(
        !format!("{token:?}").contains(token.token.expose()),
        "token in Debug"
    );

    // raw: anything else, with the same typed errors.
    let found = management
        .raw(
            Method::GET,
            &format!("/api/one-time-tokens/{}", token.id),
            None,
        )
        .await
        .unwrap();
    assert_eq!(found["email"], email.as_str());
    let verified = management
        .raw(
            Method::POST,
            "/api/one-time-tokens/verify",
            Some(&json!({ "email": email, "token": token.token.expose() })),
        )
        .await
        .unwrap();
    assert_eq!(verified["status"], "consumed");
    let error = management
        .raw(Method::GET, "/api/users/no-such-user", None)
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::NotFound(_)), "{error:?}");
    assert!(management.raw(Method::GET, "users", None).await.is_err());
    let empty = management
        .raw(
            Method::DELETE,
            &format!("/api/one-time-tokens/{}", token.id),
            None,
        )
        .await
        .unwrap();
    assert!(empty.is_null());
}

#[tokio::test]
async fn an_app_without_management_access_is_refused() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let app = logto.create_m2m_app(&[]).await;
    let management = Management::new(logto.endpoint(), &app.id, app.secret.unwrap()).unwrap();
    let error = management.get_user("anyone").await.unwrap_err();
    assert!(matches!(error, BackendError::Forbidden(_)), "{error:?}");

    // A Cloud tenant's resource on this OSS Logto: invalid_target.
    let (id, secret) = logto.management_app();
    let cloud = Management::builder(logto.endpoint(), id, secret)
        .tenant(Tenant::cloud("abc123"))
        .build()
        .unwrap();
    let error = cloud.get_user("anyone").await.unwrap_err();
    assert!(
        matches!(error, BackendError::InvalidTarget { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_token_refused_with_401_is_renewed_once() {
    // A fake Logto whose Management API refuses the first token (Logto refuses a token whose
    // signing key was rotated away, for instance; the shared Logto cannot be made to).
    let logto = FakeLogto::start(false, |_| Answer::Token).await;
    let tokens = TokenSource::builder(&logto.endpoint, "app", "secret")
        .resource(Tenant::Oss.resource())
        .build()
        .unwrap();
    let management = Management::with_token_source(tokens.clone()).unwrap();
    let user = management.get_user("u1").await.unwrap();
    assert_eq!(user.username.as_deref(), Some("alice"));
    assert_eq!(tokens.requests_sent(), 2, "token-1 refused, token-2 used");
    management.get_user("u1").await.unwrap();
    assert_eq!(tokens.requests_sent(), 2, "token-2 cached");

    // Refused again after the renewal: Forbidden, after two token requests (no loop).
    let refusing = FakeLogto::start(false, |_| Answer::Named("token-1")).await;
    let tokens = TokenSource::builder(&refusing.endpoint, "app", "secret")
        .resource(Tenant::Oss.resource())
        .build()
        .unwrap();
    let management = Management::with_token_source(tokens.clone()).unwrap();
    let error = management.get_user("u1").await.unwrap_err();
    let BackendError::Forbidden(body) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (body.status, body.code.as_str()),
        (401, "auth.unauthorized")
    );
    assert_eq!(refusing.requests(), 2);
}
