#!/usr/bin/env bash
# From a clone to the sre-chaos chart installed on a cluster, in one command:
# one build of the workspace gives the four platform images and the starter
# app's image, they are loaded into the cluster, and the Helm release is
# installed (or upgraded) and waited for.
#
#   deploy/kube-install.sh [--kind [NAME] | --k8skit KIT_DIR [--docker]] [--small]
#                          [--images-only] [-- HELM_RELEASE_ARGS...]
#
#   --kind [NAME]   kind cluster NAME (default sre-chaos): images are built
#                   with `docker build --target` from the root Dockerfile (one
#                   compile, shared by the four targets) and `kind load`ed.
#                   The default.
#   --k8skit DIR    the single-node cluster of ../shared/k8s. With --docker,
#                   every image is built with Docker as for kind (the
#                   platform's four from the root Dockerfile, the starter app
#                   from its Dockerfile, the third-party images as Docker has
#                   them) and `docker save`d into the cluster's containerd.
#                   Without Docker, the binaries are built once with cargo, and
#                   DIR/project-images.sh and DIR/image.sh make and import the
#                   images from them.
#   --docker        with --k8skit: build with Docker (above).
#   --small         install with charts/sre-chaos/values-small.yaml (a 2-CPU node).
#   --images-only   build and load the images, install nothing (what the
#                   opt-in e2e test, operator/tests/e2e_chart.rs, needs).
#   after --         passed on to deploy/scripts/helm_release.py install/upgrade
#                   (e.g. -f my-values.yaml, --name, --namespace).
#
# Helm: the helm binary when there is one, otherwise Helm's Go SDK from PyPI
# (helm-python-sdk). KUBECONFIG (or kubectl's current context) names the cluster.
# DOCKER_BUILD: the command that builds an image (default `docker build`; with
# the offline kit of ../shared/docker, its build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

loader=kind kind_name=sre-chaos kit="" docker=0 small=0 images_only=0 helm_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --kind) loader=kind; if [ $# -gt 1 ] && [[ "$2" != -* ]]; then kind_name=$2; shift; fi ;;
        --k8skit) [ $# -gt 1 ] || { echo "kube-install: --k8skit needs the kit's directory" >&2; exit 2; }
                  loader=k8skit kit=$2; shift ;;
        --docker) docker=1 ;;
        --small) small=1 ;;
        --images-only) images_only=1 ;;
        --) shift; helm_args=("$@"); break ;;
        -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "kube-install: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$docker" = 1 ]; then
    [ "$loader" = k8skit ] || { echo "kube-install: --docker goes with --k8skit (kind always builds with Docker)" >&2; exit 2; }
    loader=k8skit-docker
fi

say() { printf '[kube-install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
need() { command -v "$1" >/dev/null || { echo "kube-install: $1 is required ($2)" >&2; exit 1; }; }

TAG=dev
APP_IMAGE=sre-chaos/starter-app:$TAG
starter=$(mktemp -d)
trap 'rm -rf "$starter"' EXIT
# The starter app chaosctl scaffolds, for a contributor named "starter".
for f in nginx.conf index.html Dockerfile; do
    sed 's/{{user}}/starter/g' "cli/templates/contributor/$f" > "$starter/$f"
done

read -r -a build <<< "${DOCKER_BUILD:-docker build}"
PLATFORM_IMAGES=()
for target in url-anvil loadgen chaos-api chaos-operator; do
    PLATFORM_IMAGES+=("sre-chaos/$target:$TAG")
done
# What the chart's default values run besides the platform's own images.
THIRD_PARTY=(nginxinc/nginx-unprivileged:1.27-alpine prom/prometheus:v2.53.2
             busybox:1.37-musl postgres:16.4-alpine)

docker_images() {
    need docker "https://docs.docker.com/engine/install/"
    for target in url-anvil loadgen chaos-api chaos-operator; do
        say "image sre-chaos/$target:$TAG"
        DOCKER_BUILDKIT=1 "${build[@]}" --target "$target" -t "sre-chaos/$target:$TAG" .
    done
    say "image $APP_IMAGE"
    DOCKER_BUILDKIT=1 "${build[@]}" -t "$APP_IMAGE" "$starter"
}

started=$SECONDS
case "$loader" in
kind)
    need kind "https://kind.sigs.k8s.io/"
    kind get clusters | grep -qx "$kind_name" || {
        echo "kube-install: no kind cluster '$kind_name' (kind create cluster --name $kind_name --config kind-config.yaml)" >&2
        exit 1
    }
    docker_images
    for image in "${PLATFORM_IMAGES[@]}" "$APP_IMAGE"; do
        kind load docker-image --name "$kind_name" "$image"
    done
    ;;
k8skit-docker)
    sock=${K8SKIT_HOME:-/var/lib/k8skit}/containerd/containerd.sock
    [ -S "$sock" ] || { echo "kube-install: no containerd at $sock (is the k8s kit up? K8SKIT_HOME)" >&2; exit 1; }
    need ctr "containerd's client, from the containerd package"
    docker_images
    for image in "${THIRD_PARTY[@]}"; do
        docker image inspect "$image" >/dev/null 2>&1 || {
            echo "kube-install: Docker has no $image (docker pull it; with the offline kit, its base-images.sh)" >&2
            exit 1
        }
    done
    say "docker save | ctr import: the images into the cluster's containerd"
    docker save "${PLATFORM_IMAGES[@]}" "$APP_IMAGE" "${THIRD_PARTY[@]}" \
        | ctr --address "$sock" -n k8s.io images import -
    ;;
k8skit)
    [ -x "$kit/project-images.sh" ] || { echo "kube-install: $kit/project-images.sh not found" >&2; exit 1; }
    need cargo "https://rustup.rs"
    say "one release build of the four binaries"
    cargo build --release --locked \
        -p url-anvil -p loadgen -p chaos-api -p chaos-operator \
        --bin url-anvil --bin loadgen --bin chaos-api --bin chaos-operator
    release=${CARGO_TARGET_DIR:-target}/release
    say "images into the cluster's containerd"
    "$kit/project-images.sh" "$release"
    "$kit/image.sh" "$APP_IMAGE" --preset nginx \
        "$starter/nginx.conf:/etc/nginx/conf.d/default.conf" \
        "$starter/index.html:/usr/share/nginx/html/index.html"
    ;;
esac
say "images ready in $((SECONDS - started)) s"
[ "$images_only" = 1 ] && exit 0

need kubectl "https://kubernetes.io/docs/tasks/tools/"
values=()
[ "$small" = 1 ] && values=(-f charts/sre-chaos/values-small.yaml)
if command -v helm >/dev/null; then
    action=install
    helm status sre-chaos -n sre-chaos >/dev/null 2>&1 && action=upgrade
    say "helm $action"
    helm "$action" sre-chaos charts/sre-chaos -n sre-chaos --create-namespace --wait --timeout 10m \
        "${values[@]}" "${helm_args[@]}"
else
    python3 -c 'import helm_python' 2>/dev/null || {
        echo "kube-install: neither helm nor PyPI helm-python-sdk (pip install helm-python-sdk)" >&2
        exit 1
    }
    action=install
    python3 deploy/scripts/helm_release.py values "${helm_args[@]}" >/dev/null 2>&1 && action=upgrade
    say "helm $action (Helm's Go SDK)"
    python3 deploy/scripts/helm_release.py "$action" "${values[@]}" "${helm_args[@]}"
fi
say "installed in $((SECONDS - started)) s; the leaderboard: kubectl -n sre-chaos port-forward svc/sre-chaos-api 8081"
