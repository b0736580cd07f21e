//! Helpers for `logto-backend`'s tests: M2M apps with roles, token exchange on an app, apps in
//! organizations, and a magic-link sign-in (a one-time token) through the Experience API.

use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use super::{App, AppKind, Forms, LogtoBrowser, RealLogto, string};

impl RealLogto {
    /// The M2M app of `instance.json` (it has Management API access): `(app id, app secret)`.
    pub fn management_app(&self) -> (String, String) {
        (
            self.instance.m2m_app_id.clone(),
            self.instance.m2m_app_secret.clone(),
        )
    }

    /// The Management API's resource indicator (`https://default.logto.app/api` on OSS).
    pub fn management_resource(&self) -> String {
        self.instance.management_resource.clone()
    }

    /// Creates a machine-to-machine role with these API resource scopes; returns its id.
    pub async fn create_m2m_role(&self, name: &str, scope_ids: &[String]) -> String {
        let role = self
            .api(
                Method::POST,
                "/api/roles",
                Some(json!({
                    "name": name,
                    "description": name,
                    "type": "MachineToMachine",
                    "scopeIds": scope_ids,
                })),
            )
            .await;
        string(&role, "id")
    }

    /// Creates an M2M app with these (M2M) roles.
    pub async fn create_m2m_app(&self, role_ids: &[String]) -> App {
        let app = self.create_app(AppKind::MachineToMachine, &[], &[]).await;
        if !role_ids.is_empty() {
            self.api(
                Method::POST,
                &format!("/api/applications/{}/roles", app.id),
                Some(json!({ "roleIds": role_ids })),
            )
            .await;
        }
        app
    }

    /// Allows token exchange (RFC 8693) for an app (`customClientMetadata.allowTokenExchange`).
    pub async fn allow_token_exchange(&self, app_id: &str) {
        let app = self
            .api(
                Method::PATCH,
                &format!("/api/applications/{app_id}"),
                Some(json!({ "customClientMetadata": { "allowTokenExchange": true } })),
            )
            .await;
        assert_eq!(
            app["customClientMetadata"]["allowTokenExchange"],
            json!(true),
            "{app}"
        );
    }

    /// Adds an (M2M) app to an organization with these organization roles.
    pub async fn add_organization_app(
        &self,
        organization_id: &str,
        app_id: &str,
        organization_role_ids: &[String],
    ) {
        self.add_to_organization(
            organization_id,
            "applications",
            "applicationIds",
            app_id,
            organization_role_ids,
        )
        .await;
    }

    /// Creates an organization role for M2M apps with these organization scopes; returns its id.
    pub async fn create_m2m_organization_role(
        &self,
        name: &str,
        organization_scope_ids: &[String],
    ) -> String {
        let role = self
            .api(
                Method::POST,
                "/api/organization-roles",
                Some(json!({
                    "name": name,
                    "type": "MachineToMachine",
                    "organizationScopeIds": organization_scope_ids,
                    "resourceScopeIds": [],
                })),
            )
            .await;
        string(&role, "id")
    }
}

impl LogtoBrowser {
    /// After `user.missing_profile`: gives what Logto asks for, as its "continue" pages would (a
    /// new username, a new password); panics on any other error.
    async fn fulfill_profile(&self, error: &Value) {
        assert_eq!(error["code"], "user.missing_profile", "{error}");
        for missing in error["data"]["missingProfile"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let value = match missing.as_str() {
                Some("username") => format!("user_{}", &super::random_suffix()[..12]),
                Some("password") => format!("pw-{}-Aa1!", super::random_suffix()),
                _ => panic!("Logto asks for a profile this helper does not give: {error}"),
            };
            self.experience(
                Method::POST,
                "/profile",
                json!({ "type": missing, "value": value }),
            )
            .await;
        }
    }
}

/// How a magic-link sign-in through Logto's one-time-token page ended.
#[derive(Debug, Clone)]
pub enum MagicLinkSignIn {
    /// Logto redirected off itself: the app's redirect URI (with `code`… or `error`).
    Redirected(String),
    /// The token's verification failed, as Logto's one-time-token page would see it (it shows an
    /// error page): the status and Logto's error body.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Logto's error body (`{"code","message",…}`).
        body: Value,
    },
}

impl LogtoBrowser {
    /// Opens an authorization URL carrying `one_time_token` and `login_hint` and does what
    /// Logto's one-time-token page does (`packages/experience/src/pages/OneTimeToken`): reads
    /// both from the page's query (so Logto must carry them from the authorization request to
    /// its sign-in page), `PUT /api/experience` (`SignIn`), `POST
    /// /verification/one-time-token/verify` with the token and the email, identification
    /// (a new user: `user.user_not_exist`, so the `Register` event and identification again),
    /// submit, giving what Logto asks for on the way (`user.missing_profile`: a username, a
    /// password), and Logto's redirects off itself.
    pub async fn sign_in_with_magic_link(&self, authorization_url: &str) -> MagicLinkSignIn {
        let page = self.follow(authorization_url, Forms::Stop).await;
        assert!(
            self.on_logto(&page),
            "Logto left itself before its sign-in page: {page}"
        );
        let param = |url: &Url, name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let token = param(&page, "one_time_token")
            .unwrap_or_else(|| panic!("Logto's page {page} has no one_time_token"));
        let email = param(&page, "login_hint")
            .unwrap_or_else(|| panic!("Logto's page {page} has no login_hint"));
        self.experience(Method::PUT, "", json!({ "interactionEvent": "SignIn" }))
            .await;
        let (status, body) = self
            .try_experience(
                Method::POST,
                "/verification/one-time-token/verify",
                json!({ "token": token, "identifier": { "type": "email", "value": email } }),
            )
            .await;
        if !status.is_success() {
            return MagicLinkSignIn::Refused {
                status: status.as_u16(),
                body,
            };
        }
        let identify = json!({ "verificationId": string(&body, "verificationId") });
        let (status, body) = self
            .try_experience(Method::POST, "/identification", identify.clone())
            .await;
        if !status.is_success() {
            assert_eq!(
                body["code"], "user.user_not_exist",
                "identification: {body}"
            );
            self.experience(
                Method::PUT,
                "/interaction-event",
                json!({ "interactionEvent": "Register" }),
            )
            .await;
            let (mut status, mut body) = self
                .try_experience(Method::POST, "/identification", identify)
                .await;
            for _ in 0..3 {
                if status.is_success() {
                    break;
                }
                self.fulfill_profile(&body).await;
                (status, body) = self
                    .try_experience(Method::POST, "/identification", json!({}))
                    .await;
            }
            assert!(status.is_success(), "identification: {body}");
        }
        let mut submitted = Value::Null;
        for _ in 0..3 {
            let (status, body) = self
                .try_experience(Method::POST, "/submit", json!({}))
                .await;
            if status.is_success() {
                submitted = body;
                break;
            }
            self.fulfill_profile(&body).await;
        }
        let out = self
            .follow(&string(&submitted, "redirectTo"), Forms::Submit)
            .await;
        assert!(
            !self.on_logto(&out),
            "after the magic-link sign-in, Logto stayed on its own page {out}"
        );
        MagicLinkSignIn::Redirected(out.to_string())
    }
}
