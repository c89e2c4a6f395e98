#!/usr/bin/env bash
# Issue 19's table, row by row (spec §11): each abuse against a real `cdnbroker run`
# process on loopback while a legitimate client measures success rate and latency and a
# sampler reads the process's RSS and descriptors, before / during / after.
#
#   bench/abuse/run.sh [PROBE...]      probes: relay tcp control management api vary query rrl line
#   env: BIN=path/to/cdnbroker  QUIET=4 (s before and after)  DURING=10 (s of abuse)
#
# Needs python3 (standard library only) and root for the silent partner on 127.0.0.9:53
# (relay probe); a release build of cdnbroker (built when missing).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/cdnbroker}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p cdnbroker)
W=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
ulimit -n 20000 2>/dev/null || true
mkdir -p out
python3 -u abuse.py "$BIN" "$W" "$@" | tee out/last-run.txt
