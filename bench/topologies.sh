#!/usr/bin/env bash
# Official scores of the reference topologies (examples/contributors/) on a
# real cluster: for each manifest, applied as it is, one full-length
# ChallengeRun per challenge (official: durationScale 1), one after
# another; then the Contributor is deleted before the next one. Prints a
# line per run and a table at the end (also written to
# bench/results/topologies-<date>.md).
#
# Usage: KUBECONFIG=... bench/topologies.sh [topology ...]
#   topology: a file name in examples/contributors/ without .yaml
#   (default: all of them). CHALLENGES="robust-service longest-upkeep"
#   picks challenges (default: all three).
# Needs the images loaded (deploy/kube-install.sh --images-only) and PyPI
# helm-python-sdk; installs the chart as release sre-chaos-bench (small
# values) unless it is there, and leaves it installed.
# Time: 200 s + 160 s + 600 s of load per topology, plus about a minute
# each for the contributor to come up and the runs to be scored.
set -euo pipefail
cd "$(dirname "$0")/.."
REL=${BENCH_RELEASE:-sre-chaos-bench}
read -r -a CHALLENGES <<<"${CHALLENGES:-robust-service graceful-degradation longest-upkeep}"
TOPOLOGIES=("$@")
if [ "${#TOPOLOGIES[@]}" -eq 0 ]; then
    for f in examples/contributors/*.yaml; do TOPOLOGIES+=("$(basename "$f" .yaml)"); done
fi
say() { echo "[$(date +%H:%M:%S)] $*" >&2; }

if ! kubectl get deploy -n "$REL" "$REL-operator" >/dev/null 2>&1; then
    say "installing the chart as $REL"
    python3 deploy/scripts/helm_release.py install --name "$REL" --namespace "$REL" \
        -f charts/sre-chaos/values-small.yaml \
        --set-json 'api.service={"type":"ClusterIP"}' \
        --set-json 'prometheus.internal.service={"type":"ClusterIP"}' >&2
fi

wait_gone() {
    for _ in $(seq 180); do
        kubectl get ns "contributor-$1" >/dev/null 2>&1 || return 0
        sleep 2
    done
    echo "namespace contributor-$1 still there" >&2; return 1
}

RESULTS=()
for t in "${TOPOLOGIES[@]}"; do
    file=examples/contributors/$t.yaml
    name=$(awk '/^metadata:/{m=1} m && /name:/{print $2; exit}' "$file")
    kubectl delete contributor "$name" --ignore-not-found --wait=true >&2
    wait_gone "$name"
    say "$t: applying $file"
    kubectl apply -f "$file" >&2
    kubectl wait --for=condition=Ready "contributor/$name" --timeout=300s >&2
    # Ready means each component has a replica up; the runs wait for every
    # replica (status.ready "N/N"), so none starts on half an edge.
    for _ in $(seq 150); do
        ready=$(kubectl get contributor "$name" -o jsonpath='{.status.ready}')
        [ -n "$ready" ] && [ "${ready%/*}" = "${ready#*/}" ] && break
        sleep 2
    done
    say "$t: $(kubectl get contributor "$name" -o jsonpath='{.status.ready} ready, endpoint {.status.endpoint}')"
    for c in "${CHALLENGES[@]}"; do
        run="$t-$c"
        kubectl delete challengerun -n "$REL" "$run" --ignore-not-found --wait=true >&2
        kubectl apply -f - >&2 <<YAML
apiVersion: srechaos.dev/v1alpha1
kind: ChallengeRun
metadata: {name: $run, namespace: $REL}
spec: {contributor: $name, challenge: $c, durationScale: 1}
YAML
        for _ in $(seq 900); do
            phase=$(kubectl get challengerun -n "$REL" "$run" -o jsonpath='{.status.phase}' 2>/dev/null || true)
            case "$phase" in Succeeded|Failed) break ;; esac
            sleep 2
        done
        line=$(kubectl get challengerun -n "$REL" "$run" \
            -o jsonpath='{.status.phase} {.status.score} {.status.stat1} {.status.stat2} {.status.stat3} {.status.message}')
        say "$t $c: $line"
        RESULTS+=("| $t | $c | $line |")
    done
    kubectl delete contributor "$name" --wait=true >&2
    wait_gone "$name"
done

out="bench/results/topologies-$(date +%Y%m%d-%H%M).md"
{
    echo "Reference topologies, official runs on $(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'), $(nproc) cores"
    echo
    echo "| topology | challenge | phase score stat1 stat2 stat3 message |"
    echo "| --- | --- | --- |"
    printf '%s\n' "${RESULTS[@]}"
} | tee "$out"
