use std::sync::Arc;

use serde_json::{Map, Value};

use crate::{AuthError, ScopeRequirement, TokenRejection};

/// The prefix of an organization token's audience.
pub const ORGANIZATION_AUDIENCE_PREFIX: &str = "urn:logto:organization:";

/// What a validated access token says about the caller.
///
/// Cheap to clone (shared). Implements `Debug` without the token (which it
/// does not hold).
#[derive(Debug, Clone)]
pub struct AuthInfo {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    subject: Option<String>,
    client_id: Option<String>,
    organization_id: Option<String>,
    scopes: Vec<String>,
    audience: Vec<String>,
    expires_at: u64,
    claims: Map<String, Value>,
}

impl AuthInfo {
    pub(crate) fn new(
        subject: Option<String>,
        client_id: Option<String>,
        scopes: Vec<String>,
        audience: Vec<String>,
        expires_at: u64,
        claims: Map<String, Value>,
    ) -> AuthInfo {
        // An organization token names its organization in `aud`; an
        // organization-level resource token in the `organization_id` claim.
        let organization_id = audience
            .iter()
            .find_map(|a| {
                a.strip_prefix(ORGANIZATION_AUDIENCE_PREFIX)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
            })
            .or_else(|| {
                claims
                    .get("organization_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        AuthInfo {
            inner: Arc::new(Inner {
                subject,
                client_id,
                organization_id,
                scopes,
                audience,
                expires_at,
                claims,
            }),
        }
    }

    /// `sub`, as signed: the user's id for a user's token, and the application's own id for a
    /// machine-to-machine (client credentials) token, which Logto issues with `sub` =
    /// `client_id`. To know which user is calling, use [`AuthInfo::user_id`].
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// The user the token was issued for: `sub`, except on a machine-to-machine token (see
    /// [`AuthInfo::is_machine_to_machine`]), where no user is involved and this is `None`.
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        if self.is_machine_to_machine() {
            None
        } else {
            self.subject()
        }
    }

    /// True for a token an application obtained for itself (client credentials): Logto sets its
    /// `sub` to the application's id, the same as `client_id`. A user's token has the user's id
    /// as `sub` and the application's as `client_id`.
    #[must_use]
    pub fn is_machine_to_machine(&self) -> bool {
        self.inner.client_id.is_some() && self.inner.subject == self.inner.client_id
    }

    /// `client_id`: the application the token was issued to.
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The organization: the id in an organization token's audience
    /// (`urn:logto:organization:<id>`), else the `organization_id` claim
    /// (organization-level API resources).
    #[must_use]
    pub fn organization_id(&self) -> Option<&str> {
        self.inner.organization_id.as_deref()
    }

    /// The granted scopes (`scope`, split on spaces).
    #[must_use]
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// True when `scope` was granted (whole-word comparison).
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// The audiences (`aud`).
    #[must_use]
    pub fn audience(&self) -> &[String] {
        &self.inner.audience
    }

    /// `exp`, in Unix seconds.
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.inner.expires_at
    }

    /// Every claim, as signed.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }

    /// Checks the scopes.
    ///
    /// # Errors
    /// [`AuthError::InsufficientScope`].
    pub fn require(&self, requirement: &ScopeRequirement) -> Result<(), AuthError> {
        if requirement.is_satisfied_by(self.scopes()) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope(requirement.clone()))
        }
    }

    /// Checks that the token belongs to organization `id` (for routes such
    /// as `/organizations/{id}/…`). A token for another organization, or for
    /// none, is an invalid token for this request (its audience is wrong).
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] with [`TokenRejection::WrongAudience`].
    pub fn require_organization(&self, id: &str) -> Result<(), AuthError> {
        if self.organization_id() == Some(id) {
            Ok(())
        } else {
            Err(AuthError::InvalidToken(TokenRejection::WrongAudience))
        }
    }
}
