"""scripts/lib/cairn_cluster.py — helpers shared by the Python parts of scripts/bench-* (import it).

Cluster: a PostgreSQL 15 of the script's own (initdb + pg_ctl as the postgres user, a temp dir,
a free port on 127.0.0.1) with a database `cairn`, and `cairn serve --store postgres://...`
nodes started on it. answer(): the sorted A addresses of www.gslb.test. from a node.
Everything stays on 127.0.0.1; every wait is bounded in time, and only processes started
here are signalled.
"""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time
import dns.message, dns.query

PGBIN = "/usr/lib/postgresql/15/bin"
ZONE = "$ORIGIN gslb.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 192.0.2.53\n"


def write_zone(tmp):
    """The zone gslb.test. in TMP/zones (the --zones folder of the scripts)."""
    os.makedirs(f"{tmp}/zones")
    open(f"{tmp}/zones/gslb.test.zone", "w").write(ZONE)


def answer(port, qname="www.gslb.test."):
    """The sorted addresses of QNAME's A answer from 127.0.0.1:PORT over UDP, None when it does not answer in 0.5 s."""
    q = dns.message.make_query(qname, "A")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
    except Exception:
        return None
    return sorted(rr.address for rrset in r.answer for rr in rrset)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def as_postgres(args, **kw):
    cmd = (["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) + args
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def start_postgres(pgdir, pw, durable=True):
    """A PostgreSQL 15 in PGDIR (created; owned by postgres when root) on a free 127.0.0.1 port with the
    database `cairn`; returns the `--store` URL (the password is PW, to pass as PGPASSWORD)."""
    os.makedirs(f"{pgdir}/data", mode=0o700)
    open(f"{pgdir}/pw", "w").write(pw)
    if os.getuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", pgdir], check=True)
    port = free_port()
    as_postgres([f"{PGBIN}/initdb", "-D", f"{pgdir}/data", "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", f"--pwfile={pgdir}/pw", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
    as_postgres([f"{PGBIN}/pg_ctl", "-D", f"{pgdir}/data", "-w", "-l", f"{pgdir}/log", "-o",
                 f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1", "start"])
    as_postgres([f"{PGBIN}/createdb", "-h", pgdir, "-p", str(port), "-U", "postgres", "cairn"])
    return port, f"postgres://postgres@127.0.0.1:{port}/cairn?sslmode=disable"


def stop_postgres(pgdir):
    try: as_postgres([f"{PGBIN}/pg_ctl", "-D", f"{pgdir}/data", "-m", "fast", "-w", "stop"])
    except Exception: pass


class Cluster:
    """A temp dir (tmp) with a PostgreSQL 15 in it, its store URL (url), the environment that
    carries its password (env), and the cairn processes started on it (procs). Use it with
    `with`: leaving stops the nodes and PostgreSQL and removes the temp dir."""

    def __init__(self, cairn, prog, prefix, pw):
        if not os.path.exists(f"{PGBIN}/initdb"):
            sys.exit(f"{prog}: PostgreSQL 15 is missing (scripts/setup-deps installs it)")
        self.cairn = cairn
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.pgdir = f"{self.tmp}/pg"
        try:
            self.pgport, self.url = start_postgres(self.pgdir, pw)
        except BaseException:
            self.cleanup()
            raise
        self.env = dict(os.environ, PGPASSWORD=pw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def run(self, args):
        """`cairn ARGS` with the store's password; its stdout."""
        return subprocess.run([self.cairn] + args, check=True, capture_output=True, text=True, env=self.env).stdout

    def apply(self, config):
        self.run(["apply", "-f", config, "--store", self.url, "--zones", f"{self.tmp}/zones"])

    def token(self, scope):
        """A new API token of SCOPE (`cairn token create`)."""
        out = self.run(["token", "create", "--scope", scope, "--store", self.url])
        return [l for l in out.split("\n") if l.startswith("cairn_")][-1]

    def start_nodes(self, n, extra):
        """Start N `cairn serve` nodes on the store one after another, node i (from 0) with the
        arguments EXTRA(i) added and its output in TMP/node{i}.log; wait up to 30 s for each to
        listen. Returns [(udp port, api port)] in node order; exits the script when one does not start."""
        ports = []
        # The benchmarks poll every node every few ms from 127.0.0.1: not what rate limiting is for.
        help_text = subprocess.run([self.cairn, "serve", "--help"], capture_output=True, text=True).stdout
        rrl_off = ["--rrl-ratelimit", "0"] if "--rrl-ratelimit" in help_text else []
        for i in range(n):
            log = open(f"{self.tmp}/node{i}.log", "w+")
            p = subprocess.Popen([self.cairn, "serve", "--zones", f"{self.tmp}/zones", "--store", self.url, "--dns", "127.0.0.1:0",
                                  "--api", "127.0.0.1:0"] + rrl_off + extra(i), stdout=log, stderr=subprocess.STDOUT, env=self.env)
            self.procs.append(p)
            deadline = time.time() + 30
            udp = api = None
            while time.time() < deadline and (udp is None or api is None):
                text = open(f"{self.tmp}/node{i}.log").read()
                m = re.search(r"cairn: listening udp 127\.0\.0\.1:(\d+)", text); udp = int(m.group(1)) if m else None
                m = re.search(r"cairn: listening api 127\.0\.0\.1:(\d+)", text); api = int(m.group(1)) if m else None
                time.sleep(0.05)
            if udp is None or api is None:
                sys.exit(f"node {i + 1} did not start:\n" + open(f"{self.tmp}/node{i}.log").read())
            ports.append((udp, api))
        return ports

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try: p.wait(5)
                except subprocess.TimeoutExpired: p.kill()
        stop_postgres(self.pgdir)
        shutil.rmtree(self.tmp, ignore_errors=True)


if __name__ == "__main__":
    # For shell scripts: `cairn_cluster.py start DIR PASSWORD` prints the store URL of a new PostgreSQL
    # in DIR (left running); `cairn_cluster.py stop DIR` stops it.
    if len(sys.argv) == 4 and sys.argv[1] == "start":
        print(start_postgres(sys.argv[2], sys.argv[3])[1])
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        stop_postgres(sys.argv[2])
    else:
        sys.exit("usage: cairn_cluster.py start DIR PASSWORD | stop DIR")
