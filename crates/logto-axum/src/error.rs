//! The crate's [`Error`] and the [`Rejection`] response built from it.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use logto::LogtoError;
use logto::web::{Answer, ErrorFacts, PRIVATE_HEADERS, answer};

use crate::BoxError;

/// Everything that can go wrong in the axum integration. Messages say what to do and never
/// contain tokens or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`LogtoBuilder`](crate::LogtoBuilder) setting cannot be used.
    #[error("invalid logto-axum configuration: {0}")]
    InvalidConfig(String),

    /// An extractor or route ran without [`Logto::layer`](crate::Logto::layer) on the app.
    #[error(
        "the Logto middleware is missing: add `.layer(logto.layer(store))` to the router, after the routes that use it"
    )]
    MissingLayer,

    /// A request to the sign-in route has a parameter that cannot be used.
    #[error("bad request: {0}")]
    BadRequest(String),

    /// The session store failed (for Redis: unreachable, or a broken record).
    #[error("the session store failed: {0}; check that it is reachable")]
    Session(#[source] BoxError),

    /// The Logto client failed; [`LogtoError::needs_sign_in`] tells whether signing in again helps.
    #[error(transparent)]
    Logto(#[from] LogtoError),
}

impl From<tower_sessions::session::Error> for Error {
    fn from(error: tower_sessions::session::Error) -> Self {
        Error::Session(Box::new(error))
    }
}

/// An [`Error`] a handler returned, in its response until [`Logto::layer`](crate::Logto::layer)
/// renders it for the request (see `impl IntoResponse for Error`).
#[derive(Clone)]
pub(crate) struct Unrendered(Arc<Mutex<Option<Error>>>);

impl Unrendered {
    /// The error, taken out (once).
    pub(crate) fn take(&self) -> Option<Error> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// So that handlers can use `?`: an `Error` returned from a handler under
/// [`Logto::layer`](crate::Logto::layer) becomes the [`Rejection`] for that request, in the form
/// it asked for (JSON or HTML), and "sign in again" sends a browser to sign-in and back to the
/// page it asked for. Outside the layer it is a plain-text answer with the error's status.
///
/// ```
/// use logto_axum::{Auth, Error};
///
/// async fn shopping_token(auth: Auth) -> Result<String, Error> {
///     Ok(auth.get_access_token("https://shopping.your-app.com/api").await?)
/// }
/// ```
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = private((self.status(), self.to_string()).into_response());
        response
            .extensions_mut()
            .insert(Unrendered(Arc::new(Mutex::new(Some(self)))));
        response
    }
}

impl Error {
    /// True when the visitor has to sign in (again) to go on.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Error::Logto(error) if error.needs_sign_in())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::InvalidConfig(_) | Error::MissingLayer | Error::Session(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Logto(error) => StatusCode::from_u16(logto::web::status_of(error))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// A short machine-readable code for JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            _ if self.needs_sign_in() => "not_authenticated",
            Error::InvalidConfig(_) | Error::MissingLayer => "server_misconfigured",
            Error::BadRequest(_) => "bad_request",
            Error::Session(_) => "session_store_failed",
            Error::Logto(error) => logto::web::code_of(error),
        }
    }
}

/// An [`Error`] as a response, in the form the client asked for: JSON
/// (`{"error": code, "message": …}`) when it accepts `application/json` and not HTML, otherwise an
/// HTML page. "Not authenticated" is `401 {"error": "not_authenticated"}` for JSON and a redirect
/// to the sign-in route (coming back to the page asked for) for HTML.
#[derive(Debug)]
pub struct Rejection {
    pub(crate) error: Error,
    pub(crate) json: bool,
    /// Where "sign in again" leads: the sign-in route, coming back to the page asked for.
    pub(crate) sign_in: String,
    /// The app's home page (under its path prefix).
    pub(crate) home: String,
}

impl Rejection {
    /// The error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error, taken out.
    pub fn into_error(self) -> Error {
        self.error
    }

    pub(crate) fn bare(error: Error, headers: &HeaderMap) -> Self {
        Rejection {
            error,
            json: wants_json(headers),
            sign_in: "/sign-in".into(),
            home: "/".into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let retry_after = match &self.error {
            Error::Logto(LogtoError::Unavailable { retry_after, .. }) => {
                Some(retry_after.as_secs().max(1))
            }
            _ => None,
        };
        let mut response = private(self.response());
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `response` marked never to be cached (`Cache-Control: no-store`) and to send no `Referer` on
/// (`Referrer-Policy: no-referrer`): the routes' URLs carry the code and state of a sign-in, and
/// error pages may show them.
pub(crate) fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in PRIVATE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

impl Rejection {
    fn response(self) -> Response {
        let status = self.error.status();
        if status.is_server_error() {
            tracing::error!(error = %self.error, "logto-axum request failed");
        } else {
            tracing::debug!(error = %self.error, "logto-axum request refused");
        }
        let message = self.error.to_string();
        let facts = ErrorFacts {
            needs_sign_in: self.error.needs_sign_in(),
            status: status.as_u16(),
            code: self.error.code(),
            message: &message,
        };
        let code =
            |status: u16| StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match answer(&facts, self.json, &self.sign_in, &self.home) {
            Answer::Redirect { location } => Redirect::to(&location).into_response(),
            Answer::Json { status, body } => (code(status), Json(body)).into_response(),
            Answer::Html { status, page } => (code(status), Html(page)).into_response(),
            _ => status.into_response(),
        }
    }
}

/// Whether the client prefers JSON: it accepts `application/json` (or `+json`) and not HTML.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    logto::web::wants_json(
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn json_only_when_asked_without_html() {
        assert!(wants_json(&accept("application/json")));
        assert!(wants_json(&accept("application/problem+json, */*;q=0.1")));
        assert!(!wants_json(&accept(
            "text/html,application/xhtml+xml,application/json;q=0.9"
        )));
        assert!(!wants_json(&accept("*/*")));
        assert!(!wants_json(&HeaderMap::new()));
    }

    #[test]
    fn statuses_and_codes() {
        let not_signed_in = Error::Logto(LogtoError::NotAuthenticated);
        assert_eq!(not_signed_in.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(not_signed_in.code(), "not_authenticated");
        let state = Error::Logto(LogtoError::StateMismatch);
        assert_eq!(state.status(), StatusCode::BAD_REQUEST);
        assert_eq!(state.code(), "invalid_callback");
        let denied = Error::Logto(LogtoError::OrganizationAccessDenied {
            organization_id: "o".into(),
        });
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_backing_off_client_answers_503_with_retry_after() {
        let rejection = Rejection {
            error: Error::Logto(LogtoError::Unavailable {
                operation: "token request",
                retry_after: std::time::Duration::from_millis(2500),
            }),
            json: true,
            sign_in: "/sign-in".into(),
            home: "/".into(),
        };
        assert_eq!(rejection.error.code(), "logto_unavailable");
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
