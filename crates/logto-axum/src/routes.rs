//! The ready-made routes of [`Logto::router`](crate::Logto::router).

use axum::Json;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use logto::web;
use url::Url;

use crate::error::{Error, Rejection, private};
use crate::extract::Auth;

/// The session key of the pages to land on after the pending sign-ins: `[state, path]` pairs,
/// oldest first, one per sign-in started with a `return_to` (one per tab).
pub(crate) const RETURN_TO: &str = "logto_axum.return_to";

/// `GET /sign-in`: starts a sign-in and redirects to Logto.
pub(crate) async fn sign_in(
    auth: Auth,
    query: Result<Query<web::SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Rejection> {
    let Query(query) = query.map_err(|e| auth.reject(Error::BadRequest(e.body_text())))?;
    let return_to = query.return_to(auth.logto().site());
    let options = query
        .options(auth.logto().callback_url())
        .map_err(|e| auth.reject(Error::BadRequest(web::message_of(e))))?;
    let url = auth
        .sign_in_with(options)
        .await
        .map_err(|e| auth.reject(e))?;
    if let (Some(path), Some(state)) = (return_to, web::state_of(&url)) {
        let session = auth.session();
        let mut pages: Vec<(String, String)> = session
            .get(RETURN_TO)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        web::remember_return_to(&mut pages, state, path);
        session
            .insert(RETURN_TO, pages)
            .await
            .map_err(|e| auth.reject(e))?;
    }
    Ok(private(Redirect::to(&url).into_response()))
}

/// `GET /callback`: completes the sign-in, renews the session id and redirects into the app.
pub(crate) async fn callback(auth: Auth, RawQuery(query): RawQuery) -> Result<Response, Rejection> {
    let logto = auth.logto().clone();
    let callback_url = match query {
        Some(query) => format!("{}?{query}", logto.callback_url()),
        None => logto.callback_url(),
    };
    let state = web::state_of(&callback_url);
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
        .map_err(|e| auth.reject(crate::error::Error::Session(e)))?;

    // A new session id for the signed-in session: an id planted before sign-in is worthless.
    let session = auth.session();
    session.cycle_id().await.map_err(|e| auth.reject(e))?;
    // The page this tab's sign-in asked for; the other tabs' stay for their callbacks.
    let mut pages: Vec<(String, String)> = session
        .get(RETURN_TO)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let page = web::take_return_to(&mut pages, state.as_deref());
    let kept = if pages.is_empty() {
        session.remove_value(RETURN_TO).await.map(drop)
    } else {
        session.insert(RETURN_TO, pages).await
    };
    kept.map_err(|e| auth.reject(e))?;
    let target = page.unwrap_or_else(|| {
        logto
            .site()
            .local(&logto.inner.site.paths().post_sign_in_redirect)
    });
    Ok(private(Redirect::to(&target).into_response()))
}

/// `GET|POST /sign-out`: clears the session and redirects to Logto's sign-out; refuses a request
/// from another site (see [`from_another_site`]) with a page whose button signs out.
pub(crate) async fn sign_out(auth: Auth, headers: HeaderMap) -> Result<Response, Rejection> {
    if from_another_site(&headers, auth.logto().inner.site.base_url()) {
        return Ok(confirm_sign_out(&auth));
    }
    let url = auth
        .sign_out(Some(&auth.logto().post_sign_out_url()))
        .await
        .map_err(|e| auth.reject(e))?;
    auth.session().flush().await.map_err(|e| auth.reject(e))?;
    Ok(private(Redirect::to(&url).into_response()))
}

/// Whether a request was sent by a page of another site: [`logto::web::from_another_site`] on
/// its `Sec-Fetch-Site`, `Origin` and `Referer` headers.
pub(crate) fn from_another_site(headers: &HeaderMap, base_url: &Url) -> bool {
    let text = |name| {
        headers
            .get(name)
            .map(|value: &HeaderValue| value.to_str().unwrap_or(""))
    };
    web::from_another_site(
        text(header::HeaderName::from_static("sec-fetch-site")),
        text(header::ORIGIN),
        text(header::REFERER),
        base_url,
    )
}

/// The answer to a sign-out from another site: `403`, with a page whose button signs out
/// (a same-origin POST), or `{"error": "cross_site_request"}` for JSON.
fn confirm_sign_out(auth: &Auth) -> Response {
    let message = web::CROSS_SITE_SIGN_OUT;
    tracing::debug!("logto-axum refused a sign-out from another site");
    let mut response = if auth.wants_json() {
        let body = serde_json::json!({ "error": "cross_site_request", "message": message });
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    } else {
        let logto = auth.logto();
        let page = web::confirm_sign_out_page(
            &logto.site().local(logto.sign_out_path()),
            &logto.site().local("/"),
        );
        (StatusCode::FORBIDDEN, Html(page)).into_response()
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
                headers.insert(*name, value.parse().unwrap());
            }
            headers
        };
        for same in [
            &[][..],
            &[("sec-fetch-site", "same-origin")],
            &[("sec-fetch-site", "none")],
            &[
                ("sec-fetch-site", "Same-Origin"),
                ("origin", "https://evil.test"),
            ],
            &[("origin", "https://app.test")],
            &[("referer", "https://app.test/shop/orders")],
            &[
                ("origin", "https://app.test:443"),
                ("referer", "https://evil.test/"),
            ],
        ] {
            assert!(!from_another_site(&headers(same), &base), "{same:?}");
        }
        for other in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")],
            &[
                ("sec-fetch-site", "cross-site"),
                ("referer", "https://app.test/"),
            ],
            &[("origin", "null")],
            &[("origin", "http://app.test")],
            &[("origin", "https://app.test.evil.test")],
            &[("referer", "https://evil.test/https://app.test/")],
            &[("referer", "not a url")],
        ] {
            assert!(from_another_site(&headers(other), &base), "{other:?}");
        }
    }
}
