#!/usr/bin/env bash
# Local tracker: ingest throughput of POST /api/track (acknowledged =
# committed) as a ratio to nginx, on SQLite and PostgreSQL, with a check
# that every acknowledged run was stored; then the grouped read of a user
# with 10,000 runs (page 1, 200 runs), its p50 latency; then page 50 of
# that user by offset (?page=50) and by key (?after=, the `next` of page
# 49) against page 1, and the time to read all 50 pages by key.
# Usage: bench/tracker.sh [rounds=5] [duration=5s]
# With EARLIER_TRACKER=<the earlier platform's local-tracker-service
# directory> (a checkout of Aramantos/sre-chaos-challenge-playground; its
# npm dependencies are installed into a temporary directory), the earlier
# Node tracker is measured in the same rounds on PostgreSQL, alternating
# with nginx and ours, and each round's ours / earlier is printed.
# Targets (../shared/TARGETS.md): ingest >= 0.28 x nginx, 0 lost, >= 10 x
# the earlier tracker (never < 5 x); grouped read p50 <= 15 ms, paginated.
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${1:-5}; DURATION=${2:-5s}
need wrk "apt-get install wrk"
cargo build --release -q -p chaos-api -p loadgen
NGINX_PORT=$(free_port); start_nginx "$NGINX_PORT"
payload() { # user
    printf '{"schema_version":"1.0","userId":"%s","challengeType":"robust-service","metricName":"rps","value":812.5,"timestamp":"2026-01-01T12:00:00Z","labels":{"target":"my-app"},"runDetails":{"target_url":"http://localhost:8080/api/test","request_count":1000,"method":"POST","payload_urls":["http://url-anvil:8080/corpus/1"],"total_requests":1000,"successful_requests":990,"failed_requests":10,"avg_latency_ms":12.3,"error_rate":1.0,"rps":812.5,"duration_s":1.23,"test_type":"load","commit_hash":"abc1234","session_id":"s1","p95_latency_ms":20.5}}' "$1"
}
cat > "$BENCH_TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "k"
wrk.body = '$(payload ingest)'
done = function(summary, latency, requests)
  io.write(string.format("WRKTOTAL %d %d\n", summary.requests, summary.errors.status))
end
LUA
payload reader > "$BENCH_TMP/reader.json"

# The earlier Node tracker on the throwaway PostgreSQL cluster, when asked.
start_earlier() {
    EARLIER_URL=""
    [ -n "${EARLIER_TRACKER:-}" ] || return 0
    need node "apt-get install nodejs npm"
    cp -r "$EARLIER_TRACKER" "$BENCH_TMP/earlier"
    (cd "$BENCH_TMP/earlier" && npm install --omit=dev --no-audit --no-fund --silent >/dev/null)
    local pg_port; pg_port=${PG_URL##*:}; pg_port=${pg_port%%/*}
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" earlier
    (cd "$BENCH_TMP/earlier" && ENABLE_LOCAL_TRACKER=true LOCAL_TRACKER_API_KEY=k POSTGRES_USER=postgres \
        POSTGRES_HOST=127.0.0.1 POSTGRES_DB=earlier POSTGRES_PASSWORD= \
        exec node src/index.js >"$BENCH_TMP/earlier.log" 2>&1) &
    PIDS+=("$!")
    wait_http "http://127.0.0.1:3002/health"
    curl -fs -X POST "http://127.0.0.1:3002/api/migrate" >/dev/null
    EARLIER_URL="http://127.0.0.1:3002/api/track"
}

run_backend() { # database, name
    local port tport
    port=$(free_port); tport=$(free_port)
    ENABLE_LOCAL_TRACKER=true LOCAL_TRACKER_API_KEY=k ./target/release/chaos-api --listen "127.0.0.1:$port" \
        --tracker-listen "127.0.0.1:$tport" --database "$1" --admin-token bench-admin-token-0123456789 2>"$BENCH_TMP/api.log" &
    local pid=$!
    wait_http "http://127.0.0.1:$tport/healthz"
    local N=() T=() E=() RN=() RE=() sent=0 refused=0 earlier=${3:-}
    load "start of $2"
    for _ in $(seq "$ROUNDS"); do
        local n t
        n=$(wrk_rps -t2 -c64 -d"$DURATION" "http://127.0.0.1:$NGINX_PORT/")
        local out; out=$(wrk -t2 -c64 -d"$DURATION" -s "$BENCH_TMP/post.lua" "http://127.0.0.1:$tport/api/track")
        t=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
        N+=("$n"); T+=("$t"); RN+=("$(ratio "$t" "$n")")
        sent=$((sent + $(echo "$out" | awk '/^WRKTOTAL/ {print $2}')))
        refused=$((refused + $(echo "$out" | awk '/^WRKTOTAL/ {print $3}')))
        if [ -n "$earlier" ]; then
            local e; e=$(wrk -t2 -c64 -d"$DURATION" -s "$BENCH_TMP/post.lua" "$earlier" | awk '/^Requests\/sec:/ {print $2}')
            E+=("$e"); RE+=("$(ratio "$t" "$e")")
        fi
    done
    load "end of $2's ingest rounds"
    spread "  ours / nginx, round by round" "${RN[@]}"
    if [ -n "$earlier" ]; then
        spread "  earlier Node tracker req/s" "${E[@]}"
        spread "  ours / earlier Node tracker, round by round" "${RE[@]}"
    fi
    local stored
    stored=$(curl -s "http://127.0.0.1:$tport/api/track/ingest?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
    local mn mt; mn=$(median "${N[@]}"); mt=$(median "${T[@]}")
    printf '%-12s nginx %9.0f req/s  POST /api/track %8.0f req/s  ratio %s\n' "$2" "$mn" "$mt" "$(ratio "$mt" "$mn")"
    echo "  acknowledged $((sent - refused)) (of $sent sent, $refused refused), stored $stored"
    # A user with exactly 10,000 runs, sent by loadgen itself.
    ./target/release/loadgen run "http://127.0.0.1:$tport/api/track" -m POST --body-file "$BENCH_TMP/reader.json" \
        -H "x-api-key: k" -n 10000 -c 16 --no-progress --max-error-rate 0 >/dev/null
    local lat
    for c in 1 16; do
        lat=$(wrk -t1 -c"$c" -d"$DURATION" --latency "http://127.0.0.1:$tport/api/track/reader" | awk '/ 50%/ {print $2}')
        echo "  grouped read, user with 10,000 runs, page of 200, $c connection(s): p50 $lat"
    done
    # The cursor of page 50, and the whole walk by key, timed.
    local after
    after=$(python3 - "http://127.0.0.1:$tport/api/track/reader" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
def page(q):
    with urllib.request.urlopen(f"{base}?per_page=200{q}") as r:
        return json.load(r)
walks = []
for _ in range(5):
    t = time.perf_counter(); q = ""; n = 0; cursor49 = None
    while True:
        p = page(q); n += 1
        if n == 49: cursor49 = p["next"]
        if not p["next"]: break
        q = "&after=" + p["next"]
    walks.append((time.perf_counter() - t) * 1000)
walks.sort()
print(cursor49, n, f"{walks[len(walks)//2]:.0f}", file=sys.stdout)
PY
)
    local cursor pages walk; read -r cursor pages walk <<<"$after"
    echo "  all $pages pages by key, one after another: median of 5 walks ${walk} ms"
    local p1 p50o p50k
    p1=$(wrk -t1 -c1 -d"$DURATION" --latency "http://127.0.0.1:$tport/api/track/reader?per_page=200" | awk '/ 50%/ {print $2}')
    p50o=$(wrk -t1 -c1 -d"$DURATION" --latency "http://127.0.0.1:$tport/api/track/reader?per_page=200&page=50" | awk '/ 50%/ {print $2}')
    p50k=$(wrk -t1 -c1 -d"$DURATION" --latency "http://127.0.0.1:$tport/api/track/reader?per_page=200&after=$cursor" | awk '/ 50%/ {print $2}')
    echo "  page 1: p50 $p1; page 50 by offset: p50 $p50o ($(ratio "$(ms "$p50o")" "$(ms "$p1")") x page 1); page 50 by key: p50 $p50k ($(ratio "$(ms "$p50k")" "$(ms "$p1")") x page 1)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_backend "$BENCH_TMP/chaos.db" "SQLite"
# The earlier tracker only knows PostgreSQL's default port.
start_pg "${EARLIER_TRACKER:+5432}"
if [ -n "$PG_URL" ]; then
    start_earlier
    run_backend "$PG_URL" "PostgreSQL" "$EARLIER_URL"
fi
