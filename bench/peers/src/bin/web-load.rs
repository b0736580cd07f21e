//! The sample web app under load against its honest baseline: `GET /protected/resource` of the
//! sample (`examples/web-app`, signed in through the test IdP), of its actix-web twin
//! (`examples/web-app-actix`, when `WEB_APP_ACTIX` is set) and of `web-baseline` (the same
//! route, session middleware and store, no Logto), in each session store (memory, Redis), one
//! process each, the same in-tree load generator; and the memory each signed-in session takes in
//! each store. `baseline-sized` is `web-baseline` with sessions as large as the sample's
//! ([`SIZED_EXTRA_BYTES`] more, standing for the ID and refresh tokens): what storing the tokens
//! costs by their bytes alone, whatever reads them.
//!
//! The apps of a store run at the same time, each with its own signed-in sessions, and take the
//! load in turns: `ROUNDS` rounds of `DURATION_SECS / ROUNDS` each, every round starting with
//! the next app. A machine whose speed drifts over a minute (shared, throttled) then slows every
//! app alike, and the ratios stay put.
//!
//! ```text
//! WEB_APP=target/release/examples/web-app WEB_APP_ACTIX=target/release/examples/web-app-actix \
//! BASELINE=target/release/web-baseline SESSIONS=1000 CONCURRENCY=64 DURATION_SECS=10 ROUNDS=5 web-load
//! ```
//! `APPS` (`logto,logto-actix,baseline,baseline-sized`) and `STORES` (`memory,redis`) pick some of the runs.
//!
//! **Pinning** (on by default on a machine with 2 cores or more; `PIN=0` turns it off): the apps
//! run on the last core this process may use (`APP_CPU` picks another), and everything else (the
//! load generator, Redis, the test IdP) on the others. Otherwise the load generator, Redis and
//! the app fight over the same cores, and an app's throughput says as much about how its threads
//! were scheduled beside the load generator's as about its own cost. Pinned, the app's core is
//! its own, and the CPU time it spends per request (from `/proc`) is its cost; throughput is
//! then often bound by the load generator (the same for every app).
//!
//! Prints a line per run and `RESULT {json}` lines for bench/run.sh. Needs `redis-server`,
//! `redis-cli` and the test IdP (`npm ci --prefix testing/idp`).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use logto_bench::{env_number, env_or, rss_bytes};
use logto_test_support::{
    ALICE, Redis, SHOPPING_API, TestIdp, WEB_APP_ID, WEB_APP_SECRET, free_port,
};
use reqwest::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How much larger `baseline-sized`'s sessions are than `baseline`'s: about the ID token and the
/// refresh token the sample's sessions hold besides an access token (their Redis records take
/// 2.3 KB a session; `baseline`'s 1.1 KB, `baseline-sized`'s 2.7 KB).
const SIZED_EXTRA_BYTES: usize = 1500;

async fn wait_for_line(child: &mut Child, needle: &str, what: &str) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(needle) {
                return Some(line);
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{what} did not start"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}

/// Starts `binary` on a free port (on the apps' core when pinned); returns the child and its
/// base URL.
async fn start(
    binary: &str,
    envs: &[(&str, String)],
    what: &str,
    pinning: Option<Pinning>,
) -> (Child, String) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binary);
    if let Some(Pinning { app_cpu }) = pinning {
        // SAFETY: `cpu_affinity::set` is async-signal-safe.
        unsafe {
            command.pre_exec(move || cpu_affinity::set(&[app_cpu]));
        }
    }
    let mut child = command
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PORT", port.to_string())
        .env("BASE_URL", &url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {binary}: {e}"));
    wait_for_line(&mut child, "listening on", what).await;
    (child, url)
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .find_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .expect("a session cookie")
}

/// Signs one session in through the sample and the IdP; returns its `Cookie` header value.
async fn sample_sign_in(http: &reqwest::Client, idp: &TestIdp, app: &str) -> String {
    let response = http.get(format!("{app}/sign-in")).send().await.unwrap();
    let pending = session_cookie(&response);
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
    let cookie = session_cookie(&response);
    // The first use fetches the access token for the API resource: a signed-in session as it
    // is once the protected route has been visited.
    let response = http
        .get(format!("{app}/protected/resource"))
        .header(COOKIE, &cookie)
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    cookie
}

async fn baseline_sign_in(http: &reqwest::Client, app: &str) -> String {
    let response = http.get(format!("{app}/sign-in")).send().await.unwrap();
    assert!(response.status().is_success());
    session_cookie(&response)
}

/// Signs `count` sessions in, 8 at a time.
async fn sign_in_many(
    count: usize,
    http: &reqwest::Client,
    idp: &Arc<TestIdp>,
    app: &str,
    sample: bool,
) -> Vec<String> {
    let mut cookies = Vec::with_capacity(count);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let (http, idp, app) = (http.clone(), idp.clone(), app.to_owned());
        tasks.spawn(async move {
            if sample {
                sample_sign_in(&http, &idp, &app).await
            } else {
                baseline_sign_in(&http, &app).await
            }
        });
        if tasks.len() >= 8 || i + 1 == count {
            while tasks.len() > if i + 1 == count { 0 } else { 4 } {
                cookies.push(tasks.join_next().await.unwrap().unwrap());
            }
        }
    }
    cookies
}

/// An app of the current store, started and signed in.
struct Running {
    app: &'static str,
    _child: Child,
    pid: u32,
    url: String,
    cookies: Vec<String>,
    per_session: f64,
    /// Its turns under load so far, and the CPU time (seconds) they cost it and Redis.
    run: Run,
    app_cpu: f64,
    redis_cpu: f64,
}

#[derive(Default)]
struct Run {
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    first_failure: Option<String>,
}

impl Run {
    /// Adds another turn's requests (latencies sorted again before percentiles are read).
    fn add(&mut self, turn: Run) {
        self.failures += turn.failures;
        self.elapsed += turn.elapsed;
        self.latencies.extend(turn.latencies);
        if self.first_failure.is_none() {
            self.first_failure = turn.first_failure;
        }
    }
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1e3
    }
}

/// `concurrency` clients for `duration`, client `i`'s request `n` with session
/// `(i + n * concurrency) % sessions`.
async fn load(
    http: &reqwest::Client,
    app: &str,
    sessions: &[String],
    concurrency: usize,
    duration: Duration,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let url = format!("{app}/protected/resource");
    let sessions = Arc::new(sessions.to_vec());
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, sessions, stop, url) =
                (http.clone(), sessions.clone(), stop.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut failures, mut first_failure) = (0, None);
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let cookie = &sessions[(worker + n * concurrency) % sessions.len()];
                    let start = Instant::now();
                    let outcome = match http
                        .get(&url)
                        .header(ACCEPT, "application/json")
                        .header(COOKIE, cookie)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => {
                            r.bytes().await.map(drop).map_err(|e| e.to_string())
                        }
                        Ok(r) => Err(r.status().to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    latencies.push(start.elapsed());
                    if let Err(e) = outcome {
                        failures += 1;
                        first_failure.get_or_insert(e);
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
    run.latencies.sort();
    run
}

/// The CPU time (user + system) process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // USER_HZ: 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// The CPU time (user + system) the Redis server at `url` has used, in seconds.
fn redis_cpu_seconds(url: &str) -> f64 {
    let port = url.rsplit(':').next().unwrap();
    let out = std::process::Command::new("redis-cli")
        .args(["-p", port, "info", "cpu"])
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.strip_prefix("used_cpu_sys:")
                .or_else(|| l.strip_prefix("used_cpu_user:"))
        })
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .sum()
}

fn redis_used_memory(url: &str) -> u64 {
    let port = url.rsplit(':').next().unwrap();
    let out = std::process::Command::new("redis-cli")
        .args(["-p", port, "info", "memory"])
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Which cores the apps and the rest of the benchmark run on (see the module's doc).
#[derive(Clone, Copy)]
struct Pinning {
    app_cpu: usize,
}

impl Pinning {
    /// Pins this process (and so every child it starts, until told otherwise) to every allowed
    /// core but the apps'; `None` when pinning is off or the machine has a single core.
    fn set_up() -> Option<Pinning> {
        if env_or("PIN", "1") == "0" {
            return None;
        }
        let allowed = cpu_affinity::allowed();
        if allowed.len() < 2 {
            eprintln!("web-load: a single core, the apps are not pinned");
            return None;
        }
        let app_cpu = match std::env::var("APP_CPU") {
            Ok(cpu) => cpu.parse().expect("APP_CPU: a core number"),
            Err(_) => *allowed.last().unwrap(),
        };
        assert!(
            allowed.contains(&app_cpu),
            "APP_CPU {app_cpu}: not a core this process may use"
        );
        let others: Vec<usize> = allowed.into_iter().filter(|&c| c != app_cpu).collect();
        cpu_affinity::set(&others).expect("pin the load generator");
        Some(Pinning { app_cpu })
    }
}

/// `sched_setaffinity(2)` for this process and its children.
mod cpu_affinity {
    use std::io;

    /// The cores this process may run on.
    pub fn allowed() -> Vec<usize> {
        // SAFETY: a zeroed `cpu_set_t` is a valid empty set; the kernel writes at most its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Vec::new();
            }
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }

    /// Restricts the calling thread (and the threads and processes it starts later) to `cpus`.
    /// Async-signal-safe (no allocation): it may run between `fork` and `exec`.
    pub fn set(cpus: &[usize]) -> io::Result<()> {
        // SAFETY: as above; `CPU_SET` only writes inside the set.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in cpus {
                libc::CPU_SET(cpu, &mut set);
            }
            if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn main() {
    // Before the runtime starts its threads: they inherit the affinity.
    let pinning = Pinning::set_up();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run(pinning));
}

async fn run(pinning: Option<Pinning>) {
    let sessions = env_number("SESSIONS", 1000) as usize;
    let concurrency = env_number("CONCURRENCY", 64) as usize;
    let duration = Duration::from_secs(env_number("DURATION_SECS", 10));
    let rounds = (env_number("ROUNDS", 5) as usize).max(1);
    let web_app = env_or("WEB_APP", "target/release/examples/web-app");
    let baseline = env_or("BASELINE", "target/release/web-baseline");
    let web_app_actix = std::env::var("WEB_APP_ACTIX").ok();
    let mut apps = vec!["logto"];
    if web_app_actix.is_some() {
        apps.push("logto-actix");
    }
    apps.push("baseline");
    apps.push("baseline-sized");
    // `APPS=logto,baseline` / `STORES=redis`: some of the runs only (for profiling one of them).
    let wanted = |name: &str, list: &str| {
        std::env::var(list).map_or(true, |v| v.split(',').any(|w| w.trim() == name))
    };
    apps.retain(|app| wanted(app, "APPS"));

    let idp = Arc::new(TestIdp::start().await);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    println!(
        "web-app load: {sessions} signed-in sessions, {concurrency} concurrent clients, {}s per run, one process per app, {}",
        duration.as_secs(),
        match pinning {
            Some(p) => format!(
                "the apps pinned to core {}, the rest on the other cores",
                p.app_cpu
            ),
            None => "not pinned".to_owned(),
        }
    );

    let mut failed = 0;
    for store in ["memory", "redis"]
        .into_iter()
        .filter(|s| wanted(s, "STORES"))
    {
        let redis = if store == "redis" {
            Some(Redis::start().await)
        } else {
            None
        };
        let store_env = redis
            .as_ref()
            .map_or("memory".to_owned(), |r| r.url.clone());
        // Every app of this store runs at once, each signed in with its sessions; the load then
        // goes to one at a time, in turns (see `ROUNDS`).
        let mut running = Vec::new();
        for &app in &apps {
            let signs_in_with_logto = !app.starts_with("baseline");
            let (child, url) = if signs_in_with_logto {
                let binary = match app {
                    "logto-actix" => web_app_actix.as_deref().unwrap_or_default(),
                    _ => &web_app,
                };
                start(
                    binary,
                    &[
                        ("LOGTO_ENDPOINT", idp.endpoint().to_owned()),
                        ("LOGTO_APP_ID", WEB_APP_ID.to_owned()),
                        ("LOGTO_APP_SECRET", WEB_APP_SECRET.to_owned()),
                        ("LOGTO_SCOPES", "shopping:read".to_owned()),
                        ("LOGTO_RESOURCES", SHOPPING_API.to_owned()),
                        ("SESSION_STORE", store_env.clone()),
                    ],
                    if app == "logto" {
                        "the web-app sample"
                    } else {
                        "the actix web-app sample"
                    },
                    pinning,
                )
                .await
            } else {
                let extra = if app == "baseline-sized" {
                    SIZED_EXTRA_BYTES
                } else {
                    0
                };
                start(
                    &baseline,
                    &[
                        ("SESSION_STORE", store_env.clone()),
                        ("EXTRA_SESSION_BYTES", extra.to_string()),
                    ],
                    "web-baseline",
                    pinning,
                )
                .await
            };
            let pid = child.id().unwrap();
            // Warm the process up (allocator, connections) with one session first.
            let warm = sign_in_many(1, &http, &idp, &url, signs_in_with_logto).await;
            load(&http, &url, &warm, 4, Duration::from_millis(500)).await;
            let (rss_before, redis_before) = (
                rss_bytes(pid),
                redis.as_ref().map_or(0, |r| redis_used_memory(&r.url)),
            );
            let cookies = sign_in_many(sessions, &http, &idp, &url, signs_in_with_logto).await;
            let (rss_after, redis_after) = (
                rss_bytes(pid),
                redis.as_ref().map_or(0, |r| redis_used_memory(&r.url)),
            );
            let per_session = if redis.is_some() {
                redis_after.saturating_sub(redis_before)
            } else {
                rss_after.saturating_sub(rss_before)
            } as f64
                / sessions as f64;
            load(&http, &url, &cookies, concurrency, Duration::from_secs(2)).await;
            running.push(Running {
                app,
                _child: child,
                pid,
                url,
                cookies,
                per_session,
                run: Run::default(),
                app_cpu: 0.0,
                redis_cpu: 0.0,
            });
        }
        for round in 0..rounds {
            // Each round starts with the next app, so that none is always first after a pause.
            let count = running.len();
            for i in 0..count {
                let target = &mut running[(round + i) % count];
                let cpu_before = (
                    cpu_seconds(target.pid),
                    redis.as_ref().map_or(0.0, |r| redis_cpu_seconds(&r.url)),
                );
                let turn = load(
                    &http,
                    &target.url,
                    &target.cookies,
                    concurrency,
                    duration / rounds as u32,
                )
                .await;
                target.app_cpu += cpu_seconds(target.pid) - cpu_before.0;
                target.redis_cpu += redis
                    .as_ref()
                    .map_or(0.0, |r| redis_cpu_seconds(&r.url) - cpu_before.1);
                target.run.add(turn);
            }
        }
        for target in &mut running {
            let (app, run) = (target.app, &mut target.run);
            run.latencies.sort();
            let requests = run.latencies.len().max(1) as f64;
            let app_cpu_us = target.app_cpu * 1e6 / requests;
            let redis_cpu_us = target.redis_cpu * 1e6 / requests;
            failed += run.failures;
            println!(
                "{store:<6} {app:<14} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   failed {}   {:>7.0} bytes/session   CPU {:>5.1} µs/req (app {:.1} + Redis {:.1})",
                run.rate(),
                run.percentile_ms(0.5),
                run.percentile_ms(0.99),
                run.failures,
                target.per_session,
                app_cpu_us + redis_cpu_us,
                app_cpu_us,
                redis_cpu_us,
            );
            if let Some(f) = &run.first_failure {
                println!("    first failure: {f}");
            }
            println!(
                "RESULT {}",
                json!({
                    "kind": "web", "store": store, "app": app,
                    "rps": run.rate(), "p50_ms": run.percentile_ms(0.5),
                    "p99_ms": run.percentile_ms(0.99), "failed": run.failures,
                    "bytes_per_session": target.per_session, "sessions": sessions,
                    "rounds": rounds, "pinned": pinning.is_some(),
                    "cpu_us_per_request": app_cpu_us + redis_cpu_us,
                    "app_cpu_us_per_request": app_cpu_us,
                    "redis_cpu_us_per_request": redis_cpu_us,
                })
            );
        }
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
