//! [`LogtoLayer`]: sessions with a safe cookie, plus the [`Logto`] handle for the extractors.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

use crate::handle::Logto;

/// The name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "logto_session";

/// What the layer hands the extractors: the handle and the session store (for the token records).
#[derive(Clone)]
pub(crate) struct Bound {
    pub(crate) logto: Logto,
    pub(crate) store: Arc<dyn SessionStore>,
}

/// The middleware of [`Logto::layer`]: a [`SessionManagerLayer`] with Logto's cookie settings,
/// around a service that makes the [`Logto`] handle available to the extractors.
#[derive(Debug, Clone)]
pub struct LogtoLayer<Store: SessionStore> {
    sessions: SessionManagerLayer<Store>,
    logto: Logto,
    store: Arc<Store>,
}

impl<Store: SessionStore + Clone> LogtoLayer<Store> {
    pub(crate) fn new(logto: Logto, store: Store) -> Self {
        let ttl =
            time::Duration::try_from(logto.inner.session_ttl).unwrap_or(time::Duration::weeks(2));
        let sessions = SessionManagerLayer::new(store.clone())
            .with_name(COOKIE_NAME)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(logto.is_https())
            .with_path(logto.cookie_path())
            .with_expiry(Expiry::OnInactivity(ttl));
        LogtoLayer {
            sessions,
            logto,
            store: Arc::new(store),
        }
    }
}

impl<Svc, Store> Layer<Svc> for LogtoLayer<Store>
where
    Store: SessionStore,
{
    type Service = <SessionManagerLayer<Store> as Layer<LogtoService<Svc>>>::Service;

    fn layer(&self, inner: Svc) -> Self::Service {
        let bound = Bound {
            logto: self.logto.clone(),
            store: self.store.clone(),
        };
        self.sessions.layer(LogtoService { inner, bound })
    }
}

/// The service of [`LogtoLayer`] inside the session middleware.
#[derive(Clone)]
pub struct LogtoService<Svc> {
    inner: Svc,
    bound: Bound,
}

impl<Svc> std::fmt::Debug for LogtoService<Svc> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogtoService")
            .field("logto", &self.bound.logto)
            .finish_non_exhaustive()
    }
}

impl<Svc, B> Service<Request<B>> for LogtoService<Svc>
where
    Svc: Service<Request<B>>,
{
    type Response = Svc::Response;
    type Error = Svc::Error;
    type Future = Svc::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.bound.clone());
        self.inner.call(request)
    }
}
