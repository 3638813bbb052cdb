//! Every object the operator builds, and its RBAC, validated against
//! Kubernetes 1.28's schemas with `kubernetes-validate --strict` (PyPI):
//! an unknown or misspelt field fails here rather than on a cluster.

use chaos_domain::Challenge;
use std::process::Command;
use std::time::Duration;

use chaos_operator::contributor::desired::{api_key_secret, desired};
use chaos_operator::contributor::topology;
use chaos_operator::crd::{
    ChallengeRun, ChallengeRunSpec, ComponentSpec, Contributor, ContributorSpec, EntrySpec,
    EnvSpec, FileSpec, PortSpec, ReadinessSpec, ScratchSpec,
};
use chaos_operator::run::desired::load_job;
use chaos_operator::settings::{RunSettings, Settings};
use chaos_testkit::{skip, temp_dir};

fn validator() -> Option<String> {
    let found = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then(|| "kubernetes-validate".to_owned())
}

#[test]
fn built_objects_pass_strict_schema_validation() {
    let Some(bin) = validator() else {
        skip("kubernetes-validate (PyPI)");
        return;
    };
    // Every field a component can have, on one of three components.
    let part = |name: &str, port: u16| ComponentSpec {
        cpu_millis: Some(500),
        memory_mib: Some(128),
        ..ComponentSpec::new(name, "nginx:1.27", port)
    };
    let mut edge = part("edge", 8080);
    edge.replicas = 2;
    edge.ports.push(PortSpec {
        name: "metrics".into(),
        port: 9113,
    });
    edge.metrics_port = Some("metrics".into());
    edge.env = vec![EnvSpec {
        name: "UPSTREAM".into(),
        value: "http://cache:8081".into(),
    }];
    edge.args = vec!["nginx".into(), "-g".into(), "daemon off;".into()];
    edge.files = vec![FileSpec {
        path: "/etc/nginx/nginx.conf".into(),
        content: "events {}\n".into(),
    }];
    edge.readiness = Some(ReadinessSpec {
        http_path: Some("/healthz".into()),
        port: Some("http".into()),
        period_seconds: Some(3),
    });
    let mut cache = part("cache", 8081);
    cache.scratch = Some(ScratchSpec {
        path: "/var/cache/nginx".into(),
        size_mib: 64,
    });
    let mut c = Contributor::new(
        "ada",
        ContributorSpec {
            display_name: None,
            challenge: Challenge::GracefulDegradation,
            app: None,
            components: Some(vec![edge, cache, part("tier", 8082)]),
            entry: Some(EntrySpec {
                component: "edge".into(),
                port: Some("http".into()),
            }),
        },
    );
    c.metadata.uid = Some("0f3c".into());
    let settings = Settings {
        platform_namespace: "sre-chaos".into(),
        anvil_image: "sre-chaos/url-anvil:1".into(),
        anvil_admin_token: "0123456789abcdef0123".into(),
        anvil_resources: chaos_operator::Config::defaults().anvil_resources,
        budget: chaos_operator::contributor::topology::Budget::DEFAULT,
    };
    let t = topology::read(&c.spec).expect("reads");
    topology::within(&t, settings.budget).expect("within the budget");
    let d = desired(&c, &t, &settings).expect("builds");
    let mut run = ChallengeRun::new(
        "first",
        ChallengeRunSpec {
            contributor: "ada".into(),
            challenge: Challenge::LongestUpkeep,
            duration_scale: Some(0.1),
        },
    );
    run.metadata.namespace = Some("sre-chaos".into());
    run.metadata.uid = Some("9a1b".into());
    let settings = RunSettings {
        loadgen_image: "sre-chaos/loadgen:1".into(),
        corpus_key: chaos_domain::corpus::CorpusKey::from_secret("manifest-anvil-token-0123"),
        loadgen_resources: chaos_operator::Config::defaults().loadgen_resources,
        max_concurrent: 1,
        job_ttl: Duration::from_secs(600),
        unschedulable_after: Duration::from_secs(180),
    };
    let job = load_job(&run, &c, &settings).expect("job");

    let mut docs = vec![
        serde_yaml_ng::to_string(&d.namespace),
        serde_yaml_ng::to_string(&d.quota),
        serde_yaml_ng::to_string(&d.limits),
        serde_yaml_ng::to_string(&d.anvil_secret),
        serde_yaml_ng::to_string(&d.anvil),
        serde_yaml_ng::to_string(&d.anvil_service),
        serde_yaml_ng::to_string(&api_key_secret(&c, "sck_x").expect("secret")),
        serde_yaml_ng::to_string(&job),
    ];
    docs.extend(d.policies.iter().map(serde_yaml_ng::to_string));
    for part in &d.components {
        docs.push(serde_yaml_ng::to_string(&part.deployment));
        docs.push(serde_yaml_ng::to_string(&part.service));
    }
    let files = d.files.as_ref().expect("edge has files");
    docs.push(serde_yaml_ng::to_string(files));
    let dir = temp_dir("operator-manifests");
    let mut files = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let path = dir.join(format!("{i:02}.yaml"));
        std::fs::write(&path, doc.expect("yaml")).expect("write");
        files.push(path);
    }
    files.push(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rbac.yaml"));
    let out = Command::new(bin)
        .args(["--strict", "-k", "1.28.0"])
        .args(&files)
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("ERROR"), "{text}");
    assert_eq!(
        text.matches("passed").count(),
        files.len() - 1 + 5,
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
