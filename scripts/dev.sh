#!/usr/bin/env bash
# Starts the local test Logto (testing/idp) and the sample web app together, then prints the URL
# to open and the user to sign in with. Ctrl-C stops both.
#
#   scripts/dev.sh                       # app on http://localhost:3000, test Logto on :3001
#   PORT=4000 IDP_PORT=4001 scripts/dev.sh
#   SESSION_STORE=redis://127.0.0.1:6379 scripts/dev.sh
#
# Needs Rust (cargo) and Node.js 20+; installs the test IdP's npm packages on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-3000}"
IDP_PORT="${IDP_PORT:-3001}"

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "dev.sh: $tool is required (Rust: https://rustup.rs, Node.js 20+)" >&2; exit 1; }
done
if [ ! -d testing/idp/node_modules ]; then
  echo "== installing the test IdP's npm packages (npm ci --prefix testing/idp)"
  npm ci --prefix testing/idp --no-audit --no-fund --loglevel=error
fi

echo "== building the sample app (cargo build --example web-app)"
cargo build --example web-app

idp_pid=""
cleanup() {
  if [ -n "$idp_pid" ]; then kill "$idp_pid" 2>/dev/null || true; wait "$idp_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The IdP prints one ready line on stdout; its logs go to stderr.
idp_ready="$(mktemp)"
node testing/idp/server.mjs --port "$IDP_PORT" --no-stdin-exit >"$idp_ready" &
idp_pid=$!
for _ in $(seq 1 100); do
  grep -q '"ready":true' "$idp_ready" 2>/dev/null && break
  kill -0 "$idp_pid" 2>/dev/null || { echo "dev.sh: the test IdP did not start (is port $IDP_PORT free? set IDP_PORT)" >&2; exit 1; }
  sleep 0.1
done
grep -q '"ready":true' "$idp_ready" || { echo "dev.sh: the test IdP did not get ready" >&2; exit 1; }
rm -f "$idp_ready"

cat <<MSG

  Test Logto:  http://127.0.0.1:$IDP_PORT
  Open:        http://localhost:$PORT
  Sign in as:  alice / alice-password   (or bob / bob-password)

  Ctrl-C stops the app and the test Logto.

MSG

LOGTO_ENDPOINT="http://127.0.0.1:$IDP_PORT" \
LOGTO_APP_ID=web-app \
LOGTO_APP_SECRET=web-app-secret \
LOGTO_SCOPES="${LOGTO_SCOPES:-email phone custom_data identities roles urn:logto:scope:organizations urn:logto:scope:organization_roles shopping:read shopping:write store:read}" \
LOGTO_RESOURCES="${LOGTO_RESOURCES:-https://shopping.example.com/api https://store.example.com/api}" \
BASE_URL="${BASE_URL:-http://localhost:$PORT}" \
PORT="$PORT" \
SESSION_STORE="${SESSION_STORE:-memory}" \
  cargo run --quiet --example web-app
