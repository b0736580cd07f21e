//! The sample's own routes: each answers HTML for people and JSON for scripts.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use logto::UserInfo;
use logto_axum::{Auth, Authenticated, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::answers::{AccessTokenAnswer, OrganizationTokenAnswer};
use crate::pages;
use crate::settings::{Connectors, Settings};

/// What the pages need to know about the configuration (shared: axum clones the state for
/// every request).
struct Site {
    resources: Vec<String>,
    connectors: Connectors,
}

pub fn router(settings: &Settings) -> Router {
    let site = Arc::new(Site {
        resources: settings.resources.clone(),
        connectors: settings.connectors.clone(),
    });
    Router::new()
        .route("/", get(home))
        .route("/protected", get(protected))
        .route("/protected/userinfo", get(userinfo))
        .route("/protected/resource", get(resource))
        .route("/protected/organizations/{id}", get(organization))
        .with_state(site)
}

/// JSON for scripts, HTML for browsers.
fn respond(auth: &Auth, json: impl Serialize, html: impl FnOnce() -> String) -> Response {
    if auth.wants_json() {
        Json(json).into_response()
    } else {
        Html(html()).into_response()
    }
}

async fn home(auth: Auth, State(site): State<Arc<Site>>) -> Result<Response, Error> {
    if !auth.is_authenticated().await? {
        let body = json!({ "authenticated": false, "claims": null });
        return Ok(respond(&auth, body, || pages::signed_out(&site.connectors)));
    }
    let claims = auth.get_id_token_claims().await?;
    let body = json!({ "authenticated": true, "claims": claims });
    let organizations = claims
        .organizations
        .clone()
        .into_option()
        .unwrap_or_default();
    Ok(respond(&auth, body.clone(), || {
        pages::signed_in(&body["claims"], &site.resources, &organizations)
    }))
}

async fn protected(Authenticated { user, auth }: Authenticated) -> Response {
    respond(&auth, &user, || {
        pages::document(
            "Protected",
            &pages::json_section("ID token claims", "claims", &json!(user)),
        )
    })
}

async fn userinfo(Authenticated { user, auth }: Authenticated<UserInfo>) -> Response {
    respond(&auth, &user, || {
        pages::document(
            "User info",
            &pages::json_section("User info", "userinfo", &json!(user)),
        )
    })
}

#[derive(Deserialize)]
struct ResourceQuery {
    resource: Option<String>,
}

async fn resource(
    Authenticated { auth, .. }: Authenticated<()>,
    State(site): State<Arc<Site>>,
    Query(query): Query<ResourceQuery>,
) -> Result<Response, Error> {
    let Some(resource) = query
        .resource
        .filter(|r| !r.is_empty())
        .or_else(|| site.resources.first().cloned())
    else {
        return Err(Error::BadRequest(
            "no API resource: pass ?resource=<indicator> or set LOGTO_RESOURCES".into(),
        ));
    };
    let (token, claims) = auth.get_access_token_and_claims(&resource).await?;
    let body = AccessTokenAnswer {
        access_token: &token,
        claims: &claims,
    };
    Ok(respond(&auth, body, || {
        pages::token_page(
            &format!("Access token for {resource}"),
            "access-token",
            &token,
            &json!(claims),
        )
    }))
}

async fn organization(
    Authenticated { auth, .. }: Authenticated<()>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (token, claims) = auth.get_organization_token_and_claims(&id).await?;
    let body = OrganizationTokenAnswer {
        organization_token: &token,
        claims: &claims,
    };
    Ok(respond(&auth, body, || {
        pages::token_page(
            &format!("Organization token for {id}"),
            "organization-token",
            &token,
            &json!(claims),
        )
    }))
}
