#!/usr/bin/env python3
"""One site's web backend for the Cairn demos: `backend.py SITE [PORT] [ADDR]`.

GET /healthz -> 200 "ok" (what Cairn's http monitor probes); any other GET ->
200 "site SITE". Prints "ready SITE ADDR:PORT" once listening. Standard library
only (the compose service runs it on python:3.12-slim, scripts/demo-netns on
Debian's python3). SIGTERM stops it at once: that is how a site "fails".
"""
import http.server, signal, sys

# A parent may have started us with SIGTERM blocked (the mask is inherited): unblock it.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
site = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
addr = sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n" if self.path == "/healthz" else f"site {site}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: the monitor asks every second
        pass


srv = http.server.ThreadingHTTPServer((addr, port), Handler)
print(f"ready {site} {addr}:{port}", flush=True)
srv.serve_forever()
