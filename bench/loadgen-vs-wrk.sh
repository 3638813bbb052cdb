#!/usr/bin/env bash
# loadgen vs wrk, closed loop, against the same nginx, alternating runs.
# Usage: bench/loadgen-vs-wrk.sh [rounds=5] [duration=10s] [connections=64]
# Target (../shared/TARGETS.md): loadgen / wrk >= 1.0, never below 0.9.
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${1:-5}; DURATION=${2:-10s}; CONNS=${3:-64}
need wrk "apt-get install wrk"
cargo build --release -q -p loadgen
LOADGEN=$PWD/target/release/loadgen
PORT=$(free_port)
start_nginx "$PORT"
URL="http://127.0.0.1:$PORT/"
W=(); L=(); R=()
load start
for i in $(seq "$ROUNDS"); do
    w=$(wrk_rps -t2 -c"$CONNS" -d"$DURATION" "$URL")
    l=$(loadgen_rps "$URL" -t 2 -c "$CONNS" -d "$DURATION")
    echo "round $i: wrk $w req/s, loadgen $l req/s, ratio $(ratio "$l" "$w")"
    W+=("$w"); L+=("$l"); R+=("$(ratio "$l" "$w")")
done
load end
spread "wrk req/s" "${W[@]}"
spread "loadgen req/s" "${L[@]}"
spread "loadgen/wrk, round by round" "${R[@]}"
