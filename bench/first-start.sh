#!/usr/bin/env bash
# From a cold clone to a filled leaderboard, as README's first command
# does it: clone, `cargo run --release -p chaosctl -- up` with an empty
# target directory, then wait until the example contributor has a scored
# run on all three boards. Prints each stage's time since the start.
#
#   bench/first-start.sh [REPO]      (REPO defaults to this checkout)
#
# Crates already in cargo's download cache are not downloaded again: on a
# machine that never built Rust, add the download time. The playground's
# ports (8080, 8081, 8090) must be free.
source "$(dirname "$0")/lib.sh"
need curl "apt-get install curl"
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
for port in 8080 8081 8090; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        echo "bench: port $port is in use; stop what listens there" >&2
        exit 1
    fi
done
t0=$(date +%s.%N)
git clone -q "$repo" "$BENCH_TMP/clone"
t_clone=$(date +%s.%N)
cd "$BENCH_TMP/clone"
CARGO_TARGET_DIR="$BENCH_TMP/clone/target" cargo run --release -p chaosctl -- up \
    >"$BENCH_TMP/up.log" 2>&1 &
PIDS+=($!)
scored() {
    curl -fs "http://127.0.0.1:8081/api/v1/runs" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    runs = d["runs"] if isinstance(d, dict) else d
    print(len({r["challenge"] for r in runs if r.get("state") == "scored"}))
except Exception:
    print(0)'
}
built="" first="" all=""
deadline=$(( $(date +%s) + 3600 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    now=$(date +%s.%N)
    if [ -z "$built" ] && curl -fs -o /dev/null http://127.0.0.1:8081/healthz; then built=$now; fi
    if [ -n "$built" ]; then
        n=$(scored)
        if [ -z "$first" ] && [ "$n" -ge 1 ]; then first=$now; fi
        if [ "$n" -ge 3 ]; then all=$now; break; fi
    fi
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
        echo "bench: chaosctl up stopped; its output:" >&2
        tail -20 "$BENCH_TMP/up.log" >&2
        exit 1
    fi
    sleep 1
done
build=$(grep -o 'Finished .* in .*' "$BENCH_TMP/up.log" | head -1)
kill -INT "${PIDS[-1]}" 2>/dev/null || true
# chaosctl is cargo's child: stop it too, and give it a moment to close.
pkill -INT -f "$BENCH_TMP/clone/target/release/chaosctl" 2>/dev/null || true
sleep 2
python3 - "$t0" "$t_clone" "$built" "$first" "$all" "$build" <<'PY'
import sys
t0, clone, built, first, everything = (float(x) if x else None for x in sys.argv[1:6])
def at(x):
    return f"{x - t0:.1f} s" if x else "never"
print(f"first start on {__import__('os').cpu_count()} cores: clone {clone - t0:.1f} s; "
      f"build done, API answering {at(built)}; first scored run {at(first)}; "
      f"all three boards filled {at(everything)}")
print(f"cargo: {sys.argv[6]}")
PY
