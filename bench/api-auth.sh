#!/usr/bin/env bash
# The API-server part of bench/run.sh: examples/api-server against Logto's Rust guide,
# jsonwebtoken + aws-lc by hand, axum-jwt-auth and Logto's Python API-protection guide, under
# the same wrk load, plus per-core scaling and distinct tokens. See bench/README.md.
exec bash "$(dirname "$0")/run.sh" --only http "$@"
