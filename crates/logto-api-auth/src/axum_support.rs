//! axum integration: `IntoResponse` for errors, the `RequireAuth` extractor
//! and the `AuthLayer` tower layer.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::scopes::satisfied;
use crate::{AuthError, AuthInfo, NoScopes, ScopeRequirement, Scopes, Validator, extract_bearer};

impl IntoResponse for AuthError {
    /// Status, `WWW-Authenticate` and `{"code", "message"}` body; the detailed
    /// reason is logged at debug level, never sent.
    fn into_response(self) -> Response {
        if self.status() >= 500 {
            tracing::warn!(error = %self, "authentication unavailable");
        } else {
            tracing::debug!(error = %self, "request rejected");
        }
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            self.body_json(),
        )
            .into_response();
        if let Some(value) = self
            .www_authenticate()
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Extractor that requires a valid access token with the scopes of `S`.
///
/// The [`Validator`] comes from the router state (`Validator: FromRef<state>`).
/// When an [`AuthLayer`] has already validated the request, its result is
/// reused and only the scopes are checked. Rejections are [`AuthError`]s
/// (401/403 with RFC 6750 headers). Derefs to [`AuthInfo`].
///
/// ```no_run
/// use axum::{Json, Router, routing::get};
/// use logto_api_auth::{RequireAuth, Validator};
///
/// async fn me(auth: RequireAuth) -> Json<Option<String>> {
///     Json(auth.subject().map(str::to_owned))
/// }
/// # fn app(validator: Validator) -> Router {
/// Router::new().route("/me", get(me)).with_state(validator)
/// # }
/// ```
pub struct RequireAuth<S: Scopes = NoScopes> {
    auth: AuthInfo,
    _scopes: PhantomData<fn() -> S>,
}

impl<S: Scopes> std::fmt::Debug for RequireAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RequireAuth").field(&self.auth).finish()
    }
}

impl<S: Scopes> RequireAuth<S> {
    /// The validated token's information.
    #[must_use]
    pub fn into_inner(self) -> AuthInfo {
        self.auth
    }
}

impl<S: Scopes> Deref for RequireAuth<S> {
    type Target = AuthInfo;
    fn deref(&self) -> &AuthInfo {
        &self.auth
    }
}

fn authorization(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| AuthError::InvalidFormat),
        (Some(_), Some(_)) => Err(AuthError::InvalidFormat),
    }
}

async fn authenticate(headers: &HeaderMap, validator: &Validator) -> Result<AuthInfo, AuthError> {
    let token = extract_bearer(authorization(headers)?)?;
    validator.validate(token).await
}

impl<St, S> FromRequestParts<St> for RequireAuth<S>
where
    Validator: FromRef<St>,
    St: Send + Sync,
    S: Scopes,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, AuthError> {
        let auth = match parts.extensions.get::<AuthInfo>() {
            Some(auth) => auth.clone(),
            None => {
                let validator = Validator::from_ref(state);
                let auth = authenticate(&parts.headers, &validator).await?;
                parts.extensions.insert(auth.clone());
                auth
            }
        };
        if !satisfied(S::MATCH, S::SCOPES, auth.scopes()) {
            return Err(AuthError::InsufficientScope(S::requirement()));
        }
        Ok(RequireAuth {
            auth,
            _scopes: PhantomData,
        })
    }
}

/// Reads the [`AuthInfo`] an [`AuthLayer`] (or an earlier [`RequireAuth`])
/// stored in the request. Without one, answers 500: that is a routing bug.
impl<St: Send + Sync> FromRequestParts<St> for AuthInfo {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, AuthError> {
        parts
            .extensions
            .get::<AuthInfo>()
            .cloned()
            .ok_or(AuthError::MissingLayer)
    }
}

/// Tower layer that validates every request of the wrapped routes and
/// stores the [`AuthInfo`] in the request extensions (extract it with
/// `AuthInfo` or [`RequireAuth`]). Failed requests are answered by the
/// layer and never reach the handler.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use logto_api_auth::{AuthInfo, AuthLayer, ScopeRequirement, Validator};
///
/// async fn handler(auth: AuthInfo) -> String {
///     format!("{:?}", auth.organization_id())
/// }
/// # fn app(org_validator: Validator) -> Router {
/// Router::new()
///     .route("/projects", get(handler))
///     .route_layer(
///         AuthLayer::new(org_validator).require(ScopeRequirement::all_of(["read:projects"])),
///     )
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    validator: Validator,
    scopes: Arc<ScopeRequirement>,
}

impl AuthLayer {
    /// Validates with `validator` (and its required scopes).
    #[must_use]
    pub fn new(validator: Validator) -> AuthLayer {
        AuthLayer {
            validator,
            scopes: Arc::new(ScopeRequirement::none()),
        }
    }

    /// Also requires `scopes`.
    #[must_use]
    pub fn require(mut self, scopes: ScopeRequirement) -> AuthLayer {
        self.scopes = Arc::new(scopes);
        self
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            validator: self.validator.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    validator: Validator,
    scopes: Arc<ScopeRequirement>,
}

impl<S> tower::Service<Request> for AuthService<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone is not ready; keep the ready one for this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let result = async {
                let auth = authenticate(&parts.headers, &validator).await?;
                auth.require(&scopes)?;
                Ok::<_, AuthError>(auth)
            }
            .await;
            match result {
                Ok(auth) => {
                    parts.extensions.insert(auth);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(e) => Ok(e.into_response()),
            }
        })
    }
}
