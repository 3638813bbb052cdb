#!/usr/bin/env bash
# url-anvil (uncapped profile) throughput and memory, each as a ratio to
# nginx measured in the same run with the same wrk settings.
# Usage: bench/anvil.sh [rounds=5] [duration=10s]
# Targets (../shared/TARGETS.md): sample-urls >= 0.36 x nginx,
# POST /api/test with one local URL >= 0.16 x nginx, /metrics >= 0.20 x nginx.
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${1:-5}; DURATION=${2:-10s}
need wrk "apt-get install wrk"
cargo build --release -q -p url-anvil
NGINX_PORT=$(free_port); ANVIL_PORT=$(free_port)
start_nginx "$NGINX_PORT"
./target/release/url-anvil --listen "127.0.0.1:$ANVIL_PORT" --capacity uncapped \
    --allow-host "127.0.0.1:$NGINX_PORT" 2>"$BENCH_TMP/anvil.log" &
ANVIL_PID=$!; PIDS+=("$ANVIL_PID")
wait_http "http://127.0.0.1:$ANVIL_PORT/healthz"
ANVIL="http://127.0.0.1:$ANVIL_PORT"

post_script() {
    cat > "$BENCH_TMP/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"urls":["$2"]}'
LUA
    echo "$BENCH_TMP/$1.lua"
}
CORPUS=$(post_script corpus "$ANVIL/corpus/1")
REMOTE=$(post_script remote "http://127.0.0.1:$NGINX_PORT/")

measure() { # name, wrk args...
    local name=$1; shift
    local N=() A=() R=() n a
    for i in $(seq "$ROUNDS"); do
        n=$(wrk_rps -t2 -c64 -d"$DURATION" "http://127.0.0.1:$NGINX_PORT/")
        a=$(wrk_rps -t2 -c64 -d"$DURATION" "$@")
        N+=("$n"); A+=("$a"); R+=("$(ratio "$a" "$n")")
    done
    local mn ma
    mn=$(median "${N[@]}"); ma=$(median "${A[@]}")
    printf '%-34s nginx %10.0f req/s   url-anvil %10.0f req/s   ratio %s\n' "$name" "$mn" "$ma" "$(ratio "$ma" "$mn")"
    spread "  url-anvil/nginx, round by round" "${R[@]}"
    load "after $name"
}
load start
measure "GET /api/sample-urls" "$ANVIL/api/sample-urls"
measure "POST /api/test (own corpus doc)" -s "$CORPUS" "$ANVIL/api/test"
measure "POST /api/test (fetch from nginx)" -s "$REMOTE" "$ANVIL/api/test"
measure "GET /metrics" "$ANVIL/metrics"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$ANVIL_PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$ANVIL_PID/status")
echo "url-anvil memory after the runs: RSS ${rss} KiB, peak ${hwm} KiB"
