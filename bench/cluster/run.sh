#!/usr/bin/env bash
# Times `cdnbroker cluster` on the real tables in data/ and on
# generated tables of 1,000,000 routes + 1,000,000 geo prefixes. Prints, per input, the
# best of RUNS runs: wall and CPU seconds, input prefixes per CPU second, peak RSS.
#
# usage: bench/cluster/run.sh            (RUNS=3, OUT=target/bench-cluster by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
OUT=${OUT:-target/bench-cluster}
BIN=target/release/cdnbroker
DATA=data

cargo build --release -q -p cdnbroker
mkdir -p "$OUT"
if [ ! -f "$OUT/gen/geo.txt" ]; then
  echo "generating 1M routes + 1M geo prefixes into $OUT/gen (about a minute)" >&2
  python3 bench/cluster/gen.py 1000000 1000000 "$OUT/gen"
fi

# bench NAME ROUTES GEO: one result line.
bench() {
  local name=$1 routes=$2 geo=$3
  local lines best_wall="" best_cpu="" best_rss=""
  lines=$(( $(zcat -f "$routes" | grep -cv '^#') + $(zcat -f "$geo" | grep -cv '^#') ))
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -v taskset -c 0 "$BIN" cluster --routes "$routes" --geo "$geo" \
      -o "$OUT/$name.regions" --report "$OUT/$name.report" 2> "$OUT/$name.log"
    read -r wall cpu rss < <(awk -F': ' '
      /Elapsed \(wall clock\)/ { n = split($2, t, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + t[i] }
      /User time/ { u = $2 } /System time/ { s = $2 }
      /Maximum resident set size/ { r = $2 }
      END { printf "%.2f %.2f %d\n", w, u + s, r }' "$OUT/$name.log")
    if [ -z "$best_wall" ] || awk "BEGIN { exit !($wall < $best_wall) }"; then
      best_wall=$wall best_cpu=$cpu best_rss=$rss
    fi
  done
  printf '%-10s %10d %8s %8s %14.0f %8d\n' "$name" "$lines" "$best_wall" "$best_cpu" \
    "$(awk "BEGIN { print $lines / ($best_cpu > 0 ? $best_cpu : 0.01) }")" "$((best_rss / 1024))"
  grep '^cluster:' "$OUT/$name.log" | sed 's/^/    /'
}

printf '%-10s %10s %8s %8s %14s %8s\n' input prefixes wall_s cpu_s prefixes/cpu_s rss_MiB
if [ -f "$DATA/prefix-asn.txt.gz" ]; then
  bench real "$DATA/prefix-asn.txt.gz" "$DATA/regions-geowhois.txt.gz"
  bench real-small "$DATA/prefix-asn.txt.gz" "$DATA/regions-small.txt"
fi
bench generated "$OUT/gen/routes.txt" "$OUT/gen/geo.txt"
