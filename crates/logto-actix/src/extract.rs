//! The extractors: [`Auth`] (the visitor's client) and [`Authenticated`] (the `@authenticated`
//! decorator of Logto's Python web-app guide).

use std::collections::HashMap;
use std::future::{Future, Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::{Method, Uri};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use logto::{IdTokenClaims, LogtoClient, LogtoError, UserInfo};

use crate::error::{Error, Rejection, wants_json};
use crate::handle::Logto;
use crate::middleware::Bound;
use crate::storage::{SESSION_KEYS, SessionStorage};

/// The visitor's [`LogtoClient`], over their session: derefs to it, so every client method
/// (`is_authenticated`, `get_id_token_claims`, `fetch_user_info`, `get_access_token`,
/// `get_organization_token`…) is at hand. Extracting it twice in one request gives the same
/// client.
///
/// ```
/// use logto_actix::{Auth, Rejection};
///
/// async fn home(auth: Auth) -> Result<String, Rejection> {
///     if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
///         return Ok("signed out".into());
///     }
///     let claims = auth.get_id_token_claims().await.map_err(|e| auth.reject(e))?;
///     Ok(format!("signed in as {}", claims.sub))
/// }
/// ```
#[derive(Clone)]
pub struct Auth {
    client: Arc<LogtoClient<SessionStorage>>,
    session: Session,
    logto: Logto,
    json: bool,
    /// The page asked for (GET only), to come back to after signing in again.
    return_to: Option<Uri>,
}

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

    /// The visitor's actix-session session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn storage(&self) -> &SessionStorage {
        self.client.storage()
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
            sign_in: self.logto.site().sign_in_location(
                self.return_to
                    .as_ref()
                    .map(|uri| {
                        self.logto
                            .site()
                            .local(uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()))
                    })
                    .as_deref(),
            ),
            home: self.logto.site().local("/"),
        }
    }

    fn from_request(request: &HttpRequest) -> Result<Auth, Rejection> {
        if let Some(auth) = request.extensions().get::<Auth>() {
            return Ok(auth.clone());
        }
        let Some(bound) = request.extensions().get::<Bound>().cloned() else {
            return Err(Rejection::bare(Error::MissingMiddleware, request.headers()));
        };
        let session = request.get_session();
        let values: HashMap<&'static str, String> = SESSION_KEYS
            .iter()
            .filter_map(|key| {
                let value = session.get::<String>(key).ok().flatten()?;
                Some((*key, value))
            })
            .collect();
        let logto = bound.logto.clone();
        let slot = session
            .get::<u64>(logto::web::prefetch::SLOT_KEY)
            .ok()
            .flatten();
        let storage =
            SessionStorage::new(values, slot, bound.tokens.clone(), logto.inner.session_ttl);
        let mut client = LogtoClient::new(logto.handle().clone(), storage);
        if let Some(lock) = &logto.inner.refresh_lock {
            client = client.with_refresh_lock(lock.clone());
        }
        // Only a page fetched with GET is worth coming back to after signing in.
        let return_to = (request.method() == Method::GET).then(|| request.uri().clone());
        let auth = Auth {
            client: Arc::new(client),
            session,
            logto,
            json: wants_json(request.headers()),
            return_to,
        };
        request.extensions_mut().insert(auth.clone());
        Ok(auth)
    }

    /// Renews a signed-in session once a tenth of its TTL has passed (see
    /// [`logto::web::renewal`]), so that an active user stays signed in: the middleware calls it
    /// after the handler, before it writes the session's values back. Best effort: a failure is
    /// logged, and the next request tries again.
    pub(crate) async fn renew_if_due(&self) {
        if !self.storage().renewal_due() {
            return;
        }
        if let Err(error) = self.renew().await {
            tracing::warn!(%error, "logto-actix could not renew a signed-in session (the next request tries again)");
        }
    }

    async fn renew(&self) -> Result<(), Error> {
        if !self.client.store_tokens_again().await? {
            return Ok(());
        }
        let claims = self.client.get_id_token_claims().await?;
        self.storage()
            .record_renewal(claims.sid.as_deref(), &claims.sub)
            .await
            .map_err(Error::Session)
    }
}

impl FromRequest for Auth {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Auth::from_request(request))
    }
}

/// What [`Authenticated`] hands the handler: the ID-token claims (read from the session), the
/// userinfo (fetched from Logto), or nothing (`()`).
pub trait UserData: Sized + 'static {
    /// Reads or fetches it for the signed-in visitor.
    fn load(auth: &Auth) -> impl Future<Output = Result<Self, LogtoError>>;
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
/// ```
/// use actix_web::web;
/// use logto::UserInfo;
/// use logto_actix::{Authenticated, Rejection};
///
/// async fn custom_data(
///     Authenticated { user, .. }: Authenticated<UserInfo>,
/// ) -> web::Json<serde_json::Map<String, serde_json::Value>> {
///     web::Json(user.custom_data.into_option().unwrap_or_default())
/// }
///
/// async fn shopping_token(Authenticated { auth, .. }: Authenticated<()>) -> Result<String, Rejection> {
///     auth.get_access_token("https://shopping.your-app.com/api")
///         .await
///         .map_err(|e| auth.reject(e))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<T = IdTokenClaims> {
    /// The ID-token claims, the userinfo, or `()`.
    pub user: T,
    /// The visitor's client.
    pub auth: Auth,
}

impl<T: UserData> FromRequest for Authenticated<T> {
    type Error = Rejection;
    type Future = LocalBoxFuture<'static, Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = Auth::from_request(request);
        Box::pin(async move {
            let auth = auth?;
            if !auth.is_authenticated().await.map_err(|e| auth.reject(e))? {
                return Err(auth.reject(LogtoError::NotAuthenticated));
            }
            match T::load(&auth).await {
                Ok(user) => Ok(Authenticated { user, auth }),
                Err(error) if error.needs_sign_in() => {
                    Err(auth.reject(LogtoError::NotAuthenticated))
                }
                Err(error) => Err(auth.reject(error)),
            }
        })
    }
}
