//! The smallest Logto sign-in for an axum app: a home page, a page for signed-in users only,
//! sign-in and sign-out. The full sample (`examples/web-app`) adds API resources, organizations,
//! connectors, persistent and shared sessions.
//!
//! ```text
//! LOGTO_ENDPOINT=http://localhost:3001 LOGTO_APP_ID=… LOGTO_APP_SECRET=… cargo run --example quickstart
//! ```
//! In Logto Console, register `http://localhost:3000/callback` as the app's redirect URI and
//! `http://localhost:3000/` as its post sign-out redirect URI.

use axum::response::Html;
use axum::{Json, Router, routing::get};
use logto::{LogtoConfig, UserInfo, UserInfoScope};
use logto_axum::{Auth, Authenticated, Error, Logto};
use tower_sessions::MemoryStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let port: u16 = std::env::var("PORT")
        .unwrap_or_else(|_| "3000".into())
        .parse()?;
    let base_url = std::env::var("BASE_URL").unwrap_or(format!("http://localhost:{port}"));

    let config = LogtoConfig::builder(var("LOGTO_ENDPOINT")?, var("LOGTO_APP_ID")?)
        .app_secret(var("LOGTO_APP_SECRET")?)
        .scopes([UserInfoScope::Email])
        // To call your API, add `.resources(["https://api.your-app.com"])` and the API's
        // permissions to `.scopes([...])`: a token only carries the scopes asked for here.
        .build()?;
    let logto = Logto::builder(config, &base_url).build()?;

    let app = Router::new()
        .route("/", get(home))
        .route("/profile", get(profile))
        .merge(logto.router()) // /sign-in, /callback, /sign-out
        .layer(logto.layer(MemoryStore::default()));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("quickstart listening on {base_url}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Everyone: a sign-in link, or who is signed in.
async fn home(auth: Auth) -> Result<Html<String>, Error> {
    if !auth.is_authenticated().await? {
        return Ok(Html(r#"<a href="/sign-in">Sign in</a>"#.into()));
    }
    let claims = auth.get_id_token_claims().await?;
    Ok(Html(format!(
        r#"Signed in as <b id="sub">{}</b> · <a href="/profile">Profile</a> · <a href="/sign-out">Sign out</a>"#,
        claims.sub.replace(['<', '>', '&', '"'], "")
    )))
}

/// Signed-in users only (others are sent to sign in and back): Logto's userinfo.
async fn profile(Authenticated { user, .. }: Authenticated<UserInfo>) -> Json<UserInfo> {
    Json(user)
}
