#!/usr/bin/env python3
"""scripts/lib/gen_gslb_file.py OUT POOLS MEMBERS TOPOLOGY [options] — a large `cairn apply` file.

POOLS weighted A pools pN.gslb.example. (ttl 30, answers 1) of MEMBERS members (weight 100) at
50 sites s0..s49 in 10 regions r0..r9 (member m of pool p at site (p + m) % 50), and TOPOLOGY
/24 entries 10.X.Y.0/24 mapped to those regions. Without options it writes exactly the file
scripts/bench-zone-scale has always used: every pool's member m at 127.0.(m // 250).(m % 250 + 1),
so the pools share MEMBERS addresses, and no monitors.

--distinct: member i of all (i = p * MEMBERS + m) at its own loopback address
    127.(1 + i // 62500).((i // 250) % 250).(i % 250 + 1) (127.1.0.1, 127.1.0.2, ...).
--monitored N --port P --interval S: a `tcp` monitor `bulk` on port P every S (timeout 1s, rise 2,
    fall 2) on the first ceil(N / MEMBERS) pools (the pool's `monitor`); 0 = none.
--victim: pool p0 answers all its MEMBERS members (`answers: MEMBERS`, so its answer shows at once
    which are up) and is probed by the `tcp` monitor `fast` on port P (interval 1s, timeout 500ms,
    rise 2, fall 2): the pool whose health transitions scripts/bench-large-config times.
Deterministic: the same arguments always give the same bytes. Only the standard library is used.
Used by scripts/bench-zone-scale and scripts/bench-large-config.
"""
import argparse


def address(i):
    return "127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, i % 250 + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("pools", type=int)
    ap.add_argument("members", type=int)
    ap.add_argument("topology", type=int)
    ap.add_argument("--distinct", action="store_true")
    ap.add_argument("--monitored", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--victim", action="store_true")
    a = ap.parse_args()
    if not (a.pools >= 1 and 1 <= a.members <= 250 and 0 <= a.topology <= 65536):
        ap.error("POOLS >= 1, 1 <= MEMBERS <= 250, TOPOLOGY <= 65536")
    if a.distinct and a.pools * a.members > 62500 * 126:
        ap.error("--distinct: at most %d members in all" % (62500 * 126))
    if (a.monitored or a.victim) and not 0 < a.port < 65536:
        ap.error("--monitored and --victim need --port")
    monitored_pools = -(-a.monitored // a.members)
    with open(a.out, "w") as f:
        f.write("# scripts/bench-zone-scale: a large configuration\nsites:\n")
        for s in range(50):
            f.write("  - {name: s%d, region: r%d}\n" % (s, s % 10))
        f.write("pools:\n")
        for p in range(a.pools):
            victim = a.victim and p == 0
            f.write("  - name: p%d.gslb.example.\n    type: A\n    policy: weighted\n    ttl: 30\n    answers: %d\n"
                    % (p, a.members if victim else 1))
            if victim:
                f.write("    monitor: fast\n")
            elif p < monitored_pools:
                f.write("    monitor: bulk\n")
            f.write("    members:\n")
            for m in range(a.members):
                addr = address(p * a.members + m) if a.distinct else "127.0.%d.%d" % (m // 250, m % 250 + 1)
                f.write("      - {site: s%d, address: %s, weight: 100}\n" % ((p + m) % 50, addr))
        if a.monitored or a.victim:
            f.write("monitors:\n")
            if a.monitored:
                f.write("  - {name: bulk, type: tcp, port: %d, interval: %s, timeout: 1s, rise: 2, fall: 2}\n"
                        % (a.port, a.interval))
            if a.victim:
                f.write("  - {name: fast, type: tcp, port: %d, interval: 1s, timeout: 500ms, rise: 2, fall: 2}\n" % a.port)
            f.write("topology:\n" if a.topology else "topology: []\n")
        else:
            f.write("monitors: []\ntopology:\n" if a.topology else "monitors: []\ntopology: []\n")
        for t in range(a.topology):
            f.write("  - {network: 10.%d.%d.0/24, region: r%d}\n" % (t // 256, t % 256, t % 10))


if __name__ == "__main__":
    main()
