#!/usr/bin/env bash
# Open-loop accuracy: at fixed rates below nginx's capacity, how close
# loadgen's achieved rate is to the asked one, and how many sends were late.
# Usage: bench/open-loop-accuracy.sh [duration=10s] [rates="1000 10000 50000"]
# Goal: achieved within 1 % of the asked rate.
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${1:-10s}; RATES=${2:-"1000 10000 50000"}
cargo build --release -q -p loadgen
PORT=$(free_port)
start_nginx "$PORT"
for rate in $RATES; do
    ./target/release/loadgen run "http://127.0.0.1:$PORT/" --rate "$rate" -d "$DURATION" -c 64 --max-connections 256 \
        --output json --no-progress | python3 -c '
import json, sys
r = json.load(sys.stdin)
asked = r["rps"]["target"]; got = r["rps"]["achieved"]
late = r["generator"]["late_pct"]; p99 = r["latency_ms"]["corrected"]["p99"]
print(f"asked {asked:>8.0f} req/s  achieved {got:>10.1f}  ratio {got/asked:.4f}  late {late:.2f} %  corrected p99 {p99:.2f} ms  warnings {len(r['"'"'warnings'"'"'])}")'
done
