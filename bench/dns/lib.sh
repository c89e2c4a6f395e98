# Helpers shared by run.sh and signed.sh (sourced): start servers pinned, wait for them,
# measure them with dnsperf, print the table. The caller sets W (work dir, queries in
# $W/queries), SECS, RATE and PERF_ARGS (extra dnsperf flags, e.g. -D for DO; may be empty).
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT

wait_ready() { # port
  for _ in $(seq 100); do
    dig @127.0.0.1 -p "$1" +time=1 +tries=1 img.xyz.com A 2>/dev/null | grep -q "status: NOERROR" && return 0
    sleep 0.1
  done
  echo "server on port $1 never answered" >&2; return 1
}

RESULTS=()
CPU_RESULTS=()
# A process and its descendants (NSD serves from a grandchild).
family() { local c; echo "$1"; for c in $(pgrep -P "$1"); do family "$c"; done; }

# CPU seconds (user + system) a process and its descendants have used so far, from /proc.
cpu_s() {
  local p
  # Fields after "pid (comm) " (a child's comm holds blanks): utime 12, stime 13.
  for p in $(family "$1"); do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null; done |
    awk -v hz="$(getconf CLK_TCK)" '{t += $12 + $13} END {printf "%.3f", t / hz}'
}

measure() { # name port cpu-list-for-dnsperf (the server is the last started)
  local name=$1 port=$2 cpus=$3 out cpu0
  cpu0=$(cpu_s "${PIDS[-1]}")
  out=$(taskset -c "$cpus" dnsperf "${PERF_ARGS[@]}" -s 127.0.0.1 -p "$port" -d "$W/queries" -l "$SECS" -c 4 -q 500 2>&1)
  local qps mean lost done per_cpu
  qps=$(awk '/Queries per second/{print $4}' <<<"$out")
  # Answers per CPU second of the server: what a busy machine disturbs least.
  done=$(awk '/Queries completed/{print $3}' <<<"$out")
  per_cpu=$(awk -v n="$done" -v a="$cpu0" -v b="$(cpu_s "${PIDS[-1]}")" 'BEGIN{printf "%.0f", (b>a)?n/(b-a):0}')
  CPU_RESULTS+=("$name|$per_cpu")
  mean=$(awk '/Average Latency/{printf "%.3f", $4*1000}' <<<"$out")
  lost=$(awk '/Queries lost/{print $3}' <<<"$out")
  # p99 at a fixed rate below saturation, from per-query latencies.
  local p99
  p99=$(taskset -c "$cpus" dnsperf "${PERF_ARGS[@]}" -s 127.0.0.1 -p "$port" -d "$W/queries" -l 3 -Q "$RATE" -v 2>/dev/null |
    awk '/^> /{print $NF}' | sort -g | awk '{a[NR]=$1} END{if(NR){printf "%.3f", a[int(NR*0.99)]*1000}else{print "-"}}')
  RESULTS+=("$name|$qps|$mean|$p99|$lost")
}

start() { # cpu-list cmd...
  local cpus=$1; shift
  taskset -c "$cpus" "$@" >"$W/$(basename "$1").log" 2>&1 &
  PIDS+=($!)
}

stop_last() { kill "${PIDS[-1]}" 2>/dev/null || true; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'; }

report() { # name-of-the-baseline-row
  local base
  base=$(for r in "${RESULTS[@]}"; do IFS='|' read -r n q _ <<<"$r"; if [ "$n" = "$1" ]; then echo "$q"; fi; done)
  printf '\n%-30s %12s %10s %10s %8s %9s\n' server QPS "mean ms" "p99 ms" lost "vs $2"
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r n q m p l <<<"$r"
    printf '%-30s %12.0f %10s %10s %8s %8.2fx\n' "$n" "$q" "$m" "$p" "$l" "$(awk -v a="$q" -v b="$base" 'BEGIN{print (b>0)?a/b:0}')"
  done
  base=$(for r in "${CPU_RESULTS[@]}"; do IFS='|' read -r n c <<<"$r"; if [ "$n" = "$1" ]; then echo "$c"; fi; done)
  printf '\n%-30s %20s %9s\n' server "answers/CPU-second" "vs $2"
  for r in "${CPU_RESULTS[@]}"; do
    IFS='|' read -r n c <<<"$r"
    printf '%-30s %20s %8.2fx\n' "$n" "$c" "$(awk -v a="$c" -v b="$base" 'BEGIN{print (b>0)?a/b:0}')"
  done
}
