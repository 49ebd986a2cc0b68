#!/usr/bin/env python3
"""A test backend: `backend.py ADDR PORT MODE [CERT KEY]`.

MODE: ok (200 "ok"), fail (500), hang (accept, never answer), tcp (accept and close),
ok-except=NODE (200, but 500 to the probes of Cairn node NODE: its X-Cairn-Node header).
With CERT and KEY it serves HTTPS. Prints "ready" once listening. Loopback only.
"""
import signal, socket, ssl, sys, threading, time

# A parent may spawn us with SIGTERM blocked: make "kill" work.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
signal.signal(signal.SIGTERM, signal.SIG_DFL)

addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
load = "42"
if mode.startswith("ok="):  # ok=LOAD: healthy, reporting LOAD in X-Load
    mode, load = "ok", mode[3:]
blind = None
if mode.startswith("ok-except="):  # healthy for every node but one
    mode, blind = "ok", mode[len("ok-except="):]
assert addr.startswith("127.") or addr == "::1", "loopback only"
ctx = None
if len(sys.argv) >= 6:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])

srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(128)
print("ready", flush=True)
held = []

def serve(c):
    try:
        if ctx:
            c = ctx.wrap_socket(c, server_side=True)
        if mode == "tcp":
            c.close(); return
        if mode == "hang":
            held.append(c); return
        c.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk: break
            data += chunk
        healthy = mode == "ok" and not (blind and ("\r\nX-Cairn-Node: " + blind + "\r\n").encode() in data)
        body = b"ok" if healthy else b"failing"
        status = b"200 OK" if healthy else b"500 Internal Server Error"
        c.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\nX-Load: " + load.encode() + b"\r\nConnection: close\r\n\r\n" + body)
        c.close()
    except Exception:
        try: c.close()
        except Exception: pass

deadline = time.time() + 600  # bounded: a test backend never outlives ten minutes
srv.settimeout(1)
while time.time() < deadline:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
