//! Scoring real runs: url-anvil and loadgen in this process, scored by
//! the built-in scraper and by a real Prometheus (Debian's `prometheus`,
//! started here on loopback), and the two compared.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chaos_domain::CapacityProfile;
use chaos_testkit::prometheus::Prometheus;
use loadgen::schedule::RatePlan;
use loadgen::target::{RequestTemplate, Target};
use loadgen::{ExecOptions, Job, Load, RunSpec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

async fn anvil() -> url_anvil::RunningAnvil {
    let mut c = url_anvil::Config::defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.capacity = CapacityProfile::STANDARD_V1;
    url_anvil::spawn(c).await.expect("url-anvil starts")
}

/// Steps of 100 and 300 req/s of `step` each against url-anvil's
/// `/api/test`, with live metrics served `wait` before and `linger` after.
async fn load(
    anvil_base: String,
    anvil_addr: SocketAddr,
    metrics: SocketAddr,
    step: Duration,
    wait: Duration,
    linger: Duration,
) -> loadgen::RunReport {
    let target = Target::parse(&format!("{anvil_base}/api/test")).expect("url");
    let body = json!({"urls": [format!("{anvil_base}/corpus/1")]}).to_string();
    let plan = RatePlan::parse(&format!(
        "{}ms:100,{}ms:300",
        step.as_millis(),
        step.as_millis()
    ))
    .expect("stages");
    let job = Job {
        spec: RunSpec {
            addr: anvil_addr,
            requests: vec![RequestTemplate::new(
                "POST",
                &target,
                &[],
                Some(body.as_bytes()),
            )],
            answers: None,
            load: Load::Open {
                plan,
                connections: 16,
                max_connections: 64,
            },
            threads: 1,
            timeout: Duration::from_secs(2),
        },
        target_url: target.url.clone(),
        method: "POST".into(),
        profile: None,
    };
    let opts = ExecOptions {
        metrics_addr: Some(metrics),
        metrics_wait: wait,
        metrics_linger: linger,
        progress: false,
        stop: Arc::new(AtomicBool::new(false)),
    };
    loadgen::execute(job, opts).await.expect("load runs")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_scraper_scores_a_real_run() {
    let anvil = anvil().await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // A long cache: the scored run must still show at once, because
    // recording a score invalidates the cached pages.
    let mut cfg = config(&sqlite_db());
    cfg.leaderboard_cache = Duration::from_secs(60);
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    assert_eq!(
        c.get("/api/v1/leaderboard/robust-service").await.body["total"],
        0
    );
    for (id, challenge) in [
        ("rs", "robust-service"),
        ("gd", "graceful-degradation"),
        ("lu", "longest-upkeep"),
    ] {
        let r = c
            .admin_post(
                "/api/v1/runs",
                json!({"id": id, "contributor": "ada", "challenge": challenge, "target": anvil.base_url(), "source": "builtin",
                       "loadgen_metrics_url": format!("http://{metrics}/metrics"),
                       "anvil_metrics_url": format!("{}/metrics", anvil.base_url())}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        c.admin_post(&format!("/api/v1/runs/{id}/start"), json!({}))
            .await;
    }
    let report = load(
        anvil.base_url(),
        anvil.addr,
        metrics,
        Duration::from_secs(3),
        Duration::from_secs(1),
        Duration::from_millis(1_500),
    )
    .await;
    for id in ["rs", "gd", "lu"] {
        c.admin_post(&format!("/api/v1/runs/{id}/end"), json!({}))
            .await;
        assert_eq!(
            c.admin_post(&format!("/api/v1/runs/{id}/score"), json!({}))
                .await
                .status,
            StatusCode::ACCEPTED
        );
    }
    let rs = c
        .wait_for_run(
            "rs",
            &["scored", "no_data", "failed"],
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(rs["state"], "scored", "{rs}");
    let score = &rs["score"];
    // The 300 req/s step is well inside url-anvil's capacity: it meets the SLO.
    assert!((270.0..=330.0).contains(&f(&score["stat1"])), "{score}");
    assert!(f(&score["stat2"]) < 250.0, "{score}");
    assert_eq!(f(&score["stat3"]), 0.0, "{score}");
    assert_eq!(score["evidence"]["source"], "builtin");
    assert!(
        score["evidence"]["samples"]["load"]
            .as_array()
            .expect("samples")
            .len()
            >= 10
    );

    let gd = c
        .wait_for_run(
            "gd",
            &["scored", "no_data", "failed"],
            Duration::from_secs(10),
        )
        .await;
    let served = f(&gd["score"]["stat1"]);
    assert!(
        (served - report.requests.success as f64).abs() <= 2.0,
        "served {served} vs loadgen {}",
        report.requests.success
    );
    assert_eq!(f(&gd["score"]["stat2"]), 100.0, "{}", gd["score"]);
    assert_eq!(f(&gd["score"]["stat3"]), 0.0);

    let lu = c
        .wait_for_run(
            "lu",
            &["scored", "no_data", "failed"],
            Duration::from_secs(10),
        )
        .await;
    assert!(f(&lu["score"]["stat1"]) >= 5.0, "{}", lu["score"]);
    assert_eq!(f(&lu["score"]["stat2"]), 0.0);

    // A few seconds of a 200 s profile: measured and scored, but practice.
    assert_eq!(rs["score"]["official"], false, "{}", rs["score"]);
    let reasons = rs["score"]["practice_reasons"].to_string();
    assert!(reasons.contains("window lasted"), "{reasons}");
    let board = c.get("/api/v1/leaderboard/robust-service").await;
    assert_eq!(board.body["total"], 0, "{}", board.text);
    let page = c.get("/leaderboard/robust-service").await;
    assert!(
        page.text.contains("id=\"practice\"") && page.text.contains("/runs/rs"),
        "{}",
        page.text
    );
    s.stop().await;
    anvil.stop().await.expect("stops");
}

/// Tolerance: counters over the whole window must agree exactly (both
/// edges are flat). Step edges can move by up to one scrape interval
/// between the sources (the scraper samples when it scrapes, Prometheus
/// on its step grid), so the robust-service rate may differ by 10 %.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_the_builtin_scraper_agree() {
    let anvil = anvil().await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let Some(prom) = Prometheus::start(&[("loadgen", metrics), ("url-anvil", anvil.addr)]) else {
        skip("prometheus (Debian's prometheus package)");
        return;
    };
    prom.wait_scraping().await;
    let mut cfg = config(&sqlite_db());
    cfg.prometheus_url = Some(prom.url.clone());
    cfg.scoring_settle = Duration::from_secs(3);
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    let mut ids = Vec::new();
    for challenge in ["robust-service", "graceful-degradation"] {
        for source in ["builtin", "prometheus"] {
            let id = format!("{challenge}-{source}");
            let r = c
                .admin_post(
                    "/api/v1/runs",
                    json!({"id": id, "contributor": "ada", "challenge": challenge, "target": anvil.base_url(), "source": source,
                           "loadgen_metrics_url": format!("http://{metrics}/metrics"),
                           "anvil_metrics_url": format!("{}/metrics", anvil.base_url()),
                           "loadgen_selector": {"job": "loadgen"}, "anvil_selector": {"job": "url-anvil"}}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            ids.push(id);
        }
    }
    // The window opens before the load (loadgen first serves zeroed
    // counters for 2 s) and closes after it (counters flat again), so
    // neither source's sampling instants change what it counts.
    for id in &ids {
        c.admin_post(&format!("/api/v1/runs/{id}/start"), json!({}))
            .await;
    }
    let loading = tokio::spawn(load(
        anvil.base_url(),
        anvil.addr,
        metrics,
        Duration::from_secs(5),
        Duration::from_secs(2),
        Duration::from_secs(5),
    ));
    // 2 s wait + 10 s of load + 2.5 s of flat counters (loadgen lingers 5 s).
    tokio::time::sleep(Duration::from_millis(14_500)).await;
    for id in &ids {
        c.admin_post(&format!("/api/v1/runs/{id}/end"), json!({}))
            .await;
        c.admin_post(&format!("/api/v1/runs/{id}/score"), json!({}))
            .await;
    }
    loading.await.expect("load ran");
    let mut scores = std::collections::HashMap::new();
    for id in &ids {
        let run = c
            .wait_for_run(
                id,
                &["scored", "no_data", "failed"],
                Duration::from_secs(30),
            )
            .await;
        assert_eq!(run["state"], "scored", "{id}: {run}");
        scores.insert(id.clone(), run["score"].clone());
    }
    let (b, p) = (
        &scores["robust-service-builtin"],
        &scores["robust-service-prometheus"],
    );
    assert!(
        (f(&b["stat1"]) - f(&p["stat1"])).abs() <= 0.1 * f(&b["stat1"]).max(f(&p["stat1"])),
        "builtin {} {} {}, prometheus {} {} {}",
        b["stat1"],
        b["stat2"],
        b["stat3"],
        p["stat1"],
        p["stat2"],
        p["stat3"]
    );
    assert_eq!((f(&b["stat3"]), f(&p["stat3"])), (0.0, 0.0));
    assert!(
        p["evidence"]["detail"]["queries"]["responses"]
            .as_str()
            .expect("promql")
            .contains(r#"job="loadgen""#)
    );
    let (b, p) = (
        &scores["graceful-degradation-builtin"],
        &scores["graceful-degradation-prometheus"],
    );
    let (sb, sp) = (f(&b["stat1"]), f(&p["stat1"]));
    assert_eq!(
        sb, sp,
        "served: builtin {sb}, prometheus {sp}\n{}",
        p["evidence"]["samples"]["anvil"]
    );
    assert_eq!((f(&b["stat2"]), f(&p["stat2"])), (100.0, 100.0));
    s.stop().await;
    anvil.stop().await.expect("stops");
}
