#!/usr/bin/env bash
# Load benchmark of the sample web app: see load.rs for what it measures and the knobs
# (SESSIONS, CONCURRENCY, DURATION_SECS, ACCESS_TOKEN_TTL). Needs redis-server and the test IdP's
# npm packages (npm ci --prefix testing/idp).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec cargo bench -p logto-examples --bench web-app-load "$@"
