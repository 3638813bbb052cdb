# syntax=docker/dockerfile:1.7
# The four images of SRE Chaos Challenge from one compile of the workspace.
# Each image is a target; the build stage is shared, so the second and
# later targets reuse its result instead of compiling again:
#   for t in url-anvil loadgen chaos-api chaos-operator; do
#     docker build --target $t -t sre-chaos/$t:dev .
#   done
# (deploy/kube-install.sh does this and loads them into kind.)
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
      -p url-anvil -p loadgen -p chaos-api -p chaos-operator \
      --bin url-anvil --bin loadgen --bin chaos-api --bin chaos-operator \
    && mkdir -p /out /data \
    && cp target/release/url-anvil target/release/loadgen \
          target/release/chaos-api target/release/chaos-operator /out/

# A static busybox for healthchecks: the runtime images have no shell.
FROM busybox:1.37-musl AS probe

# url-anvil: the fixed target every contributor builds around.
FROM gcr.io/distroless/cc-debian12:nonroot AS url-anvil
COPY --from=build /out/url-anvil /usr/local/bin/url-anvil
COPY --from=probe /bin/busybox /usr/local/bin/busybox
ENV ANVIL_LISTEN=0.0.0.0:8080
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["/usr/local/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/url-anvil"]

# loadgen: the load of a run (a Kubernetes Job, or compose's loadgen service).
FROM gcr.io/distroless/cc-debian12:nonroot AS loadgen
COPY --from=build /out/loadgen /usr/local/bin/loadgen
USER 65532:65532
EXPOSE 9100
ENTRYPOINT ["/usr/local/bin/loadgen"]
CMD ["--help"]

# chaos-api: the API server and the leaderboard.
FROM gcr.io/distroless/cc-debian12:nonroot AS chaos-api
COPY --from=build /out/chaos-api /usr/local/bin/chaos-api
COPY --from=probe /bin/busybox /usr/local/bin/busybox
COPY --from=build --chown=65532:65532 /data /data
ENV CHAOS_API_LISTEN=0.0.0.0:8081 \
    DATABASE_URL=/data/chaos.db
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8081 8082
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["/usr/local/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8081/healthz"]
ENTRYPOINT ["/usr/local/bin/chaos-api"]

# chaos-operator: the Contributor and ChallengeRun controllers. Last, so a
# plain `docker build .` gives the operator.
FROM gcr.io/distroless/cc-debian12:nonroot AS chaos-operator
COPY --from=build /out/chaos-operator /usr/local/bin/chaos-operator
USER 65532:65532
# /metrics, /healthz, /readyz (Kubernetes probes; no HEALTHCHECK needed).
EXPOSE 8090
ENTRYPOINT ["/usr/local/bin/chaos-operator"]
