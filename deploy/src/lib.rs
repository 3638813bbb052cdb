//! Nothing to link: this crate's integration tests check the deployment
//! files the repository ships (the `Dockerfile`, `charts/sre-chaos`,
//! `docker-compose.yml`, `deploy/compose/`, the Grafana dashboards) with
//! the tools their users' CI would run: hadolint, Helm's SDK,
//! kubernetes-validate, check-jsonschema, promtool and a real Prometheus.
