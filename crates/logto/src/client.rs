//! [`LogtoClient`]: the per-user facade, the Rust form of the `LogtoClient` in Logto's Python SDK
//! tutorial.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;

use crate::OAuthErrorCode;
use crate::config::LogtoConfig;
use crate::error::LogtoError;
use crate::handle::LogtoHandle;
use crate::lock::{LockGuard, RefreshLock, refresh_lock_ttl};
use crate::parsed_cache;
use crate::protocol::callback::{PendingSignIns, match_callback};
use crate::protocol::claims::{AccessTokenClaims, IdTokenClaims, UserInfo, decode_unverified};
use crate::protocol::sign_in::{AuthorizationRequest, SignInOptions, authorization_url};
use crate::protocol::tokens::{
    CachedAccessToken, Grant, SessionTokens, TokenTarget, check_resource,
};
use crate::protocol::{now_unix, random, sign_out};
use crate::provider::ClientAuth;
use crate::refresh::Rotation;
use crate::storage::{MemoryStorage, Storage, StorageKey};

/// One user's Logto client: the process's shared [`LogtoHandle`] and that user's [`Storage`].
///
/// Build one per request (or per user) over the user's session storage; it is cheap, and clients
/// built from clones of one handle share discovery, keys, connections and refresh coordination.
///
/// A refresh (taking the session's refresh locks, the token request, storing the rotated tokens,
/// releasing the locks) runs in a tokio task of its own, which the call awaits: when the caller is
/// dropped midway (a web framework drops the handler of a request whose browser disconnected),
/// the refresh still finishes, so the rotated refresh token is never lost and no lock outlives it.
/// The task shares the client's storage, which the client therefore holds in an `Arc` (a clone of
/// the client shares it too), and which is `'static`.
///
/// ```no_run
/// use logto::{LogtoClient, LogtoConfig, LogtoHandle, MemoryStorage};
///
/// # async fn run() -> Result<(), logto::LogtoError> {
/// let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
///     .app_secret("app-secret")
///     .build()?;
/// // Once per process:
/// let logto = LogtoHandle::new(config)?;
/// // Per user (or request), over that user's session:
/// let client = LogtoClient::new(logto.clone(), MemoryStorage::new());
///
/// // /sign-in: send the user to Logto.
/// let url = client.sign_in("https://your-app.com/callback").await?;
/// // /callback: Logto sends the user back.
/// client.handle_sign_in_callback("https://your-app.com/callback?code=…&state=…").await?;
/// if client.is_authenticated().await? {
///     let claims = client.get_id_token_claims().await?;
///     println!("signed in as {}", claims.sub);
/// }
/// // /sign-out
/// let url = client.sign_out(Some("https://your-app.com/")).await?;
/// # Ok(()) }
/// ```
pub struct LogtoClient<S = MemoryStorage> {
    handle: LogtoHandle,
    lock: Option<Arc<dyn RefreshLock>>,
    /// Shared with a refresh's task, which finishes even when the caller is gone.
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    storage: S,
    /// The stored session tokens as last parsed. They are read from the storage every time and
    /// parsed again only when the stored text changed: a request that asks whether the user is
    /// signed in, for the claims and for an access token parses them once, and a text parsed
    /// by an earlier request of the process is not parsed again (see `parsed_cache`).
    parsed: Mutex<Option<Arc<ParsedTokens>>>,
}

/// A clone shares the storage (and the lock): it is the same user's client.
impl<S> Clone for LogtoClient<S> {
    fn clone(&self) -> Self {
        LogtoClient {
            handle: self.handle.clone(),
            lock: self.lock.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The session tokens parsed from `raw`, and the claims of the ID token and of the cached access
/// tokens once decoded.
pub(crate) struct ParsedTokens {
    pub(crate) raw: Arc<String>,
    pub(crate) tokens: SessionTokens,
    pub(crate) id_token_claims: OnceLock<IdTokenClaims>,
    /// By cache key (see `TokenTarget::cache_key`).
    pub(crate) access_token_claims: Mutex<Vec<(String, AccessTokenClaims)>>,
}

impl<S> fmt::Debug for LogtoClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoClient")
            .field("config", self.handle.config())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> LogtoClient<S> {
    /// A client for one user, over that user's storage, sharing the process's `handle`.
    pub fn new(handle: LogtoHandle, storage: S) -> Self {
        LogtoClient {
            handle,
            lock: None,
            shared: Arc::new(Shared {
                storage,
                parsed: Mutex::new(None),
            }),
        }
    }

    /// Takes `lock` around every refresh, so that processes sharing the user's session never
    /// refresh it at once (within one process the client already does that by itself). Give every
    /// process the same lock, such as one on the Redis server that holds the sessions.
    #[must_use]
    pub fn with_refresh_lock(mut self, lock: Arc<dyn RefreshLock>) -> Self {
        self.lock = Some(lock);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &LogtoConfig {
        self.handle.config()
    }

    /// The shared runtime the client was built with.
    pub fn handle(&self) -> &LogtoHandle {
        &self.handle
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.shared.storage
    }

    /// Starts a sign-in: stores a new sign-in session and returns the Logto URL to redirect the
    /// user to. `redirect_uri` must be registered in Logto Console.
    ///
    /// Sign-ins started in several tabs are all kept (up to eight, for ten minutes each), and each
    /// tab's callback completes its own.
    pub async fn sign_in(&self, redirect_uri: &str) -> Result<String, LogtoError> {
        self.sign_in_with(SignInOptions::new(redirect_uri)).await
    }

    /// [`sign_in`](Self::sign_in) with Logto's options: interaction mode, first screen, direct
    /// sign-in to a social or SSO connector, login hint, organization, extra parameters.
    pub async fn sign_in_with(&self, options: SignInOptions) -> Result<String, LogtoError> {
        let discovery = self.provider().discovery().await?;
        let config = self.config();
        let request = AuthorizationRequest {
            authorization_endpoint: &discovery.authorization_endpoint,
            client_id: config.app_id(),
            scopes: config.scopes(),
            resources: config.resources(),
            prompt: config.prompt(),
        };
        let (url, session) = authorization_url(&request, &options)?;
        let mut pending = self.pending_sign_ins().await?;
        pending.add(session, now_unix());
        self.put(StorageKey::SignInSession, &pending).await?;
        Ok(url.into())
    }

    /// Completes the sign-in from the URL Logto redirected the user to (the full request URL):
    /// checks it against the pending sign-in, exchanges the code, verifies the ID token and stores
    /// the tokens. The pending sign-in is used up once the callback is recognised as its answer.
    ///
    /// The callback's `state` picks which pending sign-in it answers; the others stay pending.
    pub async fn handle_sign_in_callback(&self, callback_url: &str) -> Result<(), LogtoError> {
        let mut pending = self.pending_sign_ins().await?;
        let index = pending.find(callback_url)?;
        if pending.get(index).is_expired(now_unix()) {
            pending.remove(index);
            self.put_pending_sign_ins(&pending).await?;
            return Err(LogtoError::SignInSessionExpired);
        }
        let params = match_callback(callback_url, pending.get(index))?;
        let session = pending.remove(index);
        self.put_pending_sign_ins(&pending).await?;

        let discovery = self.provider().discovery().await?;
        let code = params.into_code(
            &discovery.issuer,
            discovery.authorization_response_iss_parameter_supported,
        )?;
        let grant = Grant::AuthorizationCode {
            code: &code,
            redirect_uri: &session.redirect_uri,
            code_verifier: &session.code_verifier,
        };
        let response = self.provider().token(&self.client_auth(), &grant).await?;
        response.check_token_type()?;
        let id_token = response
            .id_token
            .clone()
            .ok_or_else(|| LogtoError::id_token("the token response has no ID token"))?;
        let claims = self
            .verify_id_token(
                &id_token,
                Some(&session.nonce),
                None,
                &response.access_token,
            )
            .await?;
        if let Some(max_age) = session.max_age {
            crate::protocol::id_token::check_auth_time(
                &claims,
                max_age,
                self.config().leeway_secs(),
                now_unix(),
            )?;
        }

        let mut tokens = SessionTokens::new(
            random::random_string(16),
            id_token,
            response.refresh_token.clone(),
            self.config().resources().to_vec(),
        );
        tokens.access_tokens.insert(
            TokenTarget::default().cache_key().into_owned(),
            CachedAccessToken::from_response(&response, now_unix()),
        );
        self.put(StorageKey::Tokens, &tokens).await
    }

    /// Whether a user is signed in (an ID token is stored).
    pub async fn is_authenticated(&self) -> Result<bool, LogtoError> {
        Ok(self.parsed().await?.is_some())
    }

    /// The raw ID token.
    pub async fn get_id_token(&self) -> Result<String, LogtoError> {
        Ok(self.signed_in_parsed().await?.tokens.id_token.clone())
    }

    /// The ID token's claims (verified when it was stored).
    pub async fn get_id_token_claims(&self) -> Result<IdTokenClaims, LogtoError> {
        let parsed = self.signed_in_parsed().await?;
        if let Some(claims) = parsed.id_token_claims.get() {
            return Ok(claims.clone());
        }
        let claims = decode_unverified(&parsed.tokens.id_token, "the stored ID token")?;
        Ok(parsed.id_token_claims.get_or_init(|| claims).clone())
    }

    /// The refresh token, if Logto issued one.
    pub async fn get_refresh_token(&self) -> Result<Option<String>, LogtoError> {
        Ok(self.signed_in_parsed().await?.tokens.refresh_token.clone())
    }

    /// The user's claims from Logto's userinfo endpoint, including `custom_data`, `identities`,
    /// `sso_identities` and `organization_data`. Refuses an answer about another user.
    ///
    /// When Logto refuses the cached access token (`401`: it was revoked with the grant, for
    /// example when an administrator ended the user's sessions), the cached access tokens are
    /// forgotten and userinfo is asked once more with a refreshed one: a revoked grant then ends
    /// the session ([`LogtoError::SessionExpired`]), a live one answers.
    pub async fn fetch_user_info(&self) -> Result<UserInfo, LogtoError> {
        let user_info = match self.userinfo_once().await {
            Err(LogtoError::UnexpectedResponse { status: 401, .. }) => {
                self.clear_access_token().await?;
                self.userinfo_once().await?
            }
            result => result?,
        };
        let claims = self.get_id_token_claims().await?;
        if user_info.sub != claims.sub {
            return Err(LogtoError::UserInfoSubjectMismatch);
        }
        Ok(user_info)
    }

    async fn userinfo_once(&self) -> Result<UserInfo, LogtoError> {
        let access_token = self.get_opaque_access_token().await?;
        self.provider().userinfo(&access_token).await
    }

    /// An access token (a JWT) for the API `resource`. Cached until a minute before it expires
    /// (half its life for tokens shorter than two minutes), then refreshed with the refresh token.
    ///
    /// `resource` must be one of the config's [`resources`](crate::LogtoConfigBuilder::resources)
    /// the user signed in with, else [`LogtoError::ResourceNotConfigured`] comes back and nothing
    /// is sent: Logto would refuse the request, and may spend the refresh token doing so. A
    /// `resource` that is empty, or not an absolute URI without a fragment, is
    /// [`LogtoError::InvalidArgument`]: the token without a resource (Python's
    /// `get_access_token()`) is [`get_opaque_access_token`](Self::get_opaque_access_token).
    pub async fn get_access_token(&self, resource: &str) -> Result<String, LogtoError> {
        self.access_token(&TokenTarget::new(Some(non_empty_resource(resource)?), None))
            .await
    }

    /// The opaque access token Logto issues without a resource: it is for Logto's userinfo
    /// endpoint ([`fetch_user_info`](Self::fetch_user_info) uses it), not for your APIs. Cached
    /// and refreshed like [`get_access_token`](Self::get_access_token)'s.
    pub async fn get_opaque_access_token(&self) -> Result<String, LogtoError> {
        self.access_token(&TokenTarget::new(None, None)).await
    }

    /// The claims of [`get_access_token`](Self::get_access_token)'s JWT (not verified here: the
    /// API that receives the token verifies it).
    pub async fn get_access_token_claims(
        &self,
        resource: &str,
    ) -> Result<AccessTokenClaims, LogtoError> {
        Ok(self.get_access_token_and_claims(resource).await?.1)
    }

    /// [`get_access_token`](Self::get_access_token) and the claims of that very token, from one
    /// look-up: two calls could straddle a refresh and return a token and the claims of another.
    ///
    /// ```no_run
    /// # async fn run(client: logto::LogtoClient<logto::MemoryStorage>) -> Result<(), logto::LogtoError> {
    /// let (token, claims) = client
    ///     .get_access_token_and_claims("https://shopping.your-app.com/api")
    ///     .await?;
    /// println!("{:?} expires at {}", claims.scope.into_option(), claims.exp);
    /// # let _ = token; Ok(()) }
    /// ```
    pub async fn get_access_token_and_claims(
        &self,
        resource: &str,
    ) -> Result<(String, AccessTokenClaims), LogtoError> {
        self.access_token_claims(TokenTarget::new(Some(non_empty_resource(resource)?), None))
            .await
    }

    /// An organization token (`aud` = `urn:logto:organization:<id>`) for one of the user's
    /// organizations. Needs [`UserInfoScope::Organizations`](crate::UserInfoScope::Organizations).
    pub async fn get_organization_token(
        &self,
        organization_id: &str,
    ) -> Result<String, LogtoError> {
        self.access_token(&TokenTarget::new(None, Some(organization_id)))
            .await
    }

    /// The claims of [`get_organization_token`](Self::get_organization_token)'s JWT.
    pub async fn get_organization_token_claims(
        &self,
        organization_id: &str,
    ) -> Result<AccessTokenClaims, LogtoError> {
        Ok(self
            .get_organization_token_and_claims(organization_id)
            .await?
            .1)
    }

    /// [`get_organization_token`](Self::get_organization_token) and the claims of that very
    /// token, from one look-up.
    pub async fn get_organization_token_and_claims(
        &self,
        organization_id: &str,
    ) -> Result<(String, AccessTokenClaims), LogtoError> {
        self.access_token_claims(TokenTarget::new(None, Some(organization_id)))
            .await
    }

    /// An access token for an organization-level API `resource`, scoped to the user's roles in
    /// `organization_id` (the token carries an `organization_id` claim). Needs
    /// [`UserInfoScope::Organizations`](crate::UserInfoScope::Organizations), and `resource` in the
    /// config's resources, as for [`get_access_token`](Self::get_access_token).
    pub async fn get_access_token_for_organization(
        &self,
        resource: &str,
        organization_id: &str,
    ) -> Result<String, LogtoError> {
        self.access_token(&TokenTarget::new(
            Some(non_empty_resource(resource)?),
            Some(organization_id),
        ))
        .await
    }

    /// Forgets the cached access tokens; the next request for one refreshes.
    pub async fn clear_access_token(&self) -> Result<(), LogtoError> {
        if let Some(mut tokens) = self.tokens().await? {
            // Nor may a stale copy of the session get them back from this process's last
            // refresh of it.
            if let Some(slot) = self.handle.refresh_locks().existing(&tokens.session_id) {
                if let Some(rotation) = slot.last_rotation.lock().await.as_mut() {
                    rotation.tokens.access_tokens.clear();
                }
            }
            tokens.access_tokens.clear();
            self.put(StorageKey::Tokens, &tokens).await?;
        }
        Ok(())
    }

    /// Signs out: clears the local session first (even when Logto is unreachable), revokes the
    /// refresh token best-effort, and returns Logto's end-session URL to redirect the user to, which
    /// sends them on to `post_logout_redirect_uri` (registered in Logto Console) when given.
    pub async fn sign_out(
        &self,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<String, LogtoError> {
        let tokens = self.tokens().await.ok().flatten();
        self.delete_tokens().await?;
        self.shared
            .storage
            .delete(StorageKey::SignInSession)
            .await
            .map_err(LogtoError::Storage)?;

        if let Some(refresh_token) = tokens.and_then(|t| t.refresh_token) {
            if let Err(error) = self
                .provider()
                .revoke(&self.client_auth(), &refresh_token)
                .await
            {
                tracing::warn!(%error, "could not revoke the refresh token at sign-out");
            }
        }
        let end_session_endpoint = match self.provider().discovery().await {
            Ok(discovery) => discovery.end_session_endpoint.clone(),
            // Logto's end-session path is fixed; the user can still end the Logto session.
            Err(_) => self
                .config()
                .endpoint_url()
                .join("oidc/session/end")
                .map_err(|e| LogtoError::InvalidConfig(e.to_string()))?,
        };
        sign_out::end_session_url(
            &end_session_endpoint,
            self.config().app_id(),
            post_logout_redirect_uri,
        )
    }

    /// The access token for `target` and its claims: decoded once per cached token (with the
    /// parsed session tokens), a refreshed one decoded on its own.
    async fn access_token_claims(
        &self,
        target: TokenTarget,
    ) -> Result<(String, AccessTokenClaims), LogtoError> {
        let (token, parsed) = self.access_token_and_source(&target).await?;
        let Some(parsed) = parsed else {
            let claims = claims_of(&token)?;
            return Ok((token, claims));
        };
        let key = target.cache_key();
        let mut decoded = parsed
            .access_token_claims
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((_, claims)) = decoded.iter().find(|(k, _)| *k == *key) {
            return Ok((token, claims.clone()));
        }
        let claims = claims_of(&token)?;
        decoded.push((key.into_owned(), claims.clone()));
        Ok((token, claims))
    }

    async fn access_token(&self, target: &TokenTarget) -> Result<String, LogtoError> {
        Ok(self.access_token_and_source(target).await?.0)
    }

    /// The access token for `target` and, when it is the one cached in the stored tokens, their
    /// parse (whose decoded claims go with it); `None` for a token just refreshed.
    async fn access_token_and_source(
        &self,
        target: &TokenTarget,
    ) -> Result<(String, Option<Arc<ParsedTokens>>), LogtoError> {
        // Requests Logto is bound to refuse are refused here, before anything is sent: Logto may
        // spend the refresh token before it refuses, which signs the user out at the next refresh.
        self.check_target(target)?;
        let parsed = self.signed_in_parsed().await?;
        let tokens = &parsed.tokens;
        if let Some(resource) = &target.resource {
            if !tokens.has_resource(resource) {
                return Err(LogtoError::ResourceNotConfigured {
                    resource: resource.clone(),
                });
            }
        }
        if let Some(token) = tokens.fresh_access_token(target, now_unix()) {
            let token = token.to_owned();
            return Ok((token, Some(parsed)));
        }

        // The critical section runs in a task of its own that finishes even when this caller is
        // dropped (a browser that disconnects): the rotated refresh token is stored and the lock
        // released whatever happens to the request.
        let client = self.clone();
        let (target, session_id) = (target.clone(), tokens.session_id.clone());
        let refresh = async move { client.refresh_exclusive(target, &session_id).await };
        let refreshed = crate::web::run_to_completion(refresh)
            .await
            .unwrap_or_else(|| {
                Err(LogtoError::Storage(
                    "the refresh was cancelled: the tokio runtime is shutting down".into(),
                ))
            });
        Ok((refreshed?, None))
    }

    /// One refresh at a time for this session: in this process (see `refresh`), then across
    /// processes with the [`RefreshLock`], whose TTL covers every request of the refresh.
    async fn refresh_exclusive(
        &self,
        target: TokenTarget,
        session_id: &str,
    ) -> Result<String, LogtoError> {
        let slot = self.handle.refresh_locks().slot(session_id);
        let mut last_rotation = slot.last_rotation.lock().await;
        let guard = self.cross_process_lock(session_id).await?;
        let result = self.refresh_locked(target, &mut last_rotation).await;
        release(guard, result).await
    }

    /// The [`RefreshLock`] of session `session_id`, when the client has one.
    async fn cross_process_lock(&self, session_id: &str) -> Result<Option<LockGuard>, LogtoError> {
        let Some(lock) = &self.lock else {
            return Ok(None);
        };
        let ttl = refresh_lock_ttl(self.provider().timeout());
        let name = format!("refresh:{session_id}");
        let guard = lock.lock(&name, ttl).await.map_err(LogtoError::Storage)?;
        Ok(Some(guard))
    }

    /// Writes the stored tokens to the storage again, unchanged, so that a storage whose records
    /// expire (a session store) keeps them for another term; `false` when signed out (nothing is
    /// written), or when the storage dropped the tokens as it wrote them (the web adapters' do
    /// when a back-channel logout ended the session meanwhile). It runs under the same locks as a
    /// token refresh, so it never writes back a refresh token that a refresh in another request
    /// or process has just used up.
    ///
    /// The web frameworks' adapters (`logto-axum`, `logto-actix`) call it as they renew an active
    /// session; a storage of your own may not need it.
    pub async fn store_tokens_again(&self) -> Result<bool, LogtoError> {
        let Some(tokens) = self.tokens().await? else {
            return Ok(false);
        };
        let session_id = tokens.session_id.clone();
        let slot = self.handle.refresh_locks().slot(&session_id);
        let last_rotation = slot.last_rotation.lock().await;
        let guard = self.cross_process_lock(&session_id).await?;
        let result = async {
            let Some((tokens, _)) = self.latest_tokens(&last_rotation).await? else {
                return Ok(false);
            };
            self.put(StorageKey::Tokens, &tokens).await?;
            Ok(self.parsed().await?.is_some())
        }
        .await;
        release(guard, result).await
    }

    /// The tokens in the back end, with the refresh locks held (whoever held them before may
    /// have rotated the tokens); `true` when they are a copy that predates this process's last
    /// rotation, replaced by what that rotation produced (to be stored).
    async fn latest_tokens(
        &self,
        last_rotation: &Option<Rotation>,
    ) -> Result<Option<(SessionTokens, bool)>, LogtoError> {
        let Some(parsed) = self.parsed_from(
            self.shared
                .storage
                .get_latest(StorageKey::Tokens)
                .await
                .map(|raw| raw.map(Arc::new)),
        )?
        else {
            return Ok(None);
        };
        if let Some(rotation) = last_rotation {
            if parsed.tokens.refresh_token.as_deref() == Some(rotation.used_refresh_token.as_str())
            {
                return Ok(Some((rotation.tokens.clone(), true)));
            }
        }
        Ok(Some((parsed.tokens.clone(), false)))
    }

    /// The refresh itself, with the session's refresh locks held.
    ///
    /// The stored refresh token is given up only when Logto says it is dead (`invalid_grant`), or
    /// when what Logto answered cannot be trusted (an ID token that fails verification). Every
    /// other failure keeps the session, with the refresh token Logto rotated to if it did.
    async fn refresh_locked(
        &self,
        target: TokenTarget,
        last_rotation: &mut Option<Rotation>,
    ) -> Result<String, LogtoError> {
        let (mut tokens, stale) = self
            .latest_tokens(last_rotation)
            .await?
            .ok_or(LogtoError::NotAuthenticated)?;
        if stale {
            // This copy of the session predates a refresh another request made: adopt it.
            self.put(StorageKey::Tokens, &tokens).await?;
        }
        let now = now_unix();
        if let Some(token) = tokens.fresh_access_token(&target, now) {
            return Ok(token.to_owned());
        }
        let refresh_token = tokens
            .refresh_token
            .clone()
            .ok_or(LogtoError::NoRefreshToken)?;
        // Read before the refresh token is spent: a failure here must not lose it.
        let original =
            decode_unverified::<OriginalIdToken>(&tokens.id_token, "the stored ID token")?;
        let grant = Grant::RefreshToken {
            refresh_token: &refresh_token,
            target: &target,
        };
        let response = match self.provider().token(&self.client_auth(), &grant).await {
            Ok(response) => response,
            Err(LogtoError::TokenRequest {
                error: OAuthErrorCode::InvalidGrant,
                ..
            }) => {
                *last_rotation = None;
                self.delete_tokens().await?;
                return Err(LogtoError::SessionExpired);
            }
            Err(LogtoError::TokenRequest {
                error: OAuthErrorCode::AccessDenied,
                ..
            }) if target.organization_id.is_some() => {
                return Err(LogtoError::OrganizationAccessDenied {
                    organization_id: target.organization_id.unwrap_or_default(),
                });
            }
            Err(error) => return Err(error),
        };

        // Logto gives a confidential client the same refresh token back until 70 % of its
        // lifetime has passed, and public clients a new one every time. Only a new one is a
        // rotation that other copies of the session must adopt.
        let rotated = response
            .refresh_token
            .as_ref()
            .is_some_and(|new| *new != refresh_token);
        if rotated {
            tokens.refresh_token = response.refresh_token.clone();
            *last_rotation = Some(Rotation {
                used_refresh_token: refresh_token.clone(),
                tokens: tokens.clone(),
            });
        }
        if let Err(error) = response.check_token_type() {
            // Not a token this client can use; the refresh token Logto rotated to (if it did) is
            // kept, since the old one is spent.
            if rotated {
                self.put(StorageKey::Tokens, &tokens).await?;
            }
            return Err(error);
        }
        if rotated && response.id_token.is_some() {
            // The old refresh token is spent: keep the new one before verifying the ID token,
            // which may wait for Logto's keys (and be cancelled meanwhile).
            self.put(StorageKey::Tokens, &tokens).await?;
        }

        if let Some(id_token) = &response.id_token {
            match self
                .verify_id_token(id_token, None, Some(&original), &response.access_token)
                .await
            {
                Ok(_) => tokens.id_token = id_token.clone(),
                Err(error @ LogtoError::InvalidIdToken { .. }) => {
                    // What came back cannot be trusted: end the session rather than keep one
                    // whose refresh token came with it.
                    *last_rotation = None;
                    self.delete_tokens().await?;
                    return Err(error);
                }
                // Logto's keys could not be loaded, so the ID token could not be checked: the
                // session stays (with the rotated refresh token, stored above), the verified ID
                // token too, and the next call refreshes again.
                Err(error) => return Err(error),
            }
        }
        tokens.prune(now);
        tokens.access_tokens.insert(
            target.cache_key().into_owned(),
            CachedAccessToken::from_response(&response, now),
        );
        if rotated {
            *last_rotation = Some(Rotation {
                used_refresh_token: refresh_token,
                tokens: tokens.clone(),
            });
        } else if let Some(rotation) = last_rotation.as_mut() {
            // A copy that predates the last rotation adopts this newer state.
            rotation.tokens = tokens.clone();
        }
        self.put(StorageKey::Tokens, &tokens).await?;
        Ok(response.access_token)
    }

    async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
        original: Option<&OriginalIdToken>,
        access_token: &str,
    ) -> Result<IdTokenClaims, LogtoError> {
        let claims = self
            .handle
            .verify_id_token_from_logto(token, nonce, access_token)
            .await?;
        if let Some(original) = original {
            original.check_refreshed(&claims)?;
        }
        Ok(claims)
    }

    /// Refuses, before any request, a token request Logto is bound to refuse.
    fn check_target(&self, target: &TokenTarget) -> Result<(), LogtoError> {
        if let Some(organization_id) = &target.organization_id {
            if organization_id.trim().is_empty() {
                return Err(LogtoError::InvalidArgument(
                    "the organization id is empty: pass the id of one of the user's organizations"
                        .into(),
                ));
            }
            self.require_organizations_scope()?;
        }
        if let Some(resource) = &target.resource {
            // The configured resources were checked when the config was built: only one that is
            // not among them needs a look, to say what is wrong with it.
            if !self.config().resources().iter().any(|r| r == resource) {
                check_resource(resource).map_err(LogtoError::InvalidArgument)?;
                return Err(LogtoError::ResourceNotConfigured {
                    resource: resource.clone(),
                });
            }
        }
        Ok(())
    }

    fn require_organizations_scope(&self) -> Result<(), LogtoError> {
        if self
            .config()
            .has_scope(crate::UserInfoScope::Organizations.as_str())
        {
            Ok(())
        } else {
            Err(LogtoError::MissingOrganizationsScope)
        }
    }

    fn client_auth(&self) -> ClientAuth<'_> {
        ClientAuth {
            client_id: self.config().app_id(),
            secret: self.config().app_secret(),
        }
    }

    fn provider(&self) -> &crate::provider::Provider {
        self.handle.provider()
    }

    async fn pending_sign_ins(&self) -> Result<PendingSignIns, LogtoError> {
        Ok(self
            .get::<PendingSignIns>(StorageKey::SignInSession)
            .await?
            .unwrap_or_default())
    }

    /// Stores the pending sign-ins, or removes the key when none is left.
    async fn put_pending_sign_ins(&self, pending: &PendingSignIns) -> Result<(), LogtoError> {
        if pending.is_empty() {
            self.shared
                .storage
                .delete(StorageKey::SignInSession)
                .await
                .map_err(LogtoError::Storage)
        } else {
            self.put(StorageKey::SignInSession, pending).await
        }
    }

    /// The stored session tokens, parsed only when their stored text changed since last time.
    async fn parsed(&self) -> Result<Option<Arc<ParsedTokens>>, LogtoError> {
        self.parsed_from(self.shared.storage.get_shared(StorageKey::Tokens).await)
    }

    /// `raw`, the stored session tokens, parsed unless they are the ones parsed last.
    fn parsed_from(
        &self,
        raw: Result<Option<Arc<String>>, crate::BoxError>,
    ) -> Result<Option<Arc<ParsedTokens>>, LogtoError> {
        let Some(raw) = raw.map_err(LogtoError::Storage)? else {
            return Ok(None);
        };
        let mut last = self.shared.parsed.lock().unwrap_or_else(|p| p.into_inner());
        // An `Arc`'s `==` compares the pointers first: the storage's shared copy costs no memcmp.
        if let Some(parsed) = last.as_ref().filter(|parsed| parsed.raw == raw) {
            return Ok(Some(Arc::clone(parsed)));
        }
        let cache = self.handle.parsed_cache();
        let hash = parsed_cache::hash(&raw);
        let parsed = match cache.get(&raw, hash) {
            Some(parsed) => parsed,
            None => {
                let tokens = parse::<SessionTokens>(StorageKey::Tokens, &raw)?.upgraded();
                let parsed = Arc::new(ParsedTokens {
                    raw,
                    tokens,
                    id_token_claims: OnceLock::new(),
                    access_token_claims: Mutex::default(),
                });
                cache.insert(hash, &parsed);
                parsed
            }
        };
        *last = Some(Arc::clone(&parsed));
        Ok(Some(parsed))
    }

    /// Drops the tokens this client last read from the handle's cache of parsed tokens: they
    /// were just replaced or deleted in the storage, so no request needs them any more.
    fn forget_parsed(&self) {
        let last = self
            .shared
            .parsed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(parsed) = last {
            self.handle.parsed_cache().forget(&parsed.raw);
        }
    }

    async fn signed_in_parsed(&self) -> Result<Arc<ParsedTokens>, LogtoError> {
        self.parsed().await?.ok_or(LogtoError::NotAuthenticated)
    }

    /// A copy of the stored session tokens, to change and store.
    async fn tokens(&self) -> Result<Option<SessionTokens>, LogtoError> {
        Ok(self.parsed().await?.map(|parsed| parsed.tokens.clone()))
    }

    async fn get<T: DeserializeOwned>(&self, key: StorageKey) -> Result<Option<T>, LogtoError> {
        let Some(raw) = self
            .shared
            .storage
            .get(key)
            .await
            .map_err(LogtoError::Storage)?
        else {
            return Ok(None);
        };
        parse(key, &raw).map(Some)
    }

    async fn put<T: serde::Serialize>(&self, key: StorageKey, value: &T) -> Result<(), LogtoError> {
        let raw = serde_json::to_string(value).map_err(|e| LogtoError::Storage(Box::new(e)))?;
        self.shared
            .storage
            .set(key, raw)
            .await
            .map_err(LogtoError::Storage)?;
        if key == StorageKey::Tokens {
            self.forget_parsed();
        }
        Ok(())
    }

    /// Deletes the stored session tokens (and forgets their parsed copy).
    async fn delete_tokens(&self) -> Result<(), LogtoError> {
        let deleted = self
            .shared
            .storage
            .delete(StorageKey::Tokens)
            .await
            .map_err(LogtoError::Storage);
        self.forget_parsed();
        deleted
    }
}

/// `raw`, the stored value of `key`, parsed.
fn parse<T: DeserializeOwned>(key: StorageKey, raw: &str) -> Result<T, LogtoError> {
    serde_json::from_str(raw).map_err(|e| {
        LogtoError::Storage(format!("the stored {key} is not readable ({e}); sign in again").into())
    })
}

/// What a refreshed ID token must keep of the stored (original) one (OpenID Connect Core §12.2).
#[derive(serde::Deserialize)]
struct OriginalIdToken {
    sub: String,
    #[serde(default)]
    azp: Option<serde_json::Value>,
    #[serde(default)]
    auth_time: Option<serde_json::Value>,
    #[serde(default)]
    nonce: Option<serde_json::Value>,
}

impl OriginalIdToken {
    /// Refuses a refreshed ID token about another user, for another authorized party, with
    /// another authentication time, or with a nonce other than the original one.
    fn check_refreshed(&self, claims: &IdTokenClaims) -> Result<(), LogtoError> {
        if claims.sub != self.sub {
            return Err(LogtoError::id_token(
                "subject differs from the signed-in user's",
            ));
        }
        let present = |name: &str| claims.extra.get(name).filter(|v| !v.is_null());
        if present("azp") != self.azp.as_ref() {
            return Err(LogtoError::id_token(
                "the authorized party (azp) differs from the original ID token's",
            ));
        }
        if let Some(auth_time) = present("auth_time") {
            if Some(auth_time) != self.auth_time.as_ref() {
                return Err(LogtoError::id_token(
                    "the authentication time (auth_time) differs from the original ID token's",
                ));
            }
        }
        if let Some(nonce) = claims.nonce.as_deref() {
            if self.nonce.as_ref().and_then(|n| n.as_str()) != Some(nonce) {
                return Err(LogtoError::id_token(
                    "the nonce differs from the original ID token's",
                ));
            }
        }
        Ok(())
    }
}

fn claims_of(token: &str) -> Result<AccessTokenClaims, LogtoError> {
    AccessTokenClaims::decode_unverified(token)
}

/// Releases the cross-process lock taken for `result`'s work: `result`, unless the release
/// failed (a failed work's error comes first).
async fn release<T>(
    guard: Option<LockGuard>,
    result: Result<T, LogtoError>,
) -> Result<T, LogtoError> {
    let released = match guard {
        Some(guard) => guard.release().await.map_err(LogtoError::Storage),
        None => Ok(()),
    };
    let value = result?;
    released?;
    Ok(value)
}

/// `resource`, refused when empty: the empty string is not "no resource".
fn non_empty_resource(resource: &str) -> Result<&str, LogtoError> {
    if resource.is_empty() {
        return Err(LogtoError::InvalidArgument(
            "the API resource is empty: pass its resource indicator (e.g. \
             https://api.your-app.com), or call get_opaque_access_token() for the token of \
             Logto's userinfo endpoint"
                .into(),
        ));
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    const API: &str = "https://api.example.com";

    fn jwt(claims: &serde_json::Value) -> String {
        let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", part(&json!({"alg": "ES384"})), part(claims))
    }

    /// A stored session of `sub` whose cached access token for `API` has `jti`.
    fn stored(session_id: &str, sub: &str, jti: &str) -> String {
        let claims = json!({"iss": "https://t.example.com/oidc", "sub": sub, "aud": "app",
                            "exp": 4_000_000_000u64, "iat": 1});
        let mut tokens = SessionTokens::new(
            session_id.into(),
            jwt(&claims),
            Some("refresh".into()),
            vec![API.into()],
        );
        let access = json!({"iss": "https://t.example.com/oidc", "sub": sub, "aud": API,
                            "exp": 4_000_000_000u64, "iat": 1, "jti": jti});
        tokens.access_tokens.insert(
            API.into(),
            CachedAccessToken {
                token: jwt(&access),
                scope: None,
                expires_at: 4_000_000_000,
                refresh_at: 4_000_000_000,
            },
        );
        serde_json::to_string(&tokens).unwrap()
    }

    fn handle() -> LogtoHandle {
        let config = LogtoConfig::builder("https://t.example.com", "app")
            .resources([API])
            .build()
            .unwrap();
        LogtoHandle::new(config).unwrap()
    }

    /// The `jti` of the client's access token for `API`.
    async fn access_token_id(client: &LogtoClient) -> Option<String> {
        client
            .get_access_token_claims(API)
            .await
            .unwrap()
            .jti
            .into_option()
    }

    async fn client_over(handle: &LogtoHandle, raw: &str) -> LogtoClient {
        let storage = MemoryStorage::new();
        storage
            .set(StorageKey::Tokens, raw.to_owned())
            .await
            .unwrap();
        LogtoClient::new(handle.clone(), storage)
    }

    #[tokio::test]
    async fn clients_share_a_parse_of_the_same_text_and_never_serve_another() {
        let raw = stored("shared-1", "u1", "j1");
        let handle = handle();
        let (a, b) = (
            client_over(&handle, &raw).await,
            client_over(&handle, &raw).await,
        );
        let (pa, pb) = (a.parsed().await.unwrap(), b.parsed().await.unwrap());
        assert!(Arc::ptr_eq(&pa.unwrap(), &pb.unwrap()));
        assert_eq!(a.get_id_token_claims().await.unwrap().sub, "u1");
        assert_eq!(b.get_id_token_claims().await.unwrap().sub, "u1");
        assert_eq!(access_token_id(&b).await.as_deref(), Some("j1"));

        // Another text (another user, another access token) in the same storage.
        let other = stored("shared-1", "u2", "j2");
        b.storage()
            .set(StorageKey::Tokens, other.clone())
            .await
            .unwrap();
        assert_eq!(b.get_id_token_claims().await.unwrap().sub, "u2");
        assert_eq!(access_token_id(&b).await.as_deref(), Some("j2"));
        assert_eq!(a.get_id_token_claims().await.unwrap().sub, "u1");
    }

    #[tokio::test]
    async fn deleted_tokens_leave_the_cache() {
        let raw = stored("deleted-1", "u1", "j1");
        let handle = handle();
        let client = client_over(&handle, &raw).await;
        assert!(client.is_authenticated().await.unwrap());
        let hash = parsed_cache::hash(&raw);
        assert!(handle.parsed_cache().get(&raw, hash).is_some());
        client.delete_tokens().await.unwrap();
        assert!(handle.parsed_cache().get(&raw, hash).is_none());
        assert!(!client.is_authenticated().await.unwrap());
    }

    /// A storage that drops the tokens as it writes them, as the web adapters' do when a
    /// back-channel logout ended the session meanwhile.
    struct DropsTokensOnWrite(MemoryStorage);

    impl Storage for DropsTokensOnWrite {
        async fn get(&self, key: StorageKey) -> Result<Option<String>, crate::BoxError> {
            self.0.get(key).await
        }

        async fn set(&self, key: StorageKey, value: String) -> Result<(), crate::BoxError> {
            match key {
                StorageKey::Tokens => self.0.delete(key).await,
                other => self.0.set(other, value).await,
            }
        }

        async fn delete(&self, key: StorageKey) -> Result<(), crate::BoxError> {
            self.0.delete(key).await
        }
    }

    #[tokio::test]
    async fn storing_the_tokens_again_says_whether_they_are_still_stored() {
        let raw = stored("again-1", "u1", "j1");
        let handle = handle();
        let kept = client_over(&handle, &raw).await;
        assert!(kept.store_tokens_again().await.unwrap());
        assert!(kept.is_authenticated().await.unwrap());

        let storage = MemoryStorage::new();
        storage.set(StorageKey::Tokens, raw).await.unwrap();
        let dropped = LogtoClient::new(handle, DropsTokensOnWrite(storage));
        assert!(dropped.is_authenticated().await.unwrap());
        assert!(!dropped.store_tokens_again().await.unwrap());
        assert!(!dropped.is_authenticated().await.unwrap());
    }
}
