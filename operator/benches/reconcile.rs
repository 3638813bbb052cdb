//! Reconcile cost for many Contributors against the mocked Kubernetes
//! API (an in-memory store) and a real chaos-api on SQLite: requests and
//! time per reconcile, for the first pass (everything applied and
//! registered) and for a steady pass (nothing to do).
//!
//! `cargo bench -p chaos-operator --bench reconcile` (N from BENCH_CONTRIBUTORS, default 1000).

#[path = "../tests/support/mod.rs"]
mod support;

use chaos_domain::Challenge;
use std::sync::Arc;
use std::time::Instant;

use chaos_operator::contributor::{self, FINALIZER};
use chaos_operator::crd::{AppSpec, Contributor, ContributorSpec};
use futures::StreamExt;
use serde_json::json;
use support::*;

const CONCURRENCY: usize = 16;

fn contributor(i: usize) -> Contributor {
    let mut c = Contributor::new(
        &format!("c{i}"),
        ContributorSpec {
            display_name: None,
            challenge: Challenge::RobustService,
            app: Some(AppSpec::new("ghcr.io/example/app:1", 8080)),
            components: None,
            entry: None,
        },
    );
    c.metadata.uid = Some(format!("uid-{i}"));
    c.metadata.generation = Some(1);
    c.metadata.finalizers = Some(vec![FINALIZER.into()]);
    c
}

fn path(i: usize) -> String {
    format!("/apis/srechaos.dev/v1alpha1/contributors/c{i}")
}

async fn pass(
    fake: &FakeKube,
    ctx: &Arc<chaos_operator::context::Context>,
    all: &[Contributor],
) -> (f64, usize, usize) {
    fake.take_calls();
    let start = Instant::now();
    futures::stream::iter(all.iter().cloned())
        .for_each_concurrent(CONCURRENCY, |c| {
            let ctx = ctx.clone();
            async move {
                if let Err(e) = contributor::reconcile(Arc::new(c), ctx).await {
                    eprintln!("reconcile failed: {e}");
                }
            }
        })
        .await;
    let secs = start.elapsed().as_secs_f64();
    let calls = fake.take_calls();
    let writes = calls.iter().filter(|c| c.writes()).count();
    (secs, calls.len(), writes)
}

fn main() {
    let n: usize = std::env::var("BENCH_CONTRIBUTORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (api, dir) = platform().await;
        let (fake, client) = FakeKube::start();
        let ctx = context(client, &api.base_url(), 1);
        let mut all: Vec<Contributor> = (0..n).map(contributor).collect();
        for (i, c) in all.iter().enumerate() {
            fake.put(&path(i), serde_json::to_value(c).expect("json"));
        }

        let (secs, calls, writes) = pass(&fake, &ctx, &all).await;
        println!(
            "first pass:  {n} contributors in {secs:.2} s ({:.2} ms each at {CONCURRENCY} concurrent), {:.1} requests and {:.1} writes per reconcile",
            secs * 1000.0 / n as f64,
            calls as f64 / n as f64,
            writes as f64 / n as f64
        );

        // Every Deployment available, and the statuses the first pass wrote.
        for i in 0..n {
            for d in ["app", "url-anvil"] {
                let p = format!("/apis/apps/v1/namespaces/contributor-c{i}/deployments/{d}");
                if let Some(mut dep) = fake.get(&p) {
                    dep["status"] = json!({"availableReplicas": 1});
                    fake.put(&p, dep);
                }
            }
        }
        let reload = |all: &mut Vec<Contributor>| {
            for (i, c) in all.iter_mut().enumerate() {
                if let Some(s) = fake.get(&path(i)).and_then(|v| v.get("status").cloned()) {
                    c.status = serde_json::from_value(s).ok();
                }
            }
        };
        reload(&mut all);
        let (secs, calls, writes) = pass(&fake, &ctx, &all).await;
        println!(
            "ready pass:  {n} contributors in {secs:.2} s, {:.1} requests and {:.1} writes per reconcile",
            calls as f64 / n as f64,
            writes as f64 / n as f64
        );
        reload(&mut all);
        let (secs, calls, writes) = pass(&fake, &ctx, &all).await;
        println!(
            "steady pass: {n} contributors in {secs:.2} s ({:.3} ms each), {:.1} requests and {writes} writes in all",
            secs * 1000.0 / n as f64,
            calls as f64 / n as f64
        );
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(rss) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!(
                "peak RSS of this process (fake API, chaos-api and reconciles): {}",
                rss.trim_start_matches("VmHWM:").trim()
            );
        }
        api.stop().await;
        let _ = std::fs::remove_dir_all(dir);
    });
}
