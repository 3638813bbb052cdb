//! ChallengeRun reconcile scenarios against the mocked Kubernetes API and
//! a real API server: every phase transition, and the failure paths.

mod support;

use std::sync::Arc;

use chaos_domain::Challenge;
use chaos_domain::scoring::{Outcome, Statistics};
use chaos_operator::crd::{ChallengeRun, ChallengeRunSpec, ChallengeRunStatus, RunPhase};
use chaos_operator::run;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::*;

const CONTRIBUTOR_PATH: &str = "/apis/srechaos.dev/v1alpha1/contributors/ada";
const RUNS: &str = "/apis/srechaos.dev/v1alpha1/namespaces/sre-chaos/challengeruns";
const JOBS: &str = "/apis/batch/v1/namespaces/sre-chaos/jobs";

fn ago(secs: i64) -> Time {
    Time(Timestamp::now() - SignedDuration::from_secs(secs))
}

fn challenge_run(name: &str, challenge: Challenge, created_secs_ago: i64) -> ChallengeRun {
    let mut r = ChallengeRun::new(
        name,
        ChallengeRunSpec {
            contributor: "ada".into(),
            challenge,
            duration_scale: None,
        },
    );
    r.metadata.namespace = Some(PLATFORM_NS.into());
    r.metadata.uid = Some(format!("{name}-uid"));
    r.metadata.generation = Some(1);
    r.metadata.creation_timestamp = Some(ago(created_secs_ago));
    // The phase scenarios start after the first pass, which only adds the
    // finalizer; `a_bare_run_gets_its_finalizer_first` covers that pass.
    r.metadata.finalizers = Some(vec![run::FINALIZER.into()]);
    r
}

fn put_contributor(fake: &FakeKube, phase: &str) {
    fake.put(
        CONTRIBUTOR_PATH,
        json!({
            "apiVersion": "srechaos.dev/v1alpha1", "kind": "Contributor",
            "metadata": {"name": "ada", "uid": "ada-uid"},
            "spec": {"challenge": "robust-service", "app": {"image": "app:1", "port": 8080, "replicas": 1}},
            "status": {"phase": phase},
        }),
    );
}

fn save(fake: &FakeKube, r: &ChallengeRun) {
    fake.put(
        &format!("{RUNS}/{}", r.metadata.name.as_deref().unwrap_or_default()),
        serde_json::to_value(r).expect("json"),
    );
}

/// The run with the status the fake holds now.
fn reload(fake: &FakeKube, r: &ChallengeRun) -> ChallengeRun {
    let mut out = r.clone();
    let stored = fake
        .get(&format!(
            "{RUNS}/{}",
            r.metadata.name.as_deref().unwrap_or_default()
        ))
        .expect("stored");
    out.status = stored
        .get("status")
        .map(|s| serde_json::from_value(s.clone()).expect("status"));
    out
}

fn status(r: &ChallengeRun) -> ChallengeRunStatus {
    r.status.clone().unwrap_or_default()
}

fn condition<'a>(
    s: &'a ChallengeRunStatus,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    s.conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {s:?}"))
}

async fn pass(
    fake: &FakeKube,
    ctx: &Arc<chaos_operator::context::Context>,
    r: &ChallengeRun,
) -> ChallengeRun {
    save(fake, r);
    run::reconcile(Arc::new(r.clone()), ctx.clone())
        .await
        .expect("reconciles");
    reload(fake, r)
}

async fn register_ada(api: &chaos_api::Running) {
    chaos_client::Client::new(&api.base_url())
        .expect("client")
        .with_admin_token(ADMIN)
        .register_contributor("ada", None, None)
        .await
        .expect("registered");
}

#[tokio::test]
async fn a_run_goes_from_pending_to_succeeded() {
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let r = challenge_run("r1", Challenge::LongestUpkeep, 5);

    // The contributor is not Ready: the run waits, and its clock has not started.
    put_contributor(&fake, "Pending");
    let r = pass(&fake, &ctx, &r).await;
    let s = status(&r);
    assert_eq!(s.phase, Some(RunPhase::Pending));
    assert_eq!(condition(&s, "Progressing").reason, "WaitingForContributor");
    assert_eq!(condition(&s, "Progressing").status, "True");
    assert_eq!(condition(&s, "Complete").status, "False");
    assert_eq!(condition(&s, "Failed").status, "False");
    assert!(s.started_at.is_none());

    // Ready: queued.
    put_contributor(&fake, "Ready");
    let r = pass(&fake, &ctx, &r).await;
    assert_eq!(status(&r).phase, Some(RunPhase::Queued));
    assert!(status(&r).queued_at.is_some());

    // Its turn: registered and started on the API server, Job created.
    fake.take_calls();
    let r = pass(&fake, &ctx, &r).await;
    let s = status(&r);
    assert_eq!(s.phase, Some(RunPhase::Running), "{s:?}");
    assert_eq!(s.run_id.as_deref(), Some("r1-uid"));
    let calls = fake.take_calls();
    assert!(
        paths(&calls, "PATCH").contains(&format!("{JOBS}/load-r1")),
        "{calls:#?}"
    );
    let job = fake.get(&format!("{JOBS}/load-r1")).expect("job");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "sre-chaos/loadgen:test"
    );
    // Registered, but its window is not open: the pod may take minutes
    // to be scheduled and pulled, and that time is not the profile's.
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    let remote = platform.run("r1-uid").await.expect("registered run");
    assert_eq!(remote.state, chaos_client::RunState::Registered);
    assert_eq!(remote.source, chaos_client::Source::Prometheus);
    assert!(remote.window.start.is_none());

    // The Job's pod has not started: nothing to write.
    let r = pass(&fake, &ctx, &r).await;
    assert!(
        fake.take_calls()
            .iter()
            .all(|c| !c.writes() || c.path.ends_with("/status"))
    );
    assert!(status(&r).started_at.is_none());

    // The pod runs; 130 s into the load the first kill (at 120 s) is due.
    fake.put(
        "/api/v1/namespaces/sre-chaos/pods/load-r1-abc",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "load-r1-abc", "namespace": "sre-chaos", "labels": {"job-name": "load-r1"}},
               "status": {"containerStatuses": [{"name": "loadgen", "ready": true, "restartCount": 0, "image": "x", "imageID": "x",
                                                 "state": {"running": {"startedAt": ago(150).0.to_string()}}}]}}),
    );
    fake.put(
        "/api/v1/namespaces/contributor-ada/pods/url-anvil-xyz",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "url-anvil-xyz", "namespace": "contributor-ada", "labels": {"app.kubernetes.io/component": "url-anvil"}}}),
    );
    // As read from the server: with the resourceVersion a write is checked against.
    let mut before_the_kill = r.clone();
    before_the_kill.metadata.resource_version = Some("100".into());
    let r = pass(&fake, &ctx, &before_the_kill).await;
    let s = status(&r);
    assert_eq!(s.chaos_applied, Some(1), "{s:?}");
    // The window opened when the load did, to the second the pod says.
    let started = s.started_at.clone().expect("started");
    let remote = platform.run("r1-uid").await.expect("run");
    assert_eq!(remote.state, chaos_client::RunState::Running);
    let opened: Timestamp = remote
        .window
        .start
        .as_deref()
        .expect("window start")
        .parse()
        .expect("rfc3339");
    assert_eq!(opened.as_second(), started.0.as_second(), "{remote:?}");
    let calls = fake.take_calls();
    assert_eq!(
        paths(&calls, "DELETE"),
        ["/api/v1/namespaces/contributor-ada/pods"],
        "{calls:#?}"
    );
    assert!(
        fake.get("/api/v1/namespaces/contributor-ada/pods/url-anvil-xyz")
            .is_none()
    );
    // A pass replayed from the object as it was before the kill (a stale
    // cache, a status write that timed out, a new leader): its claim is
    // refused (409), so url-anvil's replacement pod is not killed too.
    fake.put(
        "/api/v1/namespaces/contributor-ada/pods/url-anvil-new",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "url-anvil-new", "namespace": "contributor-ada", "labels": {"app.kubernetes.io/component": "url-anvil"}}}),
    );
    let _ = run::reconcile(Arc::new(before_the_kill), ctx.clone()).await;
    let calls = fake.take_calls();
    assert!(paths(&calls, "DELETE").is_empty(), "{calls:#?}");
    assert!(
        fake.get("/api/v1/namespaces/contributor-ada/pods/url-anvil-new")
            .is_some()
    );
    assert_eq!(status(&reload(&fake, &r)).chaos_applied, Some(1));
    // Again at the same moment: the kill is not repeated.
    let r = pass(&fake, &ctx, &r).await;
    assert!(paths(&fake.take_calls(), "DELETE").is_empty());

    // The Job completes: the window closes, scoring is asked for.
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let mut job = fake.get(&format!("{JOBS}/load-r1")).expect("job");
    job["status"] = json!({"conditions": [{"type": "Complete", "status": "True"}], "completionTime": Timestamp::now().to_string()});
    fake.put(&format!("{JOBS}/load-r1"), job);
    let r = pass(&fake, &ctx, &r).await;
    assert_eq!(status(&r).phase, Some(RunPhase::Scoring));
    let remote = platform.run("r1-uid").await.expect("run");
    assert!(remote.window.end.is_some());
    assert!(
        matches!(
            remote.state,
            chaos_client::RunState::Scoring | chaos_client::RunState::Ended
        ),
        "{remote:?}"
    );

    // Still scoring (Prometheus is slow): the run waits.
    let r = pass(&fake, &ctx, &r).await;
    assert_eq!(status(&r).phase, Some(RunPhase::Scoring));

    // The API server scores it: the result lands on the resource.
    let stored = chaos_api::runs::store::get(&api.state.db, "r1-uid")
        .await
        .expect("db")
        .expect("run");
    chaos_api::scores::store::record(
        &api.state.db,
        &chaos_api::scores::store::NewRecord {
            run_id: "r1-uid",
            contributor_id: &stored.contributor_id,
            challenge: Challenge::LongestUpkeep,
            rules: chaos_domain::scoring::Rules::CURRENT,
            outcome: &Outcome::Scored(Statistics {
                stat1: Some(312.0),
                stat2: Some(4.5),
                stat3: Some(180_000.0),
                score: 312.0,
            }),
            practice_reasons: &[],
            run_end_ms: chaos_api::db::now_ms(),
            evidence: &json!({}),
        },
    )
    .await
    .expect("recorded");
    let r = pass(&fake, &ctx, &r).await;
    let s = status(&r);
    assert_eq!(s.phase, Some(RunPhase::Succeeded));
    assert_eq!(
        (s.stat1, s.stat2, s.stat3, s.score),
        (Some(312.0), Some(4.5), Some(180_000.0), Some(312.0))
    );
    assert_eq!(s.statistics.len(), 3);
    assert!(
        s.run_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/runs/r1-uid"))
    );
    assert!(
        s.leaderboard_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/leaderboard/longest-upkeep"))
    );
    // The conditions say what is true now, not a log of phases.
    assert_eq!(condition(&s, "Complete").status, "True");
    assert_eq!(condition(&s, "Complete").reason, "Scored");
    assert_eq!(condition(&s, "Progressing").status, "False");
    assert_eq!(condition(&s, "Failed").status, "False");
    assert_eq!(s.conditions.len(), 3, "{:?}", s.conditions);

    // Finished: a further pass does nothing.
    fake.take_calls();
    pass(&fake, &ctx, &r).await;
    assert!(fake.take_calls().is_empty());
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A run in Running with its Job, registered and started on the API server.
async fn running(fake: &FakeKube, api: &chaos_api::Running, name: &str) -> ChallengeRun {
    let platform = chaos_client::Client::new(&api.base_url())
        .expect("client")
        .with_admin_token(ADMIN);
    let id = format!("{name}-uid");
    platform
        .register_run(&chaos_client::NewRun {
            id: Some(id.clone()),
            source: Some(chaos_client::Source::Prometheus),
            loadgen_selector: Some([("run_id".to_owned(), id.clone())].into()),
            anvil_selector: Some([("contributor".to_owned(), "ada".to_owned())].into()),
            ..chaos_client::NewRun::new("ada", Challenge::RobustService, "http://app")
        })
        .await
        .expect("registered");
    platform.start_run(&id, None).await.expect("started");
    // A window must end after it starts, to the millisecond.
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let mut r = challenge_run(name, Challenge::RobustService, 60);
    r.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Running),
        run_id: Some(id),
        job_name: Some(format!("load-{name}")),
        queued_at: Some(ago(50)),
        chaos_applied: Some(0),
        ..Default::default()
    });
    fake.put(
        &format!("{JOBS}/load-{name}"),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("load-{name}"), "namespace": PLATFORM_NS}, "spec": {"template": {}}}),
    );
    r
}

fn set_job_status(fake: &FakeKube, name: &str, status: Value) {
    let path = format!("{JOBS}/load-{name}");
    let mut job = fake.get(&path).expect("job");
    job["status"] = status;
    fake.put(&path, job);
}

#[tokio::test]
async fn failures_end_in_a_clear_status() {
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    put_contributor(&fake, "Ready");

    // The load Job failed.
    let r = running(&fake, &api, "jf").await;
    set_job_status(
        &fake,
        "jf",
        json!({"conditions": [{"type": "Failed", "status": "True"}]}),
    );
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(s.phase, Some(RunPhase::Failed));
    assert_eq!(condition(&s, "Failed").reason, "JobFailed");
    // Cut short: interrupted on the API server, never scored.
    assert_eq!(
        platform.run("jf-uid").await.expect("run").state,
        chaos_client::RunState::Interrupted
    );

    // The Job disappeared.
    let r = running(&fake, &api, "jm").await;
    fake.objects
        .lock()
        .expect("objects")
        .remove(&format!("{JOBS}/load-jm"));
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(condition(&s, "Failed").reason, "JobMissing");

    // The contributor was deleted mid-run: the load is stopped.
    let r = running(&fake, &api, "cd").await;
    fake.objects
        .lock()
        .expect("objects")
        .remove(CONTRIBUTOR_PATH);
    fake.take_calls();
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(condition(&s, "Failed").reason, "ContributorDeleted");
    assert_eq!(
        paths(&fake.take_calls(), "DELETE"),
        [format!("{JOBS}/load-cd")]
    );
    assert!(fake.get(&format!("{JOBS}/load-cd")).is_none());

    // Waiting too long for a contributor that never comes.
    let r = challenge_run("late", Challenge::RobustService, 31 * 60);
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(s.phase, Some(RunPhase::Failed));
    assert_eq!(condition(&s, "Failed").reason, "ContributorNotReady");

    // The API server found no data.
    put_contributor(&fake, "Ready");
    let mut r = running(&fake, &api, "nd").await;
    platform
        .clone()
        .with_admin_token(ADMIN)
        .end_run("nd-uid", None)
        .await
        .expect("ended");
    let stored = chaos_api::runs::store::get(&api.state.db, "nd-uid")
        .await
        .expect("db")
        .expect("run");
    chaos_api::scores::store::record(
        &api.state.db,
        &chaos_api::scores::store::NewRecord {
            run_id: "nd-uid",
            contributor_id: &stored.contributor_id,
            challenge: Challenge::RobustService,
            rules: chaos_domain::scoring::Rules::CURRENT,
            outcome: &Outcome::NoData {
                reason: "no loadgen series in the window".into(),
            },
            practice_reasons: &[],
            run_end_ms: chaos_api::db::now_ms(),
            evidence: &json!({}),
        },
    )
    .await
    .expect("recorded");
    if let Some(s) = r.status.as_mut() {
        s.phase = Some(RunPhase::Scoring);
        s.ended_at = Some(ago(1));
    }
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(s.phase, Some(RunPhase::Failed));
    let failed = condition(&s, "Failed");
    assert_eq!(failed.reason, "NoData");
    assert!(failed.message.contains("no loadgen series"), "{failed:?}");
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn runs_queue_first_in_first_out() {
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    put_contributor(&fake, "Ready");
    let busy = running(&fake, &api, "busy").await;
    save(&fake, &busy);

    let mut a = challenge_run("a", Challenge::RobustService, 20);
    a.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Queued),
        queued_at: Some(ago(20)),
        ..Default::default()
    });
    let mut b = challenge_run("b", Challenge::RobustService, 10);
    b.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Queued),
        queued_at: Some(ago(10)),
        ..Default::default()
    });
    save(&fake, &a);
    save(&fake, &b);
    fake.take_calls();
    let b = pass(&fake, &ctx, &b).await;
    let a = pass(&fake, &ctx, &a).await;
    assert_eq!(status(&a).phase, Some(RunPhase::Queued));
    assert_eq!(
        status(&a).message.as_deref(),
        Some("queued: 1 run(s) ahead")
    );
    assert_eq!(
        status(&b).message.as_deref(),
        Some("queued: 2 run(s) ahead")
    );
    assert!(
        !paths(&fake.take_calls(), "PATCH")
            .iter()
            .any(|p| p.contains("/jobs/"))
    );

    // The busy run finishes: the first queued run starts, the second waits.
    let mut done = busy.clone();
    if let Some(s) = done.status.as_mut() {
        s.phase = Some(RunPhase::Succeeded);
    }
    save(&fake, &done);
    let b = pass(&fake, &ctx, &b).await;
    let a = pass(&fake, &ctx, &a).await;
    assert_eq!(status(&a).phase, Some(RunPhase::Running));
    assert_eq!(status(&b).phase, Some(RunPhase::Queued));
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unreachable_api_server_keeps_the_run_queued_and_says_so() {
    let (fake, client) = FakeKube::start();
    let dead = format!("http://127.0.0.1:{}", chaos_testkit::free_port());
    let ctx = context(client, &dead, 1);
    put_contributor(&fake, "Ready");
    let mut r = challenge_run("r", Challenge::RobustService, 10);
    r.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Queued),
        queued_at: Some(ago(5)),
        ..Default::default()
    });
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(s.phase, Some(RunPhase::Queued));
    assert_eq!(condition(&s, "ApiServerAvailable").status, "False");
    assert!(
        fake.get(&format!("{JOBS}/load-r")).is_none(),
        "no load without a registered window"
    );
    // The API server is back: the run starts and the condition is reset.
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let ctx = context(ctx.client.clone(), &api.base_url(), 1);
    let mut again = r.clone();
    again.status = Some(s);
    let s = status(&pass(&fake, &ctx, &again).await);
    assert_eq!(s.phase, Some(RunPhase::Running), "{s:?}");
    let available = condition(&s, "ApiServerAvailable");
    assert_eq!(
        (available.status.as_str(), available.reason.as_str()),
        ("True", "Available")
    );
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// An outage's retry delay grows while it lasts and starts afresh once the
/// API server has answered: it once kept growing from run to run up to
/// 5 min, and its entry was never removed.
#[tokio::test]
async fn the_api_servers_backoff_starts_afresh_after_it_answers() {
    use kube::runtime::controller::Action;
    use std::time::Duration;
    let (fake, client) = FakeKube::start();
    let port = chaos_testkit::free_port();
    let ctx = context(client, &format!("http://127.0.0.1:{port}"), 1);
    put_contributor(&fake, "Ready");
    let mut r = challenge_run("r", Challenge::RobustService, 10);
    r.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Queued),
        queued_at: Some(ago(5)),
        ..Default::default()
    });
    let again = || {
        let r = r.clone();
        let fake = &fake;
        let ctx = ctx.clone();
        async move {
            save(fake, &r);
            run::reconcile(Arc::new(r), ctx).await.expect("reconciles")
        }
    };
    assert_eq!(again().await, Action::requeue(Duration::from_secs(5)));
    assert_eq!(again().await, Action::requeue(Duration::from_secs(10)));
    assert_eq!(again().await, Action::requeue(Duration::from_secs(20)));
    // Back: the run is registered and its Job made.
    let (api, dir) = platform_at(port).await;
    register_ada(&api).await;
    let running = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(running.phase, Some(RunPhase::Running), "{running:?}");
    api.stop().await;
    // Away again once the pod has started: the first retry is 5 s again.
    fake.put(
        "/api/v1/namespaces/sre-chaos/pods/load-r-abc",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "load-r-abc", "namespace": "sre-chaos", "labels": {"job-name": "load-r"}},
               "status": {"containerStatuses": [{"name": "loadgen", "ready": true, "restartCount": 0, "image": "x", "imageID": "x",
                                                 "state": {"running": {"startedAt": ago(30).0.to_string()}}}]}}),
    );
    let mut r2 = r.clone();
    r2.status = Some(running);
    save(&fake, &r2);
    let action = run::reconcile(Arc::new(r2), ctx.clone())
        .await
        .expect("reconciles");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    let _ = std::fs::remove_dir_all(dir);
}

/// A pass that starts from a cached object older than the cluster's must
/// not write its decision over the newer status: a Running run was once
/// written back to Queued, losing its runId and jobName.
#[tokio::test]
async fn a_stale_pass_never_writes_a_run_backwards() {
    let (api, _dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    put_contributor(&fake, "Ready");
    let mut r = challenge_run("r1", Challenge::RobustService, 5);
    r.metadata.resource_version = Some("5".into());
    let queued = ChallengeRunStatus {
        phase: Some(RunPhase::Queued),
        queued_at: Some(ago(3)),
        ..Default::default()
    };
    let mut stale = r.clone();
    stale.status = Some(queued.clone());
    // The cluster has moved on: the run is Running (another pass won).
    let mut fresh = r.clone();
    fresh.metadata.resource_version = Some("7".into());
    fresh.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Running),
        run_id: Some("r1-uid".into()),
        job_name: Some("load-r1".into()),
        ..queued
    });
    save(&fake, &fresh);
    let result = run::reconcile(Arc::new(stale), ctx.clone()).await;
    let err = result.expect_err("a stale write is refused");
    assert!(err.is_stale(), "{err}");
    let now = status(&reload(&fake, &fresh));
    assert_eq!(now.phase, Some(RunPhase::Running), "{now:?}");
    assert_eq!(now.run_id.as_deref(), Some("r1-uid"));
    assert_eq!(now.job_name.as_deref(), Some("load-r1"));
    // The status patch carried the version the pass started from.
    let patch = fake
        .take_calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "PATCH" && c.path.ends_with("/r1/status"))
        .expect("a status patch was tried");
    assert_eq!(patch.body["metadata"]["resourceVersion"], "5");
}

#[tokio::test]
async fn a_bare_run_gets_its_finalizer_first_then_moves_on() {
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    put_contributor(&fake, "Ready");
    let mut r = challenge_run("r1", Challenge::RobustService, 5);
    r.metadata.finalizers = None;
    let path = format!("{RUNS}/r1");
    save(&fake, &r);
    run::reconcile(Arc::new(r.clone()), ctx.clone())
        .await
        .expect("first pass");
    let stored = fake.get(&path).expect("stored");
    assert_eq!(stored["metadata"]["finalizers"], json!([run::FINALIZER]));
    // The next pass starts from the object as the cluster holds it now
    // (the watch filter passes finalizer changes): it is queued.
    let now: ChallengeRun = serde_json::from_value(stored).expect("run");
    run::reconcile(Arc::new(now), ctx.clone())
        .await
        .expect("second pass");
    let stored: ChallengeRun =
        serde_json::from_value(fake.get(&path).expect("stored")).expect("run");
    assert_eq!(status(&stored).phase, Some(RunPhase::Queued));
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn deleting_a_run_under_load_interrupts_its_window_and_stops_the_job() {
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    put_contributor(&fake, "Ready");
    let r = challenge_run("r1", Challenge::RobustService, 5);
    let r = pass(&fake, &ctx, &r).await;
    let r = pass(&fake, &ctx, &r).await;
    assert_eq!(status(&r).phase, Some(RunPhase::Running));
    assert!(fake.get(&format!("{JOBS}/load-r1")).is_some());
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    // Registered; its window opens only when the load's pod starts.
    assert_eq!(
        platform.run("r1-uid").await.expect("run").state,
        chaos_client::RunState::Registered
    );

    // kubectl delete: the server sets the deletion mark and keeps the object.
    let mut deleting = r.clone();
    deleting.metadata.deletion_timestamp = Some(ago(0));
    save(&fake, &deleting);
    run::reconcile(Arc::new(deleting), ctx.clone())
        .await
        .expect("cleanup");
    let remote = platform.run("r1-uid").await.expect("run");
    assert_eq!(
        remote.state,
        chaos_client::RunState::Interrupted,
        "{remote:?}"
    );
    assert!(
        fake.get(&format!("{JOBS}/load-r1")).is_none(),
        "the Job is gone"
    );
    // The finalizer released once the window is closed, the API server
    // lets the marked run go.
    let left = fake.get(&format!("{RUNS}/r1"));
    assert!(left.is_none(), "the finalizer is held: {left:?}");
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_deleted_run_keeps_its_finalizer_while_the_api_server_is_away() {
    let (fake, client) = FakeKube::start();
    let dead = format!("http://127.0.0.1:{}", chaos_testkit::free_port());
    let ctx = context(client, &dead, 1);
    let mut r = challenge_run("r1", Challenge::RobustService, 5);
    r.metadata.deletion_timestamp = Some(ago(0));
    r.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Running),
        run_id: Some("r1-uid".into()),
        job_name: Some("load-r1".into()),
        ..Default::default()
    });
    save(&fake, &r);
    assert!(run::reconcile(Arc::new(r), ctx).await.is_err());
    let stored = fake.get(&format!("{RUNS}/r1")).expect("stored");
    assert_eq!(stored["metadata"]["finalizers"], json!([run::FINALIZER]));
}

#[tokio::test]
async fn a_load_job_that_cannot_be_scheduled_fails_the_run_saying_why() {
    let (api, dir) = platform().await;
    register_ada(&api).await;
    let (fake, client) = FakeKube::start();
    let ctx = context(client, &api.base_url(), 1);
    put_contributor(&fake, "Ready");
    let r = challenge_run("r1", Challenge::RobustService, 5);
    let r = pass(&fake, &ctx, &r).await;
    let r = pass(&fake, &ctx, &r).await;
    assert_eq!(status(&r).phase, Some(RunPhase::Running));
    let why = "0/1 nodes are available: 1 Insufficient cpu.";
    fake.put(
        "/api/v1/namespaces/sre-chaos/pods/load-r1-abc",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "load-r1-abc", "namespace": "sre-chaos", "labels": {"job-name": "load-r1"}},
               "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                          "reason": "Unschedulable", "message": why}]}}),
    );
    // A minute in: it says so and waits.
    let job_path = format!("{JOBS}/load-r1");
    let mut job = fake.get(&job_path).expect("job");
    job["metadata"]["creationTimestamp"] = json!(ago(60).0.to_string());
    fake.put(&job_path, job.clone());
    let r = pass(&fake, &ctx, &r).await;
    let s = status(&r);
    assert_eq!(s.phase, Some(RunPhase::Running));
    assert!(s.message.as_deref().unwrap_or("").contains(why), "{s:?}");
    // Past the deadline: Failed, with the scheduler's reason; no Job left.
    job["metadata"]["creationTimestamp"] = json!(ago(240).0.to_string());
    fake.put(&job_path, job);
    let r = pass(&fake, &ctx, &r).await;
    let s = status(&r);
    assert_eq!(s.phase, Some(RunPhase::Failed));
    let failed = condition(&s, "Failed");
    assert_eq!(failed.reason, "Unschedulable");
    assert!(failed.message.contains(why), "{failed:?}");
    assert!(fake.get(&job_path).is_none());
    let platform = chaos_client::Client::new(&api.base_url()).expect("client");
    assert_eq!(
        platform.run("r1-uid").await.expect("run").state,
        chaos_client::RunState::Interrupted
    );
    api.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A queued run waits on the controller's cache: no list request while
/// its turn has not come.
#[tokio::test]
async fn a_waiting_run_reads_the_cache_not_the_api() {
    let (fake, client) = FakeKube::start();
    let dead = format!("http://127.0.0.1:{}", chaos_testkit::free_port());
    let ctx = bare_context(client, &dead, 1);
    let (cache, mut writer) = kube::runtime::reflector::store::<ChallengeRun>();
    let mut busy = challenge_run("busy", Challenge::RobustService, 60);
    busy.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Running),
        ..Default::default()
    });
    let mut r = challenge_run("r", Challenge::RobustService, 10);
    r.status = Some(ChallengeRunStatus {
        phase: Some(RunPhase::Queued),
        queued_at: Some(ago(5)),
        ..Default::default()
    });
    for obj in [&busy, &r] {
        writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(obj.clone()));
        save(&fake, obj);
    }
    assert!(ctx.runs_cache.set(cache).is_ok());
    let ctx = Arc::new(ctx);
    put_contributor(&fake, "Ready");
    fake.take_calls();
    let s = status(&pass(&fake, &ctx, &r).await);
    assert_eq!(s.phase, Some(RunPhase::Queued));
    assert_eq!(s.message.as_deref(), Some("queued: 1 run(s) ahead"));
    let calls = fake.take_calls();
    assert!(
        !calls.iter().any(|c| c.method == "GET" && c.path == RUNS),
        "{calls:#?}"
    );
}
