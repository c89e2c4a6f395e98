#!/usr/bin/env bash
# Issue 3, point 3: a transaction of 1,000,000 prefixes (500k IPv4 /24, 500k IPv6 /48) sent
# while dnsperf runs against the engine. Reports the commit time, dnsperf's lost queries,
# the answers before/after, and the engine's resident memory with the prefixes loaded.
#
#   bench/dns/million.sh            env: BIN=path/to/cdnbroker
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
BIN=${BIN:-$ROOT/target/release/cdnbroker}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p cdnbroker)
W=$(mktemp -d)
trap 'kill $ENG $PERF 2>/dev/null || true; rm -rf "$W"' EXIT

printf 'ADD CVG c { DEFAULT, [1 = A:192.0.2.1;]; }!\nADD CST img.xyz.com { c; }!\nEND\n' > "$W/old.txt"
python3 - "$W/big.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("ADD REG BIG {\n")
    for i in range(500_000):
        f.write(f"{10 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}.0, 24;\n2001:{i >> 16:x}:{i & 0xffff:x}::, 48;\n")
    f.write("}!\nADD CVG c { BIG, [1 = A:192.0.2.3;]; DEFAULT, [1 = A:192.0.2.2;]; }!\nEND\n")
PY
printf 'img.xyz.com A\n' > "$W/queries"
"$BIN" dns --listen 127.0.0.1:5411 --control 127.0.0.1:5412 --load "$W/old.txt" >"$W/engine.log" 2>&1 &
ENG=$!
for _ in $(seq 100); do dig @127.0.0.1 -p 5411 +time=1 +tries=1 img.xyz.com +short 2>/dev/null | grep -q . && break; sleep 0.1; done
rss() { awk '/VmRSS/{printf "%.0f MiB", $2/1024}' "/proc/$ENG/status"; }
echo "before: $(dig @127.0.0.1 -p 5411 img.xyz.com +short), RSS $(rss), transaction $(du -h "$W/big.txt" | cut -f1)"
dnsperf -s 127.0.0.1 -p 5411 -d "$W/queries" -l 20 -c 2 -q 100 -Q 20000 >"$W/perf.txt" 2>&1 &
PERF=$!
sleep 2
python3 - "$W/big.txt" <<'PY'
import socket, sys, time
data = open(sys.argv[1], "rb").read()
t = time.monotonic()
s = socket.create_connection(("127.0.0.1", 5412))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
reply = s.makefile().read().strip()
print(f"commit: {reply} in {time.monotonic() - t:.2f} s (send, parse, apply, compile, swap)")
PY
echo "after: $(dig @127.0.0.1 -p 5411 img.xyz.com +short) (DEFAULT), $(dig @127.0.0.1 -p 5411 +subnet=10.1.2.0/24 img.xyz.com +short) (BIG), RSS $(rss)"
wait $PERF || true
grep -E "Queries (sent|completed|lost)" "$W/perf.txt"
