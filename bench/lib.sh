# Shared helpers for the bench scripts: a reference nginx and port picking.
# Sourced, not run.

set -euo pipefail

BENCH_TMP=$(mktemp -d /tmp/chaos-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$BENCH_TMP/nginx.pid" ] && kill "$(cat "$BENCH_TMP/nginx.pid")" 2>/dev/null || true
    rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

need() {
    command -v "$1" >/dev/null || { echo "bench: $1 is required ($2)" >&2; exit 1; }
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "bench: $1 did not come up" >&2
    exit 1
}

# The reference ceiling of ../shared/TARGETS.md: Debian's nginx-light, one
# worker, access log off, a 3-byte body.
start_nginx() {
    need nginx "apt-get install nginx-light"
    local port=$1
    mkdir -p "$BENCH_TMP/nginx"
    cat > "$BENCH_TMP/nginx.conf" <<NGINX
worker_processes 1;
pid $BENCH_TMP/nginx.pid;
error_log $BENCH_TMP/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $BENCH_TMP/nginx;
    proxy_temp_path $BENCH_TMP/nginx;
    fastcgi_temp_path $BENCH_TMP/nginx;
    uwsgi_temp_path $BENCH_TMP/nginx;
    scgi_temp_path $BENCH_TMP/nginx;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "ok\n"; }
    }
}
NGINX
    nginx -c "$BENCH_TMP/nginx.conf"
    wait_http "http://127.0.0.1:$port/"
}

# Requests per second reported by wrk.
wrk_rps() {
    wrk "$@" | awk '/^Requests\/sec:/ {print $2}'
}

# Requests per second reported by loadgen.
loadgen_rps() {
    "$LOADGEN" run "$@" --output json --no-progress | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"]["achieved"])'
}

# "NAME: min A, median B, max C (N rounds)" of a series of numbers.
spread() {
    local name=$1; shift
    python3 -c '
import statistics, sys
v = [float(x) for x in sys.argv[2:]]
print(f"{sys.argv[1]}: min {min(v):.3f}, median {statistics.median(v):.3f}, max {max(v):.3f} ({len(v)} rounds)")' "$name" "$@"
}

# The machine's load average, printed beside every result: the machines
# are shared, and a busy one moves every figure.
load() {
    echo "load average ($1): $(cut -d' ' -f1-3 /proc/loadavg)"
}

median() {
    python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"
}

# A latency as wrk prints it (850.00us, 1.23ms, 1.02s) in milliseconds.
ms() {
    python3 -c '
import re, sys
v, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.argv[1]).groups()
print(float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit])' "$1"
}

ratio() {
    python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.3f}")' "$1" "$2"
}

# A throwaway PostgreSQL cluster (stopped on exit) on the port given or a
# free one; sets PG_URL, or leaves it empty when PostgreSQL is not installed.
start_pg() {
    PG_URL=""
    local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort | tail -1)
    [ -n "$bin" ] || { echo "PostgreSQL not found; skipped"; return 0; }
    local port=${1:-}; [ -n "$port" ] || port=$(free_port)
    PG_DIR="$BENCH_TMP/pg"; PG_BIN="$bin"
    mkdir -p "$PG_DIR"; chown postgres:postgres "$PG_DIR" "$BENCH_TMP" 2>/dev/null || true
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" --auth=trust -U postgres >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1" -w start >/dev/null
    trap 'as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1; cleanup' EXIT
    PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
