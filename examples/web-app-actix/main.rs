//! The sample web app on actix-web, on `logto-actix`: the same pages, JSON contract and
//! environment variables as `examples/web-app` (axum), so that one contract test suite runs
//! against both.
//!
//! ```text
//! LOGTO_ENDPOINT=https://your-tenant.logto.app LOGTO_APP_ID=… LOGTO_APP_SECRET=… \
//!     SESSION_STORE=memory cargo run --example web-app-actix
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
//! `examples/web-app` (its `settings.rs`, shared), with sessions in `memory` or a `redis://` URL
//! (the SQLite store is the axum sample's; without `SESSION_STORE` this sample keeps its sessions
//! in memory). The session cookie's key is derived from `SESSION_KEY`, or else from the app
//! secret, so that every process of the app shares it.

mod app;
#[path = "../web-app/pages.rs"]
mod pages;
#[path = "../web-app/settings.rs"]
#[allow(dead_code)]
mod settings;

use std::process::ExitCode;

use actix_web::{App, HttpServer};
use logto::LogtoConfig;
use logto_actix::{Logto, LogtoBuilder, MemoryStore, RedisStore, TokenStore};
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
    // Every process of the app must open every other's session cookie.
    if let Some(secret) = settings
        .session_key
        .as_ref()
        .or(settings.app_secret.as_ref())
    {
        builder = builder.cookie_key_from_secret(secret);
    }

    let server = match &settings.session_store {
        SessionStoreKind::Memory => serve(&settings, builder, MemoryStore::default(), listener)?,
        SessionStoreKind::Sqlite(_) if std::env::var_os("SESSION_STORE").is_none() => {
            tracing::warn!(
                "SESSION_STORE is not set: sessions are kept in this process's memory (set a \
                 redis:// URL to share them between processes and restarts)"
            );
            serve(&settings, builder, MemoryStore::default(), listener)?
        }
        SessionStoreKind::Sqlite(_) => {
            return Err(
                "web-app-actix keeps its sessions in memory or Redis: set SESSION_STORE to \
                 `memory` or a redis:// (rediss://) URL"
                    .into(),
            );
        }
        SessionStoreKind::Redis(url) => {
            let store = RedisStore::connect(url).await.map_err(|e| e.to_string())?;
            serve(
                &settings,
                builder.refresh_lock(store.clone()),
                store,
                listener,
            )?
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
