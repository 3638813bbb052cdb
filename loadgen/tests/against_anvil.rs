//! loadgen against a real url-anvil on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chaos_domain::{CapacityProfile, FaultSpec};
use loadgen::schedule::RatePlan;
use loadgen::target::{RequestTemplate, Target};
use loadgen::{ExecOptions, Job, Load, RunReport, RunSpec};

const TOKEN: &str = "loadgen-test-token";

async fn anvil(configure: impl FnOnce(&mut url_anvil::Config)) -> url_anvil::RunningAnvil {
    let mut c = url_anvil::Config::defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.capacity = CapacityProfile::UNCAPPED;
    c.admin_token = Some(TOKEN.into());
    configure(&mut c);
    url_anvil::spawn(c).await.expect("url-anvil starts")
}

fn job(url: &str, addr: SocketAddr, load: Load, threads: usize) -> Job {
    let target = Target::parse(url).expect("url");
    Job {
        spec: RunSpec {
            addr,
            requests: vec![RequestTemplate::new("GET", &target, &[], None)],
            answers: None,
            load,
            threads,
            timeout: Duration::from_secs(2),
        },
        target_url: url.to_owned(),
        method: "GET".into(),
        profile: None,
    }
}

async fn execute(job: Job) -> RunReport {
    loadgen::execute(job, ExecOptions::default())
        .await
        .expect("runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_sends_exactly_the_requests_asked() {
    let a = anvil(|_| {}).await;
    let url = format!("{}/api/sample-urls", a.base_url());
    let load = Load::Closed {
        connections: 8,
        duration: None,
        max_requests: Some(2_000),
    };
    let r = execute(job(&url, a.addr, load, 2)).await;
    assert_eq!(r.requests.total, 2_000);
    assert_eq!(r.requests.success, 2_000);
    assert_eq!(r.status_counts.get("200"), Some(&2_000));
    assert_eq!(r.mode, "closed");
    assert!(r.latency_ms.corrected.p50 > 0.0);
    assert_eq!(
        r.latency_ms.corrected, r.latency_ms.uncorrected,
        "closed loop has no intended time"
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    a.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_the_asked_rate_within_one_percent() {
    let a = anvil(|_| {}).await;
    let url = format!("{}/healthz", a.base_url());
    let load = Load::Open {
        plan: RatePlan::constant(400.0, Duration::from_secs(3)),
        connections: 16,
        max_connections: 64,
    };
    let r = execute(job(&url, a.addr, load, 2)).await;
    assert_eq!(r.requests.total, 1_200);
    let ratio = r.rps.achieved / 400.0;
    assert!(
        (0.99..=1.01).contains(&ratio),
        "achieved {} of 400 req/s",
        r.rps.achieved
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // The timeline is by completion time: the plan's three seconds, and
    // at most a sliver after them for the answers to its last requests.
    assert!((3..=4).contains(&r.timeline.len()), "{:?}", r.timeline);
    let (plan, after) = r.timeline.split_at(3);
    assert!(
        plan.iter().all(|s| (380..=420).contains(&s.requests)),
        "{:?}",
        r.timeline
    );
    assert!(
        after
            .iter()
            .all(|s| s.target_rps == Some(0.0) && s.requests <= 8),
        "{:?}",
        r.timeline
    );
    a.stop().await.expect("stops");
}

/// The coordinated-omission test: a one-second freeze must show in the
/// corrected p99 and hide from the uncorrected one, as with wrk2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_shows_in_corrected_latency_only() {
    let a = anvil(|_| {}).await;
    let base = a.base_url();
    let url = format!("{base}/api/sample-urls");
    let load = Load::Open {
        plan: RatePlan::constant(500.0, Duration::from_secs(6)),
        connections: 8,
        max_connections: 8,
    };
    let freezer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let r = reqwest::Client::new()
            .post(format!("{base}/admin/faults"))
            .bearer_auth(TOKEN)
            .json(&FaultSpec::freeze(1))
            .send()
            .await
            .expect("freeze");
        assert_eq!(r.status(), 201);
    });
    let r = execute(job(&url, a.addr, load, 2)).await;
    freezer.await.expect("froze");
    let (c, u) = (&r.latency_ms.corrected, &r.latency_ms.uncorrected);
    assert!(c.p99 >= 500.0, "corrected p99 shows the stall: {c:?}");
    assert!(u.p99 < 100.0, "uncorrected p99 hides it: {u:?}");
    assert!(
        u.max >= 500.0,
        "the few requests caught in the freeze do show in the max: {u:?}"
    );
    assert!(r.generator.late_requests > 100, "{:?}", r.generator);
    assert!(
        !r.warnings.is_empty(),
        "the generator fell behind and says so"
    );
    a.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shed_failed_and_unreachable_are_told_apart() {
    let a = anvil(|c| {
        c.capacity = CapacityProfile::STANDARD_V1;
        c.max_concurrency = Some(1);
        c.queue_depth = Some(0);
        c.service_time_ms = Some(100);
    })
    .await;
    let target = Target::parse(&format!("{}/api/test", a.base_url())).expect("url");
    let body = format!(r#"{{"urls":["{}/corpus/1"]}}"#, a.base_url());
    let ok = RequestTemplate::new("POST", &target, &[], Some(body.as_bytes()));
    let bad = RequestTemplate::new("POST", &target, &[], Some(br#"{"urls":[]}"#));
    let mut j = job(
        &target.url,
        a.addr,
        Load::Closed {
            connections: 4,
            duration: Some(Duration::from_millis(800)),
            max_requests: None,
        },
        1,
    );
    j.spec.requests = vec![ok, bad];
    let r = execute(j).await;
    assert!(r.requests.success >= 1, "{:?}", r.requests);
    assert!(
        r.requests.shed >= 1,
        "503s from a full url-anvil are shed: {:?}",
        r.requests
    );
    assert!(
        r.requests.failure >= 1,
        "400s are failures: {:?}",
        r.requests
    );
    assert!(r.status_counts.contains_key("503") && r.status_counts.contains_key("400"));
    a.stop().await.expect("stops");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let url = format!("http://{closed}/");
    let r = execute(job(
        &url,
        closed,
        Load::Closed {
            connections: 2,
            duration: None,
            max_requests: Some(20),
        },
        1,
    ))
    .await;
    assert_eq!(r.errors.get("connect"), Some(&20));
    assert_eq!(r.error_rate_pct, 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_metrics_are_served_while_running() {
    let a = anvil(|_| {}).await;
    let url = format!("{}/api/sample-urls", a.base_url());
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let load = Load::Open {
        plan: RatePlan::constant(200.0, Duration::from_secs(2)),
        connections: 4,
        max_connections: 16,
    };
    let run = tokio::spawn(loadgen::execute(
        job(&url, a.addr, load, 1),
        ExecOptions {
            metrics_addr: Some(metrics_addr),
            metrics_wait: Duration::ZERO,
            metrics_linger: Duration::from_millis(500),
            progress: false,
            stop: Arc::new(AtomicBool::new(false)),
        },
    ));
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    for needle in [
        r#"loadgen_requests_total{status="200",outcome="success"}"#,
        r#"loadgen_request_duration_seconds_bucket{le="0.25",outcome="success"}"#,
        "loadgen_target_rps 200",
        r#"loadgen_run_info{mode="open""#,
        "loadgen_late_requests_total",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    let report = run.await.expect("joins").expect("runs");
    assert_eq!(report.requests.total, 400);
    let bucket = |le: &str| -> f64 {
        let needle =
            format!("loadgen_request_duration_seconds_bucket{{le=\"{le}\",outcome=\"success\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(needle.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1.0)
    };
    let count: f64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("loadgen_request_duration_seconds_count{outcome=\"success\"} ")
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("count");
    // Cumulative, never above the count, and +Inf equal to it.
    assert!(
        bucket("0.001") <= bucket("0.25") && bucket("0.25") <= count,
        "{text}"
    );
    assert_eq!(bucket("+Inf"), count, "{text}");
    assert!(
        bucket("0.25") >= 0.9 * count,
        "loopback requests are fast: {text}"
    );
    a.stop().await.expect("stops");
}

/// A checked challenge run against url-anvil itself, against url-anvil with
/// another corpus key, and against an app that answers without url-anvil.
fn profile_job(
    base: &str,
    addr: SocketAddr,
    corpus_base: &str,
    key: chaos_domain::corpus::CorpusKey,
) -> Job {
    let run = loadgen::profile::ProfileRun::new(
        chaos_domain::Challenge::RobustService,
        &Target::parse(base).expect("url"),
        corpus_base,
        loadgen::profile::Scale {
            duration: 3.0 / 200.0,
            rate: 0.25,
        },
        key,
    )
    .expect("plan");
    run.job(addr, 2, Some(Duration::from_secs(2)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_checked_and_only_url_anvils_counts() {
    use chaos_domain::corpus::CorpusKey;
    let a = anvil(|_| {}).await;
    let base = a.base_url();

    let right = execute(profile_job(
        &base,
        a.addr,
        &base,
        CorpusKey::from_secret(TOKEN),
    ))
    .await;
    assert!(right.requests.answers_checked);
    assert!(right.requests.total > 100, "{:?}", right.requests);
    assert_eq!(right.requests.wrong, 0, "{:?}", right.requests);
    assert_eq!(right.requests.success, right.requests.total);

    // The same url-anvil, judged with another key: every answer is wrong.
    let other = execute(profile_job(&base, a.addr, &base, CorpusKey::public())).await;
    assert_eq!(other.requests.success, 0, "{:?}", other.requests);
    assert_eq!(other.requests.wrong, other.requests.total);
    assert_eq!(other.error_rate_pct, 100.0);

    // An app that never asks url-anvil: 200 with a plausible answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let fake = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let body = r#"{"urls_tested":1,"total_fetch_time_ms":1.0,"average_fetch_time_ms":1.0,"content_hash":"759ad8360ecfcf3eb36640f6f6d04fd6eba02508cf12684dada82108c0b73ef3","timestamp":"2026-12-07T00:00:00.000Z"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let fake_base = format!("http://{fake}");
    let faked = execute(profile_job(
        &fake_base,
        fake,
        &base,
        CorpusKey::from_secret(TOKEN),
    ))
    .await;
    assert_eq!(faked.requests.success, 0, "{:?}", faked.requests);
    assert_eq!(faked.requests.wrong, faked.requests.total);
    assert_eq!(faked.status_counts.get("200"), Some(&faked.requests.total));
}
