#!/usr/bin/env bash
# Edge vs nginx proxy_cache, side by side in one run (issue 5, item 6).
#
# Both serve the same cached 10 KB object (Host: img.xyz.com) fetched from one origin
# (an nginx static server). Each server gets ONE core (taskset -c 0; the edge also runs
# one tokio worker); wrk gets the other core. Rounds alternate nginx / edge so that
# drifts of the machine hit both alike. Then a flash crowd: 1,000 connections ask for a
# cold object at once; the origin's access log counts the fetches each cache made.
#
#   bench/edge/setup            # once: wrk, nginx
#   bench/edge/run.sh [ROUNDS] [SECONDS]
set -euo pipefail
rounds=${1:-3}
secs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/target/release/cdnbroker"
[ -x "$bin" ] || (cd "$root" && cargo build --release -p cdnbroker)
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as nobody when started as root
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && echo "work dir $work"

origin=18000; ngx=18001; edge=18090
mkdir -p "$work/www" "$work/cache" "$work/logs"
head -c 10240 /dev/urandom > "$work/www/obj"
for i in $(seq 0 9); do head -c 10240 /dev/urandom > "$work/www/cold$i"; done

cat > "$work/nginx.conf" <<NGX
worker_processes 1;
daemon off;
error_log $work/logs/error.log warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path $work/cache keys_zone=c:10m max_size=64m inactive=1h;
  server {   # the origin
    listen 127.0.0.1:$origin;
    root $work/www;
    access_log $work/logs/origin.log;
    location / { expires 1h; }
  }
  server {   # the baseline cache
    listen 127.0.0.1:$ngx;
    location / {
      proxy_pass http://127.0.0.1:$origin;
      proxy_set_header Host \$host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_lock on;
      proxy_cache_valid 200 1h;
    }
  }
}
NGX
cat > "$work/g.toml" <<TOML
[node]
name = "G"
[edge]
listen = "127.0.0.1:$edge"
cache_mb = 64
[[edge.offloader]]
name = "C"
token = "bench"
embedded_hosts = ["foo.cdn-g.example"]
origins = { "img.xyz.com" = "http://127.0.0.1:$origin" }
TOML

taskset -c 0 nginx -p "$work" -c "$work/nginx.conf" & pids+=($!)
TOKIO_WORKER_THREADS=1 RUST_LOG=warn taskset -c 0 "$bin" run --config "$work/g.toml" > "$work/edge.out" & pids+=($!)
for port in $origin $ngx $edge; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

h="Host: img.xyz.com"
for port in $ngx $edge; do   # warm both caches, check they hit
  curl -s -o /dev/null -H "$h" "http://127.0.0.1:$port/obj"
done
echo "edge answer: $(curl -s -D - -o /dev/null -H "$h" "http://127.0.0.1:$edge/obj" | tr -d '\r' | grep -iE '^(x-cache|content-length)' | tr '\n' ' ')"

rps() { taskset -c 1 wrk -t1 -c50 -d"${secs}s" -H "$h" "http://127.0.0.1:$1/obj" | awk '/Requests\/sec/ {print $2}'; }
echo "cache hits, 10 KB object, wrk -t1 -c50 -d${secs}s, one server core each:"
for r in $(seq "$rounds"); do
  n=$(rps $ngx); e=$(rps $edge)
  echo "  round $r: nginx ${n} req/s   edge ${e} req/s   edge/nginx $(awk -v a="$e" -v b="$n" 'BEGIN{printf "%.2f", a/b}')"
done

# Flash crowd: 1,000 connections, one cold object each server, 2 s.
crowd() {
  taskset -c 1 wrk -t1 -c1000 -d2s -H "$h" "http://127.0.0.1:$1/$2" >/dev/null 2>&1 || true
  grep -c "GET /$2 " "$work/logs/origin.log" || true
}
ulimit -n 8192 2>/dev/null || true
echo "flash crowd (wrk -c1000 on a cold object): origin fetches nginx(proxy_cache_lock) $(crowd $ngx cold1), edge $(crowd $edge cold2)"
