#!/usr/bin/env bash
# What a reviewer checks, before the tests (.ci/run runs this, then scripts/test.sh): formatting,
# clippy and rustdoc without warnings, the libraries' tokio features, every feature combination of
# each library, the third-party types of their public APIs, and `cargo package` of each publishable
# crate. Installs cargo-hack and cargo-check-external-types (from crates.io) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

libraries=(logto-jwt logto logto-api-auth logto-axum logto-actix logto-backend) # in dependency order
step() { echo "== $*"; step_start=$SECONDS; }
done_step() { echo "   ($((SECONDS - step_start)) s)"; }

step "cargo fmt --check"
cargo fmt --all --check
done_step

step "tokio features of the libraries (scripts/check-features.sh)"
bash scripts/check-features.sh
done_step

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
done_step

step "rustdoc -D warnings (cargo doc --workspace --no-deps --all-features)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet
done_step

step "every feature combination of each library builds (cargo hack check --feature-powerset)"
if ! cargo hack --version >/dev/null 2>&1; then
  echo "   installing cargo-hack (cargo install, from crates.io)"
  cargo install cargo-hack --version 0.6.46 --locked --quiet
fi
packages=()
for lib in "${libraries[@]}"; do packages+=(-p "$lib"); done
# --no-dev-deps: the libraries alone (dev-dependencies would turn features on). cargo-hack restores
# the Cargo.toml files it edits for this when it ends.
cargo hack check "${packages[@]}" --feature-powerset --no-dev-deps --quiet
done_step

step "third-party types in the public APIs (scripts/check-external-types.sh)"
bash scripts/check-external-types.sh
done_step

step "cargo package (${libraries[*]})"
# The packages are assembled (manifest, included files, dependencies resolvable) but not built
# again: the feature-powerset step above already built each library alone, and a second build of
# each from its package cost about 5 minutes of CI. --allow-dirty: a local run checks the edits not
# yet committed too.
cargo package "${packages[@]}" --no-verify --allow-dirty --quiet
done_step
