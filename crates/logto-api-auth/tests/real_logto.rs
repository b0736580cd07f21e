//! The validator against the real Logto (testing/logto), with tokens Logto issued to a signed-in
//! user through the `logto` client: API resource tokens, the tokens that are not this API's (ID
//! token, another resource's, the opaque one, organization tokens), organization-level resource
//! tokens, missing scopes, machine-to-machine tokens, expiry, and signing-key rotation on a Logto
//! of its own. Every validator runs at the production defaults, with the issuer discovered from
//! Logto.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use logto::{LogtoClient, LogtoConfig, MemoryStorage, UserInfoScope};
use logto_api_auth::logto_jwt::{Error as JwtError, unix_now};
use logto_api_auth::{
    AuthError, AuthInfo, ExpectedAudience, ScopeRequirement, TokenRejection, Validator,
};
use logto_test_support::{AppKind, RealLogto, User, World};
use reqwest::Method;
use serde_json::{Value, json};

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/";
/// The validator's default leeway on `exp`.
const LEEWAY: u64 = 30;
/// The validator's default shortest time between two JWKS fetches for unknown `kid`s.
const FLOOD_GUARD: Duration = Duration::from_secs(30);

/// The real Logto and a fresh world in it; `None` when the real-Logto tier is skipped.
async fn world() -> Option<(RealLogto, World)> {
    let logto = RealLogto::connect().await?;
    let world = logto.world(REDIRECT_URI, POST_LOGOUT_URI).await;
    Some((logto, world))
}

/// A web-app client asking for both APIs, their scopes and the organizations.
fn client(logto: &RealLogto, world: &World) -> LogtoClient {
    let config = LogtoConfig::builder(logto.endpoint(), &world.web_app.id)
        .app_secret(world.web_app.secret.as_ref().unwrap())
        .scopes([UserInfoScope::Organizations])
        .scopes([
            "shopping:read",
            "shopping:write",
            "store:read",
            "read:projects",
            "write:projects",
        ])
        .resources([&world.shopping.indicator, &world.store.indicator])
        .build()
        .unwrap();
    LogtoClient::new(
        logto::LogtoHandle::new(config).unwrap(),
        MemoryStorage::new(),
    )
}

async fn signed_in(logto: &RealLogto, world: &World, user: &User) -> LogtoClient {
    let client = client(logto, world);
    let url = client.sign_in(REDIRECT_URI).await.unwrap();
    let callback = logto.sign_in(&url, user).await;
    client.handle_sign_in_callback(&callback).await.unwrap();
    client
}

/// A validator for `resource` at the production defaults, from discovery.
async fn validator(logto: &RealLogto, resource: &str) -> Validator {
    Validator::builder(logto.endpoint())
        .resource(resource)
        .build()
        .await
        .unwrap()
}

/// The `invalid_token` reason of a refusal, after checking the HTTP answer it makes.
fn refused(result: Result<AuthInfo, AuthError>) -> TokenRejection {
    match result {
        Err(error @ AuthError::InvalidToken(_)) => {
            assert_eq!((error.status(), error.code()), (401, "invalid_token"));
            assert_eq!(
                error.www_authenticate().as_deref(),
                Some(r#"Bearer error="invalid_token""#)
            );
            let AuthError::InvalidToken(reason) = error else {
                unreachable!()
            };
            reason
        }
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn sorted(scopes: &[String]) -> Vec<&str> {
    let mut scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes
}

#[tokio::test]
async fn a_resource_token_from_logto_is_accepted_as_logto_sends_it() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let v = validator(&logto, &world.shopping.indicator).await;
    assert_eq!(v.issuer(), logto.issuer(), "discovered");
    let alice = signed_in(&logto, &world, &world.alice).await;
    let token = alice
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    let h = header(&token);
    assert_eq!(
        (h["typ"].as_str(), h["alg"].as_str()),
        (Some("at+jwt"), Some("ES384"))
    );

    let auth = v
        .validate_with(
            &token,
            &ScopeRequirement::all_of(["shopping:read", "shopping:write"]),
        )
        .await
        .unwrap();
    assert_eq!(auth.subject(), Some(world.alice.id.as_str()));
    assert_eq!(auth.user_id(), Some(world.alice.id.as_str()));
    assert_eq!(auth.client_id(), Some(world.web_app.id.as_str()));
    assert_eq!(sorted(auth.scopes()), ["shopping:read", "shopping:write"]);
    assert_eq!(
        auth.audience(),
        std::slice::from_ref(&world.shopping.indicator)
    );
    assert_eq!(auth.organization_id(), None);
    let claims = auth.claims();
    assert_eq!(claims["iss"], json!(logto.issuer()));
    assert!(claims["jti"].is_string(), "{claims:?}");
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(auth.expires_at(), iat + 3600, "Logto's default TTL");
    // Validated again: the same answer (from the cache).
    let again = v.validate(&token).await.unwrap();
    assert_eq!(again.subject(), auth.subject());

    // Bob has only `shopping:read`: a 403 for `shopping:write`, naming it.
    let bob = signed_in(&logto, &world, &world.bob).await;
    let token = bob
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    let auth = v
        .validate_with(&token, &ScopeRequirement::all_of(["shopping:read"]))
        .await
        .unwrap();
    assert_eq!(auth.subject(), Some(world.bob.id.as_str()));
    assert_eq!(auth.scopes(), ["shopping:read"]);
    let error = v
        .validate_with(&token, &ScopeRequirement::all_of(["shopping:write"]))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::InsufficientScope(_)), "{error}");
    assert_eq!((error.status(), error.code()), (403, "insufficient_scope"));
    assert_eq!(
        error.www_authenticate().as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="shopping:write""#)
    );
    // Any of: read suffices.
    v.validate_with(
        &token,
        &ScopeRequirement::any_of(["shopping:write", "shopping:read"]),
    )
    .await
    .unwrap();
    // A validator requiring write for every token refuses bob's.
    let writers = Validator::builder(logto.endpoint())
        .resource(&world.shopping.indicator)
        .required_scopes(ScopeRequirement::all_of(["shopping:write"]))
        .build()
        .await
        .unwrap();
    assert_eq!(
        writers.validate(&token).await.unwrap_err().code(),
        "insufficient_scope"
    );
}

#[tokio::test]
async fn tokens_that_are_not_for_this_api_are_invalid_tokens() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let v = validator(&logto, &world.shopping.indicator).await;
    let alice = signed_in(&logto, &world, &world.alice).await;

    // The ID token: signed by the same keys, for the app, typ `JWT`.
    let id_token = alice.get_id_token().await.unwrap();
    assert_eq!(header(&id_token)["typ"], "JWT");
    assert_eq!(
        refused(v.validate(&id_token).await),
        TokenRejection::WrongType
    );

    // Another API resource's token.
    let store = alice
        .get_access_token(&world.store.indicator)
        .await
        .unwrap();
    assert_eq!(
        refused(v.validate(&store).await),
        TokenRejection::WrongAudience
    );

    // The opaque token (no resource: only good at Logto's userinfo endpoint).
    let opaque = alice.get_opaque_access_token().await.unwrap();
    assert_ne!(opaque.split('.').count(), 3, "not a JWT: {opaque}");
    assert!(matches!(
        refused(v.validate(&opaque).await),
        TokenRejection::Jwt(JwtError::Malformed(_))
    ));

    // An organization token.
    let organization = alice.get_organization_token(&world.acme).await.unwrap();
    assert_eq!(
        refused(v.validate(&organization).await),
        TokenRejection::WrongAudience
    );

    // And the other way round: the resource token is not an organization token.
    let shopping = alice
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    for audience in [
        ExpectedAudience::AnyOrganization,
        ExpectedAudience::Organization(world.acme.clone()),
    ] {
        assert_eq!(
            refused(v.with_audience(audience).validate(&shopping).await),
            TokenRejection::WrongAudience
        );
    }
    // The store API's own validator takes its token, not shopping's.
    let store_api = validator(&logto, &world.store.indicator).await;
    store_api.validate(&store).await.unwrap();
    assert_eq!(
        refused(store_api.validate(&shopping).await),
        TokenRejection::WrongAudience
    );
}

#[tokio::test]
async fn organization_tokens_and_organization_level_resource_tokens() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let shopping = validator(&logto, &world.shopping.indicator).await;
    let organizations = shopping.with_audience(ExpectedAudience::AnyOrganization);
    let alice = signed_in(&logto, &world, &world.alice).await;

    // Organization token: `aud` = urn:logto:organization:<id>, the organization role's scopes.
    let token = alice.get_organization_token(&world.acme).await.unwrap();
    let auth = organizations.validate(&token).await.unwrap();
    assert_eq!(
        auth.audience(),
        [format!("urn:logto:organization:{}", world.acme)]
    );
    assert_eq!(auth.organization_id(), Some(world.acme.as_str()));
    assert_eq!(auth.subject(), Some(world.alice.id.as_str()));
    assert_eq!(auth.client_id(), Some(world.web_app.id.as_str()));
    assert_eq!(sorted(auth.scopes()), ["read:projects", "write:projects"]);
    auth.require_organization(&world.acme).unwrap();
    assert_eq!(
        auth.require_organization(&world.globex).unwrap_err().code(),
        "invalid_token"
    );
    let acme_only = shopping.with_audience(ExpectedAudience::Organization(world.acme.clone()));
    acme_only.validate(&token).await.unwrap();
    let globex_only = Validator::builder(logto.endpoint())
        .organization(&world.globex)
        .build()
        .await
        .unwrap();
    assert_eq!(
        refused(globex_only.validate(&token).await),
        TokenRejection::WrongAudience
    );
    // A member of globex (read only): 403 for write.
    let member = alice.get_organization_token(&world.globex).await.unwrap();
    globex_only.validate(&member).await.unwrap();
    let error = globex_only
        .validate_with(&member, &ScopeRequirement::all_of(["write:projects"]))
        .await
        .unwrap_err();
    assert_eq!((error.status(), error.code()), (403, "insufficient_scope"));

    // Organization-level API resource token: `aud` = the API, plus an `organization_id` claim.
    // The API's validator takes it and names the organization; routes of one organization check
    // it with `require_organization`. An organization validator refuses it (wrong audience).
    let token = alice
        .get_access_token_for_organization(&world.shopping.indicator, &world.acme)
        .await
        .unwrap();
    let auth = shopping.validate(&token).await.unwrap();
    assert_eq!(
        auth.audience(),
        std::slice::from_ref(&world.shopping.indicator)
    );
    assert_eq!(auth.claims()["organization_id"], json!(world.acme));
    assert_eq!(auth.organization_id(), Some(world.acme.as_str()));
    assert!(auth.has_scope("shopping:read"));
    auth.require_organization(&world.acme).unwrap();
    assert_eq!(
        auth.require_organization(&world.globex).unwrap_err().code(),
        "invalid_token"
    );
    assert_eq!(
        refused(organizations.validate(&token).await),
        TokenRejection::WrongAudience
    );
    // A plain resource token belongs to no organization.
    let plain = alice
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    let auth = shopping.validate(&plain).await.unwrap();
    assert_eq!(auth.organization_id(), None);
    assert_eq!(
        auth.require_organization(&world.acme).unwrap_err().code(),
        "invalid_token"
    );
}

/// What a scope on a resource token means when it comes from an organization role: Logto grants a
/// user's organization-role API scopes of *every* organization on the plain resource token too,
/// so only an organization-level token (checked with `require_organization`) says in which
/// organization the scope holds.
#[tokio::test]
async fn organization_role_scopes_reach_the_plain_resource_token() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let shopping = validator(&logto, &world.shopping.indicator).await;
    // Carol has no user role; in her organization she may write to the shopping API.
    let writer = logto
        .create_organization_role(
            &logto.unique("writer"),
            &[],
            &world.shopping.scope_ids(&["shopping:write"]),
        )
        .await;
    let initech = logto.create_organization(&logto.unique("Initech")).await;
    let carol = logto.create_user("carol", Value::Null).await;
    logto
        .add_organization_member(&initech, &carol.id, &[writer])
        .await;
    let client = signed_in(&logto, &world, &carol).await;

    let organization_level = client
        .get_access_token_for_organization(&world.shopping.indicator, &initech)
        .await
        .unwrap();
    let auth = shopping.validate(&organization_level).await.unwrap();
    assert_eq!(auth.scopes(), ["shopping:write"]);
    assert_eq!(auth.organization_id(), Some(initech.as_str()));

    let plain = client
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    let auth = shopping.validate(&plain).await.unwrap();
    assert_eq!(
        auth.scopes(),
        ["shopping:write"],
        "from the organization role"
    );
    assert_eq!(auth.organization_id(), None);
    assert!(auth.require_organization(&initech).is_err());

    // No role on the store API: a valid token without scopes (Logto sends `scope: ""`).
    let store = validator(&logto, &world.store.indicator).await;
    let token = client
        .get_access_token(&world.store.indicator)
        .await
        .unwrap();
    let auth = store.validate(&token).await.unwrap();
    assert!(auth.scopes().is_empty());
    assert_eq!(auth.claims()["scope"], "");
    let error = store
        .validate_with(&token, &ScopeRequirement::all_of(["store:read"]))
        .await
        .unwrap_err();
    assert_eq!((error.status(), error.code()), (403, "insufficient_scope"));
}

/// Client-credentials tokens: Logto sets `sub` to the application's id (the same as `client_id`).
#[tokio::test]
async fn a_machine_to_machine_token_names_the_app_and_no_user() {
    let Some((logto, world)) = world().await else {
        return;
    };
    let v = validator(&logto, &world.shopping.indicator).await;
    let app = logto.create_app(AppKind::MachineToMachine, &[], &[]).await;
    let role = logto
        .api(
            Method::POST,
            "/api/roles",
            Some(json!({
                "name": logto.unique("m2m"),
                "description": "shopping reader (machine to machine)",
                "type": "MachineToMachine",
                "scopeIds": world.shopping.scope_ids(&["shopping:read"]),
            })),
        )
        .await;
    logto
        .api(
            Method::POST,
            &format!("/api/applications/{}/roles", app.id),
            Some(json!({ "roleIds": [role["id"]] })),
        )
        .await;
    let response: Value = reqwest::Client::new()
        .post(logto.url("/oidc/token"))
        .basic_auth(&app.id, app.secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", world.shopping.indicator.as_str()),
            ("scope", "shopping:read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"));

    let auth = v
        .validate_with(token, &ScopeRequirement::all_of(["shopping:read"]))
        .await
        .unwrap();
    assert_eq!(auth.client_id(), Some(app.id.as_str()));
    assert_eq!(auth.subject(), Some(app.id.as_str()), "sub = the app's id");
    assert_eq!(
        auth.user_id(),
        None,
        "no user behind a client-credentials token"
    );
    assert!(auth.is_machine_to_machine());
}

#[tokio::test]
async fn an_expired_token_is_refused_once_the_leeway_has_passed() {
    let Some((logto, world)) = world().await else {
        return;
    };
    logto.set_access_token_ttl(&world.shopping.id, 1).await;
    let v = validator(&logto, &world.shopping.indicator).await;
    let alice = signed_in(&logto, &world, &world.alice).await;
    let token = alice
        .get_access_token(&world.shopping.indicator)
        .await
        .unwrap();
    let auth = v.validate(&token).await.unwrap();
    let exp = auth.expires_at();
    assert_eq!(exp, auth.claims()["iat"].as_u64().unwrap() + 1);

    // Valid while now < exp + leeway (cached or not), refused from then on.
    let deadline = exp + LEEWAY + 15;
    let error = loop {
        let before = unix_now();
        let result = v.validate(&token).await;
        let after = unix_now();
        match result {
            Ok(_) => assert!(
                before < exp + LEEWAY,
                "accepted at {before}, {exp} + {LEEWAY} s leeway"
            ),
            Err(error) => {
                assert!(
                    after >= exp + LEEWAY,
                    "refused at {after}, before {exp} + {LEEWAY} s leeway: {error}"
                );
                break error;
            }
        }
        assert!(after < deadline, "still accepted at {after}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(refused(Err(error)), TokenRejection::Jwt(JwtError::Expired));
    // A validator that never saw it refuses it too.
    let fresh = validator(&logto, &world.shopping.indicator).await;
    assert_eq!(
        refused(fresh.validate(&token).await),
        TokenRejection::Jwt(JwtError::Expired)
    );
}

/// Logto signs with a new key as soon as it rotates (the JWKS lists the new key first and keeps
/// one old one). At the production defaults, an API validator that fetched the JWKS less than the
/// flood-guard interval (30 s) ago refuses tokens signed with the new key (`invalid_token`,
/// unknown key) until that interval has passed since its last fetch; then the first such token
/// fetches the JWKS and is accepted. Tokens signed with the old key keep working while Logto
/// publishes it; once the key is gone (a second rotation), they are refused as soon as the
/// validator has fetched a JWKS without it — cached ones too.
#[tokio::test]
async fn tokens_signed_after_a_key_rotation_within_and_after_the_flood_guard() {
    let Some(logto) = RealLogto::start_dedicated().await else {
        return;
    };
    let world = logto.world(REDIRECT_URI, POST_LOGOUT_URI).await;
    let resource = world.shopping.indicator.as_str();
    let v = validator(&logto, resource).await;
    let alice = signed_in(&logto, &world, &world.alice).await;
    let first_kid = logto.signing_kid().await;
    let old = alice.get_access_token(resource).await.unwrap();
    assert_eq!(header(&old)["kid"], json!(first_kid));
    // The validator's first fetch (the JWKS then holds the first key only).
    let fetched = Instant::now();
    v.validate(&old).await.unwrap();
    let fetched_by = Instant::now();

    let second_kid = logto.rotate_signing_keys().await;
    alice.clear_access_token().await.unwrap();
    let new = alice.get_access_token(resource).await.unwrap();
    assert_eq!(header(&new)["kid"], json!(second_kid));
    let elapsed = fetched.elapsed();
    assert!(
        elapsed < FLOOD_GUARD,
        "the rotation took {elapsed:?}: no time left inside the flood-guard interval"
    );
    // Within the interval: unknown key, no refetch.
    assert!(matches!(
        refused(v.validate(&new).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
    v.validate(&old).await.unwrap();
    // A validator that fetches now knows both keys.
    let fresh = validator(&logto, resource).await;
    fresh.validate(&new).await.unwrap();
    fresh.validate(&old).await.unwrap();

    // After the interval: the new key is fetched; the old one is still published.
    tokio::time::sleep_until((fetched_by + FLOOD_GUARD).into()).await;
    let refetched = Instant::now();
    v.validate(&new).await.unwrap();
    let refetched_by = Instant::now();
    v.validate(&old).await.unwrap();

    // A second rotation removes the first key from the JWKS.
    let third_kid = logto.rotate_signing_keys().await;
    alice.clear_access_token().await.unwrap();
    let newest = alice.get_access_token(resource).await.unwrap();
    assert_eq!(header(&newest)["kid"], json!(third_kid));
    let elapsed = refetched.elapsed();
    assert!(
        elapsed < FLOOD_GUARD,
        "the rotation took {elapsed:?}: no time left inside the flood-guard interval"
    );
    assert!(matches!(
        refused(v.validate(&newest).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
    // Until this validator fetches the JWKS again, the cached token of the removed key passes.
    v.validate(&old).await.unwrap();
    // A validator fetching now: the removed key's token is refused, the others pass.
    let fresh = validator(&logto, resource).await;
    assert!(matches!(
        refused(fresh.validate(&old).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
    fresh.validate(&new).await.unwrap();
    fresh.validate(&newest).await.unwrap();

    tokio::time::sleep_until((refetched_by + FLOOD_GUARD).into()).await;
    v.validate(&newest).await.unwrap();
    v.validate(&new).await.unwrap();
    assert!(matches!(
        refused(v.validate(&old).await),
        TokenRejection::Jwt(JwtError::UnknownKey { .. })
    ));
}
