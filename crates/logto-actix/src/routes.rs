//! The ready-made routes of [`Logto::configure`](crate::Logto::configure).
//!
//! The rules are logto-axum's: `return_to` kept per pending sign-in (one per tab), only local
//! paths, the session id renewed when a sign-in completes, sign-outs from other sites refused.
//! The few small checks below (`is_local_path`, `state_of`, `from_another_site`) are
//! logto-axum's, which keeps them private.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use logto::{DirectSignIn, FirstScreen, InteractionMode, SignInOptions};
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Rejection, escape_html, private, redirect};
use crate::extract::Auth;
use crate::middleware::write_back;

/// The session key of the pages to land on after the pending sign-ins: `[state, path]` pairs,
/// oldest first, one per sign-in started with a `return_to` (one per tab).
const RETURN_TO: &str = "logto.return_to";

/// As many as the client keeps pending sign-ins.
const MAX_RETURN_TO: usize = 8;

/// The `state` parameter of a URL.
fn state_of(url: &str) -> Option<String> {
    Url::parse(url).ok().and_then(|url| {
        url.query_pairs()
            .find(|(name, _)| name == "state")
            .map(|(_, value)| value.into_owned())
    })
}

/// Whether `path` is a path on this site (`/…`, not `//host` or `/\host`), safe to redirect to.
pub(crate) fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control())
}

/// The query of `GET /sign-in`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInQuery {
    interaction_mode: Option<String>,
    first_screen: Option<String>,
    direct_sign_in: Option<String>,
    login_hint: Option<String>,
    organization_id: Option<String>,
    return_to: Option<String>,
}

impl SignInQuery {
    fn options(self, redirect_uri: String) -> Result<SignInOptions, Error> {
        let mut options = SignInOptions::new(redirect_uri);
        if let Some(mode) = non_empty(self.interaction_mode) {
            options = options.interaction_mode(match mode.as_str() {
                "signIn" | "sign_in" | "signin" => InteractionMode::SignIn,
                "signUp" | "sign_up" | "signup" => InteractionMode::SignUp,
                other => {
                    return Err(Error::BadRequest(format!(
                        "interaction_mode {other:?} must be `signIn` or `signUp`"
                    )));
                }
            });
        }
        if let Some(screen) = non_empty(self.first_screen) {
            options = options.first_screen(match screen.as_str() {
                "sign_in" => FirstScreen::SignIn,
                "register" => FirstScreen::Register,
                "reset_password" => FirstScreen::ResetPassword,
                "identifier:sign_in" => FirstScreen::IdentifierSignIn,
                "identifier:register" => FirstScreen::IdentifierRegister,
                "single_sign_on" => FirstScreen::SingleSignOn,
                other => {
                    return Err(Error::BadRequest(format!(
                        "first_screen {other:?} must be one of sign_in, register, reset_password, \
                         identifier:sign_in, identifier:register, single_sign_on"
                    )));
                }
            });
        }
        if let Some(target) = non_empty(self.direct_sign_in) {
            let target =
                DirectSignIn::parse(&target).map_err(|e| Error::BadRequest(e.to_string()))?;
            options = options.direct_sign_in(target);
        }
        if let Some(hint) = non_empty(self.login_hint) {
            options = options.login_hint(hint);
        }
        if let Some(organization_id) = non_empty(self.organization_id) {
            options = options.organization_id(organization_id);
        }
        Ok(options)
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn session_error(error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Session(Box::new(error))
}

/// The `[state, path]` pairs of the pending sign-ins.
fn pages_of(auth: &Auth) -> Vec<(String, String)> {
    auth.session()
        .get(RETURN_TO)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// `GET /sign-in`: starts a sign-in and redirects to Logto.
pub(crate) async fn sign_in(auth: Auth, request: HttpRequest) -> Result<HttpResponse, Rejection> {
    let query = web::Query::<SignInQuery>::from_query(request.query_string())
        .map_err(|e| auth.reject(Error::BadRequest(e.to_string())))?
        .into_inner();
    let return_to = query.return_to.clone().filter(|path| is_local_path(path));
    let options = query
        .options(auth.logto().callback_url())
        .map_err(|e| auth.reject(e))?;
    let url = auth
        .sign_in_with(options)
        .await
        .map_err(|e| auth.reject(e))?;
    if let (Some(path), Some(state)) = (return_to, state_of(&url)) {
        let mut pages = pages_of(&auth);
        pages.push((state, path));
        let excess = pages.len().saturating_sub(MAX_RETURN_TO);
        pages.drain(..excess);
        auth.session()
            .insert(RETURN_TO, pages)
            .map_err(|e| auth.reject(session_error(e)))?;
    }
    Ok(private(redirect(&url)))
}

/// `GET /callback`: completes the sign-in, renews the session id and redirects into the app.
pub(crate) async fn callback(auth: Auth, request: HttpRequest) -> Result<HttpResponse, Rejection> {
    let logto = auth.logto().clone();
    let callback_url = match request.query_string() {
        "" => logto.callback_url(),
        query => format!("{}?{query}", logto.callback_url()),
    };
    let state = state_of(&callback_url);
    // A failed callback is not a reason to sign in again right away: show the error page.
    let failed = |error: logto::LogtoError| {
        let mut rejection = auth.reject(error);
        if rejection.error.needs_sign_in() {
            rejection.error = Error::BadRequest(
                "no sign-in is pending in this browser session (it expired, was already \
                 completed, or cookies are blocked): start the sign-in again"
                    .into(),
            );
        }
        rejection.sign_in = logto.local(logto.sign_in_path());
        rejection
    };
    auth.handle_sign_in_callback(&callback_url)
        .await
        .map_err(failed)?;
    // So that Logto's back-channel logout of this Logto session (or user) finds this session.
    let claims = auth
        .get_id_token_claims()
        .await
        .map_err(|e| auth.reject(e))?;
    if let Some(tokens_ref) = auth.storage().tokens_ref() {
        let (store, ttl) = auth.storage().tokens();
        crate::back_channel::index_session(
            store,
            claims.sid.as_deref(),
            &claims.sub,
            &tokens_ref,
            ttl,
        )
        .await
        .map_err(|e| auth.reject(Error::Session(e)))?;
    }

    // A new session id for the signed-in session: an id planted before sign-in is worthless.
    let session = auth.session();
    session.renew();
    // The page this tab's sign-in asked for; the other tabs' stay for their callbacks.
    let mut pages = pages_of(&auth);
    let page = pages
        .iter()
        .position(|(s, _)| Some(s) == state.as_ref())
        .map(|index| pages.remove(index).1);
    if pages.is_empty() {
        session.remove(RETURN_TO);
    } else {
        session
            .insert(RETURN_TO, pages)
            .map_err(|e| auth.reject(session_error(e)))?;
    }
    let target = page
        .filter(|path| is_local_path(path))
        .unwrap_or_else(|| logto.local(&logto.inner.post_sign_in_redirect));
    Ok(private(redirect(&target)))
}

/// `GET|POST /sign-out`: clears the session and redirects to Logto's sign-out; refuses a request
/// from another site (see [`from_another_site`]) with a page whose button signs out.
pub(crate) async fn sign_out(auth: Auth, request: HttpRequest) -> Result<HttpResponse, Rejection> {
    if from_another_site(request.headers(), &auth.logto().inner.base_url) {
        return Ok(confirm_sign_out(&auth));
    }
    let url = auth
        .sign_out(Some(&auth.logto().post_sign_out_url()))
        .await
        .map_err(|e| auth.reject(e))?;
    // Nothing of the client's to write back: the whole session goes.
    write_back(&auth, auth.session());
    auth.session().purge();
    Ok(private(redirect(&url)))
}

/// Whether a request was sent by a page of another site: by `Sec-Fetch-Site` (only
/// `same-origin` and `none` pass), else `Origin`, else `Referer` (their origin must be the base
/// URL's); with none of them (scripts, `curl`), the request passes.
pub(crate) fn from_another_site(headers: &HeaderMap, base_url: &Url) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("").trim().to_ascii_lowercase();
        return !matches!(site.as_str(), "same-origin" | "none");
    }
    let own = base_url.origin();
    let same_origin = |value: &HeaderValue| {
        value
            .to_str()
            .ok()
            .and_then(|value| Url::parse(value.trim()).ok())
            .is_some_and(|url| url.origin() == own)
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return !same_origin(origin);
    }
    if let Some(referer) = headers.get(header::REFERER) {
        return !same_origin(referer);
    }
    false
}

/// The answer to a sign-out from another site: `403`, with a page whose button signs out
/// (a same-origin POST), or `{"error": "cross_site_request"}` for JSON.
fn confirm_sign_out(auth: &Auth) -> HttpResponse {
    let message = "This sign-out request came from another site, so you are still signed in. \
                   Sign out here if you meant to.";
    tracing::debug!("logto-actix refused a sign-out from another site");
    let mut response = if auth.wants_json() {
        let body = serde_json::json!({ "error": "cross_site_request", "message": message });
        HttpResponse::build(StatusCode::FORBIDDEN).json(body)
    } else {
        let logto = auth.logto();
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign out?</title></head>\
             <body><h1>Sign out?</h1><p id=\"error\" data-code=\"cross_site_request\">{message}</p>\
             <form method=\"post\" action=\"{action}\"><button id=\"sign-out\" type=\"submit\">Sign out</button></form>\
             <p><a href=\"{home}\">Home</a></p></body></html>\n",
            action = escape_html(&logto.local(logto.sign_out_path())),
            home = escape_html(&logto.local("/")),
        );
        HttpResponse::build(StatusCode::FORBIDDEN)
            .content_type("text/html; charset=utf-8")
            .body(page)
    };
    // Not `no-referrer`: the form's POST then carries `Origin: null`, refused by browsers
    // without `Sec-Fetch-Site`.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_from_other_sites_are_told_apart() {
        let base = Url::parse("https://app.test/shop/").unwrap();
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(
                    header::HeaderName::from_static(name),
                    value.parse().unwrap(),
                );
            }
            headers
        };
        for same in [
            &[][..],
            &[("sec-fetch-site", "same-origin")],
            &[("sec-fetch-site", "none")],
            &[("origin", "https://app.test")],
            &[("referer", "https://app.test/shop/orders")],
        ] {
            assert!(!from_another_site(&headers(same), &base), "{same:?}");
        }
        for other in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")],
            &[("origin", "null")],
            &[("origin", "http://app.test")],
            &[("referer", "https://evil.test/https://app.test/")],
        ] {
            assert!(from_another_site(&headers(other), &base), "{other:?}");
        }
    }

    #[test]
    fn local_paths_only() {
        for ok in ["/", "/protected?x=1", "/a/b#c"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "protected",
            "//evil.test",
            "/\\evil.test",
            "https://evil.test",
            "/a\nb",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
