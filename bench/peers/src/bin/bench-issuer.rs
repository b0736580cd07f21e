//! The stand-in Logto tenant of `bench/run.sh`: serves discovery and JWKS on 127.0.0.77 (the
//! ES384 tenant at BASE, the RS256 one at BASE/rsa) and writes the tokens the load uses.
//!
//! ```text
//! BENCH_CACHE=bench/.cache OUT=/tmp/dir DISTINCT=1000000 bench-issuer
//! ```
//! Writes `OUT/es384.token` and `OUT/rs256.token` (one access token each, user 0) and, with
//! `DISTINCT`, keeps `BENCH_CACHE/distinct-es384.txt` (that many tokens of distinct users,
//! valid 30 days): signed once, reused by later runs while the keys, the port and the tokens are
//! still good (same issuer URL, not too old). Prints `ready BASE` when serving.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use logto_bench::env_or;
use logto_bench::issuer::{Alg, Issuer};

const DISTINCT_LIFETIME: u64 = 30 * 24 * 3600;
/// A loopback address of its own (127.0.0.0/8 is all loopback).
const ADDR: &str = "127.0.0.77";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cache = PathBuf::from(env_or("BENCH_CACHE", "bench/.cache"));
    let out = PathBuf::from(env_or("OUT", "."));
    let distinct: u64 = env_or("DISTINCT", "0").parse().expect("DISTINCT");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::create_dir_all(&out).unwrap();

    // The issuer listens on its own loopback address (no client socket of the benchmark takes a
    // port there), on the port of the last run when it is free: the cached tokens name it.
    let port_file = cache.join("port");
    let saved: Option<u16> = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|p| p.trim().parse().ok());
    let listener = match saved {
        Some(port) => tokio::net::TcpListener::bind((ADDR, port)).await.ok(),
        None => None,
    };
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind((ADDR, 0)).await.unwrap(),
    };
    let port = listener.local_addr().unwrap().port();
    std::fs::write(&port_file, port.to_string()).unwrap();
    let base = format!("http://{ADDR}:{port}");
    let issuer = Arc::new(Issuer::load_or_create(&cache, &base));

    std::fs::write(out.join("es384.token"), issuer.token(Alg::Es384)).unwrap();
    std::fs::write(out.join("rs256.token"), issuer.token(Alg::Rs256)).unwrap();

    if distinct > 0 {
        let path = cache.join("distinct-es384.txt");
        // The issuer the tokens were signed for: they only verify against the same one.
        let stamp = cache.join("distinct-es384.issuer");
        let same_issuer = std::fs::read_to_string(&stamp).is_ok_and(|s| s == base);
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age < Duration::from_secs(DISTINCT_LIFETIME * 2 / 3));
        let count = if same_issuer && fresh {
            std::fs::read(&path)
                .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
                .unwrap_or(0)
        } else {
            0
        };
        if count < distinct {
            eprintln!(
                "bench-issuer: signing {distinct} distinct ES384 tokens (once; cached in {path:?})…"
            );
            let started = std::time::Instant::now();
            let tokens = issuer.distinct_tokens(distinct, DISTINCT_LIFETIME);
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            for token in tokens {
                writeln!(file, "{token}").unwrap();
            }
            file.flush().unwrap();
            std::fs::write(&stamp, &base).unwrap();
            eprintln!(
                "bench-issuer: signed in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
    }

    println!("ready {base}");
    axum::serve(listener, issuer.router()).await.unwrap();
}
