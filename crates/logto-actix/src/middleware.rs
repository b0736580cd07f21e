//! [`LogtoMiddleware`]: actix-session sessions with Logto's cookie settings, plus what the
//! extractors need.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use actix_session::storage::{SaveError, SessionStore, UpdateError};
use actix_session::{SessionExt, SessionMiddleware};
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::InternalError;
use futures_util::future::LocalBoxFuture;

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
    sessions: SessionMiddleware<Store>,
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
        sessions: SessionMiddleware<Store>,
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
    type Transform = SessionErrors<
        <SessionMiddleware<Store> as Transform<LogtoService<S>, ServiceRequest>>::Transform,
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
