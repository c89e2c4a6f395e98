#!/usr/bin/env bash
# Runs every fuzz target of fuzz/Cargo.toml for a set time each, one after another, and
# prints one line per target: executions, corpus size, crashes. An input that crashed a
# target is copied to regressions/<target>/ (commit it: every later run replays it first,
# as a regression test). Exit status 1 when any target crashed.
#
#   fuzz/run_all.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s, every target)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler (libfuzzer-sys).
# `--sanitizer none` runs on stable; set ASAN=1 to build with AddressSanitizer through
# RUSTC_BOOTSTRAP (slower, finds more).
set -uo pipefail
cd "$(dirname "$0")"
SECS=${1:-600}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(awk -F'"' '/^name = /{print $2}' Cargo.toml | grep -v '^cdnbroker-fuzz$')
fi
SAN=(--sanitizer none)
[ -n "${ASAN:-}" ] && { export RUSTC_BOOTSTRAP=1; SAN=(); }
crashed=0
printf '%-18s %12s %8s %8s\n' target execs corpus crashes
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "regressions/$t" "artifacts/$t"
  dirs=("corpus/$t" "regressions/$t")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  log="artifacts/$t/last-run.log"
  cargo fuzz run "${SAN[@]}" "$t" "${dirs[@]}" -- \
    -max_total_time="$SECS" -max_len=65536 -dict=ascii.dict -print_final_stats=1 >"$log" 2>&1
  found=$(find "artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  for f in "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-*; do
    [ -f "$f" ] && cp "$f" "regressions/$t/"
  done
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log" | tail -1)
  corpus=$(find "corpus/$t" -type f | wc -l)
  printf '%-18s %12s %8s %8s\n' "$t" "${execs:-?}" "$corpus" "$found"
  [ "$found" -gt 0 ] && crashed=1
done
exit $crashed
