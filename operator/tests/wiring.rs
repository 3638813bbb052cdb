//! The real controllers — their watches, event filters and mappers, as
//! `runner::controllers` wires them — against the mocked API server, which
//! streams watch events. A bare Contributor (no finalizer, as `kubectl
//! apply` makes it) must go all the way to Ready, and a bare ChallengeRun
//! to Running, with nothing but watch events to move them. The reconcile
//! scenarios call `reconcile` by hand, so they cannot see an event that a
//! filter drops; this is where that would show.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use tokio_util::sync::CancellationToken;

const CONTRIBUTORS: &str = "/apis/srechaos.dev/v1alpha1/contributors";
const RUNS: &str = "/apis/srechaos.dev/v1alpha1/namespaces/sre-chaos/challengeruns";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/contributor-ada/deployments";

async fn until<T>(what: &str, fake: &FakeKube, mut f: impl FnMut(&FakeKube) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f(fake) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; requests so far:\n{:#?}",
            fake.calls
                .lock()
                .expect("calls")
                .iter()
                .map(|c| format!("{} {}?{}", c.method, c.path, c.query))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn condition(object: &Value, type_: &str) -> Option<String> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_contributor_and_a_bare_run_move_on_watch_events_alone() {
    let (api, dir) = platform().await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let stop = CancellationToken::new();
    let controllers = tokio::spawn({
        let (ctx, stop) = (ctx.clone(), stop.clone());
        async move { chaos_operator::runner::controllers(ctx, PLATFORM_NS, stop).await }
    });
    // Both controllers watch Contributors; the run controller its runs.
    until("the watches", &fake, |f| {
        (f.watching(CONTRIBUTORS) >= 2 && f.watching(RUNS) >= 1).then_some(())
    })
    .await;

    // As `kubectl apply` creates it: generation 1, no finalizer, no status.
    fake.put(
        &format!("{CONTRIBUTORS}/ada"),
        json!({
            "apiVersion": "srechaos.dev/v1alpha1", "kind": "Contributor",
            "metadata": {"name": "ada", "uid": "ada-uid", "generation": 1, "resourceVersion": "1"},
            "spec": {"challenge": "robust-service", "app": {"image": "app:1", "port": 8080, "replicas": 1}},
        }),
    );
    // The finalizer comes first, then, on the event it makes, the apply pass.
    for name in ["app", "url-anvil"] {
        until(&format!("Deployment {name}"), &fake, |f| {
            f.get(&format!("{DEPLOYMENTS}/{name}"))
        })
        .await;
    }
    let c = fake.get(&format!("{CONTRIBUTORS}/ada")).expect("kept");
    assert_eq!(
        c["metadata"]["finalizers"][0], "srechaos.dev/cleanup",
        "{c:#}"
    );

    // The kubelet's part: both Deployments become available. The
    // Deployment watch maps them to their Contributor.
    for name in ["app", "url-anvil"] {
        let path = format!("{DEPLOYMENTS}/{name}");
        let mut d = fake.get(&path).expect("applied");
        d["status"] = json!({"availableReplicas": 1, "readyReplicas": 1, "replicas": 1, "observedGeneration": 1});
        fake.put(&path, d);
    }
    until("the contributor to be Ready", &fake, |f| {
        let c = f.get(&format!("{CONTRIBUTORS}/ada"))?;
        (condition(&c, "Ready").as_deref() == Some("True")).then_some(())
    })
    .await;
    // However many events came (its finalizer, its status, two Deployments
    // created and then available), the children were applied once.
    assert_eq!(ctx.metrics.apply_passes("contributor"), 1);
    // Then nothing: a Ready Contributor costs no writes until its resync.
    let writes = |f: &FakeKube| {
        f.calls
            .lock()
            .expect("calls")
            .iter()
            .filter(|c| c.method != "GET")
            .map(|c| format!("{} {}", c.method, c.path))
            .collect::<Vec<_>>()
    };
    let before = writes(&fake).len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = writes(&fake);
    assert_eq!(
        after.len(),
        before,
        "writes while idle: {:#?}",
        &after[before..]
    );

    // A bare run: its finalizer, then the queue, then its Job and window.
    fake.put(
        &format!("{RUNS}/first"),
        json!({
            "apiVersion": "srechaos.dev/v1alpha1", "kind": "ChallengeRun",
            "metadata": {"name": "first", "namespace": PLATFORM_NS, "uid": "run-uid-1",
                         "generation": 1, "resourceVersion": "1",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"contributor": "ada", "challenge": "robust-service", "durationScale": 0.1},
        }),
    );
    let run = until("the run to be Running", &fake, |f| {
        let r = f.get(&format!("{RUNS}/first"))?;
        (r["status"]["phase"] == "Running").then_some(r)
    })
    .await;
    assert_eq!(run["metadata"]["finalizers"][0], "srechaos.dev/run-window");
    assert_eq!(run["status"]["runId"], "run-uid-1");
    let job = run["status"]["jobName"]
        .as_str()
        .expect("jobName")
        .to_owned();
    assert!(
        fake.get(&format!(
            "/apis/batch/v1/namespaces/{PLATFORM_NS}/jobs/{job}"
        ))
        .is_some()
    );
    // The window waits for the load's pod, as on a cluster: the kubelet's
    // part is to start its container.
    let remote = chaos_client::Client::new(&api.base_url()).expect("url");
    let held = remote
        .run("run-uid-1")
        .await
        .expect("the API server holds the run");
    assert_eq!(held.state, chaos_client::RunState::Registered, "{held:?}");
    let started = jiff::Timestamp::now().to_string();
    fake.put(
        &format!("/api/v1/namespaces/{PLATFORM_NS}/pods/{job}-abcde"),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{job}-abcde"), "namespace": PLATFORM_NS,
                         "labels": {"job-name": job}, "resourceVersion": "1"},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "loadgen", "ready": true, "restartCount": 0, "image": "loadgen", "imageID": "",
                "state": {"running": {"startedAt": started}}}]},
        }),
    );
    until("the run's window to open", &fake, |f| {
        let r = f.get(&format!("{RUNS}/first"))?;
        r["status"]["startedAt"].as_str().map(str::to_owned)
    })
    .await;
    let held = remote
        .run("run-uid-1")
        .await
        .expect("the API server holds the run");
    assert_eq!(held.state, chaos_client::RunState::Running, "{held:?}");

    // Deleting the run (the finalizer holds it) ends its window and lets go.
    fake.calls.lock().expect("calls").clear();
    let deleted = ctx
        .client
        .request::<Value>(
            http::Request::delete(format!("{RUNS}/first"))
                .body(Vec::new())
                .expect("request"),
        )
        .await;
    assert!(deleted.is_ok(), "{deleted:?}");
    until("the run to be gone", &fake, |f| {
        f.get(&format!("{RUNS}/first")).is_none().then_some(())
    })
    .await;
    let ended = remote.run("run-uid-1").await.expect("kept");
    assert_ne!(ended.state, chaos_client::RunState::Running, "{ended:?}");

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), controllers).await;
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
