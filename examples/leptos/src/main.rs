//! The Leptos sample: a server-rendered Leptos 0.8 app signing users in with Logto
//! (`logto-axum`), showing their claims and calling an API with their access token.
//!
//! ```text
//! LOGTO_ENDPOINT=https://your-tenant.logto.app LOGTO_APP_ID=… LOGTO_APP_SECRET=… \
//! LOGTO_SCOPES=shopping:read LOGTO_RESOURCES=https://shopping.example.com/api \
//! API_URL=http://localhost:4000/api/shopping cargo run -p logto-leptos-example
//! ```

use std::env;
use std::process::ExitCode;

use logto::LogtoConfig;
use logto_axum::Logto;
use logto_leptos_example::{Api, router};
use tokio::net::TcpListener;
use tower_sessions::MemoryStore;

const HELP: &str = "\
Environment variables:
  LOGTO_ENDPOINT     Logto endpoint, e.g. https://your-tenant.logto.app (required)
  LOGTO_APP_ID       the app id of a \"Traditional web\" application in Logto Console (required)
  LOGTO_APP_SECRET   its app secret
  LOGTO_SCOPES       extra scopes, comma- or space-separated (default: email); add the API's
                     scopes, e.g. shopping:read
  LOGTO_RESOURCES    API resource indicators, comma- or space-separated; the first is the API's
  API_URL            the API that \"Call the API\" calls with an access token for the first of
                     LOGTO_RESOURCES, e.g. http://localhost:4000/api/shopping
  BASE_URL           the URL users open (default http://localhost:PORT); register BASE_URL/callback
                     as redirect URI and BASE_URL/ as post sign-out redirect URI in Logto Console
  PORT               port to listen on (default 3000; 0 picks a free one)
  HOST               address to listen on (default 127.0.0.1)
Sessions are kept in memory: they end when the app stops.";

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.trim().is_empty())
}

fn list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

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
            eprintln!("logto-leptos-example: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let required = |name: &str| var(name).ok_or_else(|| format!("{name} is not set\n\n{HELP}"));
    let endpoint = required("LOGTO_ENDPOINT")?;
    let app_id = required("LOGTO_APP_ID")?;
    let scopes = list(&var("LOGTO_SCOPES").unwrap_or_else(|| "email".into()));
    let resources = list(&var("LOGTO_RESOURCES").unwrap_or_default());
    let host = var("HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = match var("PORT") {
        Some(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        None => 3000,
    };
    let api = match (var("API_URL"), resources.first()) {
        (Some(url), Some(resource)) => Some(Api::new(&url, resource).map_err(|e| e.to_string())?),
        (Some(_), None) => {
            return Err(format!(
                "API_URL needs LOGTO_RESOURCES: the API resource indicator of its access tokens\n\n{HELP}"
            ));
        }
        (None, _) => None,
    };

    let listener = TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{port} ({e}); set PORT to a free port"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let base_url = var("BASE_URL").unwrap_or_else(|| format!("http://localhost:{port}"));

    let mut config = LogtoConfig::builder(&endpoint, &app_id)
        .scopes(scopes)
        .resources(resources);
    if let Some(secret) = var("LOGTO_APP_SECRET") {
        config = config.app_secret(secret);
    }
    let config = config.build().map_err(|e| e.to_string())?;
    let logto = Logto::builder(config, &base_url)
        .build()
        .map_err(|e| e.to_string())?;
    let app = router(api)
        .merge(logto.router())
        .layer(logto.layer(MemoryStore::default()));

    // Scripts wait for this line (stdout carries nothing else).
    println!("logto-leptos-example listening on {base_url}");
    tracing::info!(
        %base_url,
        %endpoint,
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
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
