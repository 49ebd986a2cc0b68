"""One dnsperf run of a benchmark round, as scripts/bench-large-config and scripts/bench-pool-names make it:
`dnsperf -c 4 -T 1 -Q 10000000 -q 100 -t 5` (as scripts/bench) against 127.0.0.1:PORT for SECS seconds,
bounded by SECS + 60 s; and the ratios of rounds whose two runs were made back to back."""
import re, subprocess


def run(port, qfile, secs, pin=(), out=None):
    """dnsperf's QPS, lost and completed queries for one run; its output also goes to the file `out`."""
    r = subprocess.run(list(pin) + ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(secs),
                                    "-c", "4", "-T", "1", "-Q", "10000000", "-q", "100", "-t", "5"],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=int(secs) + 60)
    if out: open(out, "w").write(r.stdout)
    field = lambda name, pattern: re.search(name + r":\s+(" + pattern + ")", r.stdout).group(1)
    return {"qps": float(field("Queries per second", r"[0-9.]+")), "lost": int(field("Queries lost", r"\d+")),
            "completed": int(field("Queries completed", r"\d+"))}


def ticks(pid):
    """CPU time of process `pid` so far (utime + stime), in clock ticks."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def round_ratios(big, small):
    """Each round's ratio big / small (two runs made back to back share the box's state)."""
    return [b / s for b, s in zip(big, small) if s > 0]
