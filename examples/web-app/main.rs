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

mod app;
mod pages;
mod settings;

use std::process::ExitCode;

use logto::LogtoConfig;
use logto_axum::{Logto, RedisStore};
use settings::{HELP, SessionStoreKind, Settings};
use tokio::net::TcpListener;
use tower_sessions::MemoryStore;

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
        SessionStoreKind::Memory => {
            let logto = builder.build().map_err(|e| e.to_string())?;
            app::router(&settings)
                .merge(logto.router())
                .layer(logto.layer(MemoryStore::default()))
        }
        SessionStoreKind::Redis(url) => {
            let store = RedisStore::connect(url).await.map_err(|e| e.to_string())?;
            let logto = builder
                .refresh_lock(store.clone())
                .build()
                .map_err(|e| e.to_string())?;
            app::router(&settings)
                .merge(logto.router())
                .layer(logto.layer(store))
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
