//! Sets up the sample app's world in a running real Logto (`testing/logto/server.mjs`), with two
//! upstream providers for its connector buttons, and prints it as shell variable assignments for
//! `scripts/dev.sh`; then keeps the upstream providers running until its stdin closes.
//!
//! ```text
//! logto-sample-tenant <instance.json> <base URL of the app>
//! ```
//!
//! - Users `alice` / `alice-password` and `bob` / `bob-password`, a traditional web app with
//!   `<base URL>/callback` and `<base URL>/` registered, the shopping and store API resources,
//!   and the organizations Acme (alice: admin) and Globex (alice: member).
//! - A social upstream (a plain OAuth 2.0 provider) behind Logto's OAuth 2.0 connector, with the
//!   user `carol`, and an enterprise OIDC provider for `corp.example` behind an SSO connector,
//!   with the user `dave` (both with the password `upstream-password`).
//!
//! The last line printed is `SAMPLE_READY=1`.

use logto_test_support::RealLogto;
use logto_test_support::logto::UpstreamUser;
use tokio::io::AsyncReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(instance), Some(base_url)) = (args.next(), args.next()) else {
        eprintln!("usage: logto-sample-tenant <instance.json> <base URL of the app>");
        std::process::exit(2);
    };
    let logto = RealLogto::open(instance.as_ref());
    let base_url = base_url.trim_end_matches('/');
    let world = logto
        .sample_world(&format!("{base_url}/callback"), &format!("{base_url}/"))
        .await;
    let social = logto
        .social_upstream(
            UpstreamUser::new("carol", "", "social.example"),
            "client_secret_post",
            "social-secret",
        )
        .await;
    let sso_domain = "corp.example";
    let sso = logto
        .sso_upstream(
            UpstreamUser::new("dave", "", sso_domain),
            sso_domain,
            "sso-secret",
        )
        .await;

    let secret = world.web_app.secret.clone().unwrap_or_default();
    println!("LOGTO_ENDPOINT='{}'", logto.endpoint());
    println!("LOGTO_APP_ID='{}'", world.web_app.id);
    println!("LOGTO_APP_SECRET='{secret}'");
    println!(
        "LOGTO_RESOURCES='{} {}'",
        world.shopping.indicator, world.store.indicator
    );
    println!("LOGTO_SOCIAL_TARGET='{}'", social.connector.target);
    println!("LOGTO_SOCIAL_NAME='Upstream Social'");
    println!("LOGTO_SSO_CONNECTOR_ID='{}'", sso.connector_id);
    println!("SAMPLE_SOCIAL_URL='{}'", social.idp.endpoint());
    println!("SAMPLE_SOCIAL_USER='{}'", social.user.username);
    println!("SAMPLE_SSO_URL='{}'", sso.idp.endpoint());
    println!("SAMPLE_SSO_USER='{}'", sso.user.username);
    println!("SAMPLE_SSO_EMAIL='{}'", sso.user.email);
    println!("SAMPLE_READY=1");

    // The upstream providers run as long as this program: until stdin closes.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    drop((social, sso));
}
