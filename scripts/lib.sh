# scripts/lib.sh — helpers shared by scripts/conformance and scripts/bench (source it).
# Every helper is bounded in time and only ever signals pids it is given.

# free_port: a 127.0.0.1 port that is free for both UDP and TCP
free_port() {
    /usr/bin/python3 - <<'PY'
import socket, sys
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", port))
    except OSError: t.close(); u.close(); continue
    t.close(); u.close(); print(port); sys.exit(0)
sys.exit(1)
PY
}

# cairn_rrl_off BIN: prints `--rrl-ratelimit 0` when BIN knows the flag (nothing for an older
# binary, an NSD stand-in). Response rate limiting is on by default (docs/security.md); benchmarks and
# fuzzing send far more than 200 responses a second from one address and measure something else.
# The help text is read whole before it is searched: `serve --help | grep -q` under `set -o pipefail`
# fails whenever grep exits at the match before the binary has written the rest of its help (the
# binary dies of SIGPIPE), which happened in 1 call of 4 and left RRL on in those benchmark rows.
cairn_rrl_off() {
    local help
    help=$("$1" serve --help 2>/dev/null) || true
    if [[ $help == *--rrl-ratelimit* ]]; then echo "--rrl-ratelimit 0"; fi
    return 0
}

# cairn_port PID STDERR_FILE [TIMEOUT_S]: wait for the server's
#     cairn: listening udp 127.0.0.1:PORT
#     cairn: listening tcp 127.0.0.1:PORT
# lines (anywhere in a line, so a log prefix is fine) and print PORT.
# Fails if PID exits first, the lines do not come in time, or the ports differ.
cairn_port() {
    local pid=$1 log=$2 timeout=${3:-30} udp= tcp= deadline
    deadline=$((SECONDS + timeout))
    while (( SECONDS < deadline )); do
        udp=$(grep -oE 'cairn: listening udp 127\.0\.0\.1:[0-9]+' "$log" 2>/dev/null | head -1 | sed 's/.*://' || true)
        tcp=$(grep -oE 'cairn: listening tcp 127\.0\.0\.1:[0-9]+' "$log" 2>/dev/null | head -1 | sed 's/.*://' || true)
        [[ -n $udp && -n $tcp ]] && break
        kill -0 "$pid" 2>/dev/null || { echo "server pid $pid exited before listening" >&2; return 1; }
        sleep 0.1
    done
    [[ -n $udp && -n $tcp ]] || { echo "no 'cairn: listening udp|tcp 127.0.0.1:PORT' lines on stderr within ${timeout} s" >&2; return 1; }
    [[ $udp == "$tcp" ]] || { echo "server listens on udp $udp but tcp $tcp: one port for both is needed" >&2; return 1; }
    echo "$udp"
}

# dns_ready PID PORT NAME [TYPE]: wait (up to 10 s) until 127.0.0.1:PORT answers
# NAME TYPE over UDP and TCP (any RCODE) while PID is alive
dns_ready() {
    local pid=$1 port=$2 name=$3 type=${4:-SOA}
    for _ in $(seq 50); do
        if dig @127.0.0.1 -p "$port" "$name" "$type" +time=1 +tries=1 >/dev/null 2>&1 &&
           dig @127.0.0.1 -p "$port" "$name" "$type" +tcp +time=1 +tries=1 >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# stop_pid PID [LABEL]: SIGTERM, up to 5 s, then SIGKILL; reaps it if it is our child
stop_pid() {
    local pid=$1 label=${2:-pid}
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$label (pid $pid) ignored SIGTERM for 5 s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# tree_pids PID: PID and all its descendants
tree_pids() {
    ps -e -o pid=,ppid= | awk -v r="$1" '
        { pp[$1]=$2 } END { s[r]=1; do { ch=0; for (p in pp) if (!(p in s) && (pp[p] in s)) { s[p]=1; ch=1 } } while (ch); for (p in s) print p }'
}

# tree_ticks PID: utime+stime clock ticks of PID and its descendants (NSD forks its servers)
tree_ticks() {
    local p t=0 st
    [[ -n $1 && -d /proc/$1 ]] || { echo 0; return; }
    for p in $(tree_pids "$1"); do
        st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        st=${st##*) }                       # drop "pid (comm) "; comm may contain spaces
        t=$(( t + $(awk '{print $12 + $13}' <<<"$st") ))
    done
    echo "$t"
}
