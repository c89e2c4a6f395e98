#!/usr/bin/env python3
"""Spec §11 under fire: each row of issue 19's table as an abuse run against a real
cdnbroker process while a legitimate client measures its success rate and latency, and
a sampler reads the process's RSS and open descriptors from /proc.

Each probe has three phases: quiet (before), abuse (during), quiet again (after). The
legitimate client sends one request at a time with a timeout; success rate and p50/p99
latency are reported per phase, with the peak RSS (MiB) and descriptors.

    bench/abuse/abuse.py BIN WORKDIR [PROBE...]      (run.sh sets everything up)

Standard library only: queries are built by hand, loads run on threads.
"""

import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import http.client
import urllib.request

BIN, W = sys.argv[1], sys.argv[2]
ONLY = sys.argv[3:]
QUIET = float(os.environ.get("QUIET", "4"))
DURING = float(os.environ.get("DURING", "10"))
TOKEN = "bench-token"
ENGINE_TOKEN = "engine-secret"


# ---------------------------------------------------------------- DNS wire

def query(name, qid=None, qtype=1):
    qid = random.randrange(65536) if qid is None else qid
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def rcode(resp):
    return resp[3] & 0x0F


def udp_ask(server, name, source="127.0.1.1", timeout=1.0):
    """True when a NOERROR answer with records came back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(timeout)
    try:
        q = query(name)
        s.sendto(q, server)
        while True:
            r, _ = s.recvfrom(4096)
            if r[:2] == q[:2]:
                return rcode(r) == 0 and struct.unpack(">H", r[6:8])[0] > 0
    except OSError:
        return False
    finally:
        s.close()


def tcp_ask(server, name, timeout=2.0):
    try:
        with socket.create_connection(server, timeout=timeout) as s:
            q = query(name)
            s.sendall(struct.pack(">H", len(q)) + q)
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            r = recv_exact(s, n)
            return rcode(r) == 0
    except OSError:
        return False


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("closed")
        b += c
    return b


def line_exchange(addr, text, timeout=5.0):
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.sendall(text.encode())
            s.shutdown(socket.SHUT_WR)
            out = b""
            while True:
                c = s.recv(4096)
                if not c:
                    return out.decode(errors="replace")
                out += c
    except OSError as e:
        return f"error {e}"


def http_get(port, path, headers=None, timeout=2.0):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200
    except OSError:
        return False
    except http.client.HTTPException:
        return False


# ---------------------------------------------------------------- process and sampling

class Process:
    """`cdnbroker run --config CONFIG`; each probe waits for its own port to answer."""

    def __init__(self, config):
        self.p = subprocess.Popen([BIN, "run", "--config", config],
                                  stdout=open(config + ".out", "w"),
                                  stderr=open(config + ".log", "w"))

    def rss_fds(self):
        try:
            with open(f"/proc/{self.p.pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
            fds = len(os.listdir(f"/proc/{self.p.pid}/fd"))
            return rss / 1024, fds
        except (OSError, StopIteration):
            return 0, 0

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def wait_until(check, what, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if check():
            return
        time.sleep(0.05)
    raise SystemExit(f"never ready: {what}")


class Phase:
    def __init__(self, name):
        self.name, self.ok, self.n, self.lat, self.rss, self.fds = name, 0, 0, [], 0, 0

    def row(self):
        lat = sorted(self.lat) or [0]
        p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] * 1000
        rate = 100.0 * self.ok / self.n if self.n else 0
        return f"{self.name}: {rate:5.1f}% of {self.n}, p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, RSS {self.rss:.0f} MiB, fds {self.fds}"


def measure(proc, legit, abuse, extra=None):
    """Runs the three phases; `abuse(stop)` runs on threads during the middle one."""
    phases = []
    for name, length in (("before", QUIET), ("during", DURING), ("after", QUIET)):
        ph = Phase(name)
        stop = threading.Event()
        threads = []
        if name == "during":
            threads = abuse(stop)
        sampler_stop = threading.Event()

        def sample(ph=ph):
            while not sampler_stop.is_set():
                rss, fds = proc.rss_fds()
                ph.rss, ph.fds = max(ph.rss, rss), max(ph.fds, fds)
                time.sleep(0.2)
        st = threading.Thread(target=sample, daemon=True)
        st.start()
        end = time.time() + length
        while time.time() < end:
            t0 = time.time()
            ok = legit()
            dt = time.time() - t0
            ph.n += 1
            ph.ok += bool(ok)
            if ok:
                ph.lat.append(dt)
            time.sleep(max(0, 0.02 - dt))
        stop.set()
        for t in threads:
            t.join(30)
        sampler_stop.set()
        st.join()
        phases.append(ph)
    return phases


def report(title, phases, note=""):
    print(f"\n## {title}")
    for ph in phases:
        print("  " + ph.row())
    if note:
        print("  " + note)
    sys.stdout.flush()


def threads(n, target):
    ts = [threading.Thread(target=target, daemon=True) for _ in range(n)]
    for t in ts:
        t.start()
    return ts


# ---------------------------------------------------------------- deployments

def write(name, text):
    path = os.path.join(W, name)
    with open(path, "w") as f:
        f.write(text)
    return path


TABLES = """ADD REG LOCAL { 127.0.0.0, 8; }!
ADD CVG a { DEFAULT, [1 = A:192.0.2.10;]; }!
ADD CVG r { DEFAULT, [1 = R:(ns.silent.example 127.0.0.9);]; }!
ADD CST img.xyz.com { a; }!
ADD CST r.example { r; }!
END
"""


def dns_config(rrl):
    write("tables.txt", TABLES)
    extra = "rrl = { responses_per_s = 100, slip = 2 }\n" if rrl else ""
    return write("dns.toml", f"""[node]
name = "C"
[dns]
listen = ["127.0.0.1:25353"]
control = "127.0.0.1:25354"
ns = ["ns1.cdn-c.example"]
load = "tables.txt"
metrics = "127.0.0.1:25355"
token = "{ENGINE_TOKEN}"
{extra}""")


DNS = ("127.0.0.1", 25353)
CONTROL = ("127.0.0.1", 25354)


def start_dns(rrl=False):
    p = Process(dns_config(rrl))
    wait_until(lambda: udp_ask(DNS, "img.xyz.com"), "dns")
    return p


def control_config():
    for f in ("regions.txt", "cdn.txt", "customer.txt", "c-alerts.pem", "c-alerts.key"):
        with open(os.path.join(ROOT, "examples", f)) as src:
            write(f, src.read())
    return write("control.toml", f"""[node]
name = "C"
[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = []
management = "127.0.0.1:25455"
api = "127.0.0.1:25490"
token = "{TOKEN}"
alerts = "127.0.0.1:25443"
tls = {{ cert = "c-alerts.pem", key = "c-alerts.key" }}
""")


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# ---------------------------------------------------------------- probes

def probe_relay():
    """150,000 relayed (R:) queries in 10 s to a server that never answers."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.9", 53))  # never read: relayed queries wait their timeout
    p = start_dns()
    sent = [0]

    def abuse(stop):
        def flood():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            q = query("r.example")
            end = time.time() + DURING
            while not stop.is_set() and time.time() < end and sent[0] < 150_000:
                for _ in range(100):
                    try:
                        s.sendto(q, DNS)
                        sent[0] += 1
                    except BlockingIOError:
                        pass
                time.sleep(0.005)
        return threads(2, flood)
    legit = lambda: udp_ask(DNS, "img.xyz.com")
    ph = measure(p, legit, abuse)
    refused = metric(25355, "cdnbroker_dns_relay_refused_total")
    report("relay flood: R: queries to a server that never answers", ph,
           f"{sent[0]} relayed queries sent; answered SERVFAIL at the cap: {refused}")
    p.stop()
    silent.close()


def probe_tcp_stall():
    """1,500 TCP clients each sending a query every 8 s and never reading."""
    p = start_dns()

    def abuse(stop):
        def stallers():
            socks = []
            q = query("img.xyz.com")
            frame = struct.pack(">H", len(q)) + q
            for _ in range(1500):
                try:
                    s = socket.create_connection(DNS, timeout=2)
                    s.setblocking(False)
                    socks.append(s)
                except OSError:
                    pass
            while not stop.is_set():
                for s in list(socks):
                    try:
                        s.send(frame)
                    except OSError:
                        socks.remove(s)
                        try:
                            n = socket.create_connection(DNS, timeout=2)
                            n.setblocking(False)
                            socks.append(n)
                        except OSError:
                            pass
                stop.wait(8)
            for s in socks:
                s.close()
        return threads(1, stallers)
    legit = lambda: tcp_ask(DNS, "img.xyz.com")
    ph = measure(p, legit, abuse)
    ev = metric(25355, "cdnbroker_dns_tcp_connections_evicted_total")
    report("1,500 TCP clients sending every 8 s, never reading", ph, f"closed at the cap: {ev}")
    p.stop()


def probe_control_stall():
    """One client sending a byte every 20 s to the DNS control port; anyone else
    without the token."""
    p = start_dns()
    n = [0]

    def abuse(stop):
        def slow():
            s = socket.create_connection(CONTROL)
            while not stop.is_set():
                try:
                    s.send(b"A")
                except OSError:
                    s = socket.create_connection(CONTROL)
                stop.wait(20)
            s.close()

        def stranger():
            while not stop.is_set():
                r = line_exchange(CONTROL, "RESET!\nEND\n")
                n[0] += 1
                assert not r.startswith("OK"), r
                stop.wait(0.05)
        return threads(1, slow) + threads(1, stranger)

    def legit():
        r = line_exchange(CONTROL, f"AUTH {ENGINE_TOKEN}\nADD CST legit.example {{ a; }}!\nEND\n")
        return r.startswith("OK")
    ph = measure(p, legit, abuse)
    report("control port: a byte every 20 s, and strangers without the token", ph,
           f"{n[0]} transactions without AUTH, none committed")
    p.stop()


def probe_management():
    """200 connections x 4 MB to the management port without AUTH."""
    p = Process(control_config())
    mgmt = ("127.0.0.1", 25455)
    wait_until(lambda: line_exchange(mgmt, f"AUTH {TOKEN}\nEND\n").startswith("OK"), "management")
    big = b"ADD CST x [ C; ]!\n" * ((4 << 20) // 18)

    def abuse(stop):
        def push():
            while not stop.is_set():
                try:
                    with socket.create_connection(mgmt, timeout=5) as s:
                        s.sendall(big)
                except OSError:
                    pass
        return threads(200, push)
    legit = lambda: line_exchange(mgmt, f"AUTH {TOKEN}\nEND\n").startswith("OK")
    ph = measure(p, legit, abuse)
    report("management: 200 x 4 MB without AUTH", ph)
    p.stop()


def probe_api():
    """300 x 4 MB bodies to the API without a token, and 300 bodies at 1 byte/s."""
    p = Process(control_config())
    api = 25490
    auth = {"Authorization": f"Bearer {TOKEN}"}
    wait_until(lambda: http_get(api, "/api/state", auth), "api")
    body = b"x" * (4 << 20)

    def abuse(stop):
        def big():
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", api), timeout=5) as s:
                        s.sendall(b"POST /api/events HTTP/1.1\r\nHost: c\r\nContent-Length: %d\r\n\r\n" % len(body))
                        s.sendall(body)
                except OSError:
                    pass

        def slow():
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", api), timeout=5) as s:
                        s.sendall(("POST /api/events HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n" % TOKEN).encode())
                        while not stop.is_set():
                            s.sendall(b"x")
                            stop.wait(1)
                except OSError:
                    pass
        return threads(300, big) + threads(300, slow)
    legit = lambda: http_get(api, "/api/state", auth)
    ph = measure(p, legit, abuse)
    report("API: 300 x 4 MB without a token + 300 bodies at 1 byte/s", ph)
    p.stop()


_ORIGIN = []


def origin_server():
    """xyz's origin (asyncio, keep-alive): every object cacheable, `/v` varying on X-V.
    Started once and shared by the edge probes."""
    if _ORIGIN:
        return
    import asyncio
    loop = asyncio.new_event_loop()
    body = b"x" * 2000

    async def handle(r, w):
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                vary = b"Vary: X-V\r\n" if path.startswith(b"/v") else b""
                w.write(b"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\n" + vary +
                        b"Content-Length: 2000\r\n\r\n" + body)
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 25800, backlog=1024))
        ready.set()
        loop.run_forever()
    threading.Thread(target=run, daemon=True).start()
    ready.wait(10)
    _ORIGIN.append(loop)


def edge_config(cache_mb):
    return write("edge.toml", f"""[node]
name = "G"
[edge]
listen = "127.0.0.1:25890"
cache_mb = {cache_mb}
[[edge.offloader]]
name = "C"
token = "c-to-g-token"
embedded_hosts = ["127.0.0.1:25890"]
origins = {{ "img.xyz.com" = "http://127.0.0.1:25800" }}
""")


WRK_SCRIPT = """
local kind = os.getenv("KIND")
local n = 0
request = function()
  n = n + 1
  local v = tostring(math.random(1, 1e12)) .. "-" .. n
  if kind == "vary" then
    wrk.headers["X-V"] = v
    return wrk.format("GET", "/img.xyz.com/v")
  end
  return wrk.format("GET", "/img.xyz.com/q?" .. v)
end
"""


def probe_edge(kind, cache_mb):
    """Distinct variants as fast as wrk sends them (4 connections)."""
    origin_server()
    p = Process(edge_config(cache_mb))
    edge = 25890
    legit = lambda: http_get(edge, "/img.xyz.com/static.gif")
    wait_until(legit, "edge")
    script = write("flood.lua", WRK_SCRIPT)
    out = {}

    def abuse(stop):
        def flood():
            r = subprocess.run(["wrk", "-t1", "-c4", f"-d{int(DURING)}s", "-s", script,
                                f"http://127.0.0.1:{edge}"], capture_output=True, text=True,
                               env=dict(os.environ, KIND=kind))
            out["wrk"] = r.stdout
        return threads(1, flood)
    ph = measure(p, legit, abuse)
    reqs = next((l.split()[0] for l in out.get("wrk", "").splitlines() if "requests in" in l), "?")
    what = "values of a header the origin names in Vary" if kind == "vary" else "random query strings"
    report(f"edge: {what}, cache_mb = {cache_mb}", ph, f"{reqs} distinct requests (wrk)")
    p.stop()


def probe_rrl():
    """200,000 queries from one source, RRL on (100/s, slip 2)."""
    p = start_dns(rrl=True)
    stats = {"sent": 0, "got": 0, "bytes_in": 0, "bytes_out": 0}

    def abuse(stop):
        def flood():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            q = query("img.xyz.com", qid=7)
            end = time.time() + DURING
            while not stop.is_set() and time.time() < end and stats["sent"] < 200_000:
                for _ in range(200):
                    try:
                        s.sendto(q, DNS)
                        stats["sent"] += 1
                        stats["bytes_out"] += len(q)
                    except BlockingIOError:
                        break
                while True:
                    try:
                        r = s.recv(4096)
                        stats["got"] += 1
                        stats["bytes_in"] += len(r)
                    except BlockingIOError:
                        break
                time.sleep(0.002)
        return threads(1, flood)
    legit = lambda: udp_ask(DNS, "img.xyz.com", source="127.0.1.1")
    ph = measure(p, legit, abuse)
    amp = stats["bytes_in"] / max(1, stats["bytes_out"])
    report("RRL: one source floods (another source is the legitimate client)", ph,
           f"flood: {stats['sent']} sent, {stats['got']} answered, bytes out/in {amp:.2f}; "
           f"dropped {metric(25355, 'cdnbroker_dns_rrl_dropped_total')}, "
           f"slipped {metric(25355, 'cdnbroker_dns_rrl_slipped_total')}")
    p.stop()


def probe_long_line():
    """A region of 1.37M prefixes written on one line."""
    p = start_dns()
    n = 1_370_000
    prefixes = "".join(f"{10 + i // 65536}.{(i // 256) % 256}.{i % 256}.0, 24; " for i in range(n))
    text = f"AUTH {ENGINE_TOKEN}\nADD REG BIG {{ {prefixes}}}!\nEND\n"
    result = {}

    def abuse(stop):
        def send():
            t0 = time.time()
            result["reply"] = line_exchange(CONTROL, text, timeout=300).strip()
            result["secs"] = time.time() - t0
        return threads(1, send)
    legit = lambda: udp_ask(DNS, "img.xyz.com")
    ph = measure(p, legit, abuse)
    report(f"one line of {n} prefixes ({len(text) >> 20} MiB) on the control port", ph,
           f"reply {result.get('reply')!r} after {result.get('secs', 0):.1f} s")
    p.stop()


def metric(port, name):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return "?"
    for line in text.splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    return "0"


PROBES = {
    "relay": probe_relay,
    "tcp": probe_tcp_stall,
    "control": probe_control_stall,
    "management": probe_management,
    "api": probe_api,
    "vary": lambda: probe_edge("vary", 256),
    "query": lambda: probe_edge("query", 64),
    "rrl": probe_rrl,
    "line": probe_long_line,
}

if __name__ == "__main__":
    for name in ONLY or PROBES:
        PROBES[name]()
