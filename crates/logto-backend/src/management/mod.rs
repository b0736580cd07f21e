//! [`Management`]: Logto's Management API with an M2M token: typed calls for what backends do
//! most, and [`raw`](Management::raw) for the rest.

mod types;

pub use types::{
    Address, NewOneTimeToken, NewOrganization, NewOrganizationRole, NewRole, NewUser, OneTimeToken,
    OneTimeTokenStatus, Organization, OrganizationRole, PersonalAccessToken, Role, RoleType,
    Secret, SubjectToken, User, UserProfile, UserUpdate,
};

use logto_jwt::http::HttpOptions;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::BackendError;
use crate::http::DEFAULT_TIMEOUT;
use crate::token_source::TokenSource;

/// The Management API's resource indicator on Logto OSS (every self-hosted Logto).
pub const OSS_MANAGEMENT_RESOURCE: &str = "https://default.logto.app/api";

/// Which Logto the Management API belongs to: its API resource indicator differs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tenant {
    /// Self-hosted Logto (OSS): the resource is `https://default.logto.app/api`.
    Oss,
    /// A Logto Cloud tenant: the resource is `https://<tenant-id>.logto.app/api`, whatever
    /// domain (custom or `<tenant-id>.logto.app`) the endpoint uses.
    Cloud {
        /// The tenant id (Console → tenant settings).
        tenant_id: String,
    },
}

impl Tenant {
    /// A Logto Cloud tenant.
    pub fn cloud(tenant_id: impl Into<String>) -> Self {
        Tenant::Cloud {
            tenant_id: tenant_id.into(),
        }
    }

    /// The Management API's resource indicator for this tenant.
    ///
    /// ```
    /// use logto_backend::Tenant;
    /// assert_eq!(Tenant::Oss.resource(), "https://default.logto.app/api");
    /// assert_eq!(Tenant::cloud("abc123").resource(), "https://abc123.logto.app/api");
    /// ```
    pub fn resource(&self) -> String {
        match self {
            Tenant::Oss => OSS_MANAGEMENT_RESOURCE.to_owned(),
            Tenant::Cloud { tenant_id } => format!("https://{tenant_id}.logto.app/api"),
        }
    }
}

/// One Management API operation: its method and path (with `{param}` placeholders), as in
/// Logto's OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
}

impl Operation {
    const fn new(method: &'static str, path: &'static str) -> Self {
        Operation { method, path }
    }

    /// The path with each `{param}` replaced by the next argument, percent-encoded.
    fn path_with(&self, args: &[&str]) -> Result<String, BackendError> {
        let mut out = String::new();
        let mut rest = self.path;
        let mut args = args.iter();
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .map(|i| start + i)
                .unwrap_or(rest.len());
            let arg = args.next().expect("an argument for every path parameter");
            if arg.is_empty() {
                return Err(BackendError::InvalidConfig(format!(
                    "an empty {} in {}",
                    &rest[start..=end.min(rest.len() - 1)],
                    self.path
                )));
            }
            out.push_str(&rest[..start]);
            for byte in arg.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            rest = &rest[(end + 1).min(rest.len())..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The typed calls' operations (checked against Logto's OpenAPI document by the tests).
pub(crate) mod ops {
    use super::Operation;

    pub(crate) const CREATE_USER: Operation = Operation::new("post", "/api/users");
    pub(crate) const GET_USER: Operation = Operation::new("get", "/api/users/{userId}");
    pub(crate) const UPDATE_USER: Operation = Operation::new("patch", "/api/users/{userId}");
    pub(crate) const DELETE_USER: Operation = Operation::new("delete", "/api/users/{userId}");
    pub(crate) const UPDATE_USER_CUSTOM_DATA: Operation =
        Operation::new("patch", "/api/users/{userId}/custom-data");
    pub(crate) const UPDATE_USER_PROFILE: Operation =
        Operation::new("patch", "/api/users/{userId}/profile");
    pub(crate) const SET_USER_SUSPENDED: Operation =
        Operation::new("patch", "/api/users/{userId}/is-suspended");
    pub(crate) const CREATE_ROLE: Operation = Operation::new("post", "/api/roles");
    pub(crate) const LIST_USER_ROLES: Operation =
        Operation::new("get", "/api/users/{userId}/roles");
    pub(crate) const ASSIGN_USER_ROLES: Operation =
        Operation::new("post", "/api/users/{userId}/roles");
    pub(crate) const REMOVE_USER_ROLE: Operation =
        Operation::new("delete", "/api/users/{userId}/roles/{roleId}");
    pub(crate) const CREATE_ORGANIZATION: Operation = Operation::new("post", "/api/organizations");
    pub(crate) const ADD_ORGANIZATION_USERS: Operation =
        Operation::new("post", "/api/organizations/{id}/users");
    pub(crate) const CREATE_ORGANIZATION_ROLE: Operation =
        Operation::new("post", "/api/organization-roles");
    pub(crate) const ASSIGN_ORGANIZATION_USER_ROLES: Operation =
        Operation::new("post", "/api/organizations/{id}/users/{userId}/roles");
    pub(crate) const LIST_ORGANIZATION_USER_ROLES: Operation =
        Operation::new("get", "/api/organizations/{id}/users/{userId}/roles");
    pub(crate) const CREATE_ONE_TIME_TOKEN: Operation =
        Operation::new("post", "/api/one-time-tokens");
    pub(crate) const CREATE_PERSONAL_ACCESS_TOKEN: Operation =
        Operation::new("post", "/api/users/{userId}/personal-access-tokens");
    pub(crate) const CREATE_SUBJECT_TOKEN: Operation =
        Operation::new("post", "/api/subject-tokens");

    pub(crate) const ALL: [Operation; 19] = [
        CREATE_USER,
        GET_USER,
        UPDATE_USER,
        DELETE_USER,
        UPDATE_USER_CUSTOM_DATA,
        UPDATE_USER_PROFILE,
        SET_USER_SUSPENDED,
        CREATE_ROLE,
        LIST_USER_ROLES,
        ASSIGN_USER_ROLES,
        REMOVE_USER_ROLE,
        CREATE_ORGANIZATION,
        ADD_ORGANIZATION_USERS,
        CREATE_ORGANIZATION_ROLE,
        ASSIGN_ORGANIZATION_USER_ROLES,
        LIST_ORGANIZATION_USER_ROLES,
        CREATE_ONE_TIME_TOKEN,
        CREATE_PERSONAL_ACCESS_TOKEN,
        CREATE_SUBJECT_TOKEN,
    ];
}

/// Builds a [`Management`]; see [`Management::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ManagementBuilder {
    endpoint: String,
    app_id: String,
    app_secret: Secret,
    tenant: Tenant,
    timeout: Duration,
    allow_insecure_http: bool,
    http: HttpOptions,
}

impl ManagementBuilder {
    /// The tenant (default [`Tenant::Oss`]).
    pub fn tenant(mut self, tenant: Tenant) -> Self {
        self.tenant = tenant;
        self
    }

    /// The timeout of each request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows a plain-http endpoint off this machine (development only).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or several PEM certificates) besides the
    /// system's, e.g. the private CA of a self-hosted Logto. A certificate that is not usable
    /// makes `build` fail with [`BackendError::InvalidRootCertificate`].
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.http = self.http.root_certificate(pem);
        self
    }

    /// Sends every request to Logto with `client` (a proxy, client certificates…). It **must not
    /// follow redirects** (`reqwest::redirect::Policy::none()`), or the app secret and tokens could
    /// be replayed to wherever a redirect points; its proxy, TLS and connect-timeout settings
    /// apply, and [`timeout`](Self::timeout) still bounds each request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = self.http.http_client(client);
        self
    }

    /// Checks the configuration; no request is sent yet.
    pub fn build(self) -> Result<Management, BackendError> {
        let tokens = TokenSource::builder(self.endpoint, self.app_id, self.app_secret.expose())
            .resource(self.tenant.resource())
            .scopes(["all"])
            .timeout(self.timeout)
            .allow_insecure_http(self.allow_insecure_http)
            .http_options(self.http);
        Management::with_token_source(tokens.build()?)
    }
}

/// Logto's Management API (`<endpoint>/api`), called with the M2M tokens of a [`TokenSource`].
/// Cheap to clone; clones share the token cache.
///
/// The M2M app needs a role with Management API access (Console → Roles → the
/// "Logto Management API access" permission). A token refused with 401 is renewed once.
///
/// ```no_run
/// use logto_backend::{Management, NewUser};
/// # async fn run() -> Result<(), logto_backend::BackendError> {
/// let management = Management::new("https://auth.your-app.com", "m2m-app-id", "m2m-app-secret")?;
/// let user = management
///     .create_user(&NewUser::new().username("alice").primary_email("alice@example.com"))
///     .await?;
/// management.assign_user_roles(&user.id, ["role-id"]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Management {
    tokens: TokenSource,
}

impl Management {
    /// The Management API of a self-hosted Logto at `endpoint`, with an M2M app's credentials.
    pub fn new(
        endpoint: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<Self, BackendError> {
        Self::builder(endpoint, app_id, app_secret).build()
    }

    /// A builder, for Logto Cloud ([`Tenant::Cloud`]) and timeouts.
    pub fn builder(
        endpoint: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> ManagementBuilder {
        ManagementBuilder {
            endpoint: endpoint.into(),
            app_id: app_id.into(),
            app_secret: Secret::from(app_secret.into()),
            tenant: Tenant::Oss,
            timeout: DEFAULT_TIMEOUT,
            allow_insecure_http: false,
            http: HttpOptions::default(),
        }
    }

    /// The Management API at the token source's endpoint, with its tokens (built with the
    /// Management API's resource, [`Tenant::resource`], and the scope `all`).
    pub fn with_token_source(tokens: TokenSource) -> Result<Self, BackendError> {
        if tokens.resource().is_none() {
            return Err(BackendError::InvalidConfig(
                "the token source has no resource: use the Management API's (Tenant::resource())"
                    .into(),
            ));
        }
        Ok(Management { tokens })
    }

    /// The token source whose tokens the calls use.
    pub fn token_source(&self) -> &TokenSource {
        &self.tokens
    }

    /// Calls any Management API endpoint: `method`, `path` (starting with `/api/`, query
    /// included) and an optional JSON body. Returns the JSON answer (`null` for an empty one).
    ///
    /// ```no_run
    /// # async fn run(management: logto_backend::Management) -> Result<(), logto_backend::BackendError> {
    /// use reqwest::Method;
    /// let roles = management.raw(Method::GET, "/api/roles?search=admin", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, BackendError> {
        if !path.starts_with("/api/") {
            return Err(BackendError::InvalidConfig(format!(
                "the Management API path {path:?} must start with /api/"
            )));
        }
        let body = body.map(serde_json::to_vec).transpose().map_err(|e| {
            BackendError::InvalidConfig(format!("the body is not serializable: {e}"))
        })?;
        let (status, bytes) = self.send("Management API", method, path, body).await?;
        parse("Management API", status, &bytes)
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        operation: Operation,
        args: &[&str],
        body: Option<&B>,
    ) -> Result<T, BackendError> {
        let (status, bytes) = self.call_bytes(operation, args, body).await?;
        parse("Management API", status, &bytes)
    }

    async fn call_no_content<B: Serialize>(
        &self,
        operation: Operation,
        args: &[&str],
        body: Option<&B>,
    ) -> Result<(), BackendError> {
        self.call_bytes(operation, args, body).await.map(|_| ())
    }

    async fn call_bytes<B: Serialize>(
        &self,
        operation: Operation,
        args: &[&str],
        body: Option<&B>,
    ) -> Result<(u16, Vec<u8>), BackendError> {
        let path = operation.path_with(args)?;
        let method = Method::from_bytes(operation.method.to_ascii_uppercase().as_bytes())
            .expect("a valid method");
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| BackendError::InvalidConfig(format!("unserializable body: {e}")))?;
        self.send("Management API", method, &path, body).await
    }

    /// Sends a request with the current token; on 401, renews the token once and retries.
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), BackendError> {
        let http = self.tokens.http();
        let url = http.url(path)?;
        for attempt in 0..2 {
            let token = self.tokens.access_token().await?;
            let mut request = http
                .client
                .request(method.clone(), url.clone())
                .bearer_auth(token.as_str())
                .header(ACCEPT, "application/json");
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let (status, bytes) = http.send(operation, request).await?;
            if status == 401 && attempt == 0 {
                self.tokens.invalidate(&token);
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(BackendError::api(operation, status, &bytes));
            }
            return Ok((status, bytes));
        }
        unreachable!("the loop returns on its second attempt")
    }

    // ------------------------------------------------------------ users

    /// Creates a user.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, BackendError> {
        self.call(ops::CREATE_USER, &[], Some(user)).await
    }

    /// A user by id ([`BackendError::NotFound`] when there is none).
    pub async fn get_user(&self, user_id: &str) -> Result<User, BackendError> {
        self.call::<(), _>(ops::GET_USER, &[user_id], None).await
    }

    /// Changes a user's fields (only those set in `update`).
    pub async fn update_user(
        &self,
        user_id: &str,
        update: &UserUpdate,
    ) -> Result<User, BackendError> {
        self.call(ops::UPDATE_USER, &[user_id], Some(update)).await
    }

    /// Merges `custom_data` (a JSON object) into the user's custom data; returns the result.
    pub async fn update_user_custom_data(
        &self,
        user_id: &str,
        custom_data: &Value,
    ) -> Result<Value, BackendError> {
        let body = bodies::custom_data(custom_data);
        self.call(ops::UPDATE_USER_CUSTOM_DATA, &[user_id], Some(&body))
            .await
    }

    /// Merges `profile` into the user's profile fields; returns the result.
    pub async fn update_user_profile(
        &self,
        user_id: &str,
        profile: &UserProfile,
    ) -> Result<UserProfile, BackendError> {
        let body = bodies::profile(profile);
        self.call(ops::UPDATE_USER_PROFILE, &[user_id], Some(&body))
            .await
    }

    /// Suspends a user (they cannot sign in, and their sessions and tokens are revoked), or
    /// lifts the suspension.
    pub async fn set_user_suspended(
        &self,
        user_id: &str,
        suspended: bool,
    ) -> Result<User, BackendError> {
        let body = bodies::suspended(suspended);
        self.call(ops::SET_USER_SUSPENDED, &[user_id], Some(&body))
            .await
    }

    /// Deletes a user.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), BackendError> {
        self.call_no_content::<()>(ops::DELETE_USER, &[user_id], None)
            .await
    }

    // ------------------------------------------------------------ roles

    /// Creates a role.
    pub async fn create_role(&self, role: &NewRole) -> Result<Role, BackendError> {
        self.call(ops::CREATE_ROLE, &[], Some(role)).await
    }

    /// The roles of a user.
    pub async fn list_user_roles(&self, user_id: &str) -> Result<Vec<Role>, BackendError> {
        self.call::<(), _>(ops::LIST_USER_ROLES, &[user_id], None)
            .await
    }

    /// Assigns roles to a user (those already assigned are kept).
    pub async fn assign_user_roles<I, S>(
        &self,
        user_id: &str,
        role_ids: I,
    ) -> Result<(), BackendError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let body = bodies::role_ids(role_ids.into_iter().map(Into::into).collect());
        self.call_no_content(ops::ASSIGN_USER_ROLES, &[user_id], Some(&body))
            .await
    }

    /// Removes a role from a user.
    pub async fn remove_user_role(&self, user_id: &str, role_id: &str) -> Result<(), BackendError> {
        self.call_no_content::<()>(ops::REMOVE_USER_ROLE, &[user_id, role_id], None)
            .await
    }

    // ------------------------------------------------------------ organizations

    /// Creates an organization.
    pub async fn create_organization(
        &self,
        organization: &NewOrganization,
    ) -> Result<Organization, BackendError> {
        self.call(ops::CREATE_ORGANIZATION, &[], Some(organization))
            .await
    }

    /// Adds users to an organization.
    pub async fn add_organization_members<I, S>(
        &self,
        organization_id: &str,
        user_ids: I,
    ) -> Result<(), BackendError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let body = bodies::user_ids(user_ids.into_iter().map(Into::into).collect());
        self.call_no_content(ops::ADD_ORGANIZATION_USERS, &[organization_id], Some(&body))
            .await
    }

    /// Creates an organization role.
    pub async fn create_organization_role(
        &self,
        role: &NewOrganizationRole,
    ) -> Result<OrganizationRole, BackendError> {
        self.call(ops::CREATE_ORGANIZATION_ROLE, &[], Some(role))
            .await
    }

    /// Assigns organization roles to a member of an organization.
    pub async fn assign_organization_roles<I, S>(
        &self,
        organization_id: &str,
        user_id: &str,
        organization_role_ids: I,
    ) -> Result<(), BackendError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let body = bodies::organization_role_ids(
            organization_role_ids.into_iter().map(Into::into).collect(),
        );
        self.call_no_content(
            ops::ASSIGN_ORGANIZATION_USER_ROLES,
            &[organization_id, user_id],
            Some(&body),
        )
        .await
    }

    /// The organization roles of a member of an organization.
    pub async fn list_organization_roles(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<Vec<OrganizationRole>, BackendError> {
        self.call::<(), _>(
            ops::LIST_ORGANIZATION_USER_ROLES,
            &[organization_id, user_id],
            None,
        )
        .await
    }

    // ------------------------------------------------------------ tokens

    /// Creates a one-time token for an email: a magic link's proof (see
    /// `logto::SignInOptions::one_time_token`).
    pub async fn create_one_time_token(
        &self,
        token: &NewOneTimeToken,
    ) -> Result<OneTimeToken, BackendError> {
        self.call(ops::CREATE_ONE_TIME_TOKEN, &[], Some(token))
            .await
    }

    /// Creates a personal access token for a user; `expires_at` in milliseconds since the epoch
    /// (`None`: never expires).
    pub async fn create_personal_access_token(
        &self,
        user_id: &str,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<PersonalAccessToken, BackendError> {
        let body = bodies::personal_access_token(name, expires_at);
        self.call(ops::CREATE_PERSONAL_ACCESS_TOKEN, &[user_id], Some(&body))
            .await
    }

    /// Creates a subject token to impersonate a user (exchange it with
    /// [`TokenExchange::impersonate`](crate::TokenExchange::impersonate)); `context` is
    /// available to custom JWT claims.
    pub async fn create_subject_token(
        &self,
        user_id: &str,
        context: Option<&Value>,
    ) -> Result<SubjectToken, BackendError> {
        let body = bodies::subject_token(user_id, context);
        self.call(ops::CREATE_SUBJECT_TOKEN, &[], Some(&body)).await
    }
}

/// The JSON bodies of the typed calls that take no request type of their own.
mod bodies {
    use serde_json::{Value, json};

    use super::UserProfile;

    pub(super) fn custom_data(custom_data: &Value) -> Value {
        json!({ "customData": custom_data })
    }
    pub(super) fn profile(profile: &UserProfile) -> Value {
        json!({ "profile": profile })
    }
    pub(super) fn suspended(suspended: bool) -> Value {
        json!({ "isSuspended": suspended })
    }
    pub(super) fn role_ids(ids: Vec<String>) -> Value {
        json!({ "roleIds": ids })
    }
    pub(super) fn user_ids(ids: Vec<String>) -> Value {
        json!({ "userIds": ids })
    }
    pub(super) fn organization_role_ids(ids: Vec<String>) -> Value {
        json!({ "organizationRoleIds": ids })
    }
    pub(super) fn personal_access_token(name: &str, expires_at: Option<i64>) -> Value {
        let mut body = json!({ "name": name });
        if let Some(at) = expires_at {
            body["expiresAt"] = json!(at);
        }
        body
    }
    pub(super) fn subject_token(user_id: &str, context: Option<&Value>) -> Value {
        let mut body = json!({ "userId": user_id });
        if let Some(context) = context {
            body["context"] = context.clone();
        }
        body
    }
}

/// The method and path of every typed call, for the test that checks them against Logto's
/// OpenAPI document. Not part of the API.
#[doc(hidden)]
pub fn typed_operations() -> Vec<(&'static str, &'static str)> {
    ops::ALL.iter().map(|op| (op.method, op.path)).collect()
}

/// Parses a successful answer (`null` for an empty body).
fn parse<T: DeserializeOwned>(
    operation: &'static str,
    status: u16,
    bytes: &[u8],
) -> Result<T, BackendError> {
    let bytes: &[u8] = if bytes.is_empty() { b"null" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| BackendError::UnexpectedResponse {
        operation,
        status,
        detail: format!("not the documented JSON: {e}"),
    })
}

#[cfg(test)]
mod openapi_check;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_filled_in_order_and_encoded() {
        assert_eq!(
            ops::REMOVE_USER_ROLE.path_with(&["u 1", "r/2"]).unwrap(),
            "/api/users/u%201/roles/r%2F2"
        );
        assert_eq!(ops::CREATE_USER.path_with(&[]).unwrap(), "/api/users");
        assert!(ops::GET_USER.path_with(&[""]).is_err());
    }

    #[test]
    fn the_secret_stays_out_of_debug() {
        let builder = Management::builder("https://logto.example.com", "id", "the-secret");
        assert!(!format!("{builder:?}").contains("the-secret"));
        let management = builder.build().unwrap();
        assert!(!format!("{management:?}").contains("the-secret"));
    }

    #[test]
    fn a_token_source_without_resource_is_refused() {
        let tokens = TokenSource::builder("https://logto.example.com", "id", "secret")
            .build()
            .unwrap();
        assert!(Management::with_token_source(tokens).is_err());
    }
}
