//! Real Logto-like access tokens from the test IdP (testing/idp), obtained
//! with the authorization code flow done by hand.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use logto_test_support::{REDIRECT_URI, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};
use serde_json::Value;

/// A signed-in user's grant: holds the latest (rotating) refresh token.
pub struct Grant<'a> {
    idp: &'a TestIdp,
    http: reqwest::Client,
    refresh_token: String,
    /// The ID token from the code exchange (for "wrong token type" tests).
    pub id_token: String,
}

impl<'a> Grant<'a> {
    /// Signs `user` in with scope `openid offline_access shopping:read
    /// urn:logto:scope:organizations` and the shopping API as resource.
    pub async fn sign_in(idp: &'a TestIdp, (user, password): (&str, &str)) -> Grant<'a> {
        let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
        let challenge =
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
        let mut url = url::Url::parse(&idp.url("/oidc/auth")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", WEB_APP_ID)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("response_type", "code")
            .append_pair(
                "scope",
                "openid offline_access shopping:read urn:logto:scope:organizations",
            )
            .append_pair("resource", SHOPPING_API)
            .append_pair("prompt", "consent")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "state-1");
        let callback = idp.sign_in(url.as_str(), user, password).await;
        let callback = url::Url::parse(&callback).unwrap();
        let code = callback
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap_or_else(|| panic!("no code in {callback}"))
            .1
            .into_owned();
        let http = reqwest::Client::new();
        let tokens = token_request(
            &http,
            idp,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        Grant {
            idp,
            http,
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
            id_token: tokens["id_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn refresh(&mut self, extra: &[(&str, &str)]) -> String {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", self.refresh_token.as_str()),
        ];
        form.extend_from_slice(extra);
        let tokens = token_request(&self.http, self.idp, &form).await;
        if let Some(r) = tokens["refresh_token"].as_str() {
            self.refresh_token = r.to_owned();
        }
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    /// A JWT access token for the shopping API.
    pub async fn resource_token(&mut self) -> String {
        self.refresh(&[("resource", SHOPPING_API)]).await
    }

    /// An organization token (`aud` = `urn:logto:organization:<org>`).
    pub async fn organization_token(&mut self, org: &str) -> String {
        self.refresh(&[("organization_id", org)]).await
    }

    /// A shopping API token at the level of organization `org`.
    pub async fn organization_resource_token(&mut self, org: &str) -> String {
        self.refresh(&[("organization_id", org), ("resource", SHOPPING_API)])
            .await
    }
}

async fn token_request(http: &reqwest::Client, idp: &TestIdp, form: &[(&str, &str)]) -> Value {
    let response = http
        .post(idp.url("/oidc/token"))
        .basic_auth(WEB_APP_ID, Some(WEB_APP_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(
        status.is_success(),
        "token request failed: {status} {body}\n{}",
        idp.log()
    );
    body
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}
