//! # Logto with Leptos
//!
//! A server-rendered [Leptos](https://leptos.dev) 0.8 app on [`logto_axum`]: sign-in and
//! sign-out buttons, and two server functions:
//!
//! - [`get_claims`]: the signed-in user's ID-token claims (or [`AppError::NotSignedIn`]);
//! - [`call_api`]: calls your API with the user's access token for its resource and returns the
//!   API's JSON answer. The token is fetched (and refreshed) on the server and sent only to the
//!   API: it never reaches the browser.
//!
//! Server functions read the visitor's session with [`leptos_axum::extract`] of
//! [`logto_axum::Auth`] (it needs [`Logto::layer`](logto_axum::Logto::layer) around the router).
//! The page is rendered on the server ([`shell`]); it calls the server functions while rendering,
//! and its buttons are plain links and forms, so it works without WebAssembly or JavaScript. The
//! same functions are served as `POST /api/get_claims` and `POST /api/call_api`: what a hydrated
//! Leptos client calls.
//!
//! ```no_run
//! use logto::LogtoConfig;
//! use logto_axum::Logto;
//! use logto_leptos_example::{Api, router};
//! use tower_sessions::MemoryStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
//!     .app_secret("app-secret")
//!     .scopes(["shopping:read"])
//!     .resources(["https://shopping.example.com/api"])
//!     .build()?;
//! let logto = Logto::builder(config, "http://localhost:3000").build()?;
//! let api = Api::new(
//!     "http://localhost:4000/api/shopping",
//!     "https://shopping.example.com/api",
//! )?;
//! let app = router(Some(api))
//!     .merge(logto.router())
//!     .layer(logto.layer(MemoryStore::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Extension, Router};
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos_axum::ResponseOptions;
use logto::LogtoError;
use logto_axum::Auth;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the server functions are served.
pub const SERVER_FN_PREFIX: &str = "/api";

/// The API that [`call_api`] calls: its URL and the API resource indicator its access tokens are
/// for.
#[derive(Clone, Debug)]
pub struct Api {
    url: String,
    resource: String,
    http: reqwest::Client,
}

impl Api {
    /// `GET url` with an access token for `resource` (an API resource indicator of the app's
    /// configuration: `LogtoConfigBuilder::resources`).
    pub fn new(url: &str, resource: &str) -> Result<Api, AppError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AppError::ApiUnreachable(e.to_string()))?;
        Ok(Api {
            url: url.to_owned(),
            resource: resource.to_owned(),
            http,
        })
    }
}

/// What the server functions fail with (serialized as JSON to their callers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Nobody is signed in (or Logto no longer honours the session).
    #[error("not signed in: sign in first")]
    NotSignedIn,
    /// The app has no API configured.
    #[error("no API is configured: set API_URL and LOGTO_RESOURCES")]
    NoApi,
    /// Logto failed.
    #[error("Logto: {0}")]
    Logto(String),
    /// The API could not be reached.
    #[error("cannot reach the API ({0}): check API_URL and that the API is running")]
    ApiUnreachable(String),
    /// The API answered with an error (or not with JSON).
    #[error("the API answered {status}: {body}")]
    Api {
        /// Its HTTP status.
        status: u16,
        /// Its answer.
        body: String,
    },
    /// The server function machinery failed (arguments, serialization, a missing layer).
    #[error("{0}")]
    ServerFn(#[from] ServerFnErrorErr),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value)
    }
}

impl AppError {
    /// The HTTP status of a call to the server function's endpoint that fails with this.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotSignedIn => StatusCode::UNAUTHORIZED,
            AppError::Logto(_) | AppError::ApiUnreachable(_) | AppError::Api { .. } => {
                StatusCode::BAD_GATEWAY
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `error`, its status set on the response when the server function was called through its
/// endpoint (not while rendering a page, whose status stays 200).
fn fail(error: AppError) -> AppError {
    let endpoint =
        use_context::<Parts>().is_some_and(|parts| parts.uri.path().starts_with(SERVER_FN_PREFIX));
    if let (true, Some(response)) = (endpoint, use_context::<ResponseOptions>()) {
        response.set_status(error.status());
    }
    error
}

fn logto_error(error: LogtoError) -> AppError {
    if error.needs_sign_in() {
        AppError::NotSignedIn
    } else {
        AppError::Logto(error.to_string())
    }
}

/// The visitor's Logto client, when someone is signed in.
async fn signed_in() -> Result<Auth, AppError> {
    let auth: Auth = leptos_axum::extract().await?;
    if auth.is_authenticated().await.map_err(logto_error)? {
        Ok(auth)
    } else {
        Err(AppError::NotSignedIn)
    }
}

/// The signed-in user's ID-token claims.
#[server(prefix = "/api", endpoint = "get_claims")]
pub async fn get_claims() -> Result<Value, AppError> {
    claims().await.map_err(fail)
}

/// Calls the API with the signed-in user's access token for its resource and returns the API's
/// JSON answer. The token stays on the server.
#[server(prefix = "/api", endpoint = "call_api")]
pub async fn call_api() -> Result<Value, AppError> {
    api_answer().await.map_err(fail)
}

async fn claims() -> Result<Value, AppError> {
    let auth = signed_in().await?;
    let claims = auth.get_id_token_claims().await.map_err(logto_error)?;
    serde_json::to_value(claims)
        .map_err(|e| AppError::from(ServerFnErrorErr::Serialization(e.to_string())))
}

async fn api_answer() -> Result<Value, AppError> {
    let auth = signed_in().await?;
    let Extension(api): Extension<Option<Api>> = leptos_axum::extract().await?;
    let api = api.ok_or(AppError::NoApi)?;
    // Refreshed with the refresh token when it has expired.
    let token = auth
        .get_access_token(&api.resource)
        .await
        .map_err(logto_error)?;
    let response = api
        .http
        .get(&api.url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| AppError::ApiUnreachable(e.to_string()))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| AppError::ApiUnreachable(e.to_string()))?;
    match serde_json::from_str(&body) {
        Ok(answer) if status.is_success() => Ok(answer),
        _ => Err(AppError::Api {
            status: status.as_u16(),
            body,
        }),
    }
}

/// The app's routes: the page at `/` and the server functions under `/api`. Merge
/// [`Logto::router`](logto_axum::Logto::router) into it and wrap it in
/// [`Logto::layer`](logto_axum::Logto::layer). `api` is what [`call_api`] calls (`None`: it
/// answers [`AppError::NoApi`]).
pub fn router(api: Option<Api>) -> Router {
    // Leptos runs its rendering tasks on tokio (an error means: already set up).
    let _ = any_spawner::Executor::init_tokio();
    Router::new()
        .route("/", get(leptos_axum::render_app_async(shell)))
        .route("/api/{*fn_name}", post(leptos_axum::handle_server_fns))
        .layer(Extension(api))
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
pre { background: #f4f4f8; padding: 1rem; overflow-x: auto; }
.button, button { display: inline-block; padding: .5rem 1rem; border: 0; border-radius: .4rem;
  background: #5d34f2; color: white; text-decoration: none; font: inherit; cursor: pointer; }
.error { color: #b00020; }
";

/// The whole page, rendered on the server.
pub fn shell() -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>"Logto + Leptos"</title>
                <style>{STYLE}</style>
            </head>
            <body>
                <Home />
            </body>
        </html>
    }
}

/// Whether the page was asked to call the API (`/?call=api`, the "Call the API" button).
fn wants_api_call() -> bool {
    use_context::<Parts>().is_some_and(|parts| {
        parts
            .uri
            .query()
            .is_some_and(|query| query.split('&').any(|pair| pair == "call=api"))
    })
}

/// The home page: sign-in, or the claims, the API's answer and sign-out.
#[component]
fn Home() -> impl IntoView {
    let call = wants_api_call();
    view! {
        <main>
            <h1>"Logto + Leptos"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match get_claims().await {
                        Ok(claims) => {
                            let answer = if call { Some(call_api().await) } else { None };
                            view! { <SignedIn claims=claims answer=answer /> }.into_any()
                        }
                        Err(AppError::NotSignedIn) => view! { <SignedOut /> }.into_any(),
                        Err(error) => {
                            view! { <p id="error" class="error">{error.to_string()}</p> }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn SignedOut() -> impl IntoView {
    view! {
        <section id="signed-out">
            <p>"You are signed out."</p>
            <a id="sign-in" class="button" href="/sign-in">
                "Sign in"
            </a>
        </section>
    }
}

#[component]
fn SignedIn(claims: Value, answer: Option<Result<Value, AppError>>) -> impl IntoView {
    let name = ["name", "username", "email", "sub"]
        .iter()
        .find_map(|key| claims[*key].as_str())
        .unwrap_or_default()
        .to_owned();
    let claims = serde_json::to_string_pretty(&claims).unwrap_or_default();
    let answer = answer.map(|answer| match answer {
        Ok(answer) => {
            let answer = serde_json::to_string_pretty(&answer).unwrap_or_default();
            view! {
                <h2>"The API's answer"</h2>
                <p>"From the server function " <code>"call_api"</code></p>
                <pre id="api-answer">{answer}</pre>
            }
            .into_any()
        }
        Err(error) => view! { <p id="api-error" class="error">{error.to_string()}</p> }.into_any(),
    });
    view! {
        <section id="signed-in">
            <p>"Signed in as " <strong id="user">{name}</strong></p>
            <h2>"Your ID-token claims"</h2>
            <p>"From the server function " <code>"get_claims"</code></p>
            <pre id="claims">{claims}</pre>
            <form method="get" action="/">
                <button id="call-api" name="call" value="api" type="submit">
                    "Call the API"
                </button>
            </form>
            {answer}
            <p>
                <a id="sign-out" class="button" href="/sign-out">
                    "Sign out"
                </a>
            </p>
        </section>
    }
}

/// The README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}
