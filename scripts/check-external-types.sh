#!/usr/bin/env bash
# The third-party types in each library's public API are the deliberate list in its Cargo.toml
# (`[package.metadata.cargo_check_external_types]`), checked with cargo-check-external-types on every
# feature. The tool reads rustdoc's JSON output, an unstable format: the machine's stable toolchain
# is allowed to produce it (RUSTC_BOOTSTRAP=1; no nightly needed), and the tool's version below reads
# the format of that toolchain (format 57, Rust 1.95). A new toolchain whose format differs makes the
# tool say so: then pick the cargo-check-external-types release that reads it.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.5.0
if ! cargo install --list | grep -qxF "cargo-check-external-types v$version:"; then
  echo "== installing cargo-check-external-types $version (cargo install, from crates.io)"
  cargo install cargo-check-external-types --version "$version" --locked --quiet
fi

status=0
for lib in logto-jwt logto logto-api-auth logto-axum logto-actix logto-backend; do
  echo "-- $lib"
  RUSTC_BOOTSTRAP=1 cargo check-external-types --all-features \
    --manifest-path "crates/$lib/Cargo.toml" || status=1
done
if [ "$status" != 0 ]; then
  echo "check-external-types: a public API exposes a third-party type not in its crate's allow-list" >&2
  echo "  (above). Keep it out of the API, or add it to allowed_external_types in that Cargo.toml" >&2
  echo "  deliberately (and re-export its crate if users must name it)." >&2
fi
exit "$status"
