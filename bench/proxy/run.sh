#!/usr/bin/env bash
# Front proxy vs nginx sub_filter, side by side in one run (issues 4 and 16).
#
# The page: a real 138 KB news page made into a ~155 KB page with ~190 embedded URLs of
# img.xyz.com (proxy/benches/bench_page.rs says how; the page is the publisher's, used as
# a test input on loopback only). An origin (nginx static, one worker) serves it as
# www.xyz.com twice: on one port without an ETag (a dynamic page: every request takes the
# cold path and is tokenized), on another with nginx's strong ETag (the replayed path).
# Four servers fetch it and hand it to wrk, in alternating rounds:
#   nginx-plain         nginx proxy_pass, no rewriting: the limit of a proxy
#   nginx-sub           nginx proxy_pass + sub_filter '//img.xyz.com/' -> '//foo.cdn-g.example/img.xyz.com/'
#   cdnbroker-cold      `cdnbroker run` [proxy] on its special port for partner G (forces
#                       every img.xyz.com URL to G's embedded form: the same rewrite), page
#                       without ETag: every request tokenized (checked: no plan replayed)
#   cdnbroker-replayed  the same with the page's strong ETag: its rewrite plan replayed
# Two layouts, each a full set of rounds:
#   one   one core each: the server under test on core 0 (nginx worker_processes 1,
#         cdnbroker TOKIO_WORKER_THREADS=1), the origin and wrk on core 1
#   all   all cores: nothing pinned, nginx worker_processes auto, cdnbroker's default
#         worker count, wrk -t2
# Then, in layout `one`, the latency each adds over a direct fetch at 50% of its measured
# capacity (wrk with exponential think times, bench/proxy/paced.lua), and the rewriter
# alone in MB/s on one core.
#
#   bench/proxy/setup                       # once: wrk, nginx with sub_filter
#   bench/proxy/run.sh [ROUNDS] [SECONDS]   # default 5 rounds of 5 s
#   LAYOUTS="one all" CONNS=50 KEEP=1 (keeps the work dir) LATENCY=0 (skip it) ALONE=0
set -euo pipefail
rounds=${1:-5}
secs=${2:-5}
conns=${CONNS:-50}
layouts=${LAYOUTS:-one all}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# wrk with --latency: "REQS P50MS P99MS".
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }
wrk_cpu=()
measure() {   # PORT CONNS SECONDS [wrk args...]
  local out port=$1 c=$2 s=$3
  shift 3
  out=$("${wrk_cpu[@]}" wrk "$@" -c"$c" -d"${s}s" --latency -H "$h" "http://127.0.0.1:$port/")
  printf '%s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)" "$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

declare -A port=([nginx-plain]=$plain [nginx-sub]=$sub [cdnbroker-cold]=$cold [cdnbroker-replayed]=$replayed)
names=(nginx-plain nginx-sub cdnbroker-cold cdnbroker-replayed)
declare -A capacity   # req/s medians of layout one, for the latency runs

for layout in $layouts; do
  start_origin "$layout"; start_nginx_proxies "$layout"
  start_cdnbroker "$layout" cold $cold; start_cdnbroker "$layout" replayed $replayed
  if [ "$layout" = one ]; then
    wrk_cpu=(taskset -c 1); wrk_threads=1
    echo "== one core each: server on core 0 (nginx 1 worker, cdnbroker 1 tokio worker); origin + wrk on core 1"
  else
    wrk_cpu=(); wrk_threads=2
    echo "== all cores ($(nproc)), nothing pinned: nginx worker_processes auto, cdnbroker's default workers, wrk -t2"
  fi
  # Same page, same rewrite: count the partner URLs each server produced.
  partner_urls() { curl -s -H "$h" "http://127.0.0.1:$1/" | grep -o '//foo\.cdn-g\.example/img\.xyz\.com/' | wc -l; }
  echo "page: $size bytes; partner URLs in the answer: nginx-sub $(partner_urls $sub)," \
       "cdnbroker-cold $(partner_urls $cold), cdnbroker-replayed $(partner_urls $replayed)," \
       "nginx-plain $(partner_urls $plain)"
  cmp -s <(curl -s -H "$h" "http://127.0.0.1:$cold/") <(curl -s -H "$h" "http://127.0.0.1:$replayed/") \
    && echo "  cdnbroker-cold (tokenized) and cdnbroker-replayed (plan replayed) answer the same bytes" \
    || { echo "  the replayed page differs from the tokenized one"; exit 1; }
  echo "  (sub_filter also rewrites links and text that the proxy rightly leaves alone)"
  declare -A all=()
  echo "throughput: wrk -t$wrk_threads -c$conns -d${secs}s --latency; rounds alternate the servers"
  printf '  %-6s %-19s %10s %9s %9s %8s   %s\n' round server req/s p50-ms p99-ms MB/s load-1/5/15
  for r in $(seq "$rounds"); do
    for name in "${names[@]}"; do
      l=$(load)
      read -r rps p50 p99 <<<"$(measure "${port[$name]}" "$conns" "$secs" -t$wrk_threads)"
      all[$name]+="$rps "
      printf '  %-6s %-19s %10s %9s %9s %8.0f   %s\n' "$r" "$name" "$rps" "$p50" "$p99" \
        "$(awk -v a="$rps" -v s="$size" 'BEGIN{print a*s/1e6}')" "$l"
    done
  done
  declare -A med=()
  for name in "${names[@]}"; do med[$name]=$(median <<<"${all[$name]}"); done
  [ "$layout" = one ] && for name in "${names[@]}"; do capacity[$name]=${med[$name]}; done
  replays=$(plans_replayed $cold_metrics)
  [ "${replays:-0}" = 0 ] || { echo "the cold server replayed $replays plans: not a cold path"; exit 1; }
  echo "medians ($layout), req/s: nginx-plain ${med[nginx-plain]}, nginx-sub ${med[nginx-sub]}," \
       "cdnbroker-cold ${med[cdnbroker-cold]}, cdnbroker-replayed ${med[cdnbroker-replayed]}"
  echo "  COLD ($layout):     cdnbroker-cold/nginx-sub $(ratio "${med[cdnbroker-cold]}" "${med[nginx-sub]}")" \
       "  cdnbroker-cold/nginx-plain $(ratio "${med[cdnbroker-cold]}" "${med[nginx-plain]}")" \
       "  (plans replayed by the cold server: ${replays:-0}; goal >= 1.5 x sub)"
  echo "  REPLAYED ($layout): cdnbroker-replayed/nginx-sub $(ratio "${med[cdnbroker-replayed]}" "${med[nginx-sub]}")" \
       "  cdnbroker-replayed/nginx-plain $(ratio "${med[cdnbroker-replayed]}" "${med[nginx-plain]}")" \
       "  (plans replayed: $(plans_replayed $replayed_metrics); goal >= 3 x sub)"
  echo "  nginx-sub/nginx-plain $(ratio "${med[nginx-sub]}" "${med[nginx-plain]}"); load at the end: $(load)"

  if [ "$layout" = one ] && [ "${LATENCY:-1}" != 0 ]; then
    echo
    echo "latency added over a direct fetch at 50% of each server's capacity (one core each;"
    echo "  wrk -t1 with exponential think times, bench/proxy/paced.lua; direct = the origin at the same rate), ms:"
    printf '  %-19s %8s %8s %9s %9s %9s %9s %10s %10s\n' server rate-req/s got-req/s p50 p99 direct-p50 direct-p99 added-p50 added-p99
    for name in "${names[@]}"; do
      rate=$(awk -v c="${capacity[$name]}" 'BEGIN{printf "%d", c/2}')
      # About 25 ms of think time per connection (wrk's delay() counts whole ms).
      c=$(awk -v r="$rate" 'BEGIN{c=int(r*0.025+0.5); print (c<2)?2:c}')
      export PACED_MEAN_MS=$(awk -v c="$c" -v r="$rate" 'BEGIN{printf "%.3f", c*1000/r}')
      read -r _ d50 d99 <<<"$(measure $origin "$c" "$secs" -t1 -s "$here/paced.lua")"
      read -r got p50 p99 <<<"$(measure "${port[$name]}" "$c" "$secs" -t1 -s "$here/paced.lua")"
      printf '  %-19s %8s %9.0f %9s %9s %10s %10s %10.3f %10.3f\n' "$name" "$rate" "$got" "$p50" "$p99" "$d50" "$d99" \
        "$(awk -v a="$p50" -v b="$d50" 'BEGIN{print a-b}')" "$(awk -v a="$p99" -v b="$d99" 'BEGIN{print a-b}')"
    done
    echo "  load at the end: $(load)"
  fi
  stop_all
  echo
done

if [ "${ALONE:-1}" != 0 ]; then
  echo "the rewriter alone, one thread on core 0 (examples/rewrite_bench):"
  taskset -c 0 "$tool" throughput 3 | sed 's/^/  /'
fi
echo "load: $(load)"
