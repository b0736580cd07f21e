//! The ready-made routes of [`Logto::router`](crate::Logto::router).

use axum::Json;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use logto::{DirectSignIn, FirstScreen, InteractionMode, SignInOptions};
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Rejection, escape_html, private};
use crate::extract::Auth;

/// The session key of the pages to land on after the pending sign-ins: `[state, path]` pairs,
/// oldest first, one per sign-in started with a `return_to` (one per tab).
const RETURN_TO: &str = "logto_axum.return_to";

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

/// `GET /sign-in`: starts a sign-in and redirects to Logto.
pub(crate) async fn sign_in(
    auth: Auth,
    query: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Rejection> {
    let Query(query) = query.map_err(|e| auth.reject(Error::BadRequest(e.body_text())))?;
    let return_to = query.return_to.clone().filter(|path| is_local_path(path));
    let options = query
        .options(auth.logto().callback_url())
        .map_err(|e| auth.reject(e))?;
    let url = auth
        .sign_in_with(options)
        .await
        .map_err(|e| auth.reject(e))?;
    if let (Some(path), Some(state)) = (return_to, state_of(&url)) {
        let session = auth.session();
        let mut pages: Vec<(String, String)> = session
            .get(RETURN_TO)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        pages.push((state, path));
        let excess = pages.len().saturating_sub(MAX_RETURN_TO);
        pages.drain(..excess);
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
    auth.storage()
        .index_for_back_channel_logout(claims.sid.as_ref().map(String::as_str), &claims.sub)
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
    let page = pages
        .iter()
        .position(|(s, _)| Some(s) == state.as_ref())
        .map(|index| pages.remove(index).1);
    let kept = if pages.is_empty() {
        session.remove_value(RETURN_TO).await.map(drop)
    } else {
        session.insert(RETURN_TO, pages).await
    };
    kept.map_err(|e| auth.reject(e))?;
    let target = page
        .filter(|path| is_local_path(path))
        .unwrap_or_else(|| logto.local(&logto.inner.post_sign_in_redirect));
    Ok(private(Redirect::to(&target).into_response()))
}

/// `GET|POST /sign-out`: clears the session and redirects to Logto's sign-out; refuses a request
/// from another site (see [`from_another_site`]) with a page whose button signs out.
pub(crate) async fn sign_out(auth: Auth, headers: HeaderMap) -> Result<Response, Rejection> {
    if from_another_site(&headers, &auth.logto().inner.base_url) {
        return Ok(confirm_sign_out(&auth));
    }
    let url = auth
        .sign_out(Some(&auth.logto().post_sign_out_url()))
        .await
        .map_err(|e| auth.reject(e))?;
    auth.session().flush().await.map_err(|e| auth.reject(e))?;
    Ok(private(Redirect::to(&url).into_response()))
}

/// Whether a request was sent by a page of another site (a link, image or form there: browsers
/// send the `SameSite=Lax` session cookie on top-level navigations from any site), judged by
///
/// 1. `Sec-Fetch-Site`, which every current browser sends: only `same-origin` (a page of the
///    app) and `none` (a typed URL, a bookmark) pass; `same-site` (a sibling subdomain, possibly
///    someone else's) and `cross-site` do not;
/// 2. without it, `Origin` (sent with POSTs by older browsers): it must be the base URL's origin
///    (`null`, an opaque origin, does not pass);
/// 3. without either, `Referer`: its origin must be the base URL's;
/// 4. with none of them (scripts, `curl`, a page whose referrer policy hides it), the request
///    passes: nothing tells it came from elsewhere.
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
fn confirm_sign_out(auth: &Auth) -> Response {
    let message = "This sign-out request came from another site, so you are still signed in. \
                   Sign out here if you meant to.";
    tracing::debug!("logto-axum refused a sign-out from another site");
    let mut response = if auth.wants_json() {
        let body = serde_json::json!({ "error": "cross_site_request", "message": message });
        (StatusCode::FORBIDDEN, Json(body)).into_response()
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

    #[test]
    fn sign_in_query_is_checked() {
        let query = SignInQuery {
            interaction_mode: Some("signUp".into()),
            direct_sign_in: Some("social:github".into()),
            login_hint: Some("alice@example.com".into()),
            ..Default::default()
        };
        assert!(query.options("http://a.test/callback".into()).is_ok());
        for query in [
            SignInQuery {
                interaction_mode: Some("nope".into()),
                ..Default::default()
            },
            SignInQuery {
                direct_sign_in: Some("github".into()),
                ..Default::default()
            },
            SignInQuery {
                first_screen: Some("nope".into()),
                ..Default::default()
            },
        ] {
            let err = query.options("http://a.test/callback".into()).unwrap_err();
            assert!(matches!(err, Error::BadRequest(_)), "{err}");
        }
    }
}
