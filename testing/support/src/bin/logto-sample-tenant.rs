//! Provisions the sample app's world in a running real Logto (`testing/logto/server.mjs`) and
//! prints it as shell variable assignments, for `scripts/dev.sh`:
//!
//! ```text
//! logto-sample-tenant <instance.json> <base URL of the app>
//! ```
//!
//! Users `alice` / `alice-password` and `bob` / `bob-password`, a traditional web app with
//! `<base URL>/callback` and `<base URL>/` registered, the shopping and store API resources, and
//! the organizations Acme (alice: admin) and Globex (alice: member).

use logto_test_support::RealLogto;

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
    let secret = world.web_app.secret.clone().unwrap_or_default();
    println!("LOGTO_ENDPOINT='{}'", logto.endpoint());
    println!("LOGTO_APP_ID='{}'", world.web_app.id);
    println!("LOGTO_APP_SECRET='{secret}'");
    println!(
        "LOGTO_RESOURCES='{} {}'",
        world.shopping.indicator, world.store.indicator
    );
    println!("SAMPLE_ACME='{}'", world.acme);
    println!("SAMPLE_GLOBEX='{}'", world.globex);
}
