//! Typed claims: the ID token's, userinfo's and access tokens'. Claims Logto adds later are kept
//! in `extra`, so nothing the provider sends is lost.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::LogtoError;

/// The claims of Logto's ID token (seed 001's table). Claims of scopes that were not requested
/// are `None`; `created_at` and `updated_at` are in **milliseconds**, as Logto sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// Issuer: `<endpoint>/oidc`.
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The app id(s) the token was issued to.
    #[serde(deserialize_with = "one_or_many", serialize_with = "one_or_many_out")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// The nonce of the sign-in request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Logto session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `at_hash`: hash of the access token issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Full name (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Username (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Avatar URL (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Creation time in milliseconds (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// Last update time in milliseconds (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    /// Email address (`email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address is verified (`email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Phone number (`phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified (`phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// Postal address (`address`), as OpenID Connect's address claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Value>,
    /// Role names (`roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Ids of the user's organizations (`urn:logto:scope:organizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<String>>,
    /// `<organization id>:<role>` pairs (`urn:logto:scope:organization_roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_roles: Option<Vec<String>>,
    /// Every other claim (standard profile claims such as `given_name`, `locale`…).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The user's claims from Logto's userinfo endpoint, including those too large for the ID token
/// (`custom_data`, `identities`, `sso_identities`, `organization_data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The user's id.
    pub sub: String,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Creation time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// Last update time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Value>,
    /// The user's custom data (`custom_data` scope): any JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Value>,
    /// Linked social identities by connector target (`identities` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<BTreeMap<String, Identity>>,
    /// Linked enterprise SSO identities (`identities` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_identities: Option<Vec<SsoIdentity>>,
    /// Role names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Ids of the user's organizations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<String>>,
    /// `<organization id>:<role>` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_roles: Option<Vec<String>>,
    /// The user's organizations with their names (`urn:logto:scope:organizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_data: Option<Vec<OrganizationData>>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A social identity linked to the user (seed 002: the user's account at an OAuth 2.0 provider).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Identity {
    /// The user's id at the provider.
    pub user_id: String,
    /// The profile the connector received (mapped by its `profileMap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// An enterprise SSO identity linked to the user (seed 003: the user's account at an OIDC IdP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SsoIdentity {
    /// The upstream IdP's issuer.
    pub issuer: String,
    /// The user's id at the upstream IdP.
    pub identity_id: String,
    /// The Logto SSO connector that linked it.
    pub sso_connector_id: String,
    /// The claims the connector received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

/// One of the user's organizations, from userinfo's `organization_data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationData {
    /// Organization id.
    pub id: String,
    /// Organization name.
    pub name: String,
    /// Description, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The claims of a Logto JWT access token (API resource or organization token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The API resource, or `urn:logto:organization:<id>` for an organization token.
    #[serde(deserialize_with = "one_or_many", serialize_with = "one_or_many_out")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Granted scopes, space-separated (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The app the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The organization of an organization-level API resource token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AccessTokenClaims {
    /// Reads the claims of a JWT access token WITHOUT verifying it: for an app that holds a token
    /// it got from [`get_access_token`](crate::LogtoClient::get_access_token) and wants to show
    /// or inspect it. An API receiving the token must verify it (see `logto-api-auth`).
    ///
    /// ```
    /// use logto::AccessTokenClaims;
    /// let token = "e30.eyJpc3MiOiJpIiwic3ViIjoidSIsImF1ZCI6ImEiLCJleHAiOjIsImlhdCI6MX0.c2ln";
    /// assert_eq!(AccessTokenClaims::decode_unverified(token)?.sub, "u");
    /// assert!(AccessTokenClaims::decode_unverified("opaque-token").is_err());
    /// # Ok::<(), logto::LogtoError>(())
    /// ```
    pub fn decode_unverified(token: &str) -> Result<Self, LogtoError> {
        decode_unverified(token, "the access token (an opaque token has no claims)")
    }

    /// The granted scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_whitespace()
    }
}

/// Writes a one-element audience as a string, as JWTs usually carry it.
fn one_or_many_out<S: Serializer>(values: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    match values {
        [one] => serializer.serialize_str(one),
        many => many.serialize(serializer),
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Decodes a JWT's claims WITHOUT checking its signature: only for tokens that were verified when
/// they were stored, or that the client passes on without trusting (access tokens).
pub(crate) fn decode_unverified<T: DeserializeOwned>(
    token: &str,
    what: &'static str,
) -> Result<T, LogtoError> {
    let invalid = |detail: String| LogtoError::InvalidToken { what, detail };
    let mut parts = token.split('.');
    let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) => payload,
        _ => {
            return Err(invalid(
                "not a JWT (expected three dot-separated parts)".into(),
            ));
        }
    };
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| invalid(format!("payload is not base64url: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| invalid(format!("unexpected claims: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    #[test]
    fn id_token_claims_keep_unknown_claims() {
        let token = jwt(json!({
            "iss": "https://l.test/oidc", "sub": "u1", "aud": "app", "exp": 2, "iat": 1,
            "email": "a@b.test", "organizations": ["o1"], "locale": "fr",
            "created_at": 1700000000000u64
        }));
        let claims: IdTokenClaims = decode_unverified(&token, "ID token").unwrap();
        assert_eq!(claims.aud, ["app"]);
        assert_eq!(serde_json::to_value(&claims).unwrap()["aud"], "app");
        assert_eq!(claims.email.as_deref(), Some("a@b.test"));
        assert_eq!(claims.created_at, Some(1_700_000_000_000));
        assert_eq!(claims.extra["locale"], "fr");
        assert_eq!(claims.name, None);
    }

    #[test]
    fn userinfo_has_logto_specific_claims() {
        let info: UserInfo = serde_json::from_value(json!({
            "sub": "u1",
            "custom_data": {"plan": "pro"},
            "identities": {"github": {"userId": "gh-1", "details": {"email": "x@gh.test"}}},
            "sso_identities": [{"issuer": "https://sso.test", "identityId": "i1",
                                "ssoConnectorId": "c1", "detail": {}}],
            "organization_data": [{"id": "o1", "name": "Acme", "description": null}]
        }))
        .unwrap();
        assert_eq!(info.custom_data.unwrap()["plan"], "pro");
        assert_eq!(info.identities.unwrap()["github"].user_id, "gh-1");
        assert_eq!(info.sso_identities.unwrap()[0].sso_connector_id, "c1");
        assert_eq!(info.organization_data.unwrap()[0].name, "Acme");
    }

    #[test]
    fn access_token_scopes_split_on_whitespace() {
        let claims: AccessTokenClaims = decode_unverified(
            &jwt(
                json!({"iss": "i", "sub": "s", "aud": ["a", "b"], "exp": 2, "iat": 1,
                        "scope": "read  write"}),
            ),
            "access token",
        )
        .unwrap();
        assert_eq!(claims.scopes().collect::<Vec<_>>(), ["read", "write"]);
        assert_eq!(claims.aud, ["a", "b"]);
        assert_eq!(
            serde_json::to_value(&claims).unwrap()["aud"],
            json!(["a", "b"])
        );
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for token in ["", "a.b", "a.!!!.c", "a.e30.c.d", &jwt(json!({"sub": 1}))] {
            let err = decode_unverified::<IdTokenClaims>(token, "ID token").unwrap_err();
            assert!(
                matches!(err, LogtoError::InvalidToken { .. }),
                "{token}: {err}"
            );
        }
    }
}
