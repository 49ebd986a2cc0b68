#!/usr/bin/env python3
"""scripts/lib/tcp_listeners.py PORT LIFETIME FIRST COUNT — loopback TCP backends that accept and close.

One listening socket on PORT per address gen_gslb_file.address(i) for i in FIRST..FIRST+COUNT-1
(127.1.0.1, ...: the members of a `gen_gslb_file.py --distinct` file), every one accepting and
closing at once (a `tcp` monitor sees it up). One selectors (epoll) loop; at most 15,000 addresses
per process (the file-descriptor limit of the box is 20,000: start several processes for more).
Prints "listening N" once every socket listens; exits after LIFETIME s or on SIGTERM/SIGKILL (a
killed process's addresses refuse connections: the members go down). Loopback only.
Used by scripts/bench-large-config.
"""
import os, resource, selectors, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_gslb_file import address  # noqa: E402

port, lifetime, first, count = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if not 0 < count <= 15000:
    sys.exit("tcp_listeners.py: 1..15000 addresses per process")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < count + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
sel = selectors.DefaultSelector()
for i in range(first, first + count):
    a = address(i)
    assert a.startswith("127."), "loopback only"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, port))
    s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("listening %d" % count, flush=True)
end = time.monotonic() + lifetime
while time.monotonic() < end:
    for key, _ in sel.select(timeout=1.0):
        for _ in range(64):
            try:
                c, _a = key.fileobj.accept()
            except OSError:
                break
            c.close()
