#!/usr/bin/env bash
# Spec §10, issue 15 point 5: signed answers beside NSD serving the same names from a zone
# presigned by dnssec-signzone with the same key (ECDSA P-256, algorithm 13). Same queries
# to both: DO set, ECS for a client in FRANCE, half at the apex (img.xyz.com A), half below
# it (www.img.xyz.com A: a wildcard's expansion, answered with its RRSIG and the NSEC that
# proves it). Our engine draws FRANCE's 70/30 weighted A per query, each variant with its
# own precomputed RRSIG; NSD answers its one static signed A (minimal responses). One
# pinned core each (server on cpu 0, dnsperf on cpu 1). Needs ./setup and bind9-utils
# (scripts/setup), a release build of cdnbroker.
#
#   bench/dns/signed.sh [SECONDS]        env: BIN=path/to/cdnbroker  RATE=qps-for-p99
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
SECS=${1:-10}
RATE=${RATE:-20000}
BIN=${BIN:-$ROOT/target/release/cdnbroker}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p cdnbroker)
W=$(mktemp -d)
# DO, and ECS 198.54.234.0/24 (family 1, source 24, scope 0, 3 address bytes).
PERF_ARGS=(-D -E 8:00011800c636ea)
. ./lib.sh

printf 'img.xyz.com A\nwww.img.xyz.com A\n' > "$W/queries"
mkdir "$W/keys"
dnssec-keygen -q -K "$W/keys" -a ECDSAP256SHA256 -f KSK img.xyz.com >/dev/null

# --- our engine: FRANCE 70/30, DEFAULT elsewhere, signed with the key of $W/keys ---
cat > "$W/tables.txt" <<'T'
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD CVG c { FRANCE, [70 = A:192.0.2.70; 30 = A:192.0.2.30;]; DEFAULT, [1 = A:192.0.2.20;]; }!
ADD CST img.xyz.com { c; }!
END
T
start 0 "$BIN" dns --listen 127.0.0.1:5421 --control 127.0.0.1:5423 --load "$W/tables.txt" \
  --threads 1 --udp-sockets 1 --ns ns1.cdn-c.example --dnssec "$W/keys"
wait_ready 5421
show() { # port: one answer of each kind, to see both give the same shape
  for name in img.xyz.com www.img.xyz.com; do
    dig @127.0.0.1 -p "$1" +dnssec +subnet=198.54.234.0/24 +noall +answer +authority "$name" A |
      awk -v p="$1" '{print "  " p ": " $1, $4, $5}' >&2
  done
}
show 5421

# --- NSD: the same names, presigned with the same key ---
cat > "$W/img.zone" <<'Z'
$ORIGIN img.xyz.com.
$TTL 20
@ IN SOA ns1.cdn-c.example. hostmaster.img.xyz.com. 1 3600 600 86400 20
@ IN NS ns1.cdn-c.example.
@ IN A 192.0.2.70
* IN A 192.0.2.70
Z
# -z: the one key (a KSK) signs every RRset, as the engine's keys do.
dnssec-signzone -q -z -S -K "$W/keys" -o img.xyz.com -f "$W/img.zone.signed" "$W/img.zone" >/dev/null
cat > "$W/nsd.conf" <<N
server:
  ip-address: 127.0.0.1@5422
  port: 5422
  username: ""
  chroot: ""
  zonesdir: "$W"
  pidfile: "$W/nsd.pid"
  database: ""
  xfrdfile: "$W/xfrd.state"
  zonelistfile: "$W/zone.list"
  server-count: 1
  rrl-ratelimit: 0
  minimal-responses: yes
  do-ip6: no
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: img.xyz.com
  zonefile: img.zone.signed
N

echo "one core each: servers on cpu 0, dnsperf on cpu 1, ${SECS}s per server; DO + ECS" >&2
measure "cdnbroker signed (70/30, ECS)" 5421 1
# A transaction with 5,000 coverage cells, each its own address: 10,000 RRSIGs (at the
# apex and for the wildcard) made at commit, on a blocking thread, not on the answering one.
python3 - <<'PY' > "$W/cells.txt"
print("\n".join(f"ADD REG R{i} {{ 10.{i >> 8}.{i & 255}.0, 24; }}!" for i in range(5000)))
print("ADD CVG c {\n" + "\n".join(f"R{i}, [1 = A:198.18.{i >> 8}.{i & 255};];" for i in range(5000)) + "\nDEFAULT, [1 = A:192.0.2.20;]; }!")
print("ADD CST img.xyz.com { c; }!\nEND")
PY
python3 - "$W/cells.txt" <<'PY'
import socket, sys, time
t = time.monotonic()
s = socket.create_connection(("127.0.0.1", 5423))
s.sendall(open(sys.argv[1], "rb").read())
s.shutdown(socket.SHUT_WR)
print(f"5,000 cells: {s.makefile().read().strip()} in {time.monotonic() - t:.2f} s", file=sys.stderr)
PY
sed 's/\x1b\[[0-9;]*m//g' "$W/cdnbroker.log" | grep -o 'generation=2.*took=[^ ]* signing=[^ ]*' |
  sed 's/.*took=/  engine: took=/' >&2
stop_last
start 0 nsd -d -c "$W/nsd.conf"; wait_ready 5422; show 5422
measure "NSD presigned (static A)" 5422 1; stop_last
report "NSD presigned (static A)" NSD
