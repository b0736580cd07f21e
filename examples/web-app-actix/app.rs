//! The sample's own routes: each answers HTML for people and JSON for scripts (the same as
//! `examples/web-app/app.rs`, on actix-web).

use actix_web::{HttpResponse, web};
use logto::UserInfo;
use logto_actix::{Auth, Authenticated, Error, Rejection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::answers::{AccessTokenAnswer, OrganizationTokenAnswer};
use crate::pages;
use crate::settings::{Connectors, Settings};

/// What the pages need to know about the configuration.
#[derive(Clone)]
pub struct Site {
    resources: Vec<String>,
    connectors: Connectors,
}

impl Site {
    pub fn new(settings: &Settings) -> Site {
        Site {
            resources: settings.resources.clone(),
            connectors: settings.connectors.clone(),
        }
    }
}

pub fn configure(routes: &mut web::ServiceConfig, site: Site) {
    routes
        .app_data(web::Data::new(site))
        .route("/", web::get().to(home))
        .route("/protected", web::get().to(protected))
        .route("/protected/userinfo", web::get().to(userinfo))
        .route("/protected/resource", web::get().to(resource))
        .route("/protected/organizations/{id}", web::get().to(organization));
}

/// JSON for scripts, HTML for browsers.
fn respond(auth: &Auth, json: impl Serialize, html: impl FnOnce() -> String) -> HttpResponse {
    if auth.wants_json() {
        HttpResponse::Ok().json(json)
    } else {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html())
    }
}

async fn home(auth: Auth, site: web::Data<Site>) -> Result<HttpResponse, Rejection> {
    if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
        let body = json!({ "authenticated": false, "claims": null });
        return Ok(respond(&auth, body, || pages::signed_out(&site.connectors)));
    }
    let claims = auth
        .get_id_token_claims()
        .await
        .map_err(|e| auth.reject(e))?;
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

async fn protected(Authenticated { user, auth }: Authenticated) -> HttpResponse {
    respond(&auth, &user, || {
        pages::document(
            "Protected",
            &pages::json_section("ID token claims", "claims", &json!(user)),
        )
    })
}

async fn userinfo(Authenticated { user, auth }: Authenticated<UserInfo>) -> HttpResponse {
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
    site: web::Data<Site>,
    query: web::Query<ResourceQuery>,
) -> Result<HttpResponse, Rejection> {
    let Some(resource) = query
        .into_inner()
        .resource
        .filter(|r| !r.is_empty())
        .or_else(|| site.resources.first().cloned())
    else {
        return Err(auth.reject(Error::BadRequest(
            "no API resource: pass ?resource=<indicator> or set LOGTO_RESOURCES".into(),
        )));
    };
    let (token, claims) = auth
        .get_access_token_and_claims(&resource)
        .await
        .map_err(|e| auth.reject(e))?;
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
    id: web::Path<String>,
) -> Result<HttpResponse, Rejection> {
    let id = id.into_inner();
    let (token, claims) = auth
        .get_organization_token_and_claims(&id)
        .await
        .map_err(|e| auth.reject(e))?;
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
