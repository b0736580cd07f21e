//! The Management API's shapes that the typed calls send and read, as Logto 1.37.1 documents them
//! (`GET /api/swagger.json`, generated from `packages/core/src/routes`; checked against the copy
//! in `openapi/management-api.json` by this crate's tests). Unknown fields are ignored, so newer
//! Logto versions that add fields keep working; the fields read here are required as Logto
//! documents them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A credential (password, one-time token, personal access token, subject token): shown by
/// `Debug` as `<redacted>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

// ---------------------------------------------------------------- users

/// A Logto user (`GET /api/users/{userId}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The user id (the `sub` of the user's tokens).
    pub id: String,
    /// The username.
    pub username: Option<String>,
    /// The primary email.
    pub primary_email: Option<String>,
    /// The primary phone number.
    pub primary_phone: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The avatar URL.
    pub avatar: Option<String>,
    /// The user's custom data (an object).
    pub custom_data: Map<String, Value>,
    /// The OpenID Connect profile fields.
    pub profile: UserProfile,
    /// Whether the user is suspended (cannot sign in).
    pub is_suspended: bool,
    /// Social identities, by connector target.
    pub identities: Map<String, Value>,
    /// Last sign-in, milliseconds since the epoch.
    pub last_sign_in_at: Option<i64>,
    /// Creation time, milliseconds since the epoch.
    pub created_at: i64,
    /// Last update, milliseconds since the epoch.
    pub updated_at: i64,
    /// The application the user registered through.
    pub application_id: Option<String>,
}

/// A user's OpenID Connect profile fields (`profile`; every field optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct UserProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// A postal address (`profile.address`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A new user (`POST /api/users`): every field optional, but Logto needs an identifier
/// (username, email or phone) for the user to sign in.
///
/// ```
/// use logto_backend::NewUser;
/// let user = NewUser::new()
///     .username("alice")
///     .primary_email("alice@example.com")
///     .password("a-long-password")
///     .custom_data(serde_json::json!({ "plan": "pro" }));
/// assert!(!format!("{user:?}").contains("a-long-password"));
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct NewUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<UserProfile>,
}

impl NewUser {
    /// A user with no fields yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// The username (letters, digits and `_`, not starting with a digit).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
    /// The primary email.
    pub fn primary_email(mut self, email: impl Into<String>) -> Self {
        self.primary_email = Some(email.into());
        self
    }
    /// The primary phone number (digits only).
    pub fn primary_phone(mut self, phone: impl Into<String>) -> Self {
        self.primary_phone = Some(phone.into());
        self
    }
    /// The password (plain text; Logto stores its hash).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret(password.into()));
        self
    }
    /// The display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// The avatar URL.
    pub fn avatar(mut self, avatar: impl Into<String>) -> Self {
        self.avatar = Some(avatar.into());
        self
    }
    /// Custom data (a JSON object).
    pub fn custom_data(mut self, custom_data: Value) -> Self {
        self.custom_data = Some(custom_data);
        self
    }
    /// OpenID Connect profile fields.
    pub fn profile(mut self, profile: UserProfile) -> Self {
        self.profile = Some(profile);
        self
    }
}

/// Changes to a user (`PATCH /api/users/{userId}`): only the fields set are changed.
/// `custom_data` replaces the whole custom data; to merge into it use
/// [`Management::update_user_custom_data`](crate::Management::update_user_custom_data).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct UserUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<UserProfile>,
}

impl UserUpdate {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// A new username.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
    /// A new primary email.
    pub fn primary_email(mut self, email: impl Into<String>) -> Self {
        self.primary_email = Some(email.into());
        self
    }
    /// A new primary phone number.
    pub fn primary_phone(mut self, phone: impl Into<String>) -> Self {
        self.primary_phone = Some(phone.into());
        self
    }
    /// A new display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// A new avatar URL.
    pub fn avatar(mut self, avatar: impl Into<String>) -> Self {
        self.avatar = Some(avatar.into());
        self
    }
    /// Replaces the custom data (a JSON object).
    pub fn custom_data(mut self, custom_data: Value) -> Self {
        self.custom_data = Some(custom_data);
        self
    }
    /// Replaces the profile fields given (Logto merges `profile` into the stored one).
    pub fn profile(mut self, profile: UserProfile) -> Self {
        self.profile = Some(profile);
        self
    }
}

// ---------------------------------------------------------------- roles

/// Whom a role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RoleType {
    /// `User`: assigned to users.
    User,
    /// `MachineToMachine`: assigned to M2M apps.
    MachineToMachine,
    /// A type this version of the crate does not know.
    #[serde(other, skip_serializing)]
    Unknown,
}

/// A role (`GET /api/roles/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Role {
    /// The role id.
    pub id: String,
    /// The role name (unique in the tenant).
    pub name: String,
    /// The description.
    pub description: String,
    /// Whom the role is for.
    #[serde(rename = "type")]
    pub role_type: RoleType,
    /// Whether new users get it.
    pub is_default: bool,
}

/// A new role (`POST /api/roles`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct NewRole {
    name: String,
    description: String,
    #[serde(rename = "type")]
    role_type: RoleType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scope_ids: Vec<String>,
}

impl NewRole {
    /// A user role with this name and description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        NewRole {
            name: name.into(),
            description: description.into(),
            role_type: RoleType::User,
            scope_ids: Vec::new(),
        }
    }
    /// A role for M2M apps instead of users.
    pub fn machine_to_machine(mut self) -> Self {
        self.role_type = RoleType::MachineToMachine;
        self
    }
    /// API resource scopes (their ids) the role grants.
    pub fn scope_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scope_ids = ids.into_iter().map(Into::into).collect();
        self
    }
}

// ---------------------------------------------------------------- organizations

/// An organization (`GET /api/organizations/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Organization {
    /// The organization id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// Custom data (an object).
    pub custom_data: Map<String, Value>,
    /// Whether members must use MFA.
    pub is_mfa_required: bool,
    /// Creation time, milliseconds since the epoch.
    pub created_at: i64,
}

/// A new organization (`POST /api/organizations`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct NewOrganization {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_data: Option<Value>,
}

impl NewOrganization {
    /// An organization with this name.
    pub fn new(name: impl Into<String>) -> Self {
        NewOrganization {
            name: name.into(),
            description: None,
            custom_data: None,
        }
    }
    /// Its description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Custom data (a JSON object).
    pub fn custom_data(mut self, custom_data: Value) -> Self {
        self.custom_data = Some(custom_data);
        self
    }
}

/// An organization role (`GET /api/organization-roles/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrganizationRole {
    /// The role id.
    pub id: String,
    /// The name (unique in the tenant).
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// Whom the role is for.
    #[serde(rename = "type")]
    pub role_type: RoleType,
}

/// A new organization role (`POST /api/organization-roles`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct NewOrganizationRole {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    organization_scope_ids: Vec<String>,
    resource_scope_ids: Vec<String>,
}

impl NewOrganizationRole {
    /// An organization role with this name and no scopes.
    pub fn new(name: impl Into<String>) -> Self {
        NewOrganizationRole {
            name: name.into(),
            description: None,
            organization_scope_ids: Vec::new(),
            resource_scope_ids: Vec::new(),
        }
    }
    /// Its description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Organization scopes (their ids) the role grants.
    pub fn organization_scope_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.organization_scope_ids = ids.into_iter().map(Into::into).collect();
        self
    }
    /// API resource scopes (their ids) the role grants in the organization.
    pub fn resource_scope_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_scope_ids = ids.into_iter().map(Into::into).collect();
        self
    }
}

// ---------------------------------------------------------------- tokens

/// The state of a one-time token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OneTimeTokenStatus {
    /// Not used yet.
    Active,
    /// Used to sign in.
    Consumed,
    /// Revoked.
    Revoked,
    /// Expired.
    Expired,
    /// A status this version of the crate does not know.
    #[serde(other)]
    Unknown,
}

/// A one-time token (`POST /api/one-time-tokens`): the proof of a magic link. Give
/// [`token`](Self::token) and [`email`](Self::email) to `logto::SignInOptions::one_time_token`
/// and `login_hint`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OneTimeToken {
    /// The token's id (to revoke it).
    pub id: String,
    /// The email it signs in.
    pub email: String,
    /// The token.
    pub token: Secret,
    /// The context given when it was created.
    pub context: Value,
    /// Its state.
    pub status: OneTimeTokenStatus,
    /// Creation time, milliseconds since the epoch.
    pub created_at: i64,
    /// Expiry, milliseconds since the epoch.
    pub expires_at: i64,
}

/// A new one-time token (`POST /api/one-time-tokens`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct NewOneTimeToken {
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<Value>,
}

impl NewOneTimeToken {
    /// A token for this email (Logto's default lifetime: 10 minutes).
    pub fn new(email: impl Into<String>) -> Self {
        NewOneTimeToken {
            email: email.into(),
            expires_in: None,
            context: None,
        }
    }
    /// Its lifetime in seconds.
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }
    /// Context stored with it, e.g. `{"jitOrganizationIds": ["…"]}` to add the user to
    /// organizations when they sign in with it.
    pub fn context(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }
}

/// A personal access token (`POST /api/users/{userId}/personal-access-tokens`): exchange it
/// with [`TokenExchange::personal_access_token`](crate::TokenExchange::personal_access_token).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PersonalAccessToken {
    /// The user it acts for.
    pub user_id: String,
    /// Its name (unique for the user).
    pub name: String,
    /// The token.
    pub value: Secret,
    /// Creation time, milliseconds since the epoch.
    pub created_at: i64,
    /// Expiry, milliseconds since the epoch; `None`: never.
    pub expires_at: Option<i64>,
}

/// A subject token for impersonation (`POST /api/subject-tokens`): exchange it with
/// [`TokenExchange::impersonate`](crate::TokenExchange::impersonate). Usable once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubjectToken {
    /// The token.
    pub subject_token: Secret,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}
