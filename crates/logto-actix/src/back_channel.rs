//! Back-Channel Logout (OpenID Connect Back-Channel Logout 1.0): Logto posts a logout token when
//! a user's Logto session ends (a sign-out from any app of that session); every local session
//! signed in through that Logto session (`sid`), or of that user (`sub`), ends, in every process
//! sharing the store.
//!
//! As in logto-axum, the index lives in the token store itself: records whose ids derive from
//! `sid`/`sub` list the token records signed in under them. Ending a session marks its token
//! record as ended, then deletes it; the visitor's next request finds no tokens and is signed
//! out. A request that rewrites the tokens (a refresh or a renewal that read them just before the
//! logout) checks for the mark after its write and deletes the record again, so a logout is never
//! undone: whichever comes second, the mark's check or the deletion, sees the other.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use aws_lc_rs::digest;
use logto::LogtoError;

use crate::BoxError;
use crate::error::private;
use crate::middleware::Bound;
use crate::store::TokenStore;

/// The most sessions one index keeps (the oldest go first).
const MAX_INDEXED: usize = 256;

/// The id of the index record of `kind` (`sid`, `sub`, `jti`) = `value`.
fn index_id(kind: &str, value: &str) -> String {
    let hash = digest::digest(
        &digest::SHA256,
        format!("logto-actix back-channel logout\0{kind}\0{value}").as_bytes(),
    );
    let hex: String = hash.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("bcl-{kind}-{hex}")
}

async fn sessions_of(store: &dyn TokenStore, id: &str) -> Result<Vec<String>, BoxError> {
    Ok(store
        .load(id)
        .await?
        .and_then(|value| serde_json::from_str(&value).ok())
        .unwrap_or_default())
}

/// The id of the record marking token record `tokens_ref` as ended by a back-channel logout.
fn ended_mark(tokens_ref: &str) -> String {
    index_id("ended", tokens_ref)
}

/// Whether a back-channel logout ended token record `tokens_ref` (see the module's docs).
pub(crate) async fn was_ended(store: &dyn TokenStore, tokens_ref: &str) -> Result<bool, BoxError> {
    Ok(store.load(&ended_mark(tokens_ref)).await?.is_some())
}

/// Adds the token record `tokens_ref` to the indexes of `sid` and `sub` (or moves it to their
/// end, as the newest), which expire after `ttl`.
pub(crate) async fn index_session(
    store: &dyn TokenStore,
    sid: Option<&str>,
    sub: &str,
    tokens_ref: &str,
    ttl: Duration,
) -> Result<(), BoxError> {
    let keys = sid
        .map(|sid| ("sid", sid))
        .into_iter()
        .chain([("sub", sub)]);
    for (kind, value) in keys {
        let id = index_id(kind, value);
        let mut sessions = sessions_of(store, &id).await?;
        sessions.retain(|listed| listed != tokens_ref);
        sessions.push(tokens_ref.to_owned());
        let excess = sessions.len().saturating_sub(MAX_INDEXED);
        sessions.drain(..excess);
        store
            .save(&id, &serde_json::to_string(&sessions)?, ttl)
            .await?;
    }
    Ok(())
}

/// `POST /back-channel-logout`.
pub(crate) async fn back_channel_logout(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(bound) = request.extensions().get::<Bound>().cloned() else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            &crate::Error::MissingMiddleware.to_string(),
        );
    };
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    let Some(token) = token else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the logout_token parameter is missing",
        );
    };
    let token = match bound.logto.handle().verify_logout_token(&token).await {
        Ok(token) => token,
        Err(error @ LogtoError::InvalidLogoutToken { .. }) => {
            tracing::warn!(%error, "logto-actix refused a back-channel logout");
            return refuse(StatusCode::BAD_REQUEST, &error.to_string());
        }
        Err(error) => {
            tracing::error!(%error, "a back-channel logout could not be verified");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, &error.to_string());
        }
    };
    match end_sessions(&bound.tokens, &token, bound.logto.inner.session_ttl).await {
        Ok(true) => private(HttpResponse::Ok().finish()),
        Ok(false) => refuse(
            StatusCode::BAD_REQUEST,
            "the logout token was already used (jti)",
        ),
        Err(error) => {
            tracing::error!(%error, "the sessions of a back-channel logout could not be ended");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the session store failed",
            )
        }
    }
}

/// Ends the sessions the token names (the marks of their end kept for `ttl`, as long as a session
/// lives); `false` when its `jti` was seen before.
///
/// It all runs in a task of its own that finishes even when the caller is dropped (Logto's HTTP
/// client gives up after a few seconds and disconnects): the token's `jti` is never recorded with
/// some of its sessions left signed in. When the sessions could not all be ended, the `jti` is
/// forgotten again (best effort), so that Logto's retry of the token is accepted.
async fn end_sessions(
    store: &Arc<dyn TokenStore>,
    token: &logto::LogoutToken,
    ttl: Duration,
) -> Result<bool, BoxError> {
    let (store, token) = (store.clone(), token.clone());
    let ending = async move { end_sessions_once(store.as_ref(), &token, ttl).await };
    // actix-web's workers run tokio runtimes (actix-rt): the task runs on this worker's.
    logto::web::run_to_completion(ending)
        .await
        .unwrap_or_else(|| {
            Err("the back-channel logout was cancelled: the tokio runtime is shutting down".into())
        })
}

/// [`end_sessions`], in the task that runs it.
async fn end_sessions_once(
    store: &dyn TokenStore,
    token: &logto::LogoutToken,
    ttl: Duration,
) -> Result<bool, BoxError> {
    let jti = index_id("jti", &token.jti);
    if store.load(&jti).await?.is_some() {
        return Ok(false);
    }
    store
        .save(&jti, "true", logto::web::LOGOUT_JTI_MEMORY)
        .await?;
    let ended = end_indexed(store, token, ttl).await;
    if ended.is_err() {
        if let Err(error) = store.delete(&jti).await {
            tracing::error!(%error, "a failed back-channel logout's jti stays: a retry is refused");
        }
    }
    ended.map(|()| true)
}

/// Ends every session indexed under the token's `sid` (else its `sub`).
async fn end_indexed(
    store: &dyn TokenStore,
    token: &logto::LogoutToken,
    ttl: Duration,
) -> Result<(), BoxError> {
    let index = match (&token.sid, &token.sub) {
        (Some(sid), _) => index_id("sid", sid),
        (None, Some(sub)) => index_id("sub", sub),
        (None, None) => return Ok(()),
    };
    for tokens_ref in sessions_of(store, &index).await? {
        // The mark first: a rewrite of the tokens after the deletion then finds it.
        store.save(&ended_mark(&tokens_ref), "true", ttl).await?;
        store.delete(&tokens_ref).await?;
    }
    store.delete(&index).await?;
    Ok(())
}

fn refuse(status: StatusCode, description: &str) -> HttpResponse {
    let body = serde_json::json!({ "error": "invalid_request", "error_description": description });
    private(HttpResponse::build(status).json(body))
}
