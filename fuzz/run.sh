#!/usr/bin/env bash
# Builds the fuzz targets (stable Rust, libFuzzer with SanitizerCoverage) and runs each for
# SECONDS on a working copy of its corpus. Prints a table: target, inputs executed, seconds,
# crashes. Exits non-zero, with the crashing input's path, if any target crashes.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]      (default: 10 s, every target; 0: the corpus once)
#
# Environment: FUZZ_KEEP_CORPUS=1 keeps the working corpora (their path is printed);
# FUZZ_TARGET_DIR puts the build elsewhere than fuzz/target (e.g. a cache kept between runs);
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS="-rss_limit_mb=4096").
set -euo pipefail

seconds=${1:-10}
shift || true
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^logto-fuzz$')
fi

# libFuzzer (C++) is compiled by libfuzzer-sys' build script: it needs a C++ compiler.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: installing g++ (libFuzzer's sources are C++)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq g++ >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { echo "fuzz: cargo (stable Rust) is needed" >&2; exit 1; }

host=$(rustc -vV | sed -n 's/^host: //p')
# What `cargo fuzz build --sanitizer none` passes, all stable options: SanitizerCoverage's
# module pass with inline 8-bit counters, the PC table and comparison tracing for libFuzzer.
# `--target` keeps the flags off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cdebug-assertions"
# Its own target directory, whatever the caller's: the instrumented build never touches the
# workspace's.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$here/target}"
unset RUSTC_BOOTSTRAP

bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
log=$(mktemp)
start=$(date +%s)
printf 'fuzz: building %d targets (release, instrumented) ' "${#targets[@]}"
set +e
cargo build --release --target "$host" "${bins[@]}" 2>&1 | tee "$log" |
    while IFS= read -r line; do
        case "$line" in *Compiling*) printf . ;; esac
    done
status=${PIPESTATUS[0]}
set -e
printf ' %ss\n' "$(($(date +%s) - start))"
if [ "$status" != 0 ]; then
    cat "$log" >&2
    echo "fuzz: the build failed" >&2
    exit 1
fi
rm -f "$log"

if [ "$seconds" = 0 ]; then limit="-runs=0"; else limit="-max_total_time=$seconds"; fi
work=$(mktemp -d)
if [ -z "${FUZZ_KEEP_CORPUS:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$here/artifacts"
rows=()
crashed=()
total=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    if [ -d "corpus/$t" ]; then cp -r "corpus/$t/." "$work/$t/corpus/"; fi
    printf 'fuzz: %-22s %ss ...' "$t" "$seconds"
    set +e
    # shellcheck disable=SC2086
    "$CARGO_TARGET_DIR/$host/release/$t" "$work/$t/corpus" \
        $limit -max_len=8192 -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" ${FUZZ_ARGS:-} \
        >"$work/$t/log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log" | tail -n1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/$t/log" | tail -n1)
    crashes=0
    for artifact in "$work/$t/artifacts"/*; do
        [ -e "$artifact" ] || continue
        crashes=$((crashes + 1))
        mkdir -p "$here/artifacts/$t"
        cp "$artifact" "$here/artifacts/$t/"
        crashed+=("$here/artifacts/$t/$(basename "$artifact")")
    done
    if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then
        crashes=1
        cp "$work/$t/log" "$here/artifacts/$t.log"
        crashed+=("$here/artifacts/$t.log (exit $rc, no input saved)")
    fi
    if [ "$crashes" != 0 ]; then
        cp "$work/$t/log" "$here/artifacts/$t.log"
        echo " CRASH"
        grep -E "panicked at|^SUMMARY|deadly signal|ERROR: libFuzzer" "$work/$t/log" | head -5 | sed 's/^/    /'
    else
        echo " ok"
    fi
    total=$((total + ${runs:-0}))
    rows+=("$(printf '%-22s %14s %8s %8s' "$t" "${runs:-?}" "${took:-?}" "$crashes")")
done

echo
printf '%-22s %14s %8s %8s\n' target inputs seconds crashes
for row in "${rows[@]}"; do echo "$row"; done
printf '%-22s %14s\n' total "$total"
if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then echo "fuzz: working corpora in $work"; fi
if [ ${#crashed[@]} -gt 0 ]; then
    echo
    echo "fuzz: ${#crashed[@]} crash(es); inputs and logs:" >&2
    for c in "${crashed[@]}"; do echo "  $c" >&2; done
    echo "fuzz: reproduce with: $CARGO_TARGET_DIR/$host/release/<target> <input>" >&2
    exit 1
fi
