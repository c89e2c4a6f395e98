#!/usr/bin/env python3
"""Generates a routes file and a geo table (`CIDR REGION`) shaped like real ones, for the
clustering benchmark: mostly IPv4 /24 routes with shorter aggregates and IPv6 /32-/48;
geo blocks of /12-/24 (IPv6 /20-/48) in 250 regions with skewed sizes, a few short
covering prefixes so entries nest. Deterministic (fixed seed).

usage: gen.py ROUTES_COUNT GEO_COUNT OUT_DIR
"""
import ipaddress
import os
import random
import sys


def v4(rng, lengths):
    length = rng.choice(lengths)
    addr = rng.getrandbits(32) & ~((1 << (32 - length)) - 1) & 0xFFFFFFFF
    return f"{ipaddress.IPv4Address(addr)}/{length}"


def v6(rng, lo, hi):
    length = rng.randint(lo, hi)
    # Inside 2000::/3 like real unicast space.
    addr = (0x2 << 125) | rng.getrandbits(125)
    addr &= ~((1 << (128 - length)) - 1)
    return f"{ipaddress.IPv6Address(addr).compressed}/{length}"


def main():
    n_routes, n_geo, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261125)
    route_lengths = [24] * 12 + [23, 22, 22, 21, 20, 19, 18, 17, 16, 16]
    with open(os.path.join(out, "routes.txt"), "w") as f:
        for i in range(n_routes):
            net = v4(rng, route_lengths) if rng.random() < 0.78 else v6(rng, 29, 48)
            f.write(f"{net} {64512 + i % 1000}\n")
    regions = [f"R{i:03}" for i in range(250)]
    weights = [1.0 / (i + 1) for i in range(250)]
    geo_lengths = list(range(12, 25)) + [24] * 6
    with open(os.path.join(out, "geo.txt"), "w") as f:
        for _ in range(n_geo):
            region = rng.choices(regions, weights)[0]
            r = rng.random()
            if r < 0.03:
                net = v4(rng, [8, 9, 10, 11])
            elif r < 0.5:
                net = v4(rng, geo_lengths)
            else:
                net = v6(rng, 20, 48)
            f.write(f"{net} {region}\n")


if __name__ == "__main__":
    main()
