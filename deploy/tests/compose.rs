//! docker-compose.yml follows the Compose specification (check-jsonschema
//! with its vendored schema), its Prometheus config passes promtool, and
//! the files it mounts exist.

mod support;

use chaos_testkit::skip;
use serde_json::Value;
use support::*;

#[test]
fn the_compose_file_follows_the_compose_spec() {
    if !has("check-jsonschema", &["--version"]) {
        skip("check-jsonschema (PyPI)");
        return;
    }
    let o = run(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_compose_prometheus_config_passes_promtool() {
    if !has("promtool", &["--version"]) {
        skip("promtool (Debian's prometheus)");
        return;
    }
    let o = run(
        "promtool",
        &["check", "config", "deploy/compose/prometheus.yml"],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn every_mounted_file_and_build_context_exists() {
    let compose: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo().join("docker-compose.yml")).expect("compose"),
    )
    .expect("yaml");
    let services = compose["services"].as_object().expect("services");
    for want in [
        "postgres",
        "chaos-api",
        "url-anvil",
        "loadgen",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains_key(want), "no {want} service");
    }
    for (name, s) in services {
        for v in s["volumes"].as_array().into_iter().flatten() {
            let src = v
                .as_str()
                .and_then(|v| v.split(':').next())
                .unwrap_or_default();
            if src.starts_with("./") {
                assert!(
                    repo().join(src).exists(),
                    "{name} mounts {src}, which does not exist"
                );
            }
        }
        if let Some(df) = s["build"]["dockerfile"].as_str() {
            assert!(
                repo().join(df).is_file(),
                "{name} builds from {df}, which does not exist"
            );
        }
    }
    // The API server scores from the compose Prometheus and has a healthy database first.
    assert_eq!(
        services["chaos-api"]["environment"]["PROMETHEUS_URL"],
        "http://prometheus:9090"
    );
    assert_eq!(
        services["chaos-api"]["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    let example = std::fs::read_to_string(repo().join(".env.example")).expect(".env.example");
    for var in [
        "POSTGRES_PASSWORD",
        "CHAOS_ADMIN_TOKEN",
        "ANVIL_ADMIN_TOKEN",
    ] {
        assert!(
            example.contains(&format!("{var}=")),
            ".env.example lacks {var}"
        );
    }
}
