//! The sample web app: the Flask sample of Logto's guide to adding authentication to a Python
//! web app, in axum, on `logto-axum`.
//!
//! ```text
//! scripts/dev.sh                     # a local test Logto and this app, nothing to configure
//! LOGTO_ENDPOINT=https://your-tenant.logto.app LOGTO_APP_ID=… LOGTO_APP_SECRET=… \
//!     cargo run --example web-app    # against your Logto tenant
//! ```
//!
//! Pages (HTML, or JSON with `Accept: application/json`):
//! * `GET /`: signed out, links to sign in or sign up, "Continue with <provider>" (a social
//!   connector) and "Sign in with SSO" (a work-email form, or one SSO connector); signed in, the
//!   ID-token claims.
//!   JSON: `{"authenticated": bool, "claims": {…} | null}`.
//! * `GET /sign-in` (`interaction_mode`, `direct_sign_in`, `login_hint`, `first_screen`,
//!   `organization_id`, `return_to`), `GET /callback`, `GET /sign-out`.
//! * `GET /protected`: the ID-token claims.
//! * `GET /protected/userinfo`: the userinfo from Logto.
//! * `GET /protected/resource?resource=…`: `{"access_token", "claims"}` for an API resource
//!   (default: the first of `LOGTO_RESOURCES`).
//! * `GET /protected/organizations/{id}`: `{"organization_token", "claims"}`.
//!
//! Signed out, the protected pages redirect to sign-in, or answer
//! `401 {"error": "not_authenticated"}` to JSON requests. See `settings.rs` for the environment
//! variables.

mod answers;
mod app;
mod pages;
mod settings;

use std::process::ExitCode;

use logto::LogtoConfig;
use logto_axum::{EncryptedStore, Logto, LogtoBuilder, RedisStore, SessionKey};
use settings::{HELP, SessionStoreKind, Settings};
use tokio::net::TcpListener;
use tower_sessions::{MemoryStore, SessionStore};
use tower_sessions_rusqlite_store::RusqliteStore;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,logto=info,logto_axum=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("web-app: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let settings = Settings::from_env().map_err(|e| format!("{e}\n\n{HELP}"))?;

    let listener = TcpListener::bind((settings.host.as_str(), settings.port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}:{} ({e}); set PORT to a free port",
                settings.host, settings.port
            )
        })?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let base_url = settings
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{port}"));

    let mut config = LogtoConfig::builder(&settings.endpoint, &settings.app_id)
        .scopes(settings.scopes.iter().cloned())
        .resources(settings.resources.iter().cloned());
    if let Some(secret) = &settings.app_secret {
        config = config.app_secret(secret);
    }
    let config = config.build().map_err(|e| e.to_string())?;
    let builder = Logto::builder(config, &base_url);

    let app = match &settings.session_store {
        SessionStoreKind::Memory => with_store(&settings, builder, MemoryStore::default())?,
        SessionStoreKind::Sqlite(file) => {
            let store = sqlite_store(file).await?;
            let key = match &settings.session_key {
                Some(key) => key.clone(),
                None => key_file(file)?,
            };
            with_store(&settings, builder, sealed(store, &key, &settings)?)?
        }
        SessionStoreKind::Redis(url) => {
            let store = RedisStore::connect(url).await.map_err(|e| e.to_string())?;
            let builder = builder.refresh_lock(store.clone());
            match &settings.session_key {
                Some(key) => with_store(&settings, builder, sealed(store, key, &settings)?)?,
                None => {
                    tracing::warn!(
                        "SESSION_KEY is not set: sessions (and their tokens) are stored in Redis \
                         in clear"
                    );
                    with_store(&settings, builder, store)?
                }
            }
        }
    };

    // Scripts wait for this line (stdout carries nothing else).
    println!("web-app listening on {base_url}");
    tracing::info!(
        %base_url,
        endpoint = %settings.endpoint,
        "register {base_url}/callback as redirect URI and {base_url}/ as post sign-out redirect URI"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// The app with its sessions in `store`.
fn with_store<S: SessionStore + Clone>(
    settings: &Settings,
    builder: LogtoBuilder,
    store: S,
) -> Result<axum::Router, String> {
    let logto = builder.build().map_err(|e| e.to_string())?;
    Ok(app::router(settings)
        .merge(logto.router())
        .layer(logto.layer(store)))
}

/// `store` with its records sealed by `key` (and opened by the old keys too).
fn sealed<S>(store: S, key: &str, settings: &Settings) -> Result<EncryptedStore<S>, String> {
    let parse =
        |key: &str, name: &str| SessionKey::from_base64(key).map_err(|e| format!("{name}: {e}"));
    let mut sealed = EncryptedStore::new(store, parse(key, "SESSION_KEY")?);
    for old in &settings.session_old_keys {
        sealed = sealed.decrypt_with(parse(old, "SESSION_OLD_KEYS")?);
    }
    Ok(sealed)
}

/// The SQLite session store in `file`, its table created if need be, expired sessions deleted
/// every minute.
async fn sqlite_store(file: &std::path::Path) -> Result<RusqliteStore, String> {
    let cannot = |e: &dyn std::fmt::Display| {
        format!("cannot open the session database {} ({e})", file.display())
    };
    let connection = tokio_rusqlite::Connection::open(file)
        .await
        .map_err(|e| cannot(&e))?;
    let store = RusqliteStore::new(connection);
    store.migrate().await.map_err(|e| cannot(&e))?;
    let cleaner = store.clone();
    tokio::spawn(async move {
        use tower_sessions::session_store::ExpiredDeletion;
        let period = std::time::Duration::from_secs(60);
        if let Err(error) = cleaner.continuously_delete_expired(period).await {
            tracing::warn!(%error, "expired sessions are no longer deleted");
        }
    });
    Ok(store)
}

/// The session key kept beside the SQLite file (`<file>.key`, readable by this user only),
/// created on first use.
fn key_file(file: &std::path::Path) -> Result<String, String> {
    let path = std::path::PathBuf::from(format!("{}.key", file.display()));
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_owned());
    }
    let key = SessionKey::generate().to_base64();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(&path)
        .and_then(|mut f| f.write_all(key.as_bytes()))
        .map_err(|e| format!("cannot write the session key {} ({e})", path.display()))?;
    tracing::info!(path = %path.display(), "generated the session key (set SESSION_KEY to choose it)");
    Ok(key)
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("install the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
