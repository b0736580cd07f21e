//! The ready-made routes of [`Logto::configure`](crate::Logto::configure).
//!
//! The rules are logto-axum's, from [`logto::web`]: `return_to` kept per pending sign-in (one per
//! tab), only local paths, the session id renewed when a sign-in completes, sign-outs from other
//! sites refused.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use logto::web as rules;
use url::Url;

use crate::error::{Error, Rejection, private, redirect};
use crate::extract::Auth;
use crate::middleware::write_back;

/// The session key of the pages to land on after the pending sign-ins: `[state, path]` pairs,
/// oldest first, one per sign-in started with a `return_to` (one per tab).
pub(crate) const RETURN_TO: &str = "logto.return_to";

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
    let query = web::Query::<rules::SignInQuery>::from_query(request.query_string())
        .map_err(|e| auth.reject(Error::BadRequest(e.to_string())))?
        .into_inner();
    let return_to = query.return_to(auth.logto().site());
    let options = query
        .options(auth.logto().callback_url())
        .map_err(|e| auth.reject(Error::BadRequest(rules::message_of(e))))?;
    let url = auth
        .sign_in_with(options)
        .await
        .map_err(|e| auth.reject(e))?;
    if let (Some(path), Some(state)) = (return_to, rules::state_of(&url)) {
        let mut pages = pages_of(&auth);
        rules::remember_return_to(&mut pages, state, path);
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
    let state = rules::state_of(&callback_url);
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
        rejection
    };
    // A sign-in's tokens never land in a token record a back-channel logout has ended.
    auth.storage().tokens_to_new_record();
    auth.handle_sign_in_callback(&callback_url)
        .await
        .map_err(failed)?;
    // So that Logto's back-channel logout of this Logto session (or user) finds this session,
    // and the session is renewed in time.
    let claims = auth
        .get_id_token_claims()
        .await
        .map_err(|e| auth.reject(e))?;
    auth.storage()
        .record_renewal(claims.sid.as_deref(), &claims.sub)
        .await
        .map_err(|e| auth.reject(Error::Session(e)))?;

    // A new session id for the signed-in session: an id planted before sign-in is worthless.
    let session = auth.session();
    session.renew();
    // The page this tab's sign-in asked for; the other tabs' stay for their callbacks.
    let mut pages = pages_of(&auth);
    let page = rules::take_return_to(&mut pages, state.as_deref());
    if pages.is_empty() {
        session.remove(RETURN_TO);
    } else {
        session
            .insert(RETURN_TO, pages)
            .map_err(|e| auth.reject(session_error(e)))?;
    }
    let target = page.unwrap_or_else(|| {
        logto
            .site()
            .local(&logto.inner.site.paths().post_sign_in_redirect)
    });
    Ok(private(redirect(&target)))
}

/// `GET|POST /sign-out`: clears the session and redirects to Logto's sign-out; refuses a request
/// from another site (see [`from_another_site`]) with a page whose button signs out.
pub(crate) async fn sign_out(auth: Auth, request: HttpRequest) -> Result<HttpResponse, Rejection> {
    if from_another_site(request.headers(), auth.logto().inner.site.base_url()) {
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

/// Whether a request was sent by a page of another site: [`logto::web::from_another_site`] on
/// its `Sec-Fetch-Site`, `Origin` and `Referer` headers.
pub(crate) fn from_another_site(headers: &HeaderMap, base_url: &Url) -> bool {
    let text = |name| {
        headers
            .get(name)
            .map(|value: &HeaderValue| value.to_str().unwrap_or(""))
    };
    rules::from_another_site(
        text(header::HeaderName::from_static("sec-fetch-site")),
        text(header::ORIGIN),
        text(header::REFERER),
        base_url,
    )
}

/// The answer to a sign-out from another site: `403`, with a page whose button signs out
/// (a same-origin POST), or `{"error": "cross_site_request"}` for JSON.
fn confirm_sign_out(auth: &Auth) -> HttpResponse {
    let message = rules::CROSS_SITE_SIGN_OUT;
    tracing::debug!("logto-actix refused a sign-out from another site");
    let mut response = if auth.wants_json() {
        let body = serde_json::json!({ "error": "cross_site_request", "message": message });
        HttpResponse::build(StatusCode::FORBIDDEN).json(body)
    } else {
        let logto = auth.logto();
        let page = rules::confirm_sign_out_page(
            &logto.site().local(logto.sign_out_path()),
            &logto.site().local("/"),
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
}
