#!/usr/bin/env bash
# Starts the real Logto (built from source on the first run, see testing/logto/) with the sample's
# users and API resources, the shopping API (examples/api-server) and the Leptos sample against
# them; prints the URL to open and the users to sign in with. Ctrl-C stops everything.
#
#   examples/leptos/dev.sh               # app on http://localhost:3000, API on port 3002
#   PORT=4000 API_PORT=4002 examples/leptos/dev.sh
#
# Needs Rust (cargo) and Node.js 20+.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT="${PORT:-3000}"
API_PORT="${API_PORT:-3002}"
BASE_URL="${BASE_URL:-http://localhost:$PORT}"

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "dev.sh: $tool is required (Rust: https://rustup.rs, Node.js 20+)" >&2; exit 1; }
done

run_dir="$(mktemp -d)"
server_pid=""
tenant_pid=""
api_pid=""
app_pid=""
cleanup() {
  for pid in "$app_pid" "$api_pid"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  exec 9>&- 2>/dev/null || true # the sample's set-up ends
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

echo "== building the Leptos sample, the shopping API and the tenant set-up (cargo build)"
cargo build -p logto-leptos-example --bin logto-leptos-example --example api-server
cargo build -p logto-test-support --bin logto-sample-tenant
target="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
if [ ! -d testing/idp/node_modules ]; then
  echo "== installing the upstream providers' npm packages (npm ci --prefix testing/idp)"
  npm ci --prefix testing/idp --no-audit --no-fund --loglevel=error
fi

echo "== starting Logto (the first run builds it from source: a few minutes)"
mkfifo "$run_dir/stdin"
node testing/logto/server.mjs --state "$run_dir/logto" <"$run_dir/stdin" >"$run_dir/ready" &
server_pid=$!
exec 8>"$run_dir/stdin" # Logto runs while this stays open
wait_ready "$server_pid" "$run_dir/ready" '"ready":true' "Logto"

echo "== creating the sample's users and API resources"
mkfifo "$run_dir/tenant-stdin"
"$target/debug/logto-sample-tenant" "$run_dir/logto/instance.json" "$BASE_URL" \
  <"$run_dir/tenant-stdin" >"$run_dir/tenant" &
tenant_pid=$!
exec 9>"$run_dir/tenant-stdin"
wait_ready "$tenant_pid" "$run_dir/tenant" '^SAMPLE_READY=1' "the sample's set-up"
eval "$(cat "$run_dir/tenant")"
# The first of LOGTO_RESOURCES is the shopping API.
SHOPPING_API="${LOGTO_RESOURCES%% *}"

LOGTO_ENDPOINT="$LOGTO_ENDPOINT" API_RESOURCE="$SHOPPING_API" PORT="$API_PORT" \
  "$target/debug/examples/api-server" 2>"$run_dir/api" &
api_pid=$!
wait_ready "$api_pid" "$run_dir/api" 'listening on' "the shopping API (is port $API_PORT free? set API_PORT)"

cat <<MSG

  Logto:       $LOGTO_ENDPOINT   Logto 1.37.1 (state is fresh on every run)
  API:         http://127.0.0.1:$API_PORT/api/shopping   (needs shopping:read)
  Open:        $BASE_URL
  Sign in as:  alice / alice-password   (shopping:read: "Call the API" answers)
               bob / bob-password       (shopping:read too)

  Ctrl-C stops the app, the API and Logto.

MSG

LOGTO_ENDPOINT="$LOGTO_ENDPOINT" LOGTO_APP_ID="$LOGTO_APP_ID" LOGTO_APP_SECRET="$LOGTO_APP_SECRET" \
LOGTO_SCOPES="email shopping:read" LOGTO_RESOURCES="$SHOPPING_API" \
API_URL="http://127.0.0.1:$API_PORT/api/shopping" BASE_URL="$BASE_URL" PORT="$PORT" \
  "$target/debug/logto-leptos-example" &
app_pid=$!
wait "$app_pid"
