# Shared by bench/proxy/run.sh and memory.sh (sourced): builds the release binaries, writes
# the bench page, the origin's and the proxies' configurations to a work dir, and starts
# the servers; everything started is stopped on exit.
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release -q -p cdnbroker && cargo build --release -q -p broker-proxy --example rewrite_bench)
bin="$target/release/cdnbroker"
tool="$target/release/examples/rewrite_bench"
work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as nobody when started as root
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  [ -n "${KEEP:-}" ] && echo "work dir kept: $work" || rm -rf "$work"
}
trap cleanup EXIT

origin=18100; origin_tagged=18103; plain=18101; sub=18102
cold=18181; cold_metrics=18182; replayed=18191; replayed_metrics=18192
mkdir -p "$work/www" "$work/logs" "$work/o" "$work/p"
"$tool" page "$work/www/index.html" > /dev/null
size=$(stat -c %s "$work/www/index.html")
load() { cut -d' ' -f1-3 /proc/loadavg; }

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
  root $work/www;
  charset utf-8;
  server { listen 127.0.0.1:$origin; etag off; location / { } }       # a dynamic page
  server { listen 127.0.0.1:$origin_tagged; location / { } }          # a strong ETag
}
NGX
proxies_conf() {   # WORKERS
cat <<NGX
worker_processes $1;
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
}
proxy_conf() {   # SPECIAL METRICS ORIGIN (listen: any free port, unused)
cat <<TOML
[node]
name = "C"
[proxy]
listen = "127.0.0.1:0"
special_ports = { G = "127.0.0.1:$1" }
metrics = "127.0.0.1:$2"
[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:$3", "img.xyz.com" = "http://127.0.0.1:$3" }
TOML
}
proxy_conf $cold $cold_metrics $origin > "$work/cold.toml"
proxy_conf $replayed $replayed_metrics $origin_tagged > "$work/replayed.toml"

h="Host: www.xyz.com"
wait_up() {   # PORT...: each answers (bench only: tests wait on bound sockets instead)
  for port in "$@"; do
    for _ in $(seq 300); do curl -s -o /dev/null -H "$h" "http://127.0.0.1:$port/" && break; sleep 0.1; done
  done
}
cpu_of() {   # LAYOUT ROLE: the taskset prefix (one: servers on core 0, the rest on core 1)
  [ "$1" = one ] || return 0
  [ "$2" = server ] && echo "taskset -c 0" || echo "taskset -c 1"
}
start_origin() {   # LAYOUT
  $(cpu_of "$1" side) nginx -p "$work" -c "$work/origin.conf" & pids+=($!)
  wait_up $origin $origin_tagged
}
start_nginx_proxies() {   # LAYOUT: one worker pinned, or worker_processes auto
  proxies_conf "$([ "$1" = one ] && echo 1 || echo auto)" > "$work/proxies.conf"
  $(cpu_of "$1" server) nginx -p "$work" -c "$work/proxies.conf" 2>> "$work/logs/proxies-error.log" & pids+=($!)
  wait_up $plain $sub
}
start_cdnbroker() {   # LAYOUT NAME PORT: one tokio worker pinned, or the default count
  local threads=()
  [ "$1" = one ] && threads=(TOKIO_WORKER_THREADS=1)
  env "${threads[@]}" RUST_LOG=warn $(cpu_of "$1" server) "$bin" run --config "$work/$2.toml" \
    > "$work/$2.out" 2> "$work/logs/$2.err" & pids+=($!)
  cdnbroker_pid=$!
  wait_up "$3"
}
plans_replayed() {   # METRICS_PORT
  curl -s "http://127.0.0.1:$1/metrics" | awk '/plans_total\{result="replayed"\}/ {print $2} END {}' | head -1
}

