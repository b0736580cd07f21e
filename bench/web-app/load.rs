//! Load benchmark of the sample web app (a script, not a timed test): many signed-in sessions
//! hitting `GET /protected/resource` concurrently on two app processes sharing one Redis store,
//! with access tokens short-lived enough that refreshes keep racing across the processes.
//!
//! ```text
//! bench/web-app/run.sh                     # the `web-app-race` binary of bench/peers
//! SESSIONS=100 CONCURRENCY=64 DURATION_SECS=20 ACCESS_TOKEN_TTL=62 bench/web-app/run.sh
//! ```
//!
//! Reports requests/s, p50/p99 latency and failed requests for the authenticated route, the same
//! for the app's no-auth baseline (`GET /` without a session: the same processes, middleware and
//! JSON answer, no sign-in state), and their ratio. The IdP revokes the whole grant on any reuse
//! of a rotated-out refresh token (no grace period here), so a refresh that raced badly shows up
//! as failed requests.
//!
//! Logto's client refreshes an access token within 60 s of its expiry, so `ACCESS_TOKEN_TTL=62`
//! keeps each token fresh for about 2 s: every session refreshes every ~2 s, while its requests
//! keep arriving on both processes.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use logto_test_support::{ALICE, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET, free_port};
use reqwest::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The repository root (this binary belongs to bench/peers).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sample's release binary: `WEB_APP`, or built here in the repository's target folder.
fn build_app() -> PathBuf {
    if let Ok(path) = std::env::var("WEB_APP") {
        return PathBuf::from(path);
    }
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--quiet",
                "--release",
                "-p",
                "logto-examples",
                "--example",
                "web-app",
            ])
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"))
            .status()
            .expect("run cargo");
    assert!(status.success(), "building the web-app example failed");
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or(repo_root().join("target"), PathBuf::from);
    target.join("release").join("examples").join("web-app")
}

async fn wait_for_line(child: &mut Child, needle: &str, what: &str) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(needle) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(found, Ok(true)), "{what} did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}

async fn start_redis() -> (Child, String) {
    let port = free_port();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is required: apt-get install -y redis-server");
    wait_for_line(&mut child, "Ready to accept connections", "redis-server").await;
    (child, format!("redis://127.0.0.1:{port}"))
}

async fn start_app(binary: &PathBuf, idp: &TestIdp, redis: &str) -> (Child, String) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(binary)
        .env("LOGTO_ENDPOINT", idp.endpoint())
        .env("LOGTO_APP_ID", WEB_APP_ID)
        .env("LOGTO_APP_SECRET", WEB_APP_SECRET)
        .env("LOGTO_SCOPES", "shopping:read")
        .env("LOGTO_RESOURCES", SHOPPING_API)
        .env("PORT", port.to_string())
        .env("BASE_URL", &url)
        .env("SESSION_STORE", redis)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the web-app");
    wait_for_line(&mut child, "web-app listening on", "the web-app").await;
    (child, url)
}

/// Signs one session in through `app`; returns its `Cookie` header value.
async fn sign_in(http: &reqwest::Client, idp: &TestIdp, app: &str) -> String {
    let response = http.get(format!("{app}/sign-in")).send().await.unwrap();
    let cookie = |response: &reqwest::Response| {
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .find_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .expect("a session cookie")
    };
    let pending = cookie(&response);
    let authorization_url = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let callback = idp.sign_in(&authorization_url, ALICE.0, ALICE.1).await;
    let response = http
        .get(&callback)
        .header(COOKIE, &pending)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection(),
        "callback: {}",
        response.status()
    );
    cookie(&response)
}

struct Run {
    requests: usize,
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    first_failure: Option<String>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
    fn report(&self, name: &str) {
        println!(
            "{name:<34} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   requests {:>7}   failed {}",
            self.rate(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.requests,
            self.failures
        );
        if let Some(failure) = &self.first_failure {
            println!("    first failure: {failure}");
        }
    }
}

/// `concurrency` workers for `duration`, worker `i`'s request `n` going to app `(i + n) % 2`
/// with session `(i + n * concurrency) % sessions` (no cookie when `sessions` is empty).
async fn load(
    http: &reqwest::Client,
    apps: &[String],
    sessions: &[String],
    path: &str,
    concurrency: usize,
    duration: Duration,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, apps, sessions) = (http.clone(), apps.to_vec(), sessions.to_vec());
            let (stop, path) = (stop.clone(), path.to_owned());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut failures, mut first_failure) = (0, None);
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let app = &apps[(worker + n) % apps.len()];
                    let mut request = http
                        .get(format!("{app}{path}"))
                        .header(ACCEPT, "application/json");
                    if !sessions.is_empty() {
                        request = request.header(
                            COOKIE,
                            &sessions[(worker + n * concurrency) % sessions.len()],
                        );
                    }
                    let start = Instant::now();
                    let outcome = match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            response.bytes().await.map(drop).map_err(|e| e.to_string())
                        }
                        Ok(response) => {
                            let status = response.status();
                            Err(format!(
                                "{status}: {}",
                                response.text().await.unwrap_or_default()
                            ))
                        }
                        Err(error) => Err(error.to_string()),
                    };
                    latencies.push(start.elapsed());
                    if let Err(error) = outcome {
                        failures += 1;
                        first_failure.get_or_insert(error);
                    }
                    n += 1;
                }
                (latencies, failures, first_failure)
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut run = Run {
        requests: 0,
        failures: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        first_failure: None,
    };
    for worker in workers {
        let (latencies, failures, first_failure) = worker.await.unwrap();
        run.latencies.extend(latencies);
        run.failures += failures;
        if run.first_failure.is_none() {
            run.first_failure = first_failure;
        }
    }
    run.elapsed = started.elapsed();
    run.requests = run.latencies.len();
    run.latencies.sort();
    run
}

#[tokio::main]
async fn main() {
    let sessions = env_number("SESSIONS", 100) as usize;
    let concurrency = env_number("CONCURRENCY", 64) as usize;
    let duration = Duration::from_secs(env_number("DURATION_SECS", 20));
    let ttl = env_number("ACCESS_TOKEN_TTL", 4);

    let binary = build_app();
    let idp = TestIdp::start_with(json!({
        "access_token_ttl": ttl,
        "refresh_token_reuse_grace_seconds": 0
    }))
    .await;
    let (_redis, redis_url) = start_redis().await;
    let (_first, first) = start_app(&binary, &idp, &redis_url).await;
    let (_second, second) = start_app(&binary, &idp, &redis_url).await;
    let apps = vec![first, second];

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut cookies = Vec::new();
    for i in 0..sessions {
        cookies.push(sign_in(&http, &idp, &apps[i % 2]).await);
    }
    println!(
        "web-app load: {sessions} signed-in sessions, {concurrency} concurrent clients, {}s per run, \
         2 app processes on one Redis, access tokens live {ttl}s (fresh for {}s)",
        duration.as_secs(),
        ttl - ttl.div_ceil(2).min(60)
    );

    // Warm up connections and caches, then measure.
    load(
        &http,
        &apps,
        &cookies,
        "/protected/resource",
        concurrency,
        Duration::from_secs(2),
    )
    .await;
    load(&http, &apps, &[], "/", concurrency, Duration::from_secs(2)).await;
    idp.reset_stats().await;
    let auth = load(
        &http,
        &apps,
        &cookies,
        "/protected/resource",
        concurrency,
        duration,
    )
    .await;
    let refreshes = idp.stats().await.refresh_token_grants;
    let baseline = load(&http, &apps, &[], "/", concurrency, duration).await;

    auth.report("GET /protected/resource (signed in)");
    baseline.report("GET / (no auth baseline)");
    println!(
        "refresh_token grants during the run: {refreshes} ({:.1}/s)",
        refreshes as f64 / auth.elapsed.as_secs_f64()
    );
    println!(
        "overhead: throughput {:.2}x lower, p50 latency {:.2}x, p99 latency {:.2}x",
        baseline.rate() / auth.rate(),
        auth.percentile(0.5).as_secs_f64() / baseline.percentile(0.5).as_secs_f64(),
        auth.percentile(0.99).as_secs_f64() / baseline.percentile(0.99).as_secs_f64(),
    );
    println!("failed requests: {}", auth.failures + baseline.failures);
    if auth.failures + baseline.failures > 0 {
        std::process::exit(1);
    }
}
