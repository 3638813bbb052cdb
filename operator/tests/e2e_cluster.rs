//! End to end against a real Kubernetes API server. Opt-in: runs only with
//! `CHAOS_KUBE_E2E=1` and `KUBECONFIG` pointing at a disposable cluster
//! (kind works). It installs the CRDs, runs both controllers in this
//! process with a local chaos-api, applies a Contributor and a
//! ChallengeRun, and checks what the API server holds; then cleans up.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chaos_operator::context::Context;
use chaos_operator::crd::{ChallengeRun, Contributor};
use chaos_operator::settings::{RunSettings, Settings};
use chaos_operator::telemetry::Metrics;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use support::{e2e_enabled as enabled, eventually, install_crds};
use tokio_util::sync::CancellationToken;

const ADMIN: &str = "e2e-admin-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contributor_and_run_on_a_real_api_server() {
    if !enabled() {
        eprintln!("SKIPPED: set CHAOS_KUBE_E2E=1 and KUBECONFIG to a disposable cluster to run");
        return;
    }
    let client = Client::try_default().await.expect("KUBECONFIG");
    let suffix = format!("{:x}", std::process::id());
    let platform_ns = format!("sre-chaos-e2e-{suffix}");
    let name = format!("e2e-{suffix}");

    install_crds(&client).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": platform_ns}})).expect("ns"),
        )
        .await
        .expect("platform namespace");

    // A local API server and the controllers, in this process.
    let dir = chaos_testkit::temp_dir("chaos-e2e");
    let mut config = chaos_api::Config::defaults();
    config.listen = ([127, 0, 0, 1], 0).into();
    config.database = dir.join("chaos.db").display().to_string();
    config.admin_token = Some(ADMIN.into());
    config.prometheus_url = Some("http://127.0.0.1:9".into());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let api = chaos_api::start(&config, listener)
        .await
        .expect("chaos-api");
    let ctx = Arc::new(Context::new(
        client.clone(),
        chaos_client::Client::new(&api.base_url())
            .expect("url")
            .with_admin_token(ADMIN),
        Settings {
            platform_namespace: platform_ns.clone(),
            anvil_image: "sre-chaos/url-anvil:dev".into(),
            anvil_admin_token: "e2e-anvil-token-0123456789".into(),
            anvil_resources: chaos_operator::Config::defaults().anvil_resources,
            budget: chaos_operator::contributor::topology::Budget::DEFAULT,
        },
        RunSettings {
            loadgen_image: "sre-chaos/loadgen:dev".into(),
            corpus_key: chaos_domain::corpus::CorpusKey::from_secret("e2e-anvil-token-0123456789"),
            loadgen_resources: chaos_operator::Config::defaults().loadgen_resources,
            max_concurrent: 1,
            job_ttl: Duration::from_secs(60),
            unschedulable_after: Duration::from_secs(180),
        },
        Metrics::default(),
    ));
    let stop = CancellationToken::new();
    let controllers = tokio::spawn({
        let ctx = ctx.clone();
        let ns = platform_ns.clone();
        let stop = stop.clone();
        async move { chaos_operator::runner::controllers(ctx, &ns, stop).await }
    });

    // The schema refuses bad input before the operator sees it.
    let contributors: Api<Contributor> = Api::all(client.clone());
    // Three replicas at most: the schema's bound.
    let bad: Contributor = serde_json::from_value(json!({
        "apiVersion": "srechaos.dev/v1alpha1", "kind": "Contributor",
        "metadata": {"name": "bad"},
        "spec": {"challenge": "robust-service", "app": {"image": "x", "replicas": 9}},
    }))
    .expect("contributor");
    let refused = contributors.create(&PostParams::default(), &bad).await;
    assert!(
        matches!(refused, Err(kube::Error::Api(ref e)) if e.code == 422),
        "{refused:?}"
    );

    // A Contributor: its namespace, Deployments, registration and status.
    let c: Contributor = serde_json::from_value(json!({
        "apiVersion": "srechaos.dev/v1alpha1", "kind": "Contributor",
        "metadata": {"name": name},
        "spec": {"challenge": "robust-service", "app": {"image": "nginxinc/nginx-unprivileged:1.27-alpine", "port": 8080}},
    }))
    .expect("contributor");
    contributors
        .patch(
            &name,
            &PatchParams::apply("chaos-e2e").force(),
            &Patch::Apply(&c),
        )
        .await
        .expect("applied");
    let ns = format!("contributor-{name}");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    eventually(
        "the contributor's Deployments",
        Duration::from_secs(60),
        || {
            let d = deployments.clone();
            async move {
                (d.get_opt("app").await.ok()?.is_some()
                    && d.get_opt("url-anvil").await.ok()?.is_some())
                .then_some(())
            }
        },
    )
    .await;
    let status = eventually("the contributor's status", Duration::from_secs(60), || {
        let api = contributors.clone();
        let name = name.clone();
        async move {
            let s = api.get(&name).await.ok()?.status?;
            s.phase.is_some().then_some(s)
        }
    })
    .await;
    assert_eq!(status.namespace.as_deref(), Some(ns.as_str()));
    let ns_obj = namespaces.get(&ns).await.expect("namespace");
    assert_eq!(
        ns_obj
            .labels()
            .get("pod-security.kubernetes.io/enforce")
            .map(String::as_str),
        Some("restricted")
    );
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    eventually("the registration", Duration::from_secs(30), || {
        let p = platform.clone();
        let name = name.clone();
        async move { p.contributor(&name).await.ok() }
    })
    .await;

    // A ChallengeRun: it gets a phase and a condition saying why it waits or runs.
    let runs: Api<ChallengeRun> = Api::namespaced(client.clone(), &platform_ns);
    let r: ChallengeRun = serde_json::from_value(json!({
        "apiVersion": "srechaos.dev/v1alpha1", "kind": "ChallengeRun",
        "metadata": {"name": "first", "namespace": platform_ns},
        "spec": {"contributor": name, "challenge": "robust-service", "durationScale": 0.05},
    }))
    .expect("run");
    let created = runs
        .create(&PostParams::default(), &r)
        .await
        .expect("created");
    let run_uid = created.metadata.uid.clone().unwrap_or_default();
    let run_status = eventually("the run's status", Duration::from_secs(60), || {
        let runs = runs.clone();
        async move {
            let s = runs.get("first").await.ok()?.status?;
            (s.phase.is_some() && !s.conditions.is_empty()).then_some(s)
        }
    })
    .await;
    eprintln!("run status: {run_status:?}");
    // Its spec cannot change (CEL).
    let changed = runs
        .patch(
            "first",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"challenge": "longest-upkeep"}})),
        )
        .await;
    assert!(
        matches!(changed, Err(kube::Error::Api(ref e)) if e.code == 422),
        "{changed:?}"
    );

    // Deleting the run lets go of it once its window is closed: it is
    // gone, and the API server does not keep it running.
    runs.delete("first", &DeleteParams::default())
        .await
        .expect("run deleted");
    eventually("the run to be gone", Duration::from_secs(60), || {
        let runs = runs.clone();
        async move { runs.get_opt("first").await.ok()?.is_none().then_some(()) }
    })
    .await;
    if let Ok(remote) = platform.run(&run_uid).await {
        assert_ne!(remote.state, chaos_client::RunState::Running, "{remote:?}");
    }

    // Delete: deregistered, the namespace goes.
    contributors
        .delete(&name, &DeleteParams::default())
        .await
        .expect("deleted");
    eventually(
        "the contributor to be gone",
        Duration::from_secs(90),
        || {
            let api = contributors.clone();
            let name = name.clone();
            async move { api.get_opt(&name).await.ok()?.is_none().then_some(()) }
        },
    )
    .await;
    let gone = platform.contributor(&name).await.expect_err("deregistered");
    assert_eq!(gone.status(), Some(404), "{gone}");
    assert!(gone.to_string().contains("deregistered"), "{gone}");

    stop.cancel();
    let _ = controllers.await;
    let _ = namespaces
        .delete(&platform_ns, &DeleteParams::default())
        .await;
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
