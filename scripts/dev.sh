#!/usr/bin/env bash
# Starts the real Logto (built from source on the first run, see testing/logto/) with the sample's
# users, API resources, organizations, a social connector and an enterprise SSO connector (their
# upstream providers run locally), and the sample web app against it; prints the URL to open and the
# users to sign in with. Ctrl-C stops everything.
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
tenant_pid=""
app_pid=""
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  exec 9>&- 2>/dev/null || true # the upstream providers stop
  if [ -n "$tenant_pid" ]; then wait "$tenant_pid" 2>/dev/null || true; fi
  exec 8>&- 2>/dev/null || true
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until a program started in the background (pid $1) writes a line matching $3 to $2.
wait_ready() {
  local pid="$1" file="$2" pattern="$3" what="$4"
  until grep -q "$pattern" "$file" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "dev.sh: $what did not start (see above)" >&2; exit 1; }
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
  wait_ready "$server_pid" "$run_dir/ready" '"ready":true' "the test IdP (is port $IDP_PORT free? set IDP_PORT)"
  export LOGTO_ENDPOINT="http://127.0.0.1:$IDP_PORT" LOGTO_APP_ID=web-app LOGTO_APP_SECRET=web-app-secret
  export LOGTO_RESOURCES="${LOGTO_RESOURCES:-https://shopping.example.com/api https://store.example.com/api}"
  logto_name="Test IdP (an imitation of Logto)"
else
  echo "== building the sample app and the tenant set-up (cargo build)"
  cargo build --example web-app -p logto-examples
  cargo build -p logto-test-support --bin logto-sample-tenant
  # Where cargo put it (CARGO_TARGET_DIR or the build configuration may move it from target/).
  target="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
  echo "== starting Logto (the first run builds it from source: a few minutes)"
  mkfifo "$run_dir/stdin"
  node testing/logto/server.mjs --state "$run_dir/logto" <"$run_dir/stdin" >"$run_dir/ready" &
  server_pid=$!
  exec 8>"$run_dir/stdin" # Logto runs while this stays open
  wait_ready "$server_pid" "$run_dir/ready" '"ready":true' "Logto"
  if [ ! -d testing/idp/node_modules ]; then
    echo "== installing the upstream providers' npm packages (npm ci --prefix testing/idp)"
    npm ci --prefix testing/idp --no-audit --no-fund --loglevel=error
  fi
  echo "== creating the sample's users, API resources, organizations and connectors"
  mkfifo "$run_dir/tenant-stdin"
  "$target/debug/logto-sample-tenant" "$run_dir/logto/instance.json" "$BASE_URL" \
    <"$run_dir/tenant-stdin" >"$run_dir/tenant" &
  tenant_pid=$!
  exec 9>"$run_dir/tenant-stdin" # the upstream providers run while this stays open
  wait_ready "$tenant_pid" "$run_dir/tenant" '^SAMPLE_READY=1' "the sample's set-up"
  eval "$(cat "$run_dir/tenant")"
  export LOGTO_ENDPOINT LOGTO_APP_ID LOGTO_APP_SECRET LOGTO_RESOURCES \
    LOGTO_SOCIAL_TARGET LOGTO_SOCIAL_NAME LOGTO_SSO_CONNECTOR_ID
  logto_name="Logto 1.37.1 (its sign-in pages; state is fresh on every run)"
  connectors="
  Or, on the home page: \"Continue with $LOGTO_SOCIAL_NAME\" as $SAMPLE_SOCIAL_USER / upstream-password
  (a social OAuth 2.0 provider at $SAMPLE_SOCIAL_URL), or \"Sign in with SSO\" as
  $SAMPLE_SSO_USER / upstream-password ($SAMPLE_SSO_EMAIL, enterprise OIDC at $SAMPLE_SSO_URL).
  The first time, Logto creates the user and asks for a username.
"
fi

cat <<MSG

  Logto:       $LOGTO_ENDPOINT   $logto_name
  Open:        $BASE_URL
  Sign in as:  alice / alice-password   (profile, roles, organizations Acme and Globex)
               bob / bob-password       (a username only)
${connectors:-}
  Ctrl-C stops the app and Logto.

MSG

# In the background and waited for, so that a signal stops everything at once.
LOGTO_SCOPES="$LOGTO_SCOPES" BASE_URL="$BASE_URL" PORT="$PORT" \
SESSION_STORE="${SESSION_STORE:-sqlite:$run_dir/sessions.sqlite3}" \
  cargo run --quiet --example web-app -p logto-examples &
app_pid=$!
wait "$app_pid"
