#!/usr/bin/env bash
# Load benchmark of the sample web app: see load.rs for what it measures and the knobs
# (SESSIONS, CONCURRENCY, DURATION_SECS, ACCESS_TOKEN_TTL). Needs redis-server and the test IdP's
# npm packages (npm ci --prefix testing/idp).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet --release -p logto-examples --example web-app
export WEB_APP=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/web-app
exec cargo run --quiet --release --manifest-path bench/peers/Cargo.toml --bin web-app-race "$@"
