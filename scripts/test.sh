#!/usr/bin/env bash
# Runs every test of the workspace, against the real Logto and the test IdP. On a fresh machine it
# first installs what the tests need: Debian's redis-server (session-store tests, Logto's cache),
# postgresql (Logto's database) and chromium (the browser tests), the npm packages of the test
# identity provider and of the browser test, and builds Logto from source (testing/logto/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
if ((${#missing[@]})); then
  echo "== installing ${missing[*]} (Debian packages)"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, reinstalled whenever a lock file is newer than what is installed.
for dir in testing/idp testing/e2e; do
  [ -f "$dir/package-lock.json" ] || continue
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "== npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

# The real Logto (testing/logto): one server for the whole run, built from source on the first run
# (minutes), stopped when this script exits. LOGTO_RS_SKIP_REAL_LOGTO=1 skips its tests (they say
# so); a LOGTO_TEST_INSTANCE already set points at a Logto that is running.
if [ "${LOGTO_RS_SKIP_REAL_LOGTO:-}" = 1 ]; then
  echo "== LOGTO_RS_SKIP_REAL_LOGTO=1: the tests against the real Logto are SKIPPED"
elif [ -z "${LOGTO_TEST_INSTANCE:-}" ]; then
  echo "== starting the real Logto (testing/logto/server.mjs)"
  logto_run="$(mktemp -d)"
  mkfifo "$logto_run/stdin"
  node testing/logto/server.mjs --state "$logto_run/state" <"$logto_run/stdin" >"$logto_run/ready" &
  logto_pid=$!
  exec 8>"$logto_run/stdin" # Logto runs while this stays open
  stop_logto() {
    exec 8>&-
    wait "$logto_pid" 2>/dev/null || true
    rm -rf "$logto_run"
  }
  trap stop_logto EXIT
  until grep -q '"ready":true' "$logto_run/ready" 2>/dev/null; do
    kill -0 "$logto_pid" 2>/dev/null || { echo "test.sh: the real Logto did not start (see above)" >&2; exit 1; }
    sleep 0.2
  done
  export LOGTO_TEST_INSTANCE="$logto_run/state/instance.json"
  echo "== real Logto at $(sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p' "$logto_run/ready")"
fi

# Everything is built first, visibly, so that no test looks hung while it builds: the sample
# programs that the examples' tests start (built as those tests build them, see
# testing/support/src/examples.rs), then the test binaries.
echo "== building the examples (cargo build -p logto-examples --examples)"
cargo build -p logto-examples --examples
if cargo nextest --version >/dev/null 2>&1; then
  echo "== building the tests (cargo nextest run --workspace --no-run)"
  cargo nextest run --workspace --no-run
  echo "== running the tests (cargo nextest run --workspace)"
  cargo nextest run --workspace --no-fail-fast
else
  echo "== building the tests (cargo test --workspace --all-targets --no-run)"
  cargo test --workspace --all-targets --no-run
  echo "== running the tests (cargo test --workspace --all-targets)"
  cargo test --workspace --no-fail-fast --all-targets
fi
echo "== doctests (cargo test --workspace --doc)"
cargo test --workspace --doc
