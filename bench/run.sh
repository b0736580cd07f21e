#!/usr/bin/env bash
# Every benchmark of logto-rs against what a user would pick instead, side by side in one run on
# this machine; prints the table of ratios (ours / theirs) and writes bench/results/ (the table,
# the raw figures, chart.svg). See bench/README.md.
#
#   bash bench/run.sh           # full run (~9 min warm; the first run also signs 1 M tokens: ~13 min)
#   bash bench/run.sh --quick   # short runs, 100 k distinct tokens (~4 min warm)
#   bash bench/run.sh --only http,web   # some parts: tokens (criterion), http, web, client
#
# Env: DURATION (s per HTTP run), CONNECTIONS, THREADS (wrk), RESULTS (output folder).
# Installs what is missing: wrk, redis-server (Debian), the test IdP's npm packages, and a venv
# under bench/.venv with Logto's Python SDK and the Python API-protection guide's stack.
# Everything listens on loopback only (127.0.0.1; the stand-in Logto on 127.0.0.77).
# Not part of CI (noisy machines).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

QUICK=0
ONLY=tokens,http,web,client
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift ;;
    *) echo "usage: bash bench/run.sh [--quick] [--only tokens,http,web,client]" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
if [ $QUICK = 1 ]; then
  DURATION=${DURATION:-4}; WARMUP=1; DISTINCT_POINTS="1 1000 10000 100000"
  SESSIONS=${SESSIONS:-200}; WEB_SECS=4; N_STEPS=300; N_CALLBACK=30
  export BENCH_QUICK=1
else
  DURATION=${DURATION:-10}; WARMUP=2; DISTINCT_POINTS="1 1000 10000 100000 1000000"
  SESSIONS=${SESSIONS:-1000}; WEB_SECS=15; N_STEPS=2000; N_CALLBACK=100
fi
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
# Only a full run replaces the recorded results (and the figures in bench/README.md).
if [ "$ONLY" != tokens,http,web,client ]; then RESULTS=${RESULTS:-$ROOT/bench/results/partial}
elif [ $QUICK = 1 ]; then RESULTS=${RESULTS:-$ROOT/bench/results/quick}
else RESULTS=${RESULTS:-$ROOT/bench/results}; fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
REL=$CARGO_TARGET_DIR/release
CACHE=$ROOT/bench/.cache
VENV=$ROOT/bench/.venv
START=$(date +%s)
log() { echo "[$(date +%T)] $*" >&2; }

# --- tools ------------------------------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v redis-server >/dev/null || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  sudo_cmd=() # as root, or through sudo
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y "${need_apt[@]}" >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update >/dev/null && "${sudo_cmd[@]}" apt-get install -y "${need_apt[@]}" >/dev/null; }
fi
[ -d testing/idp/node_modules ] || npm ci --prefix testing/idp --silent
if ! "$VENV/bin/python" -c 'import logto, flask, jose, gunicorn' 2>/dev/null; then
  log "creating $VENV (Logto's Python SDK, the Python API-protection guide's stack)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q logto -r bench/python/requirements.txt
fi
PY=$VENV/bin/python

log "building (release): the examples, the peers"
cargo build --quiet --release -p logto-examples --example api-server --example web-app --example web-app-actix
(cd bench/peers && cargo build --quiet --release --bins && cargo bench --quiet --no-run 2>/dev/null)

mkdir -p "$RESULTS" "$CACHE"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
OUT=$WORK/results.jsonl
: >"$OUT"
record() { echo "$1" >>"$OUT"; }

cat >"$WORK/meta.json" <<EOF
{"date": "$(date -u +%Y-%m-%dT%H:%MZ)", "quick": $QUICK,
 "machine": "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)",
 "commit": "$(git rev-parse --short HEAD)",
 "load_before": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "wrk": "-t$THREADS -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s warm-up"}
EOF

# --- per-token costs (criterion) -------------------------------------------------------------
if want tokens; then
log "criterion: API token validation (ES384, RS256), ID-token verification"
(cd bench/peers && nice -n 0 cargo bench --quiet --bench api -- --noplot >"$WORK/criterion-api.txt" 2>&1) ||
  { cat "$WORK/criterion-api.txt" >&2; exit 1; }
(cd bench/peers && cargo bench --quiet --bench client -- --noplot >"$WORK/criterion-client.txt" 2>&1) ||
  { cat "$WORK/criterion-client.txt" >&2; exit 1; }
for group in peers_es384 peers_rs256 peers_id_token_es384; do
  for dir in "$CARGO_TARGET_DIR/criterion/$group"/*/; do
    name=$(basename "$dir")
    [ -f "$dir/new/estimates.json" ] || continue
    ns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$dir/new/estimates.json")
    record "{\"kind\": \"token\", \"group\": \"$group\", \"name\": \"$name\", \"ns\": $ns}"
  done
done
fi

# --- HTTP -------------------------------------------------------------------------------------
if want http; then
DISTINCT_MAX=${DISTINCT_POINTS##* }
log "issuer: tokens (the ${DISTINCT_MAX} distinct ones are signed once and cached in bench/.cache)"
BENCH_CACHE=$CACHE OUT=$WORK DISTINCT=$DISTINCT_MAX "$REL/bench-issuer" >"$WORK/issuer.out" &
PIDS+=($!)
for _ in $(seq 1 3000); do grep -q '^ready ' "$WORK/issuer.out" 2>/dev/null && break; sleep 0.2; done
BASE=$(sed -n 's/^ready //p' "$WORK/issuer.out")
[ -n "$BASE" ] || { echo "the issuer did not start" >&2; exit 1; }
ES_TOKEN=$(cat "$WORK/es384.token")
RS_TOKEN=$(cat "$WORK/rs256.token")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; return 1
}
to_ms() { python3 -c '
import re,sys
m=re.match(r"([0-9.]+)(us|ms|s)$", sys.argv[1]); n=float(m.group(1))
print(round(n/1000 if m.group(2)=="us" else n*1000 if m.group(2)=="s" else n, 3))' "$1"; }

# http NAME ALG PATH TOKEN [LUA_SCRIPT SCRIPT_ARGS…] — SERVER_CMD (an array) starts the server
# on $PORT.
http_run() {
  local name=$1 alg=$2 path=$3 token=$4; shift 4
  local script=() script_args=()
  if [ $# -gt 0 ]; then script=(-s "$1"); shift; script_args=(-- "$@"); fi
  PORT=$(free_port)
  env PORT="$PORT" "${SERVER_CMD[@]}" >"$WORK/server.log" 2>&1 &
  local server=$!
  wait_http "http://127.0.0.1:$PORT/health"
  local url="http://127.0.0.1:$PORT$path"
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
  [ "$status" = 200 ] || { echo "$name: $status for the token" >&2; cat "$WORK/server.log" >&2; exit 1; }
  DISTINCT_MODE=seq wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -H "Authorization: Bearer $token" "${script[@]}" "$url" "${script_args[@]}" >/dev/null
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" "${script[@]}" "$url" "${script_args[@]}" >"$WORK/wrk.txt"
  kill "$server"; wait "$server" 2>/dev/null || true
  local rps p99 errors
  rps=$(awk '/Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")")
  errors=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' "$WORK/wrk.txt")
  [ -z "$errors" ] || { echo "$name: $errors failed responses" >&2; exit 1; }
  printf '  %-40s %10s req/s   p99 %8s ms\n' "$name" "$rps" "$p99" >&2
  record "{\"kind\": \"http\", \"name\": \"$name\", \"alg\": \"$alg\", \"rps\": $rps, \"p99_ms\": $p99, \"extra\": \"${EXTRA:-}\"}"
}

ours() { # endpoint cache_capacity
  SERVER_CMD=(env LOGTO_ENDPOINT="$1" API_RESOURCE=https://shopping.example.com/api
    TOKEN_CACHE_CAPACITY="$2" "$REL/examples/api-server")
}
peer() { # peer alg endpoint
  SERVER_CMD=(env PEER="$1" ALG="$2" LOGTO_ENDPOINT="$3" "$REL/peer-api")
}
python_guide() { # jwks mode
  local workers=$((2 * $(nproc) + 1))
  SERVER_CMD=(bash -c "cd '$ROOT/bench/python' && LOGTO_ENDPOINT='$BASE' API_RESOURCE=https://shopping.example.com/api JWKS_MODE=$1 exec '$VENV/bin/gunicorn' -w $workers -b 127.0.0.1:\$PORT --log-level warning app:APP")
}

log "HTTP: the API servers under the same wrk load (-t$THREADS -c$CONNECTIONS, ${DURATION}s)"
ours "$BASE" 10000; http_run logto_rs_cached ES384 /api/shopping "$ES_TOKEN"
ours "$BASE" 0; http_run logto_rs_uncached ES384 /api/shopping "$ES_TOKEN"
peer jsonwebtoken-aws-lc ES384 "$BASE"; http_run jsonwebtoken_aws_lc ES384 /api/shopping "$ES_TOKEN"
peer axum-jwt-auth ES384 "$BASE"; http_run axum_jwt_auth ES384 /api/shopping "$ES_TOKEN"
python_guide startup; http_run python_guide_jwks_at_startup ES384 /api/profile "$ES_TOKEN"
python_guide per-request; http_run python_guide_as_written ES384 /api/profile "$ES_TOKEN"
ours "$BASE/rsa" 10000; http_run logto_rs_cached RS256 /api/shopping "$RS_TOKEN"
ours "$BASE/rsa" 0; http_run logto_rs_uncached RS256 /api/shopping "$RS_TOKEN"
peer guide RS256 "$BASE/rsa"; http_run logto_guide_jsonwebtoken RS256 /api/shopping "$RS_TOKEN"
peer jsonwebtoken-aws-lc RS256 "$BASE/rsa"; http_run jsonwebtoken_aws_lc RS256 /api/shopping "$RS_TOKEN"
peer axum-jwt-auth RS256 "$BASE/rsa"; http_run axum_jwt_auth RS256 /api/shopping "$RS_TOKEN"

log "HTTP: per-core scaling (tokio workers 1 and 2; wrk shares the same cores)"
for workers in 1 2; do
  for cap in 10000 0; do
    ours "$BASE" "$cap"; SERVER_CMD=(env TOKIO_WORKER_THREADS=$workers "${SERVER_CMD[@]}")
    kind=$([ $cap = 0 ] && echo uncached || echo cached)
    EXTRA=$workers http_run "scaling_${kind}_workers_$workers" ES384 /api/shopping "$ES_TOKEN"
  done
done

log "HTTP: distinct tokens (verified-token cache of 10 000, random access)"
DISTINCT_FILE=$CACHE/distinct-es384.txt
for n in $DISTINCT_POINTS; do
  ours "$BASE" 10000
  EXTRA=$n http_run "distinct_$n" ES384 /api/shopping "$ES_TOKEN" "$ROOT/bench/distinct.lua" "$DISTINCT_FILE" "$n"
done
kill "${PIDS[0]}" 2>/dev/null || true
fi

# --- web app ----------------------------------------------------------------------------------
if want web; then
log "web app: the sample against the same route without Logto, memory and Redis stores"
SESSIONS=$SESSIONS DURATION_SECS=$WEB_SECS WEB_APP=$REL/examples/web-app WEB_APP_ACTIX=$REL/examples/web-app-actix \
  BASELINE=$REL/web-baseline \
  "$REL/web-load" | tee "$WORK/web.txt" >&2
sed -n 's/^RESULT //p' "$WORK/web.txt" >>"$OUT"
fi

if want client; then
log "web-app client steps: logto-rs against Logto's Python SDK"
PYTHON=$PY N=$N_STEPS N_CALLBACK=$N_CALLBACK "$REL/client-steps" | tee "$WORK/steps.txt" >&2
sed -n 's/^RESULT //p' "$WORK/steps.txt" >>"$OUT"
fi

# --- report -----------------------------------------------------------------------------------
END=$(date +%s)
python3 - "$WORK/meta.json" "$END" "$START" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
meta["load_after"] = open("/proc/loadavg").read().split()[:3]
meta["load_after"] = " ".join(meta["load_after"])
meta["duration_s"] = int(sys.argv[2]) - int(sys.argv[3])
json.dump(meta, open(sys.argv[1], "w"))
EOF
cp "$OUT" "$RESULTS/results.jsonl"
cp "$WORK/meta.json" "$RESULTS/meta.json"
python3 bench/report.py "$RESULTS"
if [ $QUICK = 0 ] && [ "$RESULTS" = "$ROOT/bench/results" ]; then
  # A full run: its figures go into bench/README.md.
  python3 - "$RESULTS/table.md" bench/README.md <<'EOF'
import re, sys
table = open(sys.argv[1]).read().strip()
readme = open(sys.argv[2]).read()
body = "![logto-rs / alternative, cost ratios](results/chart.svg)\n\n" + table
readme = re.sub(r"(<!-- results:start -->\n).*?(\n<!-- results:end -->)",
                lambda m: m.group(1) + body + m.group(2), readme, flags=re.S)
open(sys.argv[2], "w").write(readme)
EOF
fi
log "done in $(( (END - START) / 60 )) min $(( (END - START) % 60 )) s; table: $RESULTS/table.md, chart: $RESULTS/chart.svg"
