//! The extractors: [`Auth`] (the visitor's client) and [`Authenticated`] (the `@authenticated`
//! decorator of Logto's Python web-app guide).

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::http::Method;
use axum::http::request::Parts;
use logto::{IdTokenClaims, LogtoClient, LogtoError, UserInfo};
use tower_sessions::Session;

use crate::error::{Error, Rejection, wants_json};
use crate::handle::Logto;
use crate::layer::Bound;
use crate::storage::SessionStorage;

/// The visitor's [`LogtoClient`], over their session: derefs to it, so every client method
/// (`is_authenticated`, `get_id_token_claims`, `fetch_user_info`, `get_access_token`,
/// `get_organization_token`…) is at hand. Extracting it twice in one request gives the same
/// client.
///
/// ```
/// use logto_axum::Auth;
///
/// async fn home(auth: Auth) -> Result<String, logto_axum::Rejection> {
///     if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
///         return Ok("signed out".into());
///     }
///     let claims = auth.get_id_token_claims().await.map_err(|e| auth.reject(e))?;
///     Ok(format!("signed in as {}", claims.sub))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    client: Arc<LogtoClient<SessionStorage>>,
    logto: Logto,
    json: bool,
    return_to: Option<String>,
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
    pub fn reject(&self, error: impl Into<Error>) -> Rejection {
        Rejection {
            error: error.into(),
            json: self.json,
            sign_in: self.logto.sign_in_location(self.return_to.as_deref()),
        }
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
            logto.inner.refresh_lock.clone(),
            logto.inner.session_ttl,
        );
        // Only a page fetched with GET is worth coming back to after signing in.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let return_to = (parts.method == Method::GET)
            .then(|| uri.path_and_query().map(|pq| logto.local(pq.as_str())))
            .flatten();
        let auth = Auth {
            client: Arc::new(LogtoClient::new(logto.config().clone(), storage)),
            logto,
            json: wants_json(&parts.headers),
            return_to,
        };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// What [`Authenticated`] hands the handler: the ID-token claims (read from the session) or the
/// userinfo (fetched from Logto).
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

/// The `authenticated(shouldRedirect, fetchUserInfo)` decorator of Logto's guide to adding
/// authentication to a Python web app, as an extractor.
///
/// Signed out (or with a session Logto no longer honours), the request is rejected: a browser is
/// redirected to the sign-in route and back to this page afterwards, a script asking for JSON gets
/// `401 {"error": "not_authenticated"}`. Signed in, the handler gets `user`: the ID-token claims
/// (`Authenticated` / `Authenticated<IdTokenClaims>`) or the userinfo fetched from Logto
/// (`Authenticated<UserInfo>`), and `auth` for tokens.
///
/// `Option<Authenticated<T>>` is `None` for a signed-out visitor instead of a rejection.
///
/// ```
/// use axum::Json;
/// use logto::UserInfo;
/// use logto_axum::{Authenticated, Rejection};
///
/// async fn custom_data(
///     Authenticated { user, .. }: Authenticated<UserInfo>,
/// ) -> Json<serde_json::Map<String, serde_json::Value>> {
///     Json(user.custom_data.into_option().unwrap_or_default())
/// }
///
/// async fn shopping_token(Authenticated { auth, .. }: Authenticated) -> Result<String, Rejection> {
///     auth.get_access_token("https://shopping.your-app.com/api")
///         .await
///         .map_err(|e| auth.reject(e))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<T = IdTokenClaims> {
    /// The ID-token claims or the userinfo.
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
