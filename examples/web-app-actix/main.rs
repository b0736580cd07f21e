//! The sample web app on actix-web, on `logto-actix`: the same pages, JSON contract and
//! environment variables as `examples/web-app` (axum), so that one contract test suite runs
//! against both.
//!
//! ```text
//! LOGTO_ENDPOINT=https://your-tenant.logto.app LOGTO_APP_ID=… LOGTO_APP_SECRET=… \
//!     cargo run --example web-app-actix
//! ```
//!
//! Pages (HTML, or JSON with `Accept: application/json`):
//! * `GET /`: signed out, links to sign in or sign up (and the connector buttons); signed in, the
//!   ID-token claims. JSON: `{"authenticated": bool, "claims": {…} | null}`.
//! * `GET /sign-in` (`interaction_mode`, `direct_sign_in`, `login_hint`, `first_screen`,
//!   `organization_id`, `return_to`), `GET /callback`, `GET /sign-out`.
//! * `GET /protected`: the ID-token claims.
//! * `GET /protected/userinfo`: the userinfo from Logto.
//! * `GET /protected/resource?resource=…`: `{"access_token", "claims"}` for an API resource
//!   (default: the first of `LOGTO_RESOURCES`).
//! * `GET /protected/organizations/{id}`: `{"organization_token", "claims"}`.
//!
//! Signed out, the protected pages redirect to sign-in, or answer
//! `401 {"error": "not_authenticated"}` to JSON requests. The environment variables are those of
//! `examples/web-app` (its `settings.rs`, shared): `SESSION_STORE` is a SQLite file by default
//! (`sqlite:web-app-sessions.sqlite3`, logto-actix's `SqliteStore`: sessions survive a restart),
//! `memory`, or a `redis://` URL shared by several processes. Sessions are sealed at rest
//! (logto-actix's `EncryptedStore`) with `SESSION_KEY` (old keys in `SESSION_OLD_KEYS`), or, for
//! SQLite without it, with a key generated beside the file (`<file>.key`, mode 600); without
//! `SESSION_KEY`, Redis holds them in clear (a warning says so). The session cookie's key is
//! derived from the app secret (or else `SESSION_KEY`, or the SQLite key file), so that every
//! process of the app, and the app after a restart or a rotation of `SESSION_KEY`, opens it.

#[path = "../web-app/answers.rs"]
mod answers;
mod app;
#[path = "../web-app/pages.rs"]
mod pages;
#[path = "../web-app/settings.rs"]
#[allow(dead_code)]
mod settings;

use std::process::ExitCode;

use actix_web::{App, HttpServer};
use logto::LogtoConfig;
use logto_actix::{
    EncryptedStore, Logto, LogtoBuilder, MemoryStore, RedisStore, SessionKey, SqliteStore,
    TokenStore,
};
use settings::{HELP, SessionStoreKind, Settings};

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,logto=info,logto_actix=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("web-app-actix: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let settings = Settings::from_env().map_err(|e| format!("{e}\n\n{HELP}"))?;
    let listener =
        std::net::TcpListener::bind((settings.host.as_str(), settings.port)).map_err(|e| {
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
    let mut builder = Logto::builder(config, &base_url);
    // Every process of the app, and the app after a restart, must open the session cookie: its
    // key comes from the app secret (which a rotation of SESSION_KEY leaves alone).
    let cookie_secret = settings
        .app_secret
        .as_ref()
        .or(settings.session_key.as_ref());
    if let Some(secret) = cookie_secret {
        builder = builder.cookie_key_from_secret(secret);
    }

    let server = match &settings.session_store {
        SessionStoreKind::Memory => serve(&settings, builder, MemoryStore::default(), listener)?,
        SessionStoreKind::Sqlite(file) => {
            let store = SqliteStore::open(file).await.map_err(|e| e.to_string())?;
            let key = match &settings.session_key {
                Some(key) => key.clone(),
                None => key_file(file)?,
            };
            if cookie_secret.is_none() {
                builder = builder.cookie_key_from_secret(&key);
            }
            serve(
                &settings,
                builder,
                sealed(store, &key, &settings)?,
                listener,
            )?
        }
        SessionStoreKind::Redis(url) => {
            let store = RedisStore::connect(url).await.map_err(|e| e.to_string())?;
            let builder = builder.refresh_lock(store.clone());
            match &settings.session_key {
                Some(key) => serve(&settings, builder, sealed(store, key, &settings)?, listener)?,
                None => {
                    tracing::warn!(
                        "SESSION_KEY is not set: sessions (and their tokens) are stored in Redis \
                         in clear"
                    );
                    serve(&settings, builder, store, listener)?
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
    // actix-web stops gracefully on Ctrl-C (SIGINT) and SIGTERM.
    server.await.map_err(|e| format!("server failed: {e}"))
}

/// The server with its sessions in `store`.
fn serve<S>(
    settings: &Settings,
    builder: LogtoBuilder,
    store: S,
    listener: std::net::TcpListener,
) -> Result<actix_web::dev::Server, String>
where
    S: actix_session::storage::SessionStore + TokenStore + Clone,
{
    let logto = builder.build().map_err(|e| e.to_string())?;
    let site = app::Site::new(settings);
    let server = HttpServer::new(move || {
        App::new()
            .configure(|routes| app::configure(routes, site.clone()))
            .configure(|routes| logto.configure(routes))
            .wrap(logto.middleware(store.clone()))
    })
    .listen(listener)
    .map_err(|e| format!("cannot serve: {e}"))?
    .run();
    Ok(server)
}

/// `store` with its sessions and records sealed by `key` (and opened by the old keys too).
fn sealed<S>(store: S, key: &str, settings: &Settings) -> Result<EncryptedStore<S>, String> {
    let parse =
        |key: &str, name: &str| SessionKey::from_base64(key).map_err(|e| format!("{name}: {e}"));
    let mut sealed = EncryptedStore::new(store, parse(key, "SESSION_KEY")?);
    for old in &settings.session_old_keys {
        sealed = sealed.decrypt_with(parse(old, "SESSION_OLD_KEYS")?);
    }
    Ok(sealed)
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
