//! The ready-made routes of [`Logto::router`](crate::Logto::router).

use axum::extract::{Query, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use logto::{DirectSignIn, FirstScreen, InteractionMode, SignInOptions};
use serde::Deserialize;

use crate::error::{Error, Rejection, private};
use crate::extract::Auth;

/// The session key of the page to land on after the sign-in.
const RETURN_TO: &str = "logto_axum.return_to";

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
    let session = auth.session();
    let stored = match return_to {
        Some(path) => session.insert(RETURN_TO, path).await,
        None => session.remove_value(RETURN_TO).await.map(drop),
    };
    stored.map_err(|e| auth.reject(e))?;
    Ok(private(Redirect::to(&url).into_response()))
}

/// `GET /callback`: completes the sign-in, renews the session id and redirects into the app.
pub(crate) async fn callback(auth: Auth, RawQuery(query): RawQuery) -> Result<Response, Rejection> {
    let logto = auth.logto().clone();
    let callback_url = match query {
        Some(query) => format!("{}?{query}", logto.callback_url()),
        None => logto.callback_url(),
    };
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

    // A new session id for the signed-in session: an id planted before sign-in is worthless.
    let session = auth.session();
    session.cycle_id().await.map_err(|e| auth.reject(e))?;
    let target = session
        .remove::<String>(RETURN_TO)
        .await
        .map_err(|e| auth.reject(e))?
        .filter(|path| is_local_path(path))
        .unwrap_or_else(|| logto.local(&logto.inner.post_sign_in_redirect));
    Ok(private(Redirect::to(&target).into_response()))
}

/// `GET|POST /sign-out`: clears the session and redirects to Logto's sign-out.
pub(crate) async fn sign_out(auth: Auth) -> Result<Response, Rejection> {
    let url = auth
        .sign_out(Some(&auth.logto().post_sign_out_url()))
        .await
        .map_err(|e| auth.reject(e))?;
    auth.session().flush().await.map_err(|e| auth.reject(e))?;
    Ok(private(Redirect::to(&url).into_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
