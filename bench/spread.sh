#!/usr/bin/env bash
# Run-to-run spread of the scores: the same app (the playground's example,
# a plain proxy in front of url-anvil), the same command, N official runs
# (full length, full rate) per challenge, one after another, against a
# fresh release playground. Prints each score and min / median / max and
# the spread ((max - min) / median) per challenge.
# Each run is scored under the current rules and again under v1, so the
# table compares both rules on the same samples (bench/spread_report.py).
# Usage: bench/spread.sh [runs=10] [challenge ...]
#   default challenges: robust-service graceful-degradation longest-upkeep
# Full-length runs: 200 s, 160 s and 600 s each, so 10 runs of all three
# take about 2 h 40 min.
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-10}; shift || true
CHALLENGES=("$@")
[ "${#CHALLENGES[@]}" -gt 0 ] || CHALLENGES=(robust-service graceful-degradation longest-upkeep)
cargo build --release -q -p chaosctl
CTL=./target/release/chaosctl
ANVIL=$(free_port); API=$(free_port); EXAMPLE=$(free_port)
# SPREAD_DATA keeps the playground (and its runs) after the script, e.g.
# to score the same runs again under other rules.
DATA=${SPREAD_DATA:-$BENCH_TMP/data}
# The example's own short runs are not wanted here: --example-duration is
# the shortest allowed and their scores are practice anyway.
"$CTL" up --data-dir "$DATA" --anvil-port "$ANVIL" --api-port "$API" --example-port "$EXAMPLE" \
    --example-duration 5s >"$BENCH_TMP/up.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$API/healthz"
# Let the example's practice runs finish before measuring.
for _ in $(seq 120); do
    [ "$(grep -c 'practice score\|scored\|no_data\|not scored' "$BENCH_TMP/up.log" || true)" -ge 3 ] && break
    sleep 1
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
RUN_IDS=()
for c in "${CHALLENGES[@]}"; do
    for i in $(seq "$RUNS"); do
        out=$("$CTL" run --challenge "$c" --target "http://127.0.0.1:$EXAMPLE" --contributor example \
            --api-url "http://127.0.0.1:$API" --anvil-url "http://127.0.0.1:$ANVIL" --data-dir "$DATA" \
            --output json 2>"$BENCH_TMP/run.err" || true)
        score=$(echo "$out" | python3 -c 'import json,sys
try:
    d=json.load(sys.stdin); print(d["score"] if d.get("score") is not None else "none", "official" if d.get("official") else "practice", d.get("run_id", "-"))
except Exception: print("failed - -")')
        echo "$c run $i: $score (load $(cut -d' ' -f1 /proc/loadavg))"
        set -- $score
        [ "$3" != "-" ] && RUN_IDS+=("$3")
    done
done
# The same runs under rules v1, for the before/after: scoring again adds a
# record and changes nothing on the board.
for id in "${RUN_IDS[@]}"; do
    curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $(cat "$DATA/admin-token")" \
        -H 'content-type: application/json' -d '{"rules_version": 1}' \
        "http://127.0.0.1:$API/api/v1/runs/$id/score" || echo "rescoring $id failed"
done
for _ in $(seq 60); do
    left=$(python3 - "$DATA/chaos.db" "${RUN_IDS[@]}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(sum(1 for r in sys.argv[2:] if not db.execute(
    "SELECT 1 FROM score_records WHERE run_id = ? AND rules_version = 1", (r,)).fetchone()))
PY
)
    [ "$left" = 0 ] && break
    sleep 1
done
python3 bench/spread_report.py "$DATA/chaos.db" "${RUN_IDS[@]}"
