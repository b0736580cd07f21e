//! [`LogtoMiddleware`]: actix-session sessions with Logto's cookie settings, plus what the
//! extractors need.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{SessionExt, SessionMiddleware};
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::cookie::time::Duration as TimeDuration;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::InternalError;
use futures_util::future::LocalBoxFuture;
use logto::web::renewal::{PENDING_SESSION_TTL, holds_only_a_pending_sign_in};

use crate::error::{Error, Rejection, wants_json};
use crate::extract::Auth;
use crate::handle::Logto;
use crate::store::TokenStore;

/// What the middleware hands the extractors: the handle and the token store.
#[derive(Clone)]
pub(crate) struct Bound {
    pub(crate) logto: Logto,
    pub(crate) tokens: Arc<dyn TokenStore>,
}

/// The middleware of [`Logto::middleware`]: an actix-session [`SessionMiddleware`] with Logto's
/// cookie settings, around a service that makes the [`Logto`] handle available to the extractors
/// and writes the client's session changes back into the session before it is saved.
///
/// Its `Debug` shows the handle and the store's type, never sessions or tokens.
pub struct LogtoMiddleware<Store: SessionStore> {
    sessions: SessionMiddleware<SessionStoreOf<Store>>,
    bound: Bound,
}

impl<Store: SessionStore> fmt::Debug for LogtoMiddleware<Store> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoMiddleware")
            .field("logto", &self.bound.logto)
            .field("store", &std::any::type_name::<Store>())
            .finish_non_exhaustive()
    }
}

impl<Store: SessionStore> LogtoMiddleware<Store> {
    pub(crate) fn new(
        logto: Logto,
        sessions: SessionMiddleware<SessionStoreOf<Store>>,
        tokens: Arc<dyn TokenStore>,
    ) -> Self {
        LogtoMiddleware {
            sessions,
            bound: Bound { logto, tokens },
        }
    }
}

impl<S, B, Store> Transform<S, ServiceRequest> for LogtoMiddleware<Store>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
    Store: SessionStore + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform =
        SessionErrors<
            <SessionMiddleware<SessionStoreOf<Store>> as Transform<
                LogtoService<S>,
                ServiceRequest,
            >>::Transform,
        >;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let sessions = self.sessions.new_transform(LogtoService {
            inner: Rc::new(service),
            bound: self.bound.clone(),
        });
        let logto = self.bound.logto.clone();
        Box::pin(async move {
            Ok(SessionErrors {
                inner: Rc::new(sessions.await?),
                logto,
            })
        })
    }
}

/// The session store as [`LogtoMiddleware`] hands it to actix-session's middleware: the app's
/// store, where a session that holds nothing but a pending sign-in (no token record, none of the
/// app's own values) is written to expire [`PENDING_SESSION_TTL`] after it was last written
/// rather than after the session TTL (or after the TTL when it is shorter).
#[derive(Clone)]
pub struct SessionStoreOf<Store> {
    store: Store,
}

impl<Store> SessionStoreOf<Store> {
    pub(crate) fn new(store: Store) -> Self {
        SessionStoreOf { store }
    }
}

impl<Store> fmt::Debug for SessionStoreOf<Store> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionStore")
            .field(&std::any::type_name::<Store>())
            .finish()
    }
}

/// The TTL of a session whose values are `state`, given the session TTL `ttl`: at most
/// [`PENDING_SESSION_TTL`] when it holds nothing but a pending sign-in (no token record, none of
/// the app's own values).
fn ttl_of(state: &HashMap<String, String>, ttl: &TimeDuration) -> TimeDuration {
    let pending_only =
        holds_only_a_pending_sign_in(state.keys().map(String::as_str), crate::routes::RETURN_TO);
    match TimeDuration::try_from(PENDING_SESSION_TTL) {
        Ok(soon) if pending_only => soon.min(*ttl),
        _ => *ttl,
    }
}

impl<Store: SessionStore> SessionStore for SessionStoreOf<Store> {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        self.store.load(key).await
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, SaveError> {
        let ttl = ttl_of(&state, ttl);
        self.store.save(state, &ttl).await
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, UpdateError> {
        let ttl = ttl_of(&state, ttl);
        self.store.update(key, state, &ttl).await
    }

    /// Called only with `TtlExtensionPolicy::OnEveryRequest`, which the middleware does not use.
    async fn update_ttl(&self, key: &SessionKey, ttl: &TimeDuration) -> anyhow::Result<()> {
        self.store.update_ttl(key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        self.store.delete(key).await
    }
}

/// The outer service of [`LogtoMiddleware`]: a session store that fails (Redis unreachable)
/// makes actix-session answer an empty `500`; this answers it as every other error of the
/// integration, `{"error": "session_store_failed", …}` for JSON or an error page.
pub struct SessionErrors<S> {
    inner: Rc<S>,
    logto: Logto,
}

impl<S> fmt::Debug for SessionErrors<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionErrors")
            .field("logto", &self.logto)
            .finish_non_exhaustive()
    }
}

/// Whether `error` is one of actix-session's store failures (its opaque `500`s).
fn is_session_store_error(error: &actix_web::Error) -> bool {
    error.as_error::<InternalError<anyhow::Error>>().is_some()
        || error.as_error::<InternalError<SaveError>>().is_some()
        || error.as_error::<InternalError<UpdateError>>().is_some()
}

impl<S, B> Service<ServiceRequest> for SessionErrors<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, actix_web::Error>>;

    actix_web::dev::forward_ready!(inner);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let json = wants_json(request.headers());
        let logto = self.logto.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            match response.await {
                // actix-web answers an error with its `error_response`: the rejection's.
                Err(error) if is_session_store_error(&error) => Err(Rejection {
                    error: Error::Session(error.to_string().into()),
                    json,
                    sign_in: logto.site().sign_in_location(None),
                    home: logto.site().local("/"),
                }
                .into()),
                other => other,
            }
        })
    }
}

/// The service of [`LogtoMiddleware`] inside the session middleware.
pub struct LogtoService<S> {
    inner: Rc<S>,
    bound: Bound,
}

impl<S> fmt::Debug for LogtoService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoService")
            .field("logto", &self.bound.logto)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for LogtoService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>>;

    actix_web::dev::forward_ready!(inner);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        request.extensions_mut().insert(self.bound.clone());
        let inner = self.inner.clone();
        Box::pin(async move {
            let response = inner.call(request).await?;
            let auth = response.request().extensions().get::<Auth>().cloned();
            if let Some(auth) = auth {
                auth.renew_if_due().await;
                write_back(&auth, &response.request().get_session());
            }
            Ok(response)
        })
    }
}

/// Writes the client's changes of the session's values into the session.
pub(crate) fn write_back(auth: &Auth, session: &actix_session::Session) {
    for (key, value) in auth.storage().take_changes() {
        match value {
            Some(value) => {
                if let Err(error) = session.insert(key, value) {
                    tracing::error!(%error, "logto-actix could not write the session");
                }
            }
            None => {
                session.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logto::web::prefetch::SLOT_KEY;
    use logto::web::renewal::RENEWED_AT;

    #[test]
    fn only_a_session_holding_nothing_but_a_pending_sign_in_expires_soon() {
        let ttl = TimeDuration::days(14);
        let state = |keys: &[&str]| -> HashMap<String, String> {
            keys.iter()
                .map(|key| (key.to_string(), "1".into()))
                .collect()
        };
        let pending = ["logto.sign_in_session", crate::routes::RETURN_TO, SLOT_KEY];
        assert_eq!(ttl_of(&state(&pending), &ttl), TimeDuration::minutes(15));
        assert_eq!(
            ttl_of(&state(&[RENEWED_AT]), &ttl),
            TimeDuration::minutes(15)
        );
        let short = TimeDuration::minutes(5);
        assert_eq!(ttl_of(&state(&pending), &short), short);
        for other in ["logto.tokens_ref", "cart"] {
            let keys = [&pending[..], &[other]].concat();
            assert_eq!(ttl_of(&state(&keys), &ttl), ttl, "{other}");
        }
    }
}
