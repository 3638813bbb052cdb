//! Two operator replicas with leader election, as the real binary runs
//! them, against a real API server: one leads, the other waits; SIGTERM to
//! the leader releases the Lease, and the standby takes over at once
//! rather than after the lease's 15 s.
//!
//! Opt-in, like the other real-cluster tests: `CHAOS_KUBE_E2E=1` and
//! `KUBECONFIG` pointing at a disposable cluster.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::{e2e_enabled as enabled, eventually, install_crds};

const ADMIN: &str = "e2e-admin-token-0123456789";

struct Replica {
    name: String,
    child: Child,
    probes: String,
}

impl Replica {
    fn start(name: &str, namespace: &str, api_url: &str) -> Replica {
        let port = chaos_testkit::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_chaos-operator"))
            .args(["--platform-namespace", namespace, "--api-url", api_url])
            .args(["--admin-token", ADMIN])
            .args(["--anvil-admin-token", "e2e-anvil-token-0123456789"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--leader-election")
            .env("POD_NAME", name)
            .env("RUST_LOG", "info,kube=warn")
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chaos-operator starts");
        Replica {
            name: name.to_owned(),
            child,
            probes: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&self) -> bool {
        reqwest::get(format!("{}/readyz", self.probes))
            .await
            .is_ok_and(|r| r.status() == 200)
    }

    /// Whether it runs the controllers, by its `chaos_operator_leading` gauge.
    async fn leading(&self) -> bool {
        let Ok(r) = reqwest::get(format!("{}/metrics", self.probes)).await else {
            return false;
        };
        r.text()
            .await
            .is_ok_and(|t| t.lines().any(|l| l == "chaos_operator_leading 1"))
    }

    fn terminate(&mut self) {
        // SIGTERM, as the kubelet sends it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_leader_hands_over_at_once() {
    if !enabled() {
        eprintln!("SKIPPED: set CHAOS_KUBE_E2E=1 and KUBECONFIG to a disposable cluster to run");
        return;
    }
    let client = Client::try_default().await.expect("KUBECONFIG");
    install_crds(&client).await;
    let namespace = format!("sre-chaos-lease-{:x}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("ns"),
        )
        .await
        .expect("namespace");

    let dir = chaos_testkit::temp_dir("chaos-lease");
    let mut config = chaos_api::Config::defaults();
    config.listen = ([127, 0, 0, 1], 0).into();
    config.database = dir.join("chaos.db").display().to_string();
    config.admin_token = Some(ADMIN.into());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let api = chaos_api::start(&config, listener)
        .await
        .expect("chaos-api");

    let mut replicas = [
        Replica::start("replica-a", &namespace, &api.base_url()),
        Replica::start("replica-b", &namespace, &api.base_url()),
    ];
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    let holder = || {
        let leases = leases.clone();
        async move {
            leases
                .get_opt("chaos-operator")
                .await
                .ok()??
                .spec?
                .holder_identity
        }
    };
    let first = eventually("a leader", Duration::from_secs(60), holder).await;
    let (leader, standby) = if first == replicas[0].name {
        (0, 1)
    } else {
        (1, 0)
    };
    eventually(
        "the leader to run the controllers",
        Duration::from_secs(30),
        || {
            let r = &replicas[leader];
            async move { r.leading().await.then_some(()) }
        },
    )
    .await;
    // The standby waits, and says it is ready: a standby reporting not
    // ready would stall a Deployment's rolling update for good.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!replicas[standby].leading().await, "two leaders");
    assert!(
        replicas[standby].ready().await,
        "a waiting standby is ready"
    );
    assert_eq!(holder().await.as_deref(), Some(first.as_str()));

    let stopped = Instant::now();
    replicas[leader].terminate();
    eventually("the standby to lead", Duration::from_secs(30), || {
        let r = &replicas[standby];
        async move { r.leading().await.then_some(()) }
    })
    .await;
    let took = stopped.elapsed();
    let next = holder().await;
    eprintln!("handed over from {first} to {next:?} in {took:?}");
    assert_eq!(next.as_deref(), Some(replicas[standby].name.as_str()));
    // Without the release the standby would wait out the 15 s lease.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let exited = replicas[leader].child.wait().expect("wait");
    assert!(exited.success(), "the leader stopped cleanly: {exited}");

    // A leader killed outright releases nothing: a new standby takes over
    // once the lease it left expires (15 s after its last renewal).
    let third = Replica::start("replica-c", &namespace, &api.base_url());
    eventually(
        "the new standby to be ready",
        Duration::from_secs(30),
        || {
            let r = &third;
            async move { r.ready().await.then_some(()) }
        },
    )
    .await;
    assert!(!third.leading().await, "two leaders");
    let killed = Instant::now();
    let _ = replicas[standby].child.kill();
    let _ = replicas[standby].child.wait();
    eventually("the third replica to lead", Duration::from_secs(40), || {
        let r = &third;
        async move { r.leading().await.then_some(()) }
    })
    .await;
    let took = killed.elapsed();
    eprintln!("after kill -9, replica-c led in {took:?}");
    assert_eq!(holder().await.as_deref(), Some("replica-c"));
    assert!(took < Duration::from_secs(25), "took {took:?}");
    drop(third);

    drop(replicas);
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
