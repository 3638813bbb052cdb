#!/usr/bin/env bash
# The compose playground end to end on a real Docker engine: builds the four
# images from the root Dockerfile (timed), then runs the opt-in test
# cli/tests/compose_e2e.rs (compose up, contributor create, the printed
# commands, an official score, every container stopping with exit 0).
#
#   deploy/compose-e2e.sh [--no-build]
#
# DOCKER_HOST names the engine; DOCKER_BUILD the command that builds an image
# (default `docker build`; with the offline kit of ../shared/docker, its
# build.sh, which also needs its cargo-seed.sh run first). Needs 127.0.0.1:8080
# and 8081 free (the playground's defaults, as a new user has them).
set -euo pipefail
cd "$(dirname "$0")/.."
build_images=1
case "${1:-}" in
    --no-build) build_images=0 ;;
    "") ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compose-e2e: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
command -v docker >/dev/null || { echo "compose-e2e: docker is required" >&2; exit 1; }
docker compose version >/dev/null || { echo "compose-e2e: Docker Compose v2 is required" >&2; exit 1; }
read -r -a build <<< "${DOCKER_BUILD:-docker build}"
if [ "$build_images" = 1 ]; then
    for target in url-anvil loadgen chaos-api chaos-operator; do
        started=$SECONDS
        DOCKER_BUILDKIT=1 "${build[@]}" --target "$target" -t "sre-chaos/$target:dev" .
        echo "compose-e2e: sre-chaos/$target:dev built in $((SECONDS - started)) s"
    done
fi
CHAOS_COMPOSE_E2E=1 cargo test -p chaosctl --test compose_e2e -- --nocapture
