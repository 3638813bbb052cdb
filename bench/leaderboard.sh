#!/usr/bin/env bash
# Leaderboard cost with 10,000 contributors, at 30,000 scored runs (every
# contributor ranked in every challenge) and at 100,000, on SQLite and PostgreSQL: the query plan, and wrk
# throughput of GET /api/v1/leaderboard/robust-service and of the HTML board
# (/leaderboard/robust-service: the page, its history and the 20 newest
# practice runs, one in a hundred seeded runs being practice with ~80 KB of
# real-shaped evidence) as ratios to GET /healthz on the same server
# (alternating, same wrk settings).
# Usage: bench/leaderboard.sh [rounds=5] [duration=5s]
# Targets: cost flat in the number of runs (the uncached query is timed
# directly); leaderboard >= 0.5 x /healthz (served through the response
# cache, as in production).
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${1:-5}; DURATION=${2:-5s}
need wrk "apt-get install wrk"
cargo build --release -q -p chaos-api --bin chaos-api --example seed_leaderboard
SEED=./target/release/examples/seed_leaderboard
TOKEN=bench-admin-token-0123456789

serve_and_measure() { # database, label
    local port; port=$(free_port)
    ./target/release/chaos-api --listen "127.0.0.1:$port" --database "$1" --admin-token "$TOKEN" 2>"$BENCH_TMP/api.log" &
    local pid=$!
    wait_http "http://127.0.0.1:$port/healthz"
    local L=() H=() R=() P=() RP=()
    load "$2, before"
    for _ in $(seq "$ROUNDS"); do
        H+=("$(wrk_rps -t2 -c64 -d"$DURATION" "http://127.0.0.1:$port/healthz")")
        L+=("$(wrk_rps -t2 -c64 -d"$DURATION" "http://127.0.0.1:$port/api/v1/leaderboard/robust-service")")
        P+=("$(wrk_rps -t2 -c64 -d"$DURATION" "http://127.0.0.1:$port/leaderboard/robust-service")")
        R+=("$(ratio "${L[-1]}" "${H[-1]}")")
        RP+=("$(ratio "${P[-1]}" "${H[-1]}")")
    done
    load "$2, after"
    local mh ml mp; mh=$(median "${H[@]}"); ml=$(median "${L[@]}"); mp=$(median "${P[@]}")
    printf '%-28s healthz %9.0f req/s  leaderboard (page 1, 50 rows) %9.0f req/s  HTML board %9.0f req/s  (medians)\n' "$2" "$mh" "$ml" "$mp"
    spread "  leaderboard / healthz, round by round" "${R[@]}"
    spread "  HTML board / healthz, round by round" "${RP[@]}"
    echo "$ml" > "$BENCH_TMP/last"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_backend() { # database url, name
    echo "== $2"
    $SEED "$1" 10000 30000 --explain --time 2>&1 | sed 's/^/  /'
    serve_and_measure "$1" "$2, 30k runs"
    local small; small=$(cat "$BENCH_TMP/last")
    $SEED "$1" 10000 70000 --explain --time 2>&1 | sed 's/^/  /'
    serve_and_measure "$1" "$2, 100k runs"
    echo "  leaderboard throughput at 100k runs / at 30k runs: $(ratio "$(cat "$BENCH_TMP/last")" "$small")"
}

run_backend "$BENCH_TMP/chaos.db" "SQLite"

start_pg
[ -z "$PG_URL" ] || run_backend "$PG_URL" "PostgreSQL"
