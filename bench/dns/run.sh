#!/usr/bin/env bash
# dnsperf, same query mix, same machine, same run: our engine vs NSD (static A: the limit),
# gdnsd (weighted plugin) and PowerDNS (LUA pickwrandom, caches off). Each server gets one
# pinned core (taskset -c 0) and dnsperf the other (-c 1); then ours and NSD on all cores.
# Prints a table of QPS, mean and p99 latency (p99 from a fixed-rate run) and the ratio to
# NSD. Needs: ./setup (dnsperf nsd gdnsd pdns-server), a release build of cdnbroker.
#
#   bench/dns/run.sh [SECONDS]        env: BIN=path/to/cdnbroker  RATE=qps-for-p99
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
SECS=${1:-10}
RATE=${RATE:-20000}
BIN=${BIN:-$ROOT/target/release/cdnbroker}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p cdnbroker)
W=$(mktemp -d)
PERF_ARGS=()
. ./lib.sh

printf 'img.xyz.com A\n' > "$W/queries"
ZONE_HEAD='$ORIGIN xyz.com.
$TTL 20
@ IN SOA ns1 hostmaster 1 3600 600 86400 20
@ IN NS ns1
ns1 IN A 127.0.0.1'

# --- our engine: 70/30 weighted A, every query drawn ---
cat > "$W/tables.txt" <<'T'
ADD CVG c { DEFAULT, [70 = A:192.0.2.70; 30 = A:192.0.2.30;]; }!
ADD CST img.xyz.com { c; }!
END
T
ours() { # cpus threads sockets
  start "$1" "$BIN" dns --listen 127.0.0.1:5401 --load "$W/tables.txt" --threads "$2" --udp-sockets "$3"
  wait_ready 5401
}

# --- NSD: static A ---
printf '%s\nimg IN A 192.0.2.70\n' "$ZONE_HEAD" > "$W/xyz.zone"
nsd_conf() { # count
  cat > "$W/nsd.conf" <<N
server:
  ip-address: 127.0.0.1@5402
  port: 5402
  username: ""
  chroot: ""
  zonesdir: "$W"
  pidfile: "$W/nsd.pid"
  database: ""
  xfrdfile: "$W/xfrd.state"
  zonelistfile: "$W/zone.list"
  server-count: $1
  reuseport: yes
  rrl-ratelimit: 0
  do-ip6: no
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: xyz.com
  zonefile: xyz.zone
N
}

# --- gdnsd: weighted plugin ---
mkdir -p "$W/gdnsd/zones" "$W/gdnsd-state" "$W/gdnsd-run"
cat > "$W/gdnsd/config" <<G
options => { listen => [ 127.0.0.1:5403 ], udp_threads => 1, tcp_threads => 1, run_dir => "$W/gdnsd-run", state_dir => "$W/gdnsd-state" }
plugins => { weighted => { multi => false, w7030 => { a => [ 192.0.2.70, 70 ], b => [ 192.0.2.30, 30 ] } } }
G
printf '%s\nimg 20 DYNA weighted!w7030\n' "$ZONE_HEAD" > "$W/gdnsd/zones/xyz.com"

# --- PowerDNS: LUA pickwrandom, caches off so every query runs the record ---
printf '%s\nimg IN LUA A "pickwrandom({{70, %s}, {30, %s}})"\n' "$ZONE_HEAD" "'192.0.2.70'" "'192.0.2.30'" > "$W/pdns.zone"
printf 'zone "xyz.com" { type master; file "%s/pdns.zone"; };\n' "$W" > "$W/named.conf"
cat > "$W/pdns.conf" <<P
launch=bind
bind-config=$W/named.conf
local-address=127.0.0.1
local-port=5404
enable-lua-records=yes
socket-dir=$W
daemon=no
guardian=no
disable-syslog=yes
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
receiver-threads=1
distributor-threads=1
P

echo "one core each: servers on cpu 0, dnsperf on cpu 1, ${SECS}s per server" >&2
ours 0 1 1; measure "cdnbroker (weighted 70/30)" 5401 1; stop_last
nsd_conf 1; start 0 nsd -d -c "$W/nsd.conf"; wait_ready 5402; measure "NSD (static A)" 5402 1; stop_last
if command -v gdnsd >/dev/null; then
  start 0 gdnsd -c "$W/gdnsd" start
  if wait_ready 5403; then measure "gdnsd (weighted)" 5403 1; fi; stop_last
fi
if command -v pdns_server >/dev/null; then
  start 0 pdns_server --config-dir="$W"
  if wait_ready 5404; then measure "PowerDNS (LUA pickwrandom)" 5404 1; fi; stop_last
fi
echo "all cores: servers unpinned (SO_REUSEPORT, one socket per core), dnsperf unpinned" >&2
CORES=$(nproc)
ours "0-$((CORES-1))" "$CORES" "$CORES"; measure "cdnbroker, all cores" 5401 "0-$((CORES-1))"; stop_last
nsd_conf "$CORES"; start "0-$((CORES-1))" nsd -d -c "$W/nsd.conf"; wait_ready 5402
measure "NSD, all cores" 5402 "0-$((CORES-1))"; stop_last

report "NSD (static A)" NSD
