#!/usr/bin/env bash
# Spec §8 figures: how fast a partner's alert reaches every engine and proxy of a CDN on
# many "hosts" (127.0.0.x), how long a failover takes, and what etcd writes per plan.
#
#   bench/cluster-plan/run.sh [ALERTS] [FAILOVERS]      (defaults 20 and 5)
#   MILLION=1 bench/cluster-plan/run.sh                 regions.txt with 1,000,000 prefixes
#   WATCHERS=N                                          simulated watchers (default 100; 10
#                                                       with MILLION: each holds the table)
#
# World: 3 etcd members (examples/cluster/etcd.sh, 127.0.0.11-13), control replicas a and b
# (127.0.0.21-22, lease_s 3), DNS engines a and b (127.0.0.31-32), front proxies a and b
# (127.0.0.41-42), xyz's origin (python3 http.server). G covers every client well and C
# badly, so the plan sends everything to G while G is up and everything to C once G says
# `Unavailable`: each alert has one right answer everywhere. plan-probe (tests/src/bin)
# posts the alerts to replica a and measures each target, with the 2 real engines and
# proxies alone, then with 100 simulated watchers (plan followers with their own etcd
# connections and member registrations) besides.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
ALERTS=${1:-20}
FAILOVERS=${2:-5}
if [[ ${MILLION:-0} == 1 ]]; then WATCHERS=${WATCHERS:-10}; else WATCHERS=${WATCHERS:-100}; fi
(cd "$ROOT" && cargo build --release -q -p cdnbroker -p broker-tests --bin cdnbroker --bin plan_probe)
BIN=$ROOT/target/release/cdnbroker
PROBE=$ROOT/target/release/plan_probe
W=$(mktemp -d)
PIDS=()
cleanup() {
  kill -9 "${PIDS[@]}" 2>/dev/null || true
  "$ROOT/examples/cluster/etcd.sh" stop "$W/etcd" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

ETCD=http://127.0.0.11:2379,http://127.0.0.12:2379,http://127.0.0.13:2379
PREFIX=/cdnbroker/bench$$
TOKEN=bench-token
G_TOKEN=bench-c-to-g
mkdir -p "$W/etcd"
"$ROOT/examples/cluster/etcd.sh" "$W/etcd" >/dev/null
for f in c-alerts.pem c-alerts.key test-ca.pem; do cp "$ROOT/examples/$f" "$W/"; done

if [[ ${MILLION:-0} == 1 ]]; then
  python3 - "$W/regions.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG BIG {\n")
    for i in range(500_000):
        f.write(f"{10 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}.0, 24;\n2001:{i >> 16:x}:{i & 0xffff:x}::, 48;\n")
    f.write("}!\n")
PY
else
  echo 'ADD REG FRANCE { 198.54.234.0, 23; }!' >"$W/regions.txt"
fi
cat >"$W/cdn.txt" <<'EOF'
ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:10; DEFAULT:10; ]!
ADD CDN G:100000 {A:192.0.2.20} [ FRANCE:80; DEFAULT:80; ]!
EOF
echo 'ADD CST img.xyz.com [ C; G; ]!' >"$W/customer.txt"
mkdir -p "$W/site"
echo '<html><body><img src="http://img.xyz.com/a.gif"></body></html>' >"$W/site/index.html"

cluster="[cluster]
etcd = [\"${ETCD//,/\", \"}\"]
prefix = \"$PREFIX\"
lease_s = 3"
tables='[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
token = "'"$G_TOKEN"'"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
dns = ["img.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:18000", "img.xyz.com" = "http://127.0.0.1:18000" }'
control() { # NAME HOST ALERT_PORT
  cat >"$W/control-$1.toml" <<EOF
[node]
name = "C"
$cluster
advertise = "$2"
[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = []
management = "$2:5355"
api = "$2:9090"
token = "$TOKEN"
alerts = "127.0.0.1:$3"
tls = { cert = "c-alerts.pem", key = "c-alerts.key" }
$tables
EOF
}
control a 127.0.0.21 19443
control b 127.0.0.22 19444
for r in a:31 b:32; do
  cat >"$W/dns-${r%%:*}.toml" <<EOF
[node]
name = "C"
$cluster
[dns]
listen = ["127.0.0.${r##*:}:5353"]
control = "127.0.0.${r##*:}:5354"
ns = ["ns1.cdn-c.example"]
ttl = 1
EOF
done
for r in a:41 b:42; do
  cat >"$W/proxy-${r%%:*}.toml" <<EOF
[node]
name = "C"
$cluster
[proxy]
listen = "127.0.0.${r##*:}:8080"
$tables
EOF
done

start() { # NAME READY_WORD
  RUST_LOG=warn,broker_control=info,broker_cluster=info "$BIN" run --config "$W/$1.toml" >"$W/$1.out" 2>>"$W/$1.log" &
  PIDS+=($!)
  eval "PID_${1//-/_}=$!"
  for _ in $(seq 200); do grep -q "^$2 " "$W/$1.out" 2>/dev/null && return; sleep 0.05; done
  echo "$1 did not start:" >&2
  cat "$W/$1.log" >&2
  exit 1
}
(cd "$W/site" && exec python3 -m http.server -b 127.0.0.1 18000 >/dev/null 2>&1) &
PIDS+=($!)
start dns-a dns
start dns-b dns
start control-a control-api
start control-b control-api
start proxy-a proxy
start proxy-b proxy

probe() { # WATCHERS
  "$PROBE" --etcd "$ETCD" --prefix "$PREFIX" --lease-s 3 --watchers "$1" \
    --alert https://127.0.0.1:19443/alert --token "$G_TOKEN" --ca "$W/test-ca.pem" \
    --dns 127.0.0.31:5353,127.0.0.32:5353 --proxy 127.0.0.41:8080,127.0.0.42:8080 \
    --rounds "$ALERTS"
}
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); regions: $(wc -l <"$W/regions.txt") lines"
echo "== alert -> action: 2 engines, 2 proxies"
probe 0 | tail -3
echo "== alert -> action: 2 engines, 2 proxies, $WATCHERS simulated watchers"
probe "$WATCHERS" | tail -3

echo "== failover after kill -9 of the leader (lease_s 3; goal < 4 s)"
role() { curl -s --max-time 1 -H "Authorization: Bearer $TOKEN" "http://$1:9090/api/cluster" | tr -d ' \n' | grep -o '"role":"[a-z]*"' | cut -d'"' -f4; }
# Polls `role HOST` until it says WANT, at most 30 s.
await_role() {
  for _ in $(seq 600); do [[ $(role "$1") == "$2" ]] && return; sleep 0.05; done
  echo "$1 never became $2" >&2
  exit 1
}
for i in $(seq "$FAILOVERS"); do
  if [[ $(role 127.0.0.21) == leader ]]; then
    dead=a dead_host=127.0.0.21 alive=127.0.0.22
  else
    dead=b dead_host=127.0.0.22 alive=127.0.0.21
  fi
  pid_var=PID_control_$dead
  t0=$(date +%s%N)
  kill -9 "${!pid_var}"
  wait "${!pid_var}" 2>/dev/null || true
  await_role "$alive" leader
  echo "failover $i: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  start "control-$dead" control-api
  await_role "$dead_host" follower
done

echo "== etcd writes per published plan (the leaders' logs)"
cat "$W"/control-*.log | sed 's/\x1b\[[0-9;]*m//g' | grep 'plan written to etcd' |
  sed -E 's/.*plan_bytes=([0-9]+) region_bytes=([0-9]+).*/\1 \2/' |
  awk '{n++; p+=$1; r+=$2; if ($2 > 0) first=$2} END {printf "%d plans: %.0f bytes of plan each on average; region blobs written %d bytes in all (%s)\n", n, p/n, r, (first ? "once, when the regions first went out" : "none")}'
blobs=$(etcdctl --endpoints="$ETCD" get --prefix "$PREFIX/blobs/" --print-value-only | wc -c)
echo "region and seed blobs stored in etcd: $blobs bytes (content-addressed, written at the seed and when the regions change)"
