#!/usr/bin/env bash
# The tokio features of the libraries: each library asks tokio only for what its own code uses
# (rt, sync, time), and no library's normal dependency tree, with any of its features, enables the
# tokio features of programs (process, macros, the multi-threaded runtime, signal, fs, stdio).
# `net` comes with reqwest (an HTTP client opens sockets), so it is allowed in the tree but not asked
# for by our crates. actix-web's runtime (actix-rt) always enables `signal` and `parking_lot`, so
# logto-actix's tree may hold them (a limit of actix, not asked for by us). Fails, naming the crate
# and feature, otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

libraries=(logto-jwt logto logto-api-auth logto-axum logto-actix logto-backend)
own_allowed="rt sync time"
tree_forbidden="process macros rt-multi-thread signal fs io-std full parking_lot"
status=0

# What each library's Cargo.toml asks of tokio (normal dependencies only; tests may take more).
metadata="$(cargo metadata --format-version 1 --no-deps)"
for lib in "${libraries[@]}"; do
  asked="$(python3 -c '
import json, sys
meta = json.load(sys.stdin)
pkg = next(p for p in meta["packages"] if p["name"] == sys.argv[1])
print(" ".join(f for d in pkg["dependencies"] if d["name"] == "tokio" and d["kind"] is None
              for f in d["features"] + (["default"] if d["uses_default_features"] else [])))
' "$lib" <<<"$metadata")"
  for feature in $asked; do
    if [[ " $own_allowed " != *" $feature "* ]]; then
      echo "check-features: $lib asks tokio for \`$feature\` (allowed: $own_allowed); move it to [dev-dependencies] if only tests need it" >&2
      status=1
    fi
  done
  # The resolved tree, with no features and with all of them.
  for features in --no-default-features --all-features; do
    resolved="$(cargo tree -q -p "$lib" "$features" -e normal --prefix none -f '{p} {f}' | sed -n 's/^tokio v[^ ]* \([^ ]*\).*/\1/p' | head -n 1 | tr ',' ' ')"
    for feature in $tree_forbidden; do
      if [[ "$lib" == logto-actix && " signal parking_lot " == *" $feature "* ]]; then
        continue
      fi
      if [[ " $resolved " == *" $feature "* ]]; then
        echo "check-features: tokio \`$feature\` is in $lib's dependency tree ($features); see \`cargo tree -p $lib $features -e normal,features -i tokio\`" >&2
        status=1
      fi
    done
    echo "$lib ($features): tokio [$resolved]"
  done
done
exit "$status"
