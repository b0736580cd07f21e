//! The crate's [`Error`] and the [`Rejection`] response built from it.
//!
//! The statuses, codes and pages are those of logto-axum, so that the two integrations answer
//! alike.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use logto::LogtoError;
use logto::web::{Answer, ErrorFacts, PRIVATE_HEADERS, answer};

use crate::BoxError;

/// Everything that can go wrong in the actix-web integration. Messages say what to do and never
/// contain tokens or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`LogtoBuilder`](crate::LogtoBuilder) setting cannot be used.
    #[error("invalid logto-actix configuration: {0}")]
    InvalidConfig(String),

    /// An extractor or route ran without [`Logto::middleware`](crate::Logto::middleware) on the
    /// app.
    #[error(
        "the Logto middleware is missing: add `.wrap(logto.middleware(store))` to the App that \
         serves the routes"
    )]
    MissingMiddleware,

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

impl Error {
    /// True when the visitor has to sign in (again) to go on.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Error::Logto(error) if error.needs_sign_in())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::InvalidConfig(_) | Error::MissingMiddleware | Error::Session(_) => {
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
            Error::InvalidConfig(_) | Error::MissingMiddleware => "server_misconfigured",
            Error::BadRequest(_) => "bad_request",
            Error::Session(_) => "session_store_failed",
            Error::Logto(error) => logto::web::code_of(error),
        }
    }
}

/// An [`Error`] as a response, in the form the client asked for: JSON
/// (`{"error": code, "message": …}`) when it accepts `application/json` and not HTML, otherwise an
/// HTML page. "Not authenticated" is `401 {"error": "not_authenticated"}` for JSON and a redirect
/// to the sign-in route (coming back to the page asked for) for HTML. Every answer carries
/// `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
#[derive(Debug)]
pub struct Rejection {
    pub(crate) error: Error,
    pub(crate) json: bool,
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

/// Marks a response private: not cached (`Cache-Control: no-store`), its URL not leaked to other
/// sites (`Referrer-Policy: no-referrer`).
pub(crate) fn private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    for (name, value) in PRIVATE_HEADERS {
        headers.insert(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// A `303 See Other` to `location`.
pub(crate) fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        if self.error.needs_sign_in() && !self.json {
            StatusCode::SEE_OTHER
        } else {
            self.error.status()
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.error.status();
        if status.is_server_error() {
            tracing::error!(error = %self.error, "logto-actix request failed");
        } else {
            tracing::debug!(error = %self.error, "logto-actix request refused");
        }
        let mut response = private(self.response(status));
        if let Error::Logto(LogtoError::Unavailable { retry_after, .. }) = &self.error {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        response
    }
}

impl Rejection {
    fn response(&self, status: StatusCode) -> HttpResponse {
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
            Answer::Redirect { location } => redirect(&location),
            Answer::Json { status, body } => HttpResponse::build(code(status)).json(body),
            Answer::Html { status, page } => HttpResponse::build(code(status))
                .content_type("text/html; charset=utf-8")
                .body(page),
            _ => HttpResponse::build(status).finish(),
        }
    }
}

/// Whether the client prefers JSON: it accepts `application/json` (or `+json`) and not HTML.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    logto::web::wants_json(
        headers
            .get_all(header::ACCEPT)
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
    fn answers_in_the_form_asked_for() {
        let signed_out = |json| Rejection {
            error: Error::Logto(LogtoError::NotAuthenticated),
            json,
            sign_in: "/sign-in?return_to=%2Fp".into(),
            home: "/".into(),
        };
        let response = signed_out(true).error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        let response = signed_out(false).error_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "/sign-in?return_to=%2Fp"
        );
        let state = Rejection {
            error: Error::Logto(LogtoError::StateMismatch),
            json: false,
            sign_in: "/sign-in".into(),
            home: "/".into(),
        };
        assert_eq!(state.error.code(), "invalid_callback");
        assert_eq!(state.error_response().status(), StatusCode::BAD_REQUEST);
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
        let response = rejection.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }
}
