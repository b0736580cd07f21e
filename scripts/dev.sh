#!/usr/bin/env bash
# Starts the real Logto (built from source on the first run, see testing/logto/) with the sample's
# users, API resources and organizations, and the sample web app against it; prints the URL to open
# and the users to sign in with. Ctrl-C stops everything.
#
#   scripts/dev.sh                       # app on http://localhost:3000, Logto on a free port
#   PORT=4000 scripts/dev.sh
#   SESSION_STORE=redis://127.0.0.1:6379 scripts/dev.sh
#   scripts/dev.sh --test-idp            # the quick imitation of Logto (testing/idp) instead
#
# Needs Rust (cargo) and Node.js 20+. The first run builds Logto (a few minutes, progress shown)
# and installs PostgreSQL and Redis from Debian when missing; later runs start in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-3000}"
BASE_URL="${BASE_URL:-http://localhost:$PORT}"
LOGTO_SCOPES="${LOGTO_SCOPES:-email phone custom_data identities roles urn:logto:scope:organizations urn:logto:scope:organization_roles shopping:read shopping:write store:read read:projects}"
use_test_idp=false
case "${1:-}" in
  --test-idp) use_test_idp=true ;;
  "") ;;
  *) echo "usage: scripts/dev.sh [--test-idp]" >&2; exit 2 ;;
esac

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "dev.sh: $tool is required (Rust: https://rustup.rs, Node.js 20+)" >&2; exit 1; }
done

run_dir="$(mktemp -d)"
server_pid=""
app_pid=""
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  exec 8>&- 2>/dev/null || true
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits for the JSON ready line of a server started in the background.
wait_ready() {
  local file="$1" what="$2"
  until grep -q '"ready":true' "$file" 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || { echo "dev.sh: $what did not start (see above)" >&2; exit 1; }
    sleep 0.2
  done
}

if $use_test_idp; then
  IDP_PORT="${IDP_PORT:-3001}"
  if [ ! -d testing/idp/node_modules ]; then
    echo "== installing the test IdP's npm packages (npm ci --prefix testing/idp)"
    npm ci --prefix testing/idp --no-audit --no-fund --loglevel=error
  fi
  echo "== building the sample app (cargo build --example web-app)"
  cargo build --example web-app
  node testing/idp/server.mjs --port "$IDP_PORT" --no-stdin-exit >"$run_dir/ready" &
  server_pid=$!
  wait_ready "$run_dir/ready" "the test IdP (is port $IDP_PORT free? set IDP_PORT)"
  export LOGTO_ENDPOINT="http://127.0.0.1:$IDP_PORT" LOGTO_APP_ID=web-app LOGTO_APP_SECRET=web-app-secret
  export LOGTO_RESOURCES="${LOGTO_RESOURCES:-https://shopping.example.com/api https://store.example.com/api}"
  logto_name="Test IdP (an imitation of Logto)"
else
  echo "== building the sample app and the tenant set-up (cargo build)"
  cargo build --example web-app -p logto-examples
  cargo build -p logto-test-support --bin logto-sample-tenant
  echo "== starting Logto (the first run builds it from source: a few minutes)"
  mkfifo "$run_dir/stdin"
  node testing/logto/server.mjs --state "$run_dir/logto" <"$run_dir/stdin" >"$run_dir/ready" &
  server_pid=$!
  exec 8>"$run_dir/stdin" # Logto runs while this stays open
  wait_ready "$run_dir/ready" "Logto"
  echo "== creating the sample's users, API resources and organizations"
  sample="$(target/debug/logto-sample-tenant "$run_dir/logto/instance.json" "$BASE_URL")"
  eval "$sample"
  export LOGTO_ENDPOINT LOGTO_APP_ID LOGTO_APP_SECRET LOGTO_RESOURCES
  logto_name="Logto 1.37.1 (its sign-in pages; state is fresh on every run)"
fi

cat <<MSG

  Logto:       $LOGTO_ENDPOINT   $logto_name
  Open:        $BASE_URL
  Sign in as:  alice / alice-password   (profile, roles, organizations Acme and Globex)
               bob / bob-password       (a username only)

  Ctrl-C stops the app and Logto.

MSG

# In the background and waited for, so that a signal stops everything at once.
LOGTO_SCOPES="$LOGTO_SCOPES" BASE_URL="$BASE_URL" PORT="$PORT" \
SESSION_STORE="${SESSION_STORE:-memory}" \
  cargo run --quiet --example web-app -p logto-examples &
app_pid=$!
wait "$app_pid"
