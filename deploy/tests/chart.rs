//! charts/sre-chaos rendered offline (Helm's Go SDK through PyPI
//! helm-python-sdk) with the default values and each file in ci/, strictly
//! linted for Kubernetes 1.28; every rendered object validated with
//! `kubernetes-validate --strict`; the Prometheus config checked with
//! promtool; the chart's CRDs equal crds/.

mod support;

use std::path::{Path, PathBuf};

use chaos_testkit::{skip, temp_dir};
use serde_json::Value;
use support::*;

fn tools() -> bool {
    let ok = has("python3", &["-c", "import helm_python"])
        && has("kubernetes-validate", &["--version"])
        && has("promtool", &["--version"]);
    if !ok {
        skip("python3 with helm-python-sdk, kubernetes-validate (PyPI) and promtool");
    }
    ok
}

/// Renders with `values` (none: the defaults) into a fresh directory.
fn render(values: Option<&Path>) -> PathBuf {
    let out = temp_dir("chart");
    let out_s = out.display().to_string();
    let mut args = vec![
        "deploy/scripts/render_chart.py",
        "charts/sre-chaos",
        out_s.as_str(),
    ];
    let v;
    if let Some(values) = values {
        v = values.display().to_string();
        args.push(&v);
    }
    let o = run("python3", &args);
    assert!(
        o.status.success(),
        "render/lint with {values:?} failed:\n{}",
        text(&o)
    );
    out
}

fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("rendered")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn objects(files: &[PathBuf]) -> Vec<Value> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).expect("read");
        for doc in text.split("\n---") {
            if let Ok(v) = serde_yaml_ng::from_str::<Value>(doc)
                && v.is_object()
            {
                out.push(v);
            }
        }
    }
    out
}

fn validate(files: &[PathBuf]) {
    let mut args = vec!["--strict".to_owned(), "-k".into(), "1.28.0".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run("kubernetes-validate", &args);
    let t = text(&o);
    assert!(o.status.success() && !t.contains("ERROR"), "{t}");
}

#[test]
fn the_default_install_renders_lints_and_validates() {
    if !tools() {
        return;
    }
    let dir = render(None);
    let files = manifests(&dir);
    validate(&files);
    let all = objects(&files);
    let kinds: Vec<String> = all
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    for want in [
        "Deployment/sre-chaos-operator",
        "Deployment/sre-chaos-api",
        "Service/sre-chaos-api",
        "StatefulSet/sre-chaos-postgres",
        "Deployment/sre-chaos-prometheus",
        "ClusterRole/sre-chaos-operator",
        "Role/sre-chaos-operator",
        "ClusterRole/sre-chaos-prometheus",
        "Secret/sre-chaos-secrets",
        "Pod/sre-chaos-test-api",
    ] {
        assert!(
            kinds.iter().any(|k| k == want),
            "{want} missing from {kinds:#?}"
        );
    }
    // Every workload's containers run as non-root without escalation.
    for o in &all {
        let spec = match o["kind"].as_str() {
            Some("Deployment" | "StatefulSet") => &o["spec"]["template"]["spec"],
            Some("Pod") => &o["spec"],
            _ => continue,
        };
        assert_eq!(
            spec["securityContext"]["runAsNonRoot"], true,
            "{}",
            o["metadata"]["name"]
        );
        for c in spec["containers"].as_array().expect("containers") {
            assert_eq!(
                c["securityContext"]["allowPrivilegeEscalation"], false,
                "{}",
                c["name"]
            );
            assert!(
                c["resources"]["limits"].is_object(),
                "{} has no limits",
                c["name"]
            );
        }
    }
    // The generated secrets outlive an uninstall, as PostgreSQL's volume
    // does: a reinstall must find the password the database was made with
    // (it was locked out of its data until this was so).
    let secret = all
        .iter()
        .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "sre-chaos-secrets")
        .expect("secret");
    assert_eq!(
        secret["metadata"]["annotations"]["helm.sh/resource-policy"], "keep",
        "{secret}"
    );
    // The leaderboard is reachable from the host on kind.
    let api = all
        .iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "sre-chaos-api")
        .expect("api service");
    assert_eq!(api["spec"]["ports"][0]["nodePort"], 30081);
    let kind = std::fs::read_to_string(repo().join("kind-config.yaml")).expect("kind-config");
    assert!(kind.contains("containerPort: 30081") && kind.contains("hostPort: 8081"));

    // The Prometheus config passes promtool.
    let cm = all
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "sre-chaos-prometheus")
        .expect("prometheus config");
    let config = dir.join("prometheus.yml");
    let prom = cm["data"]["prometheus.yml"].as_str().expect("config");
    // Debian's Prometheus is built without Kubernetes discovery, so its
    // promtool rejects the block; the rest (relabelling regexes and
    // actions included) is checked with a stand-in static target.
    let sd = "kubernetes_sd_configs:\n      - role: pod";
    assert!(prom.contains(sd), "{prom}");
    let checkable = prom.replace(sd, "static_configs:\n      - targets: ['127.0.0.1:9']");
    std::fs::write(&config, checkable).expect("write");
    let o = run(
        "promtool",
        &["check", "config", &config.display().to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let notes = std::fs::read_to_string(dir.join("NOTES.txt")).expect("notes");
    assert!(
        notes.contains("kubectl apply -f examples/contributor.yaml"),
        "{notes}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_ci_values_file_renders_lints_and_validates() {
    if !tools() {
        return;
    }
    let ci = repo().join("charts/sre-chaos/ci");
    let mut count = 0;
    for entry in std::fs::read_dir(&ci).expect("ci values").flatten() {
        let dir = render(Some(&entry.path()));
        let files = manifests(&dir);
        validate(&files);
        count += 1;
        let _ = std::fs::remove_dir_all(dir);
    }
    assert!(count >= 2);
}

#[test]
fn the_charts_crds_are_the_generated_ones() {
    for name in [
        "contributors.srechaos.dev.yaml",
        "challengeruns.srechaos.dev.yaml",
    ] {
        let generated = std::fs::read_to_string(repo().join("crds").join(name)).expect("crds/");
        let chart = std::fs::read_to_string(repo().join("charts/sre-chaos/crds").join(name))
            .expect("chart crds/");
        assert!(
            generated == chart,
            "charts/sre-chaos/crds/{name} differs from crds/{name}: cp crds/*.yaml charts/sre-chaos/crds/"
        );
    }
}

/// CPU millis of a quantity such as `250m` or `1`.
fn millis(q: &Value) -> u64 {
    let q = q
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| q.to_string());
    match q.strip_suffix('m') {
        Some(m) => m.parse().expect("millis"),
        None => (q.parse::<f64>().expect("cores") * 1000.0).round() as u64,
    }
}

/// The CPU the scheduler sets aside for the platform, one contributor
/// (url-anvil and an app at the Contributor's default of 250m) and one
/// load Job, with the chart rendered from `values`.
fn cpu_requested(values: Option<&Path>) -> u64 {
    let dir = render(values);
    let objects = objects(&manifests(&dir));
    let _ = std::fs::remove_dir_all(dir);
    let mut total = 250;
    for o in &objects {
        let kind = o["kind"].as_str().unwrap_or_default();
        if !matches!(kind, "Deployment" | "StatefulSet") {
            continue;
        }
        let replicas = o["spec"]["replicas"].as_u64().unwrap_or(1);
        for c in o["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers")
        {
            total += replicas * millis(&c["resources"]["requests"]["cpu"]);
            for e in c["env"].as_array().into_iter().flatten() {
                if matches!(
                    e["name"].as_str(),
                    Some("CHAOS_LOADGEN_RESOURCES" | "CHAOS_ANVIL_RESOURCES")
                ) {
                    let r: Value =
                        serde_json::from_str(e["value"].as_str().expect("value")).expect("json");
                    total += millis(&r["requests"]["cpu"]);
                }
            }
        }
    }
    total
}

#[test]
fn the_small_values_fit_a_2_cpu_kind_node_and_the_defaults_a_bare_one() {
    if !tools() {
        return;
    }
    // kind's own pods (API server, etcd, controller-manager, scheduler,
    // two CoreDNS, kindnet) request 950m of a node's CPU.
    const KIND_SYSTEM: u64 = 950;
    let small = cpu_requested(Some(&repo().join("charts/sre-chaos/values-small.yaml")));
    assert!(
        KIND_SYSTEM + small <= 2000,
        "values-small.yaml asks for {small}m: over a 2-CPU kind node"
    );
    let defaults = cpu_requested(None);
    eprintln!("CPU requested: small {small}m (+{KIND_SYSTEM}m kind), defaults {defaults}m");
    assert!(
        defaults <= 2000,
        "the defaults ask for {defaults}m: over a 2-CPU node"
    );
    assert!(small < defaults);
}
