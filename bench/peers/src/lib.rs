//! Shared pieces of the side-by-side benchmarks (`bash bench/run.sh`): a stand-in Logto tenant
//! that signs Logto-shaped access tokens, and the peers' token validation, each wired the way its
//! own documentation shows.
#![allow(missing_docs)]

pub mod issuer;
pub mod peers;

/// The API resource (the tokens' `aud`) of every API benchmark.
pub const RESOURCE: &str = "https://shopping.example.com/api";
/// The scope the protected route requires.
pub const REQUIRED_SCOPE: &str = "shopping:read";

/// `{"sub", "client_id", "scopes"}`: the JSON every API server of the benchmark answers on
/// `GET /api/profile`, as `examples/api-server` does.
pub fn profile_json(sub: &str, client_id: Option<&str>, scopes: &[&str]) -> serde_json::Value {
    serde_json::json!({ "sub": sub, "client_id": client_id, "scopes": scopes })
}

/// The value of an environment variable, or `default`.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of process `pid` in bytes (Linux `/proc`).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
