#!/usr/bin/env python3
"""N requests held in the proxy at once: N connections each send a GET and read only the
first bytes of the answer until all N have (so every page is in flight, its client not
reading), then the proxy's VmRSS is read, then all read to the end and close.

    held.py HOST PORT N PID
"""
import selectors
import socket
import sys


def rss_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main():
    host, port, n, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    request = b"GET / HTTP/1.1\r\nHost: www.xyz.com\r\nConnection: close\r\n\r\n"
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket()
        # A small receive window: the client takes little, the proxy must hold the rest.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, port))
        s.sendall(request)
        socks.append(s)
    # Every request answered (its first bytes read): all N are in the proxy now.
    for s in socks:
        s.settimeout(30)
        if not s.recv(1024):
            raise SystemExit("a connection closed before answering")
    held = rss_kb(pid, "VmRSS")
    total = 0
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    open_ = len(socks)
    while open_:
        ready = sel.select(timeout=30)
        if not ready:
            raise SystemExit("no progress for 30 s")
        for key, _ in ready:
            data = key.fileobj.recv(65536)
            if data:
                total += len(data)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                open_ -= 1
    print(f"  held ({n} requests answered, clients not reading): VmRSS {held} kB;"
          f" then all read: {total / n / 1000:.0f} kB a page")


if __name__ == "__main__":
    main()
