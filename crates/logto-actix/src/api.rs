//! API protection: Logto access tokens checked by [`logto_api_auth::Validator`], for actix-web.
//!
//! - [`RequireAuth`]: an extractor giving the verified token's [`AuthInfo`], with the scopes of a
//!   type ([`Scopes`]) required. The [`Validator`] comes from the app data
//!   (`App::app_data(web::Data::new(validator))` or `App::app_data(validator)`).
//! - [`ApiAuth`]: a middleware that validates every request of what it wraps (a scope, a resource,
//!   the whole app), with its own validator and required scopes; the handlers read the result with
//!   [`RequireAuth`].
//! - [`ApiError`]: an [`AuthError`] as an actix response: the same status, `WWW-Authenticate`
//!   (RFC 6750) and `{"code", "message"}` body as logto-api-auth's axum support.
//!
//! Verified tokens are cached by the validator (until they expire), so a hot token costs one
//! hash-map lookup.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use logto_actix::api::{RequireAuth, Scopes};
//! use logto_api_auth::Validator;
//!
//! struct ReadItems;
//! impl Scopes for ReadItems {
//!     const SCOPES: &'static [&'static str] = &["read:items"];
//! }
//!
//! async fn items(auth: RequireAuth<ReadItems>) -> web::Json<Vec<String>> {
//!     web::Json(vec![format!("items of {:?}", auth.subject())])
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Validator::builder("https://tenant.logto.app")
//!     .resource("https://api.example.com")
//!     .build()
//!     .await?;
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(web::Data::new(validator.clone()))
//!         .route("/items", web::get().to(items))
//! })
//! .bind(("127.0.0.1", 3000))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE,
};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use logto_api_auth::{AuthError, AuthInfo, ScopeRequirement, Validator, extract_bearer};

/// The scopes a [`RequireAuth`] requires, declared on a type (logto-api-auth's, shared with its
/// axum support).
pub use logto_api_auth::{NoScopes, Scopes};

/// An [`AuthError`] as an actix-web error: status `401`/`403`/`503`…, `WWW-Authenticate`
/// (RFC 6750), `Cache-Control: no-store` and `{"code", "message"}` with a generic message; the
/// detailed reason is logged at debug level, never sent.
///
/// `?` on an [`AuthError`] (say, from [`AuthInfo::require_organization`]) in a handler returning
/// `Result<_, ApiError>` converts it.
///
/// ```
/// use actix_web::ResponseError;
/// use logto_actix::api::ApiError;
/// use logto_api_auth::AuthError;
///
/// let response = ApiError::from(AuthError::HeaderMissing).error_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers().get("www-authenticate").unwrap(), "Bearer");
/// ```
#[derive(Debug, Clone)]
pub struct ApiError(pub AuthError);

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError(error)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let error = &self.0;
        if error.status() >= 500 {
            tracing::warn!(%error, "authentication unavailable");
        } else {
            tracing::debug!(%error, "request rejected");
        }
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(value) = error
            .www_authenticate()
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response.insert_header((WWW_AUTHENTICATE, value));
        }
        response.body(error.body_json())
    }
}

/// Extractor that requires a valid access token with the scopes of `S`; derefs to [`AuthInfo`].
///
/// Behind an [`ApiAuth`] middleware, the middleware's result is used (validated with its
/// validator) and only the scopes of `S` are checked. Otherwise the token is validated with the
/// [`Validator`] of the app data (`web::Data<Validator>` or `Validator`). Rejections are
/// [`ApiError`]s.
///
/// ```
/// use actix_web::web;
/// use logto_actix::api::RequireAuth;
///
/// async fn me(auth: RequireAuth) -> web::Json<Option<String>> {
///     web::Json(auth.subject().map(str::to_owned))
/// }
/// ```
pub struct RequireAuth<S: Scopes = NoScopes> {
    auth: AuthInfo,
    _scopes: PhantomData<fn() -> S>,
}

impl<S: Scopes> fmt::Debug for RequireAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// The `Authorization` header: none, one, or `InvalidFormat` for two or a non-text value.
fn authorization(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION);
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| AuthError::InvalidFormat),
        (Some(_), Some(_)) => Err(AuthError::InvalidFormat),
    }
}

/// The validator of the app data, as `web::Data<Validator>` or `Validator`.
fn validator_of(request: &HttpRequest) -> Result<Validator, AuthError> {
    request
        .app_data::<web::Data<Validator>>()
        .map(|data| data.get_ref().clone())
        .or_else(|| request.app_data::<Validator>().cloned())
        .ok_or(AuthError::MissingLayer)
}

impl<S: Scopes> FromRequest for RequireAuth<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let cached = request.extensions().get::<AuthInfo>().cloned();
            let auth = match cached {
                Some(auth) => auth,
                None => {
                    let validator = validator_of(&request)?;
                    let token = extract_bearer(authorization(request.headers())?)?;
                    let auth = validator.validate(token).await?;
                    request.extensions_mut().insert(auth.clone());
                    auth
                }
            };
            if !S::requirement().is_satisfied_by(auth.scopes()) {
                return Err(AuthError::InsufficientScope(S::requirement()).into());
            }
            Ok(RequireAuth {
                auth,
                _scopes: PhantomData,
            })
        })
    }
}

/// Middleware that validates every request of what it wraps with its [`Validator`] (and
/// required scopes), and keeps the [`AuthInfo`] for the handler's [`RequireAuth`]. A failed
/// request is answered with an [`ApiError`] and never reaches the handler.
///
/// ```no_run
/// use actix_web::{App, web};
/// use logto_actix::api::{ApiAuth, RequireAuth};
/// use logto_api_auth::{ExpectedAudience, ScopeRequirement, Validator};
///
/// async fn projects(auth: RequireAuth) -> String {
///     format!("{:?}", auth.organization_id())
/// }
/// # fn app(validator: Validator) {
/// let organizations = validator.with_audience(ExpectedAudience::AnyOrganization);
/// App::new().service(
///     web::resource("/projects")
///         .wrap(ApiAuth::new(organizations).require(ScopeRequirement::all_of(["read:projects"])))
///         .route(web::get().to(projects)),
/// );
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApiAuth {
    validator: Validator,
    scopes: Arc<ScopeRequirement>,
}

impl ApiAuth {
    /// Validates with `validator` (and its required scopes).
    #[must_use]
    pub fn new(validator: Validator) -> ApiAuth {
        ApiAuth {
            validator,
            scopes: Arc::new(ScopeRequirement::none()),
        }
    }

    /// Also requires `scopes`.
    #[must_use]
    pub fn require(mut self, scopes: ScopeRequirement) -> ApiAuth {
        self.scopes = Arc::new(scopes);
        self
    }
}

impl<Svc, B> Transform<Svc, ServiceRequest> for ApiAuth
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ApiAuthService<Svc>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(ApiAuthService {
            inner: Rc::new(service),
            validator: self.validator.clone(),
            scopes: self.scopes.clone(),
        }))
    }
}

/// The service of [`ApiAuth`].
pub struct ApiAuthService<Svc> {
    inner: Rc<Svc>,
    validator: Validator,
    scopes: Arc<ScopeRequirement>,
}

impl<Svc> fmt::Debug for ApiAuthService<Svc> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiAuthService")
            .field("validator", &self.validator)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl<Svc, B> Service<ServiceRequest> for ApiAuthService<Svc>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_web::dev::forward_ready!(inner);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let inner = self.inner.clone();
        let validator = self.validator.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let result = async {
                let token = extract_bearer(authorization(request.headers())?)?;
                let auth = validator.validate(token).await?;
                auth.require(&scopes)?;
                Ok::<_, AuthError>(auth)
            }
            .await;
            match result {
                Ok(auth) => {
                    request.extensions_mut().insert(auth);
                    Ok(inner.call(request).await?.map_into_left_body())
                }
                Err(error) => {
                    let response = ApiError(error).error_response();
                    Ok(request.into_response(response).map_into_right_body())
                }
            }
        })
    }
}
