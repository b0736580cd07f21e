//! Back-Channel Logout (OpenID Connect Back-Channel Logout 1.0): Logto posts a logout token when
//! a user's Logto session ends (a sign-out from any app of that session); every local session
//! signed in through that Logto session (`sid`), or of that user (`sub`), ends, in every process
//! sharing the store.
//!
//! The index lives in the session store itself, in records whose ids are derived from
//! `sid`/`sub`: each lists the token records signed in under it. Ending a session marks its token
//! record as ended, then deletes it; the visitor's next request finds no tokens and is signed
//! out. A request that rewrites the tokens (a refresh or a renewal that read them just before the
//! logout) checks for the mark after its write and deletes the record again, so a logout is never
//! undone: whichever comes second, the mark's check or the deletion, sees the other.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use axum::Json;
use axum::extract::{Extension, Form};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use logto::LogtoError;
use serde::Deserialize;
use tower_sessions::SessionStore;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use crate::error::private;
use crate::layer::Bound;
use crate::storage::saturating_duration;

/// The index record's field listing token-record ids.
const SESSIONS_FIELD: &str = "sessions";
/// The most sessions one index keeps (the oldest go first).
const MAX_INDEXED: usize = 256;

/// The id of the index record of `kind` (`sid`, `sub`, `jti`) = `value`.
fn index_id(kind: &str, value: &str) -> Id {
    let hash = digest::digest(
        &digest::SHA256,
        format!("logto-axum back-channel logout\0{kind}\0{value}").as_bytes(),
    );
    let bytes: [u8; 16] = hash.as_ref()[..16].try_into().expect("a SHA-256 digest");
    Id(i128::from_le_bytes(bytes))
}

fn sessions_of(record: &Record) -> Vec<String> {
    record
        .data
        .get(SESSIONS_FIELD)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The id of the record marking token record `tokens_ref` as ended by a back-channel logout.
fn ended_mark(tokens_ref: Id) -> Id {
    index_id("ended", &tokens_ref.to_string())
}

/// Whether a back-channel logout ended token record `tokens_ref` (see the module's docs).
pub(crate) async fn was_ended(
    store: &Arc<dyn SessionStore>,
    tokens_ref: Id,
) -> Result<bool, tower_sessions::session_store::Error> {
    Ok(store.load(&ended_mark(tokens_ref)).await?.is_some())
}

/// Adds the token record `tokens_ref` to the indexes of `sid` and `sub` (or moves it to their
/// end, as the newest), which expire after `ttl`.
pub(crate) async fn index_session(
    store: &Arc<dyn SessionStore>,
    sid: Option<&str>,
    sub: &str,
    tokens_ref: Id,
    ttl: Duration,
) -> Result<(), tower_sessions::session_store::Error> {
    let expiry_date = OffsetDateTime::now_utc().saturating_add(saturating_duration(ttl));
    let keys = sid
        .map(|sid| ("sid", sid))
        .into_iter()
        .chain([("sub", sub)]);
    for (kind, value) in keys {
        let id = index_id(kind, value);
        let mut sessions = match store.load(&id).await? {
            Some(record) => sessions_of(&record),
            None => Vec::new(),
        };
        let tokens_ref = tokens_ref.to_string();
        sessions.retain(|listed| *listed != tokens_ref);
        sessions.push(tokens_ref);
        let excess = sessions.len().saturating_sub(MAX_INDEXED);
        sessions.drain(..excess);
        let record = Record {
            id,
            data: HashMap::from([(SESSIONS_FIELD.to_owned(), serde_json::json!(sessions))]),
            expiry_date,
        };
        store.save(&record).await?;
    }
    Ok(())
}

/// The form Logto posts.
#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    logout_token: Option<String>,
}

/// `POST /back-channel-logout`.
pub(crate) async fn back_channel_logout(
    Extension(bound): Extension<Bound>,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(token) = form.ok().and_then(|Form(form)| form.logout_token) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the logout_token parameter is missing",
        );
    };
    let token = match bound.logto.handle().verify_logout_token(&token).await {
        Ok(token) => token,
        Err(error @ LogtoError::InvalidLogoutToken { .. }) => {
            tracing::warn!(%error, "logto-axum refused a back-channel logout");
            return refuse(StatusCode::BAD_REQUEST, &error.to_string());
        }
        Err(error) => {
            tracing::error!(%error, "a back-channel logout could not be verified");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, &error.to_string());
        }
    };
    match end_sessions(&bound.store, &token, bound.logto.inner.session_ttl).await {
        Ok(true) => private(StatusCode::OK.into_response()),
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
    store: &Arc<dyn SessionStore>,
    token: &logto::LogoutToken,
    ttl: Duration,
) -> Result<bool, tower_sessions::session_store::Error> {
    let (store, token) = (store.clone(), token.clone());
    let ending = async move { end_sessions_once(&store, &token, ttl).await };
    logto::web::run_to_completion(ending)
        .await
        .unwrap_or_else(|| {
            Err(tower_sessions::session_store::Error::Backend(
                "the back-channel logout was cancelled: the tokio runtime is shutting down".into(),
            ))
        })
}

/// [`end_sessions`], in the task that runs it.
async fn end_sessions_once(
    store: &Arc<dyn SessionStore>,
    token: &logto::LogoutToken,
    ttl: Duration,
) -> Result<bool, tower_sessions::session_store::Error> {
    let jti = index_id("jti", &token.jti);
    if store.load(&jti).await?.is_some() {
        return Ok(false);
    }
    let seen = Record {
        id: jti,
        data: HashMap::from([("jti".to_owned(), serde_json::Value::Bool(true))]),
        expiry_date: OffsetDateTime::now_utc()
            .saturating_add(saturating_duration(logto::web::LOGOUT_JTI_MEMORY)),
    };
    store.save(&seen).await?;
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
    store: &Arc<dyn SessionStore>,
    token: &logto::LogoutToken,
    ttl: Duration,
) -> Result<(), tower_sessions::session_store::Error> {
    let index = match (&token.sid, &token.sub) {
        (Some(sid), _) => index_id("sid", sid),
        (None, Some(sub)) => index_id("sub", sub),
        (None, None) => return Ok(()),
    };
    if let Some(record) = store.load(&index).await? {
        let expiry_date = OffsetDateTime::now_utc().saturating_add(saturating_duration(ttl));
        for tokens_ref in sessions_of(&record) {
            if let Ok(id) = tokens_ref.parse::<Id>() {
                // The mark first: a rewrite of the tokens after the deletion then finds it.
                let ended = Record {
                    id: ended_mark(id),
                    data: HashMap::from([("ended".to_owned(), serde_json::Value::Bool(true))]),
                    expiry_date,
                };
                store.save(&ended).await?;
                store.delete(&id).await?;
            }
        }
        store.delete(&index).await?;
    }
    Ok(())
}

fn refuse(status: StatusCode, description: &str) -> Response {
    let body = serde_json::json!({ "error": "invalid_request", "error_description": description });
    private((status, Json(body)).into_response())
}
