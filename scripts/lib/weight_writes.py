#!/usr/bin/env python3
"""scripts/lib/weight_writes.py PORT TOKEN OUT POOL MEMBER WRITES TIMEOUT BUDGET — member-weight writes.

WRITES writes one after another, each `PUT /v1/pools/POOL/members/MEMBER?type=A` with {"weight": W}
(W cycles 1..100, never the current one), timed from the request to the end of the response (a new
connection per write, as `cairn member update` makes). Each write has TIMEOUT s, the series BUDGET s;
a write that times out counts as an error and ends the series. Every latency goes to OUT; prints
"ok errors p50 p99 max mean last_weight" (ms). Used by scripts/bench-writes and scripts/bench-zone-scale.
"""
import http.client, json, math, sys, time
port, token, out, pool, member = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
writes, timeout, budget = int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
lat, errors, start, w = [], 0, time.monotonic(), 100
path = "/v1/pools/%s/members/%s?type=A" % (pool, member)
with open(out, "w") as f:
    for i in range(writes):
        if time.monotonic() - start > budget:
            print("budget of %.0f s spent after %d writes" % (budget, i), file=sys.stderr); break
        w = w % 100 + 1
        body = json.dumps({"weight": w})
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        t0 = time.perf_counter()
        try:
            c.request("PUT", path, body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            r = c.getresponse(); r.read()
            ok = r.status == 200
        except Exception as e:
            print("write %d: %s" % (i, e), file=sys.stderr); ok = False; r = None
        ms = (time.perf_counter() - t0) * 1000
        c.close()
        f.write("%d %.3f %s\n" % (w, ms, r.status if r else "timeout"))
        if ok: lat.append(ms)
        else:
            errors += 1
            if r is None: break
last = w
if not lat:
    print("0 %d - - - - %d" % (errors, last)); sys.exit(0)
lat.sort()
rank = lambda q: lat[max(0, math.ceil(q * len(lat)) - 1)]
print("%d %d %.1f %.1f %.1f %.1f %d" % (len(lat), errors, rank(0.5), rank(0.99), lat[-1], sum(lat) / len(lat), last))
