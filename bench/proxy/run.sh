#!/usr/bin/env bash
# Front proxy vs nginx sub_filter, side by side in one run (issue 4, item 6).
#
# The page: a real 138 KB news page made into a ~150 KB page with ~190 embedded URLs of
# img.xyz.com (proxy/benches/bench_page.rs says how; the page is the publisher's, used as
# a test input on loopback only). An origin (nginx static, one worker) serves it as
# www.xyz.com. Three servers fetch it from the origin and hand it to wrk:
#   nginx-plain   nginx proxy_pass, no rewriting: the limit of a proxy
#   nginx-sub     nginx proxy_pass + sub_filter '//img.xyz.com/' -> '//foo.cdn-g.example/img.xyz.com/'
#   cdnbroker     the [proxy] role of `cdnbroker run`, on its special port for partner G
#                 (forces every img.xyz.com URL to G's embedded form: the same rewrite)
# One core each: the origin and wrk on core 1, the server under test on core 0 (nginx:
# one worker; cdnbroker: one tokio worker). Rounds alternate the servers so that drifts of
# the machine hit all alike. Then the latency each adds over a direct fetch (wrk -c1) and
# the rewriter alone in MB/s on one core.
#
#   bench/proxy/setup                       # once: wrk, nginx with sub_filter
#   bench/proxy/run.sh [ROUNDS] [SECONDS]   # KEEP=1 keeps the work dir
set -euo pipefail
rounds=${1:-3}
secs=${2:-5}
conns=${CONNS:-50}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
(cd "$root" && cargo build --release -q -p cdnbroker && cargo build --release -q -p broker-proxy --example rewrite_bench)
bin="$root/target/release/cdnbroker"
tool="$root/target/release/examples/rewrite_bench"
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as nobody when started as root
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "work dir kept: $work" || rm -rf "$work"
}
trap cleanup EXIT

origin=18100; plain=18101; sub=18102; front=18180; special=18181; front0=18190; special0=18191
mkdir -p "$work/www" "$work/logs" "$work/o" "$work/p"
"$tool" page "$work/www/index.html"
size=$(stat -c %s "$work/www/index.html")

cat > "$work/origin.conf" <<NGX
worker_processes 1;
daemon off;
error_log $work/logs/origin-error.log warn;
pid $work/o/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  include /etc/nginx/mime.types;
  client_body_temp_path $work/o; proxy_temp_path $work/o; fastcgi_temp_path $work/o;
  uwsgi_temp_path $work/o; scgi_temp_path $work/o;
  server {
    listen 127.0.0.1:$origin;
    root $work/www;
    charset utf-8;
    location / { }
  }
}
NGX
cat > "$work/proxies.conf" <<NGX
worker_processes 1;
daemon off;
error_log $work/logs/proxies-error.log warn;
pid $work/p/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/p; proxy_temp_path $work/p; fastcgi_temp_path $work/p;
  uwsgi_temp_path $work/p; scgi_temp_path $work/p;
  upstream origin { server 127.0.0.1:$origin; keepalive 64; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$host;
  proxy_set_header Accept-Encoding "";
  server {   # the limit: proxying, no rewriting
    listen 127.0.0.1:$plain;
    location / { proxy_pass http://origin; }
  }
  server {   # the peer: the same rewrite by sub_filter
    listen 127.0.0.1:$sub;
    location / {
      proxy_pass http://origin;
      sub_filter '//img.xyz.com/' '//foo.cdn-g.example/img.xyz.com/';
      sub_filter_once off;
      sub_filter_types text/html;
    }
  }
}
NGX
# Two proxies: the default (rewrite plans of pages seen before are replayed), and one
# with rewrite_cache_mb = 0 (every page tokenized and rewritten: a page's first sight).
proxy_conf() {   # FRONT SPECIAL EXTRA
cat <<TOML
[node]
name = "C"
[proxy]
listen = "127.0.0.1:$1"
special_ports = { G = "127.0.0.1:$2" }
$3
[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:$origin", "img.xyz.com" = "http://127.0.0.1:$origin" }
TOML
}
proxy_conf $front $special "" > "$work/c.toml"
proxy_conf $front0 $special0 "rewrite_cache_mb = 0" > "$work/c0.toml"

taskset -c 1 nginx -p "$work" -c "$work/origin.conf" & pids+=($!)
taskset -c 0 nginx -p "$work" -c "$work/proxies.conf" 2>> "$work/logs/proxies-error.log" & pids+=($!)
TOKIO_WORKER_THREADS=1 RUST_LOG=warn taskset -c 0 "$bin" run --config "$work/c.toml" > "$work/front.out" 2> "$work/logs/front.err" & pids+=($!)
TOKIO_WORKER_THREADS=1 RUST_LOG=warn taskset -c 0 "$bin" run --config "$work/c0.toml" > "$work/front0.out" 2> "$work/logs/front0.err" & pids+=($!)
h="Host: www.xyz.com"
for port in $origin $plain $sub $front $special $front0 $special0; do
  for _ in $(seq 200); do curl -s -o /dev/null -H "$h" "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

# Same page, same rewrite: count the partner URLs each server produced.
partner_urls() { curl -s -H "$h" "http://127.0.0.1:$1/" | grep -o '//foo\.cdn-g\.example/img\.xyz\.com/' | wc -l; }
echo "page: $size bytes; partner URLs in the answer: nginx-sub $(partner_urls $sub), cdnbroker $(partner_urls $special)," \
     "cdnbroker-noplan $(partner_urls $special0), nginx-plain $(partner_urls $plain)"
# The replayed page is the rewritten page, byte for byte.
cmp -s <(curl -s -H "$h" "http://127.0.0.1:$special/") <(curl -s -H "$h" "http://127.0.0.1:$special0/") \
  && echo "  cdnbroker (replayed plan) and cdnbroker-noplan (tokenized) answer the same bytes" \
  || { echo "  the replayed page differs from the tokenized one"; exit 1; }
echo "  (sub_filter also rewrites links and text that the proxy rightly leaves alone)"

# wrk with --latency: "REQS P50MS P99MS".
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }
measure() {   # PORT CONNS SECONDS
  local out
  out=$(taskset -c 1 wrk -t1 -c"$2" -d"$3s" --latency -H "$h" "http://127.0.0.1:$1/")
  printf '%s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)" "$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)"
}

declare -A port=([nginx-plain]=$plain [nginx-sub]=$sub [cdnbroker]=$special [cdnbroker-noplan]=$special0)
names=(nginx-plain nginx-sub cdnbroker cdnbroker-noplan)
declare -A all
echo
echo "throughput: wrk -t1 -c$conns -d${secs}s --latency, one server core each (server on core 0, origin + wrk on core 1)"
printf '  %-6s %-17s %10s %9s %9s %8s\n' round server req/s p50-ms p99-ms MB/s
for r in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    read -r rps p50 p99 <<<"$(measure "${port[$name]}" "$conns" "$secs")"
    all[$name]+="$rps "
    printf '  %-6s %-17s %10s %9s %9s %8.0f\n' "$r" "$name" "$rps" "$p50" "$p99" \
      "$(awk -v a="$rps" -v s="$size" 'BEGIN{print a*s/1e6}')"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
m_plain=$(median <<<"${all[nginx-plain]}"); m_sub=$(median <<<"${all[nginx-sub]}"); m_us=$(median <<<"${all[cdnbroker]}")
m_np=$(median <<<"${all[cdnbroker-noplan]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "medians: nginx-plain $m_plain, nginx-sub $m_sub, cdnbroker $m_us, cdnbroker-noplan $m_np req/s"
echo "ratios: cdnbroker/nginx-sub $(ratio "$m_us" "$m_sub")   cdnbroker-noplan/nginx-sub $(ratio "$m_np" "$m_sub")   cdnbroker/nginx-plain $(ratio "$m_us" "$m_plain")   nginx-sub/nginx-plain $(ratio "$m_sub" "$m_plain")"

echo
echo "latency one request at a time (wrk -t1 -c1 -d${secs}s), ms:"
read -r _ d50 d99 <<<"$(measure $origin 1 "$secs")"
printf '  %-17s p50 %7s  p99 %7s\n' direct "$d50" "$d99"
for name in "${names[@]}"; do
  read -r _ p50 p99 <<<"$(measure "${port[$name]}" 1 "$secs")"
  printf '  %-17s p50 %7s  p99 %7s   added p50 %s ms\n' "$name" "$p50" "$p99" \
    "$(awk -v a="$p50" -v b="$d50" 'BEGIN{printf "%.3f", a-b}')"
done

echo
echo "the rewriter alone, one thread on core 0 (examples/rewrite_bench):"
taskset -c 0 "$tool" throughput 3 | sed 's/^/  /'
echo "load: $(uptime)"
