#!/usr/bin/env bash
# Issue 3, point 3: a transaction of 1,000,000 prefixes (500k IPv4 /24, 500k IPv6 /48) sent
# while dnsperf runs against the engine. Reports the commit time, dnsperf's lost queries,
# the answers before/after, and the engine's resident memory with the prefixes loaded.
# A probe asks all along, one query at a time, for a client in the new BIG region (ECS
# 10.1.2.0/24): its answers must go from the old table's (192.0.2.1) to the new one's
# (192.0.2.3) once, never back (answers switch at one instant).
#
# With SIGNED=1 the engine signs img.xyz.com (spec §10, a dnssec-keygen ECDSA key): the
# regions are not signed, so the commit should cost about the same.
#
#   bench/dns/million.sh            env: BIN=path/to/cdnbroker  SIGNED=1
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
BIN=${BIN:-$ROOT/target/release/cdnbroker}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p cdnbroker)
W=$(mktemp -d)
trap 'kill $ENG $PERF $PROBE 2>/dev/null || true; rm -rf "$W"' EXIT

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
SIGN=()
if [ -n "${SIGNED:-}" ]; then
  mkdir "$W/keys"
  dnssec-keygen -q -K "$W/keys" -a ECDSAP256SHA256 -f KSK img.xyz.com >/dev/null
  SIGN=(--dnssec "$W/keys")
  echo "signed: img.xyz.com with $(ls "$W/keys"/*.key | xargs -n1 basename)"
fi
"$BIN" dns --listen 127.0.0.1:5411 --control 127.0.0.1:5412 --load "$W/old.txt" "${SIGN[@]}" >"$W/engine.log" 2>&1 &
ENG=$!
for _ in $(seq 100); do dig @127.0.0.1 -p 5411 +time=1 +tries=1 img.xyz.com +short 2>/dev/null | grep -q . && break; sleep 0.1; done
rss() { awk '/VmRSS/{printf "%.0f MiB", $2/1024}' "/proc/$ENG/status"; }
echo "before: $(dig @127.0.0.1 -p 5411 img.xyz.com +short), RSS $(rss), transaction $(du -h "$W/big.txt" | cut -f1)"
dnsperf -s 127.0.0.1 -p 5411 -d "$W/queries" -l 20 -c 2 -q 100 -Q 20000 >"$W/perf.txt" 2>&1 &
PERF=$!
# The probe: sequential ECS queries until 2,000 answers after the commit reply (at most
# 120 s), one answer per line in order ("timeout" for a lost one).
python3 - "$W/probe.txt" "$W/committed" <<'PY' &
import os, socket, struct, sys, time
out, committed = sys.argv[1], sys.argv[2]
ecs = struct.pack(">HHHBB", 8, 7, 1, 24, 0) + bytes([10, 1, 2])
opt = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, len(ecs)) + ecs
qname = b"\x03img\x03xyz\x03com\x00"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
answers, after, start, qid = [], 0, time.monotonic(), 0
while after < 2000 and time.monotonic() - start < 120:
    qid = (qid + 1) & 0xFFFF
    s.sendto(struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1) + qname + b"\x00\x01\x00\x01" + opt,
             ("127.0.0.1", 5411))
    try:
        while True:
            r = s.recv(2048)
            if struct.unpack(">H", r[:2])[0] == qid:
                break
    except socket.timeout:
        answers.append("timeout")
        continue
    if struct.unpack(">H", r[6:8])[0] == 0:
        answers.append("none")
        continue
    at = 12 + len(qname) + 4 + 2  # the answer's owner is a pointer
    rtype, _, _, rdlen = struct.unpack(">HHIH", r[at:at + 10])
    answers.append(".".join(map(str, r[at + 10:at + 14])) if rtype == 1 and rdlen == 4 else "other")
    if os.path.exists(committed):
        after += 1
open(out, "w").write("\n".join(answers) + "\n")
PY
PROBE=$!
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
touch "$W/committed"
echo "after: $(dig @127.0.0.1 -p 5411 img.xyz.com +short) (DEFAULT), $(dig @127.0.0.1 -p 5411 +subnet=10.1.2.0/24 img.xyz.com +short) (BIG), RSS $(rss)"
# The engine's own account of the commit (parse, apply, compile, sign; not the sending).
echo "engine: $(sed 's/\x1b\[[0-9;]*m//g' "$W/engine.log" | grep -o 'generation=2.*took=[^ ]* signing=[^ ]*' | sed 's/.*took=/took=/')"
if [ -n "${SIGNED:-}" ]; then
  echo "signed answer (BIG): $(dig @127.0.0.1 -p 5411 +dnssec +subnet=10.1.2.0/24 img.xyz.com +noall +answer | awk '{print $4, $5}' | paste -sd' ')"
fi
wait $PERF || true
grep -E "Queries (sent|completed|lost)" "$W/perf.txt"
wait $PROBE || true
# The probe's answers as runs: "192.0.2.1 x N" then "192.0.2.3 x M" is one switch.
awk '$0 != "timeout" { if ($0 != last) { if (n) print last " x " n; last = $0; n = 0 } n++ }
     END { if (n) print last " x " n }' "$W/probe.txt" > "$W/runs.txt"
echo "probe (ECS 10.1.2.0/24, $(grep -c . "$W/probe.txt") queries, $(grep -c timeout "$W/probe.txt" || true) timed out): $(paste -sd, "$W/runs.txt" | sed 's/,/ then /g')"
if [ "$(cut -d' ' -f1 "$W/runs.txt" | paste -sd' ')" = "192.0.2.1 192.0.2.3" ]; then
  echo "probe: old...old new...new: answers switched once, at one instant"
else
  echo "probe: FAIL: the answers did not switch once from 192.0.2.1 to 192.0.2.3"; exit 1
fi
