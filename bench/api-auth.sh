#!/usr/bin/env bash
# Side-by-side: the Rust example API server (logto-api-auth) against seed
# 004's Python decorator (Flask + python-jose under gunicorn), same token,
# same route, same HTTP load (wrk). Everything listens on 127.0.0.1 only.
#
# Needs: wrk (apt-get install wrk) and `pip install -r bench/python/requirements.txt`.
# Env: DURATION (s, default 10), CONNECTIONS (default 32), THREADS (default 2),
#      PY_WORKERS (gunicorn workers, default 2*cores+1).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
CORES=$(nproc)
PY_WORKERS=${PY_WORKERS:-$((2 * CORES + 1))}
RESOURCE=https://shopping.example.com/api

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
python3 -c 'import flask, jose, gunicorn, cryptography' 2>/dev/null ||
  { echo "missing Python packages: pip install -r bench/python/requirements.txt" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url
  for _ in $(seq 1 150); do
    python3 -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "timed out waiting for $1" >&2; return 1
}

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "building the Rust example (release)…" >&2
cargo build --quiet --release -p logto-examples --example api-server
RUST_BIN=target/release/examples/api-server

ISSUER_PORT=$(free_port)
python3 bench/mock_issuer.py "$ISSUER_PORT" "$RESOURCE" "$WORK/token" >"$WORK/issuer.log" 2>&1 &
PIDS+=($!)
ENDPOINT="http://127.0.0.1:$ISSUER_PORT"
wait_http "$ENDPOINT/oidc/.well-known/openid-configuration"
TOKEN=$(head -n1 "$WORK/token")

start_rust() { # port cache_capacity
  LOGTO_ENDPOINT=$ENDPOINT API_RESOURCE=$RESOURCE PORT=$1 TOKEN_CACHE_CAPACITY=$2 \
    "$RUST_BIN" >"$WORK/server.log" 2>&1 &
  SERVER=$!
}
start_python() { # port jwks_mode
  (cd bench/python && LOGTO_ENDPOINT=$ENDPOINT API_RESOURCE=$RESOURCE JWKS_MODE=$2 \
    exec python3 -m gunicorn -w "$PY_WORKERS" -b "127.0.0.1:$1" --log-level warning app:APP) \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
}

to_ms() { # wrk latency like 1.23ms / 850.00us / 1.20s
  python3 -c '
import re,sys
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)$", v)
n=float(m.group(1)); print(round(n/1000 if m.group(2)=="us" else n*1000 if m.group(2)=="s" else n, 3))' "$1"
}

declare -A RPS P99
run() { # name starter arg
  local name=$1 port; port=$(free_port)
  "$2" "$port" "$3"
  local url="http://127.0.0.1:$port/api/profile"
  wait_http "http://127.0.0.1:$port/health"
  local check
  check=$(python3 -c "
import sys,urllib.request
r=urllib.request.Request(sys.argv[1], headers={'Authorization': 'Bearer '+sys.argv[2]})
print(urllib.request.urlopen(r, timeout=5).status)" "$url" "$TOKEN")
  [ "$check" = 200 ] || { echo "$name: token rejected" >&2; cat "$WORK/server.log" >&2; exit 1; }
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$url" >"$WORK/$name.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  local non2xx
  non2xx=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$WORK/$name.txt" || true)
  [ -z "$non2xx" ] || echo "$name: $non2xx" >&2
  RPS[$name]=$(awk '/Requests\/sec:/ {print $2}' "$WORK/$name.txt")
  P99[$name]=$(to_ms "$(awk '$1=="99%" {print $2}' "$WORK/$name.txt")")
  printf '%-34s %10s req/s   p99 %8s ms\n' "$name" "${RPS[$name]}" "${P99[$name]}"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on $CORES cores; gunicorn workers: $PY_WORKERS; one ES384 at+jwt token" >&2
run rust_cached start_rust 10000
run rust_uncached start_rust 0
run python_seed_jwks_per_request start_python per-request
run python_jwks_at_startup start_python startup

ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1])/float(sys.argv[2]):.1f}x")' "$1" "$2"; }
echo
echo "throughput ratio, Rust default (token cache) / seed as written:  $(ratio "${RPS[rust_cached]}" "${RPS[python_seed_jwks_per_request]}")"
echo "throughput ratio, Rust uncached / Python with JWKS at startup:   $(ratio "${RPS[rust_uncached]}" "${RPS[python_jwks_at_startup]}")"
echo "p99 ratio, seed as written / Rust default:                       $(ratio "${P99[python_seed_jwks_per_request]}" "${P99[rust_cached]}")"
echo "p99 ratio, Python JWKS at startup / Rust uncached:               $(ratio "${P99[python_jwks_at_startup]}" "${P99[rust_uncached]}")"
