#!/usr/bin/env bash
# Open-loop accuracy: at fixed rates below nginx's capacity, how close
# loadgen's achieved rate is to the asked one, and how many sends were late.
# Usage: [ROUNDS=5] bench/open-loop-accuracy.sh [duration=10s] [rates="1000 10000 50000"]
# Goal: achieved within 1 % of the asked rate.
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${1:-10s}; RATES=${2:-"1000 10000 50000"}
cargo build --release -q -p loadgen
PORT=$(free_port)
start_nginx "$PORT"
# Each rate ROUNDS times, the rates alternating (1000 10000 50000 1000 ...).
ROUNDS=${ROUNDS:-5}
load "before"
for _ in $(seq "$ROUNDS"); do
    for rate in $RATES; do
        ./target/release/loadgen run "http://127.0.0.1:$PORT/" --rate "$rate" -d "$DURATION" -c 64 --max-connections 256 \
            --output json --no-progress | python3 -c '
import json, sys
r = json.load(sys.stdin)
asked = r["rps"]["target"]; got = r["rps"]["achieved"]
print(asked, got / asked, r["generator"]["late_pct"], r["latency_ms"]["corrected"]["p99"], len(r["warnings"]))' >> "$BENCH_TMP/rounds"
    done
done
load "after"
python3 - "$BENCH_TMP/rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for asked in sorted({float(r[0]) for r in rows}):
    mine = [[float(x) for x in r[1:]] for r in rows if float(r[0]) == asked]
    col = lambda i: [m[i] for m in mine]
    ratio, late, p99, warn = col(0), col(1), col(2), col(3)
    print(f"asked {asked:>8.0f} req/s  achieved/asked min {min(ratio):.4f} median {statistics.median(ratio):.4f} "
          f"max {max(ratio):.4f}  late median {statistics.median(late):.2f} %  corrected p99 median "
          f"{statistics.median(p99):.2f} ms  warnings {int(sum(warn))}  ({len(mine)} rounds)")
PY
