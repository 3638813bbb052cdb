#!/usr/bin/env bash
# What checking every answer costs loadgen: robust-service's top step
# (1,920 req/s) against an uncapped url-anvil, every answer checked against
# the run corpus vs the same requests unchecked, alternating A B A B.
# Usage: bench/answer-check.sh [rounds=5] [seconds=10] [rate=1920]
# Target (issue 23): a checked run loses < 5 % of its send accuracy.
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${1:-5}; SECONDS_EACH=${2:-10}; RATE=${3:-1920}
cargo build --release -q -p url-anvil -p loadgen --example answer_check_cost
SECRET="bench-corpus-key-$(openssl rand -hex 8)"
PORT=$(free_port)
./target/release/url-anvil --listen "127.0.0.1:$PORT" --capacity uncapped \
    --corpus-key "$SECRET" 2>"$BENCH_TMP/anvil.log" &
PIDS+=("$!")
wait_http "http://127.0.0.1:$PORT/healthz"
load before
./target/release/examples/answer_check_cost "http://127.0.0.1:$PORT" "$SECRET" \
    "$ROUNDS" "$SECONDS_EACH" "$RATE" | tee "$BENCH_TMP/rounds"
load after
python3 - "$BENCH_TMP/rounds" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("round")]
def col(mode, key):
    return [float(r[r.index(key) + 1]) for r in rows if r[2] == mode]
for mode in ("checked", "unchecked"):
    acc, late = col(mode, "achieved/asked"), col(mode, "late")
    wrong = col(mode, "wrong")
    print(f"{mode:>9}: achieved/asked min {min(acc):.4f} median {statistics.median(acc):.4f} max {max(acc):.4f}; "
          f"late median {statistics.median(late):.2f} %; wrong answers {int(sum(wrong))} ({len(acc)} rounds)")
c, u = col("checked", "achieved/asked"), col("unchecked", "achieved/asked")
pairs = [a / b for a, b in zip(c, u)]
print(f"checked/unchecked send accuracy, round by round: min {min(pairs):.4f} median {statistics.median(pairs):.4f} max {max(pairs):.4f}")
PY
