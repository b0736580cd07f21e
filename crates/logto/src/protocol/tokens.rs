//! Token endpoint requests and responses, and the signed-in session kept in storage.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::LogtoError;

/// Access tokens are refreshed when less than this is left of their lifetime (as Logto's SDKs
/// do), or less than half of it (rounded up) for tokens that live under two minutes: a 1 s token
/// is never reused.
pub(crate) const EXPIRY_MARGIN_SECS: u64 = 60;

/// A successful token endpoint response (RFC 6749 §5.1).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
    #[serde(default)]
    pub(crate) token_type: Option<String>,
}

impl TokenResponse {
    /// Refuses a token type other than `Bearer` (RFC 6749 §7.1, case-insensitive; RFC 6750): the
    /// client only knows how to use bearer tokens, and Logto issues nothing else.
    pub(crate) fn check_token_type(&self) -> Result<(), LogtoError> {
        match self.token_type.as_deref() {
            Some(token_type) if token_type.eq_ignore_ascii_case("bearer") => Ok(()),
            other => Err(LogtoError::UnsupportedTokenType {
                token_type: other.map(str::to_owned),
            }),
        }
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// A token endpoint request, as form fields (client authentication is added by the provider edge).
pub(crate) enum Grant<'a> {
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        code_verifier: &'a str,
    },
    RefreshToken {
        refresh_token: &'a str,
        target: &'a TokenTarget,
    },
}

impl Grant<'_> {
    pub(crate) fn form(&self) -> Vec<(&'static str, &str)> {
        match self {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ],
            Grant::RefreshToken {
                refresh_token,
                target,
            } => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", *refresh_token),
                ];
                if let Some(resource) = &target.resource {
                    form.push(("resource", resource.as_str()));
                }
                if let Some(organization_id) = &target.organization_id {
                    form.push(("organization_id", organization_id.as_str()));
                }
                form
            }
        }
    }
}

/// What an access token is for: an API resource, an organization, both (an organization-level
/// API resource), or neither (the opaque token for userinfo).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TokenTarget {
    pub(crate) resource: Option<String>,
    pub(crate) organization_id: Option<String>,
}

impl TokenTarget {
    /// The token for `resource` (`None`: the opaque token for userinfo), for `organization_id`
    /// when given.
    pub(crate) fn new(resource: Option<&str>, organization_id: Option<&str>) -> Self {
        TokenTarget {
            resource: resource.map(str::to_owned),
            organization_id: organization_id.map(str::to_owned),
        }
    }

    /// The key of this target's token in [`SessionTokens::access_tokens`]: the resource itself
    /// (an absolute URI, or `""`), or for an organization the JSON array `[resource, organization
    /// id]`, which no URI (nor `""`) can be equal to, whatever the organization id.
    pub(crate) fn cache_key(&self) -> Cow<'_, str> {
        let resource = self.resource.as_deref().unwrap_or("");
        match &self.organization_id {
            Some(org) => Cow::Owned(
                serde_json::to_string(&[resource, org.as_str()]).expect("strings serialize"),
            ),
            None => Cow::Borrowed(resource),
        }
    }
}

/// The format of [`SessionTokens::access_tokens`]' keys that [`TokenTarget::cache_key`] writes.
const CACHE_KEYS_FORMAT: u8 = 2;

/// Checks that `resource` is a resource indicator (RFC 8707 §2): an absolute URI without a
/// fragment (`urn:` URIs such as Logto's `urn:logto:resource:organizations` included).
pub(crate) fn check_resource(resource: &str) -> Result<(), String> {
    match url::Url::parse(resource) {
        Ok(url) if url.fragment().is_none() => Ok(()),
        Ok(_) => Err(format!(
            "the API resource {resource:?} has a fragment (#…): a resource indicator is an absolute URI without one"
        )),
        Err(e) => Err(format!(
            "the API resource {resource:?} is not an absolute URI ({e}): use the API identifier from Logto Console, e.g. https://api.your-app.com"
        )),
    }
}

/// The signed-in session, stored as one value under [`StorageKey::Tokens`](crate::StorageKey) so
/// that a refresh replaces the refresh token and what came with it in one write.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionTokens {
    /// Random id of this sign-in, stable across refreshes: the key refreshes coordinate on.
    pub(crate) session_id: String,
    pub(crate) id_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) access_tokens: BTreeMap<String, CachedAccessToken>,
    /// The API resources the sign-in was granted (the configured ones at sign-in); `None` for
    /// sessions stored before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resources: Option<Vec<String>>,
    /// The format of `access_tokens`' keys; 0 for sessions stored before it was recorded, whose
    /// organization keys (`<resource>#<organization id>`) were ambiguous.
    #[serde(default)]
    pub(crate) cache_keys: u8,
}

impl fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokens")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field(
                "access_tokens",
                &self.access_tokens.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// An access token, when it should be refreshed, and when it stops being usable.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CachedAccessToken {
    pub(crate) token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// Seconds since the epoch.
    pub(crate) expires_at: u64,
    /// Seconds since the epoch; before `expires_at` by the refresh margin.
    pub(crate) refresh_at: u64,
}

impl CachedAccessToken {
    pub(crate) fn from_response(response: &TokenResponse, now: u64) -> Self {
        // Logto always sends expires_in; without it, assume its default lifetime.
        let lifetime = response.expires_in.unwrap_or(3600);
        let margin = EXPIRY_MARGIN_SECS.min(lifetime.div_ceil(2));
        CachedAccessToken {
            token: response.access_token.clone(),
            scope: response.scope.clone(),
            // `expires_in` comes from the network: a huge one saturates instead of overflowing.
            expires_at: now.saturating_add(lifetime),
            refresh_at: now.saturating_add(lifetime - margin),
        }
    }

    /// True until the token is due for a refresh.
    pub(crate) fn is_fresh(&self, now: u64) -> bool {
        now < self.refresh_at
    }
}

impl SessionTokens {
    /// A new session, with the current format of cache keys.
    pub(crate) fn new(
        session_id: String,
        id_token: String,
        refresh_token: Option<String>,
        resources: Vec<String>,
    ) -> Self {
        SessionTokens {
            session_id,
            id_token,
            refresh_token,
            access_tokens: BTreeMap::new(),
            resources: Some(resources),
            cache_keys: CACHE_KEYS_FORMAT,
        }
    }

    /// Brings a session stored in an older format up to date: cached tokens whose key may be
    /// ambiguous (the old organization keys, which contain `#`) are dropped, and so simply
    /// refreshed when next asked for; the others are kept.
    pub(crate) fn upgraded(mut self) -> Self {
        if self.cache_keys < CACHE_KEYS_FORMAT {
            self.access_tokens.retain(|key, _| !key.contains('#'));
            self.cache_keys = CACHE_KEYS_FORMAT;
        }
        self
    }

    /// Whether the sign-in was granted `resource` (assumed when not recorded).
    pub(crate) fn has_resource(&self, resource: &str) -> bool {
        self.resources
            .as_ref()
            .is_none_or(|granted| granted.iter().any(|r| r == resource))
    }

    /// The fresh cached token for `target`, if any.
    pub(crate) fn fresh_access_token(&self, target: &TokenTarget, now: u64) -> Option<&str> {
        self.access_tokens
            .get(target.cache_key().as_ref())
            .filter(|cached| cached.is_fresh(now))
            .map(|cached| cached.token.as_str())
    }

    /// Drops expired tokens, so the stored value does not grow without bound.
    pub(crate) fn prune(&mut self, now: u64) {
        self.access_tokens
            .retain(|_, cached| now < cached.expires_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_separate_resources_and_organizations() {
        let keys: Vec<String> = [
            TokenTarget::new(None, None),
            TokenTarget::new(Some("https://api"), None),
            TokenTarget::new(None, Some("o1")),
            TokenTarget::new(Some("https://api"), Some("o1")),
        ]
        .iter()
        .map(|target| target.cache_key().into_owned())
        .collect();
        assert_eq!(
            keys,
            ["", "https://api", r#"["","o1"]"#, r#"["https://api","o1"]"#]
        );
    }

    #[test]
    fn cache_keys_cannot_collide() {
        // The old `<resource>#<org>` keys made these two the same.
        assert_ne!(
            TokenTarget::new(Some("https://api#o1"), None).cache_key(),
            TokenTarget::new(Some("https://api"), Some("o1")).cache_key()
        );
        assert_ne!(
            TokenTarget::new(None, Some("a\",\"b")).cache_key(),
            TokenTarget::new(Some("a"), Some("b")).cache_key()
        );
    }

    #[test]
    fn resources_are_absolute_uris_without_fragment() {
        for ok in [
            "https://api.test",
            "https://api.test/v1?x=1",
            "urn:logto:resource:organizations",
        ] {
            check_resource(ok).unwrap();
        }
        for bad in [
            "",
            "api",
            "/api",
            "https://api.test#org",
            "https://api.test#",
        ] {
            assert!(check_resource(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn old_organization_keys_are_dropped_on_upgrade() {
        let cached = CachedAccessToken {
            token: "t".into(),
            scope: None,
            expires_at: 5,
            refresh_at: 4,
        };
        let mut tokens = SessionTokens::new("s".into(), "i".into(), None, vec![]);
        tokens.cache_keys = 0;
        for key in ["", "https://api", "https://api#o1", "#o1"] {
            tokens.access_tokens.insert(key.into(), cached.clone());
        }
        let tokens = tokens.upgraded();
        let keys: Vec<&str> = tokens.access_tokens.keys().map(String::as_str).collect();
        assert_eq!(keys, ["", "https://api"]);
        assert_eq!(tokens.cache_keys, CACHE_KEYS_FORMAT);
    }

    fn response(expires_in: u64) -> TokenResponse {
        TokenResponse {
            access_token: "t".into(),
            refresh_token: None,
            id_token: None,
            expires_in: Some(expires_in),
            scope: None,
            token_type: Some("Bearer".into()),
        }
    }

    #[test]
    fn only_bearer_tokens_are_accepted() {
        let mut response = response(60);
        for ok in ["Bearer", "bearer", "BEARER"] {
            response.token_type = Some(ok.into());
            response.check_token_type().unwrap();
        }
        for bad in [Some("mac"), Some("DPoP"), Some(""), Some("Bearer "), None] {
            response.token_type = bad.map(Into::into);
            let err = response.check_token_type().unwrap_err();
            assert!(
                matches!(&err, LogtoError::UnsupportedTokenType { token_type } if token_type.as_deref() == bad),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn tokens_go_stale_a_minute_before_expiry() {
        let token = CachedAccessToken::from_response(&response(1000), 0);
        assert!(token.is_fresh(939));
        assert!(!token.is_fresh(940));
        assert_eq!(token.expires_at, 1000);
    }

    #[test]
    fn a_huge_lifetime_saturates() {
        let token = CachedAccessToken::from_response(&response(u64::MAX), 1_800_000_000);
        assert_eq!(token.expires_at, u64::MAX);
        assert!(token.is_fresh(1_800_000_000));
        let token = CachedAccessToken::from_response(&response(u64::MAX), u64::MAX);
        assert_eq!(token.expires_at, u64::MAX);
    }

    #[test]
    fn short_lived_tokens_are_kept_for_half_their_life() {
        let token = CachedAccessToken::from_response(&response(30), 100);
        assert!(token.is_fresh(114));
        assert!(!token.is_fresh(115));
        let token = CachedAccessToken::from_response(&response(1), 100);
        assert!(!token.is_fresh(100), "a 1 s token is never reused");
    }

    #[test]
    fn refresh_form_carries_resource_and_organization() {
        let target = TokenTarget::new(Some("https://api"), Some("o1"));
        let grant = Grant::RefreshToken {
            refresh_token: "rt",
            target: &target,
        };
        assert_eq!(
            grant.form(),
            [
                ("grant_type", "refresh_token"),
                ("refresh_token", "rt"),
                ("resource", "https://api"),
                ("organization_id", "o1")
            ]
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let mut tokens = SessionTokens::new(
            "s".into(),
            "secret-id-token".into(),
            Some("secret-refresh".into()),
            vec![],
        );
        tokens.access_tokens.insert(
            "https://api".into(),
            CachedAccessToken {
                token: "secret-access".into(),
                scope: None,
                expires_at: 5,
                refresh_at: 4,
            },
        );
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("secret"), "{debug}");
        tokens.prune(10);
        assert!(tokens.access_tokens.is_empty());
    }
}
