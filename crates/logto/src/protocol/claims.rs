//! Typed claims: the ID token's, userinfo's and access tokens' (see [`Claim`] for the rules).

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::LogtoError;

/// One claim (or member of a nested claim) as Logto sent it: absent, `null`, or a value.
///
/// # Exactly what Logto sent
///
/// Logto ([`scope.ts`](https://github.com/logto-io/logto/blob/master/packages/core/src/oidc/scope.ts))
/// sends a claim of a requested scope even when the user has no value for it: `"email": null`
/// means "the `email` scope was granted, the user has no email address"; no `email` at all means
/// "the scope was not requested". Every optional claim is therefore a [`Claim`]: [`Claim::Absent`],
/// [`Claim::Null`] or [`Claim::Value`]. Read it like an `Option` (`claims.email.as_deref()`,
/// `claims.email_verified.copied()`, `claims.roles.as_deref()`), or match on it when the
/// difference matters. Serializing the claims gives back what Logto sent: absent stays absent,
/// `null` stays `null`, and the claims this crate has no field for are kept in `extra`.
///
/// # Lenient typing
///
/// Only what Logto always sends is required: `iss`, `sub`, `aud`, `exp` and `iat` in tokens, `sub`
/// in userinfo, and inside the nested shapes the members Logto always writes (an identity's
/// `userId`; an SSO identity's `issuer`, `identityId` and `detail`; an organization's `id`, `name`
/// and `description`). A claim whose value does not have the shape this crate expects (a newer
/// Logto, a customized token, one malformed SSO identity…) does not fail the response: its field
/// is [`Claim::Absent`] and the claim is kept, as sent, in the `extra` of the object that holds it,
/// so the rest of the response stays readable and serializing still gives back what was sent. A
/// nested claim is typed as a whole: when one item of `sso_identities` does not fit, the whole
/// `sso_identities` claim moves to `extra` (nothing of it is dropped or reordered).
///
/// Unknown members are kept too, at every level: each struct has a `#[serde(flatten)] extra` map.
///
/// # Example
///
/// ```
/// use logto::{Claim, UserInfo};
/// let info: UserInfo = serde_json::from_value(serde_json::json!({
///     "sub": "u1", "email": null, "email_verified": false, "roles": ["admin"]
/// }))?;
/// assert_eq!(info.email, Claim::Null); // scope `email` granted, no address
/// assert_eq!(info.email.as_deref(), None);
/// assert_eq!(info.email_verified.copied(), Some(false));
/// assert!(info.phone_number.is_absent()); // scope `phone` not requested
/// assert_eq!(info.roles.as_deref(), Some(&["admin".to_owned()][..]));
/// // Serializing gives back exactly what was sent.
/// assert_eq!(serde_json::to_value(&info)?["email"], serde_json::Value::Null);
/// assert!(serde_json::to_value(&info)?.get("phone_number").is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Claim<T> {
    /// Not sent: its scope was not requested, or Logto leaves it out when unset (the standard
    /// profile claims such as `given_name`).
    #[default]
    Absent,
    /// Sent as `null`: the scope was granted but the user has no value (no email address, no
    /// name…).
    Null,
    /// Sent with a value.
    Value(T),
}

impl<T> Claim<T> {
    /// The value, if there is one.
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Claim::Value(value) => Some(value),
            Claim::Absent | Claim::Null => None,
        }
    }

    /// The value as its borrowed form (`&str` for a `Claim<String>`, `&[String]` for a
    /// `Claim<Vec<String>>`), if there is one.
    pub fn as_deref(&self) -> Option<&T::Target>
    where
        T: Deref,
    {
        self.as_ref().map(Deref::deref)
    }

    /// A copy of the value (`bool`, `u64` claims), if there is one.
    pub fn copied(&self) -> Option<T>
    where
        T: Copy,
    {
        self.as_ref().copied()
    }

    /// The value, if there is one (absent and `null` both give `None`).
    pub fn into_option(self) -> Option<T> {
        match self {
            Claim::Value(value) => Some(value),
            Claim::Absent | Claim::Null => None,
        }
    }

    /// Whether the claim has a value.
    pub fn is_some(&self) -> bool {
        matches!(self, Claim::Value(_))
    }

    /// Whether the claim has no value (absent or `null`).
    pub fn is_none(&self) -> bool {
        !self.is_some()
    }

    /// Whether the claim was sent as `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Claim::Null)
    }

    /// Whether the claim was not sent at all.
    pub fn is_absent(&self) -> bool {
        matches!(self, Claim::Absent)
    }
}

impl<T> From<Claim<T>> for Option<T> {
    fn from(claim: Claim<T>) -> Self {
        claim.into_option()
    }
}

impl<T> From<Option<T>> for Claim<T> {
    /// `None` becomes [`Claim::Absent`].
    fn from(value: Option<T>) -> Self {
        value.map_or(Claim::Absent, Claim::Value)
    }
}

/// Writes the value, or `null`. A struct field holding a `Claim` is skipped when
/// [absent](Claim::is_absent) (`#[serde(default, skip_serializing_if = "Claim::is_absent")]`).
impl<T: Serialize> Serialize for Claim<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Claim::Value(value) => value.serialize(serializer),
            Claim::Absent | Claim::Null => serializer.serialize_none(),
        }
    }
}

/// Reads `null` as [`Claim::Null`] and anything else as a value; a missing struct field needs
/// `#[serde(default)]` to be [`Claim::Absent`].
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Claim<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Claim::Null, Claim::Value))
    }
}

/// The members of a JSON object being read into one of the claim structs: each typed field takes
/// its member out; what is left is the struct's `extra`.
struct Members(Map<String, Value>);

impl Members {
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Self)
    }

    /// A member Logto always sends: missing or mistyped, the whole object is refused.
    fn required<T: DeserializeOwned, E: de::Error>(&mut self, name: &'static str) -> Result<T, E> {
        self.required_with(name, T::deserialize)
    }

    fn required_with<T, E: de::Error>(
        &mut self,
        name: &'static str,
        read: impl FnOnce(Value) -> Result<T, serde_json::Error>,
    ) -> Result<T, E> {
        let value = self.0.remove(name).ok_or_else(|| E::missing_field(name))?;
        read(value).map_err(|e| E::custom(format_args!("`{name}`: {e}")))
    }

    /// An optional member: absent, `null`, or a value; a value of another shape stays in `extra`
    /// and the field is absent.
    fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Claim<T> {
        match self.0.get(name) {
            None => Claim::Absent,
            Some(Value::Null) => {
                self.0.remove(name);
                Claim::Null
            }
            Some(value) => match T::deserialize(value) {
                Ok(value) => {
                    self.0.remove(name);
                    Claim::Value(value)
                }
                Err(_) => Claim::Absent,
            },
        }
    }

    fn extra(self) -> Map<String, Value> {
        self.0
    }
}

/// The claims of Logto's ID token (the claims table of Logto's guide to adding authentication to a
/// Python web app), from Logto's `scope.ts`: the base claims of the granted scopes, plus the
/// "extended" ones the tenant enables in its ID token settings (by default `roles`, `organizations`
/// and `organization_roles`; `custom_data`, `identities`, `sso_identities` and `organization_data`
/// only when enabled, else only userinfo has them).
///
/// Claims of scopes that were not requested are [absent](Claim::Absent); requested ones the user
/// has no value for are [`null`](Claim::Null). `created_at` and `updated_at` are in
/// **milliseconds**, as Logto sends them. The other standard profile claims (`given_name`,
/// `locale`…), which Logto sends only when set, are in `extra`. See [`Claim`] for how
/// unexpected shapes are kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// Issuer: `<endpoint>/oidc`.
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The app id(s) the token was issued to (Logto sends one, as a string, and it is written
    /// back as a string).
    #[serde(serialize_with = "one_or_many_out")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// The nonce of the sign-in request (absent in ID tokens from a refresh).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub nonce: Claim<String>,
    /// Logto session id.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub sid: Claim<String>,
    /// `at_hash`: hash of the access token issued with it.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub at_hash: Claim<String>,
    /// Full name (`profile`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub name: Claim<String>,
    /// Username (`profile`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub username: Claim<String>,
    /// Avatar URL (`profile`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub picture: Claim<String>,
    /// Creation time in milliseconds (`profile`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub created_at: Claim<u64>,
    /// Last update time in milliseconds (`profile`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub updated_at: Claim<u64>,
    /// Primary email address (`email`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub email: Claim<String>,
    /// Whether the user has a primary email address (`email`; Logto sends `true` exactly when
    /// `email` is set).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub email_verified: Claim<bool>,
    /// Primary phone number (`phone`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub phone_number: Claim<String>,
    /// Whether the user has a primary phone number (`phone`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub phone_number_verified: Claim<bool>,
    /// Postal address (`address`; absent when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub address: Claim<Address>,
    /// Role names (`roles`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub roles: Claim<Vec<String>>,
    /// Ids of the user's organizations (`urn:logto:scope:organizations`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organizations: Claim<Vec<String>>,
    /// `<organization id>:<role>` pairs (`urn:logto:scope:organization_roles`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organization_roles: Claim<Vec<String>>,
    /// The user's custom data (`custom_data`), when the tenant puts it in ID tokens.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub custom_data: Claim<Map<String, Value>>,
    /// Linked social identities (`identities`), when the tenant puts them in ID tokens.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub identities: Claim<BTreeMap<String, Identity>>,
    /// Linked enterprise SSO identities (`identities`), when the tenant puts them in ID tokens.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub sso_identities: Claim<Vec<SsoIdentity>>,
    /// The user's organizations (`urn:logto:scope:organizations`), when the tenant puts them in
    /// ID tokens.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organization_data: Claim<Vec<OrganizationData>>,
    /// Every other claim (`azp`, `auth_time`, standard profile claims such as `given_name` or
    /// `locale`, claims of a customized token…), and any claim above whose value did not have
    /// the expected shape.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for IdTokenClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            iss: m.required("iss")?,
            sub: m.required("sub")?,
            aud: m.required_with("aud", one_or_many)?,
            exp: m.required("exp")?,
            iat: m.required("iat")?,
            nonce: m.optional("nonce"),
            sid: m.optional("sid"),
            at_hash: m.optional("at_hash"),
            name: m.optional("name"),
            username: m.optional("username"),
            picture: m.optional("picture"),
            created_at: m.optional("created_at"),
            updated_at: m.optional("updated_at"),
            email: m.optional("email"),
            email_verified: m.optional("email_verified"),
            phone_number: m.optional("phone_number"),
            phone_number_verified: m.optional("phone_number_verified"),
            address: m.optional("address"),
            roles: m.optional("roles"),
            organizations: m.optional("organizations"),
            organization_roles: m.optional("organization_roles"),
            custom_data: m.optional("custom_data"),
            identities: m.optional("identities"),
            sso_identities: m.optional("sso_identities"),
            organization_data: m.optional("organization_data"),
            extra: m.extra(),
        })
    }
}

/// The user's claims from Logto's userinfo endpoint: every claim of the granted scopes, including
/// those Logto keeps out of ID tokens by default (`custom_data`, `identities`, `sso_identities`,
/// `organization_data`). Absent / `null` / value as in [`IdTokenClaims`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The user's id.
    pub sub: String,
    /// Full name (`profile`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub name: Claim<String>,
    /// Username (`profile`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub username: Claim<String>,
    /// Avatar URL (`profile`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub picture: Claim<String>,
    /// Creation time in milliseconds (`profile`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub created_at: Claim<u64>,
    /// Last update time in milliseconds (`profile`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub updated_at: Claim<u64>,
    /// Primary email address (`email`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub email: Claim<String>,
    /// Whether the user has a primary email address (`email`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub email_verified: Claim<bool>,
    /// Primary phone number (`phone`; `null` when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub phone_number: Claim<String>,
    /// Whether the user has a primary phone number (`phone`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub phone_number_verified: Claim<bool>,
    /// Postal address (`address`; absent when unset).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub address: Claim<Address>,
    /// The user's custom data (`custom_data`): any JSON object, `{}` when unset.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub custom_data: Claim<Map<String, Value>>,
    /// Linked social identities by connector target (`identities`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub identities: Claim<BTreeMap<String, Identity>>,
    /// Linked enterprise SSO identities (`identities`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub sso_identities: Claim<Vec<SsoIdentity>>,
    /// Role names (`roles`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub roles: Claim<Vec<String>>,
    /// Ids of the user's organizations (`urn:logto:scope:organizations`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organizations: Claim<Vec<String>>,
    /// `<organization id>:<role>` pairs (`urn:logto:scope:organization_roles`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organization_roles: Claim<Vec<String>>,
    /// The user's organizations with their names (`urn:logto:scope:organizations`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organization_data: Claim<Vec<OrganizationData>>,
    /// Every other claim (standard profile claims such as `given_name`…), and any claim above
    /// whose value did not have the expected shape.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for UserInfo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            sub: m.required("sub")?,
            name: m.optional("name"),
            username: m.optional("username"),
            picture: m.optional("picture"),
            created_at: m.optional("created_at"),
            updated_at: m.optional("updated_at"),
            email: m.optional("email"),
            email_verified: m.optional("email_verified"),
            phone_number: m.optional("phone_number"),
            phone_number_verified: m.optional("phone_number_verified"),
            address: m.optional("address"),
            custom_data: m.optional("custom_data"),
            identities: m.optional("identities"),
            sso_identities: m.optional("sso_identities"),
            roles: m.optional("roles"),
            organizations: m.optional("organizations"),
            organization_roles: m.optional("organization_roles"),
            organization_data: m.optional("organization_data"),
            extra: m.extra(),
        })
    }
}

/// A social identity linked to the user (through a social connector: the user's account at an
/// OAuth 2.0 provider such as GitHub), as Logto stores it (`identityGuard` in `@logto/schemas`):
/// `{"userId", "details"?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Identity {
    /// The user's id at the provider (`userId`, always sent).
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The profile the connector received (`details`, optional in Logto).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub details: Claim<Map<String, Value>>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            user_id: m.required("userId")?,
            details: m.optional("details"),
            extra: m.extra(),
        })
    }
}

/// An enterprise SSO identity linked to the user (the user's account at an OIDC or SAML identity
/// provider). Logto's userinfo sends exactly `{"issuer", "identityId", "detail"}` (`scope.ts`), all
/// three always (`detail` is `{}` when empty); the SSO connector is not part of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SsoIdentity {
    /// The upstream IdP's issuer (OIDC) or entity id (SAML).
    pub issuer: String,
    /// The user's id at the upstream IdP (`identityId`).
    #[serde(rename = "identityId")]
    pub identity_id: String,
    /// The claims the connector received.
    pub detail: Map<String, Value>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for SsoIdentity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            issuer: m.required("issuer")?,
            identity_id: m.required("identityId")?,
            detail: m.required("detail")?,
            extra: m.extra(),
        })
    }
}

/// One of the user's organizations, from `organization_data`: Logto sends exactly
/// `{"id", "name", "description"}`, `description` being `null` when unset.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OrganizationData {
    /// Organization id.
    pub id: String,
    /// Organization name.
    pub name: String,
    /// Description (`null` when unset; always sent).
    pub description: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for OrganizationData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            id: m.required("id")?,
            name: m.required("name")?,
            description: m.required("description")?,
            extra: m.extra(),
        })
    }
}

/// The `address` claim as Logto sends it: the user's `profile.address`, every member optional.
/// Logto snake-cases only the top-level claim names, so the members keep its camelCase names
/// (`streetAddress`, `postalCode`), not OpenID Connect's (`street_address`, `postal_code`, which
/// would land in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Address {
    /// Full mailing address (`formatted`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub formatted: Claim<String>,
    /// Street address (`streetAddress`).
    #[serde(rename = "streetAddress", skip_serializing_if = "Claim::is_absent")]
    pub street_address: Claim<String>,
    /// City or locality (`locality`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub locality: Claim<String>,
    /// State, province or region (`region`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub region: Claim<String>,
    /// Postal code (`postalCode`).
    #[serde(rename = "postalCode", skip_serializing_if = "Claim::is_absent")]
    pub postal_code: Claim<String>,
    /// Country (`country`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub country: Claim<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            formatted: m.optional("formatted"),
            street_address: m.optional("streetAddress"),
            locality: m.optional("locality"),
            region: m.optional("region"),
            postal_code: m.optional("postalCode"),
            country: m.optional("country"),
            extra: m.extra(),
        })
    }
}

/// The claims of a Logto JWT access token (API resource or organization token): oidc-provider's
/// `jti sub iat exp scope client_id iss aud`, plus `organization_id` in an organization-level API
/// resource token. Absent / `null` / value as in [`IdTokenClaims`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user's id (the app's id for a machine-to-machine token).
    pub sub: String,
    /// The API resource, or `urn:logto:organization:<id>` for an organization token.
    #[serde(serialize_with = "one_or_many_out")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// Token id.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub jti: Claim<String>,
    /// Granted scopes, space-separated (Logto sends `""` when none).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub scope: Claim<String>,
    /// The app the token was issued to.
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub client_id: Claim<String>,
    /// The organization of an organization-level API resource token (a token for `resource`
    /// requested with `organization_id`).
    #[serde(skip_serializing_if = "Claim::is_absent")]
    pub organization_id: Claim<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for AccessTokenClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut m = Members::read(deserializer)?;
        Ok(Self {
            iss: m.required("iss")?,
            sub: m.required("sub")?,
            aud: m.required_with("aud", one_or_many)?,
            exp: m.required("exp")?,
            iat: m.required("iat")?,
            jti: m.optional("jti"),
            scope: m.optional("scope"),
            client_id: m.optional("client_id"),
            organization_id: m.optional("organization_id"),
            extra: m.extra(),
        })
    }
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
    let json = logto_jwt::decode_payload(token).map_err(|e| invalid(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| invalid(format!("unexpected claims: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    /// Parses `json` as `T` and checks that serializing gives back the same JSON value.
    fn round_trip<T: DeserializeOwned + Serialize>(json: Value) -> T {
        let parsed: T = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
        parsed
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
        assert_eq!(claims.created_at.copied(), Some(1_700_000_000_000));
        assert_eq!(claims.extra["locale"], "fr");
        assert_eq!(claims.name, Claim::Absent);
    }

    /// Found by the fuzzer: a long decimal parsed one ulp off printed back as another number.
    #[test]
    fn long_numbers_round_trip_exactly_through_the_session_store() {
        let text = r#"{"sub":"u1","iat":17000000011111111111111111111111111111111111111111111111111111111111111111111111111111111111111110,"x":0.30000000000000004}"#;
        let parsed: UserInfo = serde_json::from_str(text).unwrap();
        let stored = serde_json::to_string(&parsed).unwrap();
        let again: UserInfo = serde_json::from_str(&stored).unwrap();
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&parsed).unwrap()
        );
    }

    #[test]
    fn userinfo_round_trips_nulls_absences_and_unknown_members() {
        let json = json!({
            "sub": "u1",
            // `profile` granted, nothing set but the username.
            "name": null, "username": "bob", "picture": null,
            "created_at": 1704164645678u64, "updated_at": 1717200000123u64,
            // `email` granted, no address.
            "email": null, "email_verified": false,
            // (`phone` not requested: absent.)
            "address": {"formatted": "1 Main St", "postalCode": "12345", "floor": 3},
            "custom_data": {"plan": "pro", "nested": {"deep": [1, null]}},
            "identities": {
                "github": {"userId": "gh-1", "details": {"email": "x@gh.test"}, "linkedAt": 5},
                "google": {"userId": "g-1"}
            },
            "sso_identities": [{"issuer": "https://sso.test", "identityId": "i1", "detail": {},
                                "futureField": true}],
            "roles": [],
            "organizations": ["o1"],
            "organization_data": [{"id": "o1", "name": "Acme", "description": null,
                                   "logo": {"light": "x"}}],
            // Unknown claims, one of them null.
            "given_name": "Bob", "zoneinfo": null, "custom_claim": {"a": [1, 2]}
        });
        let info: UserInfo = round_trip(json);
        assert_eq!(info.name, Claim::Null);
        assert_eq!(info.username.as_deref(), Some("bob"));
        assert!(info.email.is_null() && info.email.as_deref().is_none());
        assert_eq!(info.email_verified.copied(), Some(false));
        assert!(info.phone_number.is_absent() && info.phone_number_verified.is_absent());
        let address = info.address.as_ref().unwrap();
        assert_eq!(address.postal_code.as_deref(), Some("12345"));
        assert!(address.street_address.is_absent());
        assert_eq!(address.extra["floor"], 3);
        assert_eq!(info.custom_data.as_ref().unwrap()["plan"], "pro");
        let identities = info.identities.as_ref().unwrap();
        assert_eq!(identities["github"].user_id, "gh-1");
        assert_eq!(identities["github"].extra["linkedAt"], 5);
        assert!(identities["google"].details.is_absent());
        assert_eq!(info.roles.as_deref(), Some(&[][..]));
        let orgs = info.organization_data.as_ref().unwrap();
        assert_eq!(
            (orgs[0].name.as_str(), orgs[0].description.as_deref()),
            ("Acme", None)
        );
        assert_eq!(orgs[0].extra["logo"]["light"], "x");
        assert_eq!(info.extra["given_name"], "Bob");
        assert_eq!(info.extra["zoneinfo"], Value::Null);
        assert!(info.organization_roles.is_absent());
    }

    #[test]
    fn id_token_and_access_token_claims_round_trip() {
        round_trip::<IdTokenClaims>(json!({
            "iss": "https://l.test/oidc", "sub": "u1", "aud": "app", "exp": 2, "iat": 1,
            "nonce": "n", "at_hash": "h", "name": null, "username": null, "picture": null,
            "email": null, "email_verified": false, "roles": ["admin"], "organizations": [],
            "organization_roles": [], "custom_data": {}, "auth_time": 1, "locale": null
        }));
        round_trip::<AccessTokenClaims>(json!({
            "jti": "j", "sub": "u1", "iat": 1, "exp": 2, "scope": "", "client_id": "app",
            "iss": "https://l.test/oidc", "aud": "urn:logto:organization:o1", "cnf": {"jkt": "t"}
        }));
        // A multi-valued audience stays an array; a null protocol claim stays null.
        round_trip::<AccessTokenClaims>(json!({
            "iss": "i", "sub": "s", "aud": ["a", "b"], "exp": 2, "iat": 1, "scope": null
        }));
    }

    #[test]
    fn a_logto_sso_identity_parses() {
        // Exactly what scope.ts sends: `{ issuer, identityId, detail }`.
        let info: UserInfo = round_trip(json!({
            "sub": "u1",
            "sso_identities": [{"issuer": "https://sso.test", "identityId": "i1",
                                "detail": {"email": "a@sso.test"}}]
        }));
        let sso = info.sso_identities.as_deref().unwrap();
        assert_eq!(sso[0].issuer, "https://sso.test");
        assert_eq!(sso[0].identity_id, "i1");
        assert_eq!(sso[0].detail["email"], "a@sso.test");
        assert!(sso[0].extra.is_empty());
    }

    #[test]
    fn odd_nested_shapes_do_not_fail_the_response() {
        let json = json!({
            "sub": "u1",
            "email": "a@b.test",
            // An SSO identity without `identityId`, next to a good one.
            "sso_identities": [{"issuer": "https://sso.test", "identityId": "i1", "detail": {}},
                               {"issuer": "https://other.test"}],
            // Not an object of identities.
            "identities": ["github"],
            // An organization without a name.
            "organization_data": [{"id": "o1"}],
            // custom_data that is not an object, an address that is a string.
            "custom_data": "plan=pro",
            "address": "1 Main St",
            // Mistyped scalars.
            "email_verified": "yes",
            "created_at": "2024-01-01",
            "roles": "admin",
            "unrelated": 1
        });
        let info: UserInfo = round_trip(json.clone());
        assert_eq!(info.email.as_deref(), Some("a@b.test"));
        for (field, name) in [
            (info.sso_identities.is_absent(), "sso_identities"),
            (info.identities.is_absent(), "identities"),
            (info.organization_data.is_absent(), "organization_data"),
            (info.custom_data.is_absent(), "custom_data"),
            (info.address.is_absent(), "address"),
            (info.email_verified.is_absent(), "email_verified"),
            (info.created_at.is_absent(), "created_at"),
            (info.roles.is_absent(), "roles"),
        ] {
            assert!(field, "{name} is not typed");
            assert_eq!(info.extra[name], json[name], "{name} is kept as sent");
        }

        let info: UserInfo = round_trip(json!({
            "sub": "u1",
            "identities": {"github": {"userId": "gh-1", "details": "not an object"}}
        }));
        let github = &info.identities.as_ref().unwrap()["github"];
        assert!(github.details.is_absent());
        assert_eq!(github.extra["details"], "not an object");
    }

    #[test]
    fn userinfo_with_a_connector_id_still_parses() {
        // Older fixtures invented an `ssoConnectorId`; it is just an unknown member now.
        let info: UserInfo = round_trip(json!({
            "sub": "u1",
            "sso_identities": [{"issuer": "https://sso.test", "identityId": "i1",
                                "ssoConnectorId": "c1", "detail": {}}],
            "organization_data": [{"id": "o1", "name": "Acme", "description": "A"}]
        }));
        let sso = &info.sso_identities.as_deref().unwrap()[0];
        assert_eq!(sso.extra["ssoConnectorId"], "c1");
        assert_eq!(
            info.organization_data.as_deref().unwrap()[0]
                .description
                .as_deref(),
            Some("A")
        );
    }

    #[test]
    fn claim_reads_like_an_option() {
        let absent: Claim<String> = Claim::default();
        assert!(absent.is_absent() && absent.is_none() && !absent.is_null());
        let null: Claim<String> = serde_json::from_value(Value::Null).unwrap();
        assert!(null.is_null() && null.is_none());
        let value: Claim<String> = serde_json::from_value(json!("x")).unwrap();
        assert!(value.is_some());
        assert_eq!(value.as_deref(), Some("x"));
        assert_eq!(Option::from(value.clone()), Some("x".to_owned()));
        assert_eq!(Claim::from(Some(1)), Claim::Value(1));
        assert_eq!(Claim::<u8>::from(None), Claim::Absent);
        assert_eq!(serde_json::to_value(&null).unwrap(), Value::Null);
        assert_eq!(serde_json::to_value(&value).unwrap(), json!("x"));
    }

    #[test]
    fn missing_required_claims_are_errors() {
        let err = serde_json::from_value::<UserInfo>(json!({"email": "a@b.test"})).unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
        let err = serde_json::from_value::<IdTokenClaims>(
            json!({"iss": "i", "sub": "s", "aud": 1, "exp": 2, "iat": 1}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("aud"), "{err}");
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
