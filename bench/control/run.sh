#!/usr/bin/env bash
# The control component at scale: `cdnbroker run` with [dns] and [control], the region
# table of data/regions-geowhois.txt.gz (1,010,179 prefixes, one region per
# country). Measures (1) start to "the engine holds the control's plan" (read and check
# the agent files, first plan, the whole table as one §1 transaction, the engine's
# commit), and (2) a partner's alert to DNS answers off that partner: a client keeps
# resolving while `G Unavailable` is POSTed, and the time of the last answer pointing at
# G is printed. RUNS (default 3) rounds; release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
DATA=data/regions-geowhois.txt.gz
WORK=target/bench-control
mkdir -p "$WORK"
cargo build --release -q -p cdnbroker
BIN=target/release/cdnbroker

if [ ! -s "$WORK/regions.txt" ]; then
  # §6 form, one block per country.
  zcat "$DATA" | python3 -c '
import sys, collections
by = collections.defaultdict(list)
seen = set()
for line in sys.stdin:
    net, cc = line.split()
    if net in seen:
        continue  # the data lists a few prefixes twice
    seen.add(net)
    ip, plen = net.split("/")
    by[cc.replace("-", "")].append(f"{ip},{plen};")
for cc in sorted(by):
    print(f"R{cc} {{")
    print("\n".join(by[cc]))
    print("}")
' > "$WORK/regions.txt"
fi
cp examples/test-ca.pem examples/c-alerts.pem examples/c-alerts.key "$WORK/"
cat > "$WORK/cdn.txt" <<'CDN'
ADD CDN C:400000 {A:192.0.2.10} [ DEFAULT:80; RUS:90; RFR:90; RDE:40; ]!
ADD CDN G:100000 {A:192.0.2.20} [ DEFAULT:80; RUS:60; RFR:60; RDE:95; ]!
CDN
echo 'ADD CST xyz [ C; G; ]!' > "$WORK/customer.txt"

python3 - "$BIN" "$WORK" "$RUNS" <<'PY'
import json, os, random, socket, struct, subprocess, sys, time, urllib.request, ssl

binary, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def query(sock, server, qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in "img.xyz.com".split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    sock.sendto(q, server)
    while True:
        data = sock.recv(4096)
        if struct.unpack(">H", data[:2])[0] == qid:
            break
    # The answer's last 4 bytes are the A record's address when there is one.
    ancount = struct.unpack(">H", data[6:8])[0]
    return socket.inet_ntoa(data[-4:]) if ancount else None

def api(port, path, token):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=30))

for run in range(1, runs + 1):
    dns, ctl, mgmt, api_port, alerts = (free_port() for _ in range(5))
    token = "bench-token"
    with open(f"{work}/c.toml", "w") as f:
        f.write(f'''[node]
name = "C"
[dns]
listen = ["127.0.0.1:{dns}"]
control = "127.0.0.1:{ctl}"
ns = ["ns1.cdn-c.example"]
[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = ["127.0.0.1:{ctl}"]
management = "127.0.0.1:{mgmt}"
api = "127.0.0.1:{api_port}"
token = "{token}"
alerts = "127.0.0.1:{alerts}"
tls = {{ cert = "c-alerts.pem", key = "c-alerts.key" }}
[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
token = "g-token"
[[customer]]
name = "xyz"
dns = ["img.xyz.com"]
''')
    t0 = time.monotonic()
    log = open(f"{work}/stderr-{run}.log", "w")
    proc = subprocess.Popen([binary, "run", "--config", f"{work}/c.toml"],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("control-api "):
                break
        listening = time.monotonic() - t0
        while True:
            engines = api(api_port, "/api/engines", token)
            if engines[0]["plan_generation"] is not None:
                break
            time.sleep(0.01)
        on_plan = time.monotonic() - t0
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.settimeout(5)
        server = ("127.0.0.1", dns)
        qid = 0
        for _ in range(5000):
            qid = (qid + 1) % 65536
            if query(sock, server, qid) == "192.0.2.20":
                break
        else:
            raise SystemExit("G never answered")
        ctx = ssl.create_default_context(cafile=f"{work}/test-ca.pem")
        post = urllib.request.Request(f"https://127.0.0.1:{alerts}/alert", data=b"G Unavailable",
                                      headers={"Authorization": "Bearer g-token"})
        import threading
        t_post = time.monotonic()
        status = {}
        th = threading.Thread(target=lambda: status.update(code=urllib.request.urlopen(post, context=ctx, timeout=30).status))
        th.start()
        last_g, clean, n = 0.0, 0, 0
        while clean < 500:
            qid = (qid + 1) % 65536
            a = query(sock, server, qid); n += 1
            if a == "192.0.2.20":
                last_g, clean = time.monotonic() - t_post, 0
            else:
                clean += 1
        th.join()
        proc.terminate(); proc.wait(); log.close()
        # The engine's own commit times (its log): the whole table, then the alert's diff.
        import re
        text = re.sub(r"\x1b\[[0-9;]*m", "", open(f"{work}/stderr-{run}.log").read())
        took = re.findall(r'transaction committed generation=(\d+) took=([0-9.]+)(ms|s|µs)(?: regions="?(\w+))?', text)
        ms = lambda v, u: float(v) * {"s": 1000, "ms": 1, "µs": 0.001}[u]
        commits = ", ".join(f"#{g} {ms(v, u):.1f} ms" + (f" (regions {r})" if r else "") for g, v, u, r in took)
        load = open("/proc/loadavg").read().split()[0]
        print(f"run {run}: listening {listening:.2f} s, engine on plan {on_plan:.2f} s after start; "
              f"alert {status.get('code')}, last answer at G {last_g*1000:.0f} ms after the POST began "
              f"({n} queries); engine commits: {commits}; load average {load}")
    finally:
        if proc.poll() is None:
            proc.terminate(); proc.wait()
PY
