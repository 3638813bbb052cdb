#!/usr/bin/env bash
# The operator at scale on a real API server: N Contributors created at
# once, then measured until every one is Applied, then left idle.
#
#   KUBECONFIG=… bench/operator-scale.sh [N]        (N defaults to 1000)
#   SHAPE=components …   each Contributor three components (edge, mid,
#                        last, each with a config file) instead of one app
#
# Needs a disposable cluster with no other sre-chaos operator (kind, or the
# single-node cluster of ../shared/k8s), kubectl, python3, and release
# binaries (cargo build --release -p chaos-api -p chaos-operator). The
# operator and a chaos-api on SQLite run here, as processes, so that the
# operator's memory can be read from /proc; the cluster does the rest.
# Contributor pods mostly stay Pending (N url-anvils do not fit a node):
# what is measured is the operator's side.
#
# Prints, and appends to bench/results/operator-scale.txt:
#   create_s      how long kubectl took to create the N Contributors
#   applied_s     from the end of creation until every one is Applied
#   apply_passes  apply passes per Contributor (the target is exactly 1)
#   reconciles    reconciles per Contributor
#   failures      reconciles that ended in an error, in all
#   rss_peak_mb   the operator's peak resident memory (VmHWM)
#   rss_mb        its resident memory at the end
#   idle_writes   writes to the API server in 60 s of idle, by anyone, to
#                 the kinds the operator writes (apiserver_request_total)
#   op_idle_writes  of those, the operator's own (its kube_api_requests
#                 counter; the API server's counters name no client)
#   idle_passes   apply passes in those 60 s
#   window_writes writes to the API server, by anyone and to any kind, from
#                 creation to all Applied (the controllers' pods and
#                 ReplicaSets included)
#   op_window_writes, op_window_requests  of those, the operator's own
#                 writes, and its requests of every verb
# and, after the line, the window's ten largest kinds of write and the
# idle writes, by resource, subresource and verb.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
R=${CARGO_TARGET_DIR:-target}/release
for b in chaos-api chaos-operator; do
    [ -x "$R/$b" ] || { echo "missing $R/$b: cargo build --release -p chaos-api -p chaos-operator" >&2; exit 1; }
done
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }
kubectl version >/dev/null || { echo "no cluster in KUBECONFIG" >&2; exit 1; }

work=$(mktemp -d)
NS=sre-chaos-bench
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
op_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TOKEN=bench-admin-token-0123456789
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { printf '[operator-scale %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

kubectl apply --server-side -f crds/ >/dev/null
kubectl wait --for condition=established crd/contributors.srechaos.dev --timeout=60s >/dev/null
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

CHAOS_API_LISTEN=127.0.0.1:$api_port DATABASE_URL="$work/chaos.db" CHAOS_ADMIN_TOKEN=$TOKEN \
    "$R/chaos-api" >"$work/api.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/readyz" >/dev/null && break; sleep 0.1; done
"$R/chaos-operator" --platform-namespace "$NS" --api-url "http://127.0.0.1:$api_port" \
    --admin-token $TOKEN --anvil-admin-token bench-anvil-token-0123456789 \
    --listen "127.0.0.1:$op_port" >"$work/operator.log" 2>&1 &
op=$!
pids+=($op)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$op_port/readyz" >/dev/null && break; sleep 0.1; done

metric() { # metric NAME -> value for controller="contributor", 0 if absent
    curl -sf "http://127.0.0.1:$op_port/metrics" \
        | awk -v m="chaos_operator_$1" '$1 ~ "^"m"(_total)?\\{controller=\"contributor\"\\}$" {print $2}' | head -1 | grep . || echo 0
}
all_write_lines() { # every write to the API server so far, any kind: "resource/subresource verb count"
    kubectl get --raw /metrics | awk '
        /^apiserver_request_total\{/ && /verb="(APPLY|PATCH|POST|PUT|UPDATE|DELETE)"/ {
            match($0, /resource="[^"]*"/); r = substr($0, RSTART + 10, RLENGTH - 11)
            sub_ = ""; if (match($0, /subresource="[^"]*"/)) sub_ = substr($0, RSTART + 13, RLENGTH - 14)
            match($0, /verb="[^"]*"/); v = substr($0, RSTART + 6, RLENGTH - 7)
            n[r "/" sub_ " " v] += $NF
        } END { for (k in n) print k, n[k] }'
}
write_lines() { # of those, the kinds the operator writes (a Deployment's status is the controller's)
    all_write_lines | awk '$1 ~ /^(contributors|namespaces|services|secrets|resourcequotas|limitranges|networkpolicies|deployments)\// && $1 != "deployments/status"'
}
total() { awk '{ s += $3 } END { print s + 0 }' "$1"; }
op_requests() { # the operator's own requests so far, reads included
    curl -sf "http://127.0.0.1:$op_port/metrics" \
        | awk '/^chaos_operator_kube_api_requests_total\{/ { s += $2 } END { print s + 0 }'
}
op_writes() { # the operator's own writes so far
    curl -sf "http://127.0.0.1:$op_port/metrics" \
        | awk '/^chaos_operator_kube_api_requests_total\{method="(POST|PUT|PATCH|DELETE)"\}/ { s += $2 } END { print s + 0 }'
}
applied_count() {
    kubectl get contributors -l srechaos.dev/bench=1 -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
print(sum(1 for c in items if any(x["type"] == "Applied" and x["status"] == "True"
                                  for x in (c.get("status") or {}).get("conditions", []))))'
}

SHAPE=${SHAPE:-app}
python3 - "$N" "$SHAPE" >"$work/contributors.yaml" <<'PY'
import sys
n, shape = int(sys.argv[1]), sys.argv[2]
def part(name, port, upstream):
    conf = f"upstream next {{ server {upstream}; }}\\nserver {{ listen {port}; location / {{ proxy_pass http://next; }} }}\\n"
    return (f"    - {{name: {name}, image: sre-chaos/starter-app:dev, ports: [{{name: http, port: {port}}}], "
            f"cpuMillis: 100, memoryMib: 64, readiness: {{httpPath: /}}, "
            f"files: [{{path: /etc/nginx/conf.d/default.conf, content: \"{conf}\"}}]}}")
for i in range(n):
    if shape == "components":
        spec = "\n".join(["  components:", part("edge", 8080, "mid:8081"),
                          part("mid", 8081, "last:8082"), part("last", 8082, "url-anvil:8080"),
                          "  entry: {component: edge}"])
    else:
        spec = "  app: {image: sre-chaos/starter-app:dev, port: 8080}"
    print(f"""---
apiVersion: srechaos.dev/v1alpha1
kind: Contributor
metadata:
  name: bench-{i:04d}
  labels: {{srechaos.dev/bench: "1"}}
spec:
  challenge: robust-service
{spec}""")
PY

# The namespaces of an earlier run take minutes to go; objects cannot be
# made in a terminating namespace, so a run started among them measures
# failed reconciles (one did: 232 of them).
for _ in $(seq 600); do
    left=$(kubectl get ns --no-headers 2>/dev/null | grep -c '^contributor-bench-' || true)
    [ "$left" -eq 0 ] && break
    say "waiting for $left namespaces of an earlier run to go"
    sleep 5
done
[ "$left" -eq 0 ] || { echo "namespaces of an earlier run are still there" >&2; exit 1; }
say "creating $N Contributors"
all_write_lines >"$work/all0"
r0=$(op_requests); ow0=$(op_writes)
t0=$(date +%s.%N)
kubectl create -f "$work/contributors.yaml" >/dev/null
t1=$(date +%s.%N)
say "created in $(python3 -c "print(round($t1-$t0,1))") s; waiting for Applied"
deadline=$((SECONDS + 900))
while :; do
    n=$(applied_count)
    [ "$n" -ge "$N" ] && break
    [ $SECONDS -lt $deadline ] || { say "only $n of $N Applied after 15 min"; break; }
    sleep 1
done
t2=$(date +%s.%N)
passes=$(metric apply_passes)
reconciles=$(metric reconciles)
failures=$(metric reconcile_failures)
all_write_lines >"$work/all1"
r1=$(op_requests); ow1=$(op_writes)
say "all Applied $(python3 -c "print(round($t2-$t1,1))") s after creation; idle for 60 s"
write_lines >"$work/writes0"
w0=$(total "$work/writes0"); o0=$(op_writes)
p0=$passes
sleep 60
write_lines >"$work/writes1"
w1=$(total "$work/writes1"); o1=$(op_writes)
p1=$(metric apply_passes)
rss=$(awk '/VmRSS/ {print $2}' /proc/$op/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$op/status)
line=$(python3 - <<PY
n=$N
print(f"$(date -u +%FT%TZ) N={n} concurrency=${CHAOS_RECONCILE_CONCURRENCY:-default} create_s={round($t1-$t0,1)} applied_s={round($t2-$t1,1)} "
      f"apply_passes={round($passes/n,3)} reconciles={round($reconciles/n,2)} failures=$failures "
      f"rss_peak_mb={round($hwm/1024,1)} rss_mb={round($rss/1024,1)} "
      f"idle_writes={$w1-$w0} op_idle_writes={$o1-$o0} idle_passes={$p1-$p0} "
      f"window_writes={$(total "$work/all1")-$(total "$work/all0")} op_window_writes={$ow1-$ow0} op_window_requests={$r1-$r0}")
PY
)
echo "$line"
mkdir -p bench/results
echo "$line" >> bench/results/operator-scale.txt
# Where the writes went (by anyone): resource/subresource verb count, from
# creation to all Applied (the ten largest), then in the idle minute.
delta() {
python3 - "$1" "$2" "$3" "$4" <<'PY'
import sys
def read(path):
    out = {}
    for line in open(path):
        key, verb, n = line.split()
        out[(key, verb)] = float(n)
    return out
a, b, label, top = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rows = sorted(((n - a.get(k, 0), k) for k, n in b.items()), reverse=True)
for d, (key, verb) in [r for r in rows if r[0] > 0][:top]:
    print(f"    {label} {key.rstrip('/')} {verb}: {int(d)}")
PY
}
delta "$work/all0" "$work/all1" window 10 | tee -a bench/results/operator-scale.txt
delta "$work/writes0" "$work/writes1" idle 1000 | tee -a bench/results/operator-scale.txt

say "deleting the Contributors (their namespaces go in the background)"
kubectl delete contributors -l srechaos.dev/bench=1 --wait=false >/dev/null
for _ in $(seq 600); do
    [ "$(kubectl get contributors -l srechaos.dev/bench=1 -o name | wc -l)" -eq 0 ] && break
    sleep 1
done
say "done"
