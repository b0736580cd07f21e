//! The JSON answers of the token routes, serialized straight from the client's answer (no
//! intermediate `serde_json::Value`).

use logto::AccessTokenClaims;
use serde::Serialize;

/// `{"access_token", "claims"}`.
#[derive(Serialize)]
pub struct AccessTokenAnswer<'a> {
    pub access_token: &'a str,
    pub claims: &'a AccessTokenClaims,
}

/// `{"organization_token", "claims"}`.
#[derive(Serialize)]
pub struct OrganizationTokenAnswer<'a> {
    pub organization_token: &'a str,
    pub claims: &'a AccessTokenClaims,
}
