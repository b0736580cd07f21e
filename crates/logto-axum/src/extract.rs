//! The extractors: [`Auth`] (the visitor's client) and [`Authenticated`] (the `@authenticated`
//! decorator of Logto's Python web-app guide).

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::Uri;
use axum::http::request::Parts;
use logto::{IdTokenClaims, LogtoClient, LogtoError, UserInfo};
use tower_sessions::Session;

use crate::error::{Error, Rejection, wants_json};
use crate::handle::{Logto, page_of};
use crate::layer::Bound;
use crate::storage::SessionStorage;

/// The visitor's [`LogtoClient`], over their session: derefs to it, so every client method
/// (`is_authenticated`, `get_id_token_claims`, `fetch_user_info`, `get_access_token`,
/// `get_organization_token`…) is at hand. Extracting it twice in one request gives the same
/// client.
///
/// Handlers return [`Error`] and use `?`: under [`Logto::layer`](crate::Logto::layer) an error
/// is answered in the form the request asked for (see [`Rejection`]).
///
/// ```
/// use logto_axum::{Auth, Error};
///
/// async fn home(auth: Auth) -> Result<String, Error> {
///     if !auth.is_authenticated().await? {
///         return Ok("signed out".into());
///     }
///     let claims = auth.get_id_token_claims().await?;
///     Ok(format!("signed in as {}", claims.sub))
/// }
/// ```
#[derive(Clone)]
pub struct Auth {
    client: Arc<LogtoClient<SessionStorage>>,
    logto: Logto,
    json: bool,
    /// The page asked for (GET only), to come back to after signing in again.
    page: Option<Uri>,
}

/// Without the page asked for: the callback's holds an authorization code.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("logto", &self.logto)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl Deref for Auth {
    type Target = LogtoClient<SessionStorage>;

    fn deref(&self) -> &Self::Target {
        &self.client
    }
}

impl Auth {
    /// The app-wide handle.
    pub fn logto(&self) -> &Logto {
        &self.logto
    }

    /// The visitor's session.
    pub fn session(&self) -> &Session {
        self.client.storage().session()
    }

    /// Whether the request asked for JSON (`Accept: application/json`, not HTML).
    pub fn wants_json(&self) -> bool {
        self.json
    }

    /// `error` as a response in the form this request asked for (see [`Rejection`]); when it
    /// means "sign in again", a browser is sent to sign-in and back to this page.
    ///
    /// Handlers can also return [`Error`] and use `?`: the layer renders it the same way.
    pub fn reject(&self, error: impl Into<Error>) -> Rejection {
        self.logto
            .rejection(error.into(), self.json, self.page.as_ref())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let (Some(bound), Some(session)) = (
            parts.extensions.get::<Bound>(),
            parts.extensions.get::<Session>(),
        ) else {
            return Err(Rejection::bare(Error::MissingLayer, &parts.headers));
        };
        let logto = bound.logto.clone();
        let storage = SessionStorage::new(
            session.clone(),
            bound.store.clone(),
            bound.prefetched.clone(),
            logto.inner.session_ttl,
        );
        let mut client = LogtoClient::new(logto.handle().clone(), storage);
        if let Some(lock) = &logto.inner.refresh_lock {
            client = client.with_refresh_lock(lock.clone());
        }
        let auth = Auth {
            client: Arc::new(client),
            logto,
            json: wants_json(&parts.headers),
            page: page_of(&parts.method, &parts.uri, &parts.extensions),
        };
        parts.extensions.insert(auth.clone());
        auth.renew_if_due().await;
        Ok(auth)
    }
}

impl Auth {
    /// Renews a signed-in session once a tenth of its TTL has passed (see
    /// [`logto::web::renewal`]), so that an active user stays signed in. Best effort: a failure
    /// is logged, and the next request tries again.
    async fn renew_if_due(&self) {
        if let Err(error) = self.renew().await {
            tracing::warn!(%error, "logto-axum could not renew a signed-in session (the next request tries again)");
        }
    }

    async fn renew(&self) -> Result<(), Error> {
        let storage = self.client.storage();
        if !storage.renewal_due().await.map_err(Error::Session)?
            || !self.client.store_tokens_again().await?
        {
            return Ok(());
        }
        let claims = self.client.get_id_token_claims().await?;
        storage
            .record_renewal(claims.sid.as_deref(), &claims.sub)
            .await
            .map_err(Error::Session)
    }
}

/// What [`Authenticated`] hands the handler: the ID-token claims (read from the session), the
/// userinfo (fetched from Logto), or nothing (`()`).
pub trait UserData: Sized + Send + Sync + 'static {
    /// Reads or fetches it for the signed-in visitor.
    fn load(auth: &Auth) -> impl Future<Output = Result<Self, LogtoError>> + Send;
}

impl UserData for IdTokenClaims {
    async fn load(auth: &Auth) -> Result<Self, LogtoError> {
        auth.get_id_token_claims().await
    }
}

impl UserData for UserInfo {
    /// Fetches userinfo from Logto; a grant revoked in Logto ends the session
    /// ([`LogtoError::SessionExpired`], so the visitor is signed out).
    async fn load(auth: &Auth) -> Result<Self, LogtoError> {
        auth.fetch_user_info().await
    }
}

/// Nothing: `Authenticated<()>` only checks that the visitor is signed in, for a handler that
/// needs `auth` (for tokens) and not the claims, which are then not copied out of the session.
impl UserData for () {
    async fn load(_: &Auth) -> Result<Self, LogtoError> {
        Ok(())
    }
}

/// The `authenticated(shouldRedirect, fetchUserInfo)` decorator of Logto's guide to adding
/// authentication to a Python web app, as an extractor.
///
/// Signed out (or with a session Logto no longer honours), the request is rejected: a browser is
/// redirected to the sign-in route and back to this page afterwards, a script asking for JSON gets
/// `401 {"error": "not_authenticated"}`. Signed in, the handler gets `user`: the ID-token claims
/// (`Authenticated` / `Authenticated<IdTokenClaims>`), the userinfo fetched from Logto
/// (`Authenticated<UserInfo>`) or nothing (`Authenticated<()>`, when the handler only needs
/// tokens), and `auth` for tokens.
///
/// `Option<Authenticated<T>>` is `None` for a signed-out visitor instead of a rejection.
///
/// ```
/// use axum::Json;
/// use logto::UserInfo;
/// use logto_axum::{Authenticated, Error};
///
/// async fn custom_data(
///     Authenticated { user, .. }: Authenticated<UserInfo>,
/// ) -> Json<serde_json::Map<String, serde_json::Value>> {
///     Json(user.custom_data.into_option().unwrap_or_default())
/// }
///
/// async fn shopping_token(Authenticated { auth, .. }: Authenticated<()>) -> Result<String, Error> {
///     Ok(auth.get_access_token("https://shopping.your-app.com/api").await?)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<T = IdTokenClaims> {
    /// The ID-token claims, the userinfo, or `()`.
    pub user: T,
    /// The visitor's client.
    pub auth: Auth,
}

impl<T: UserData> Authenticated<T> {
    async fn extract(parts: &mut Parts) -> Result<Option<Self>, Rejection> {
        let auth = Auth::from_request_parts(parts, &()).await?;
        if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
            return Ok(None);
        }
        match T::load(&auth).await {
            Ok(user) => Ok(Some(Authenticated { user, auth })),
            Err(error) if error.needs_sign_in() => Ok(None),
            Err(error) => Err(auth.reject(error)),
        }
    }
}

impl<S: Send + Sync, T: UserData> FromRequestParts<S> for Authenticated<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Self::extract(parts).await? {
            Some(authenticated) => Ok(authenticated),
            None => {
                let auth = Auth::from_request_parts(parts, &()).await?;
                Err(auth.reject(LogtoError::NotAuthenticated))
            }
        }
    }
}

impl<S: Send + Sync, T: UserData> OptionalFromRequestParts<S> for Authenticated<T> {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Self::extract(parts).await
    }
}
