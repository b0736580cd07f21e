//! [`LogtoLayer`]: sessions with a safe cookie, plus the [`Logto`] handle for the extractors.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::http::{Request, Uri};
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

use crate::error::{Unrendered, wants_json};
use crate::handle::{Logto, page_of};
use crate::prefetch;
use logto::web::prefetch::{Prefetched, SLOT_KEY};
use logto::web::renewal::{PENDING_SESSION_TTL, holds_only_a_pending_sign_in};

/// The name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "logto_session";

/// What the layer hands the extractors: the handle, the app's store (for the token records: read
/// directly, they need none of [`SessionStoreOf`]'s session handling) and the token records read
/// with the sessions.
#[derive(Clone)]
pub(crate) struct Bound {
    pub(crate) logto: Logto,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) prefetched: Arc<Prefetched>,
}

/// The middleware of [`Logto::layer`]: a [`SessionManagerLayer`] with Logto's cookie settings,
/// around a service that makes the [`Logto`] handle available to the extractors.
///
/// Its `Debug` shows the handle, never the sessions or tokens in the store.
#[derive(Clone)]
pub struct LogtoLayer<Store: SessionStore> {
    sessions: SessionManagerLayer<SessionStoreOf<Store>>,
    logto: Logto,
    store: Arc<SessionStoreOf<Store>>,
    /// The app's store itself, for the token records.
    records: Arc<dyn SessionStore>,
}

impl<Store: SessionStore> fmt::Debug for LogtoLayer<Store> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogtoLayer")
            .field("logto", &self.logto)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The session store as [`LogtoLayer`] hands it to the session middleware: the app's store,
/// with a `Debug` that names the store's type and never shows its records (sessions, pending
/// sign-ins, tokens). Every [`Session`](tower_sessions::Session) of the middleware, the
/// middleware itself and [`LogtoLayer`] print the store through it.
///
/// With [`RedisStore`](crate::RedisStore), loading a signed-in session also reads its token
/// record, in the same round trip. A session that holds nothing but a pending sign-in is written
/// to expire [`PENDING_SESSION_TTL`] after it was last written, at the latest.
#[derive(Clone)]
pub struct SessionStoreOf<Store> {
    store: Store,
    prefetched: Arc<Prefetched>,
}

impl<Store> fmt::Debug for SessionStoreOf<Store> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionStore")
            .field(&std::any::type_name::<Store>())
            .finish()
    }
}

/// Whether a session whose values are `record`'s holds nothing but a pending sign-in: no token
/// record (not signed in), and none of the app's own values.
fn pending_only(record: &Record) -> bool {
    holds_only_a_pending_sign_in(
        record.data.keys().map(String::as_str),
        crate::routes::RETURN_TO,
    )
}

/// Makes the session expire [`PENDING_SESSION_TTL`] from now at the latest.
fn expire_soon(record: &mut Record) {
    let soon = OffsetDateTime::now_utc()
        .saturating_add(crate::storage::saturating_duration(PENDING_SESSION_TTL));
    record.expiry_date = record.expiry_date.min(soon);
}

#[async_trait::async_trait]
impl<Store: SessionStore> SessionStore for SessionStoreOf<Store> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        record.data.remove(SLOT_KEY);
        if pending_only(record) {
            expire_soon(record);
        }
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut record = prefetch::without_slot(record);
        if pending_only(&record) {
            expire_soon(record.to_mut());
        }
        self.store.save(&record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        #[cfg(feature = "redis")]
        if let Some(redis) = (&self.store as &dyn std::any::Any).downcast_ref::<crate::RedisStore>()
        {
            let Some(loaded) = redis.load_with_tokens(id).await? else {
                return Ok(None);
            };
            let mut session = loaded.session;
            if let Some((tokens_ref, tokens)) = loaded.tokens {
                prefetch::park(&self.prefetched, &mut session, tokens_ref, tokens);
            }
            return Ok(Some(session));
        }
        self.store.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(id).await
    }
}

impl<Store: SessionStore + Clone> LogtoLayer<Store> {
    pub(crate) fn new(logto: Logto, store: Store) -> Self {
        let ttl = crate::storage::saturating_duration(logto.inner.session_ttl);
        let records: Arc<dyn SessionStore> = Arc::new(store.clone());
        let store = SessionStoreOf {
            store,
            prefetched: Arc::new(Prefetched::default()),
        };
        let sessions = SessionManagerLayer::new(store.clone())
            .with_name(COOKIE_NAME)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(logto.site().secure_cookie())
            .with_path(logto.site().cookie_path())
            .with_expiry(Expiry::OnInactivity(ttl));
        LogtoLayer {
            sessions,
            logto,
            store: Arc::new(store),
            records,
        }
    }
}

impl<Svc, Store> Layer<Svc> for LogtoLayer<Store>
where
    Store: SessionStore,
{
    type Service =
        <SessionManagerLayer<SessionStoreOf<Store>> as Layer<LogtoService<Svc>>>::Service;

    fn layer(&self, inner: Svc) -> Self::Service {
        let bound = Bound {
            logto: self.logto.clone(),
            store: self.records.clone(),
            prefetched: self.store.prefetched.clone(),
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
    Svc: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = Svc::Error;
    type Future = RenderErrors<Svc::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let asked = Asked {
            logto: self.bound.logto.clone(),
            json: wants_json(request.headers()),
            page: page_of(request.method(), request.uri(), request.extensions()),
        };
        request.extensions_mut().insert(self.bound.clone());
        RenderErrors {
            inner: self.inner.call(request),
            asked: Some(asked),
        }
    }
}

/// What an error answer depends on in the request: the form it asked for, and the page to come
/// back to after signing in again.
struct Asked {
    logto: Logto,
    json: bool,
    page: Option<Uri>,
}

pin_project_lite::pin_project! {
    /// The future of [`LogtoService`]: the inner service's response, with an
    /// [`Error`](crate::Error) a handler returned rendered as the [`Rejection`](crate::Rejection)
    /// for this request.
    pub struct RenderErrors<F> {
        #[pin]
        inner: F,
        asked: Option<Asked>,
    }
}

impl<F, E> Future for RenderErrors<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        let unrendered = response.extensions_mut().remove::<Unrendered>();
        if let (Some(error), Some(asked)) = (unrendered.and_then(|u| u.take()), this.asked.take()) {
            response = asked
                .logto
                .rejection(error, asked.json, asked.page.as_ref())
                .into_response();
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tower_sessions::MemoryStore;
    use tower_sessions::cookie::time::Duration;

    use super::*;

    /// The expiry, from now, of a session holding `keys` saved for a TTL of 14 days.
    async fn kept_for(keys: &[&str]) -> Duration {
        let store = SessionStoreOf {
            store: MemoryStore::default(),
            prefetched: Arc::default(),
        };
        let data: HashMap<_, _> = keys
            .iter()
            .map(|key| (key.to_string(), "1".into()))
            .collect();
        let mut record = Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + Duration::days(14),
        };
        store.create(&mut record).await.unwrap();
        store.save(&record).await.unwrap();
        let saved = store.store.load(&record.id).await.unwrap().unwrap();
        saved.expiry_date - OffsetDateTime::now_utc()
    }

    #[tokio::test]
    async fn only_a_session_holding_nothing_but_a_pending_sign_in_expires_soon() {
        let soon = Duration::minutes(15);
        let pending = ["logto.sign_in_session", crate::routes::RETURN_TO, SLOT_KEY];
        assert!(kept_for(&pending).await <= soon);
        assert!(kept_for(&[logto::web::renewal::RENEWED_AT]).await <= soon);
        for other in ["logto.tokens_ref", "cart"] {
            let keys = [&pending[..], &[other]].concat();
            assert!(kept_for(&keys).await > Duration::days(13), "{other}");
        }
    }
}
