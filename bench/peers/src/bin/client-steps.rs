//! The web-app client's steps, logto against Logto's Python SDK (PyPI `logto`), timed the same
//! way in both (each step on its own, one after the other, median of N), against the same test
//! IdP and the same app: the sign-in URL, the sign-in callback (code exchange and ID-token
//! verification; the IdP's login pages in between are not timed), a cached access token for an
//! API resource, the ID-token claims, and one ID-token verification.
//!
//! ```text
//! PYTHON=bench/.venv/bin/python N=2000 N_CALLBACK=100 client-steps
//! ```
//! Prints a line per step and `RESULT {json}` lines for bench/run.sh. Without PYTHON, only ours.

use std::process::Stdio;
use std::time::{Duration, Instant};

use logto::{LogtoClient, LogtoConfig, MemoryStorage};
use logto_bench::{env_number, env_or};
use logto_test_support::{ALICE, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const REDIRECT: &str = "http://127.0.0.1/callback";

fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

async fn time_n<F, Fut>(n: u64, mut step: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let start = Instant::now();
        step().await;
        samples.push(start.elapsed());
    }
    median_us(samples)
}

async fn ours(idp: &TestIdp, n: u64, n_callback: u64) -> Value {
    let config = LogtoConfig::builder(idp.endpoint(), WEB_APP_ID)
        .app_secret(WEB_APP_SECRET)
        .scopes(["shopping:read"])
        .resources([SHOPPING_API])
        .build()
        .unwrap();
    let client = LogtoClient::new(
        logto::LogtoHandle::new(config).unwrap(),
        MemoryStorage::new(),
    );
    let sign_in_url = time_n(n, || async {
        client.sign_in(REDIRECT).await.unwrap();
    })
    .await;
    let mut callbacks = Vec::new();
    for _ in 0..n_callback {
        let url = client.sign_in(REDIRECT).await.unwrap();
        let callback = idp.sign_in(&url, ALICE.0, ALICE.1).await;
        let start = Instant::now();
        client.handle_sign_in_callback(&callback).await.unwrap();
        callbacks.push(start.elapsed());
    }
    let callback = median_us(callbacks);
    client.get_access_token(SHOPPING_API).await.unwrap();
    let access_token = time_n(n, || async {
        client.get_access_token(SHOPPING_API).await.unwrap();
    })
    .await;
    let claims = time_n(n, || async {
        client.get_id_token_claims().await.unwrap();
    })
    .await;
    let id_token = client.get_id_token().await.unwrap();
    let verify = time_n(n, || async {
        client
            .handle()
            .verify_id_token(&id_token, None)
            .await
            .unwrap();
    })
    .await;
    json!({
        "sign_in_url": sign_in_url, "callback": callback,
        "access_token_cached": access_token, "id_token_claims": claims,
        "verify_id_token": verify,
    })
}

/// Runs bench/python-sdk/steps.py, driving the IdP's login pages for it: it prints
/// `AUTH <url>`, this answers with the callback URL.
async fn python(idp: &TestIdp, python: &str, n: u64, n_callback: u64) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../python-sdk/steps.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .args([
            idp.endpoint(),
            WEB_APP_ID,
            WEB_APP_SECRET,
            SHOPPING_API,
            &n.to_string(),
            &n_callback.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the Python SDK steps");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("AUTH ") {
            let callback = idp.sign_in(url, ALICE.0, ALICE.1).await;
            stdin
                .write_all(format!("{callback}\n").as_bytes())
                .await
                .unwrap();
        } else if let Some(result) = line.strip_prefix("STEPS ") {
            return serde_json::from_str(result).unwrap();
        }
    }
    panic!(
        "the Python SDK steps ended without results: {:?}",
        child.wait().await
    );
}

#[tokio::main]
async fn main() {
    let n = env_number("N", 2000);
    let n_callback = env_number("N_CALLBACK", 100);
    let idp = TestIdp::start().await;
    let ours = ours(&idp, n, n_callback).await;
    let python_bin = env_or("PYTHON", "");
    let theirs = if python_bin.is_empty() {
        Value::Null
    } else {
        python(&idp, &python_bin, n, n_callback).await
    };
    println!("client steps, median µs (n={n}, callback n={n_callback}):");
    for step in [
        "sign_in_url",
        "callback",
        "access_token_cached",
        "id_token_claims",
        "verify_id_token",
    ] {
        let (a, b) = (ours[step].as_f64().unwrap(), theirs[step].as_f64());
        println!(
            "  {step:<22} logto-rs {a:>10.2}   python {:>10}",
            b.map_or("-".into(), |b| format!("{b:.2}"))
        );
        println!(
            "RESULT {}",
            json!({"kind": "client_step", "step": step, "ours_us": a, "python_us": b})
        );
    }
}
