//! The Grafana dashboards: valid JSON with unique panel ids, and every
//! PromQL expression they use run against a real Prometheus (Debian's)
//! scraping a real url-anvil, loadgen and chaos-api started here. Each
//! query must succeed, each metric it names must exist in what those
//! services expose, and the url-anvil and load panels must show data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chaos_testkit::prometheus::Prometheus;
use chaos_testkit::{free_port, skip, temp_dir};
use loadgen::schedule::RatePlan;
use loadgen::target::{RequestTemplate, Target};
use loadgen::{ExecOptions, Job, Load, RunSpec};
use serde_json::Value;

const ADMIN: &str = "dashboards-test-admin-token";

/// A contributor with a scored run per challenge, so the score series exist.
async fn score_one_run(api: &chaos_api::Running) {
    let http = reqwest::Client::new();
    let post = |path: String, body: serde_json::Value| {
        let http = http.clone();
        async move {
            let r = http
                .post(path.clone())
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert!(r.status().is_success(), "{path}: {}", r.status());
        }
    };
    post(
        format!("{}/api/v1/contributors", api.base_url()),
        serde_json::json!({"name": "ada"}),
    )
    .await;
    for challenge in chaos_domain::Challenge::ALL {
        let id = format!("r-{challenge}");
        post(
            format!("{}/api/v1/runs", api.base_url()),
            serde_json::json!({"id": id, "contributor": "ada", "challenge": challenge.as_str(),
                               "target": "http://app", "source": "builtin",
                               "loadgen_metrics_url": "http://127.0.0.1:9/metrics",
                               "anvil_metrics_url": "http://127.0.0.1:9/metrics"}),
        )
        .await;
        let run = chaos_api::runs::store::get(&api.state.db, &id)
            .await
            .expect("db")
            .expect("run");
        chaos_api::scores::store::record(
            &api.state.db,
            &chaos_api::scores::store::NewRecord {
                run_id: &id,
                contributor_id: &run.contributor_id,
                challenge,
                rules: chaos_domain::scoring::Rules::CURRENT,
                outcome: &chaos_domain::scoring::Outcome::Scored(
                    chaos_domain::scoring::Statistics {
                        stat1: Some(480.0),
                        stat2: Some(48.75),
                        stat3: Some(1.5),
                        score: 480.0,
                    },
                ),
                practice_reasons: &[],
                run_end_ms: chaos_api::db::now_ms(),
                evidence: &serde_json::json!({}),
            },
        )
        .await
        .expect("recorded");
    }
}

const DASHBOARDS: [&str; 3] = ["url-anvil.json", "loadgen.json", "scores.json"];

fn dashboard(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/sre-chaos/dashboards")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("valid JSON")
}

/// `(panel title, expression)` for every target.
fn expressions(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                p["title"].as_str().unwrap_or_default().to_owned(),
                t["expr"].as_str().expect("expr").to_owned(),
            ));
        }
    }
    out
}

/// Grafana's variables as the query would see them with "All" selected.
fn substituted(expr: &str) -> String {
    expr.replace("$__rate_interval", "30s")
        .replace("$contributor", ".*")
        .replace("$run_id", ".*")
}

fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic()
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'$'))
        {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &expr[start..i];
            if ["anvil_", "loadgen_", "chaos_", "process_"]
                .iter()
                .any(|p| word.starts_with(p))
            {
                names.push(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn dashboards_are_well_formed() {
    for name in DASHBOARDS {
        let d = dashboard(name);
        assert!(
            d["uid"]
                .as_str()
                .is_some_and(|u| u.starts_with("sre-chaos-")),
            "{name}"
        );
        let ids: Vec<i64> = d["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .map(|p| p["id"].as_i64().expect("id"))
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(ids.len(), unique.len(), "{name}: duplicate panel ids");
        for p in d["panels"].as_array().expect("panels") {
            assert_eq!(
                p["datasource"]["uid"], "prometheus",
                "{name}: {}",
                p["title"]
            );
        }
        assert!(!expressions(&d).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_against_real_metrics() {
    // The three services, with some traffic.
    let mut anvil_config = url_anvil::Config::defaults();
    anvil_config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let anvil = url_anvil::spawn(anvil_config).await.expect("url-anvil");
    let dir = temp_dir("dashboards");
    let mut api_config = chaos_api::Config::defaults();
    api_config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    api_config.database = dir.join("chaos.db").display().to_string();
    let listener = tokio::net::TcpListener::bind(api_config.listen)
        .await
        .expect("bind");
    api_config.admin_token = Some(ADMIN.into());
    let api = chaos_api::start(&api_config, listener)
        .await
        .expect("chaos-api");
    score_one_run(&api).await;
    let loadgen_metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let target = Target::parse(&format!("{}/api/test", anvil.base_url())).expect("url");
    let body = serde_json::json!({"urls": [format!("{}/corpus/1", anvil.base_url())]}).to_string();
    let job = Job {
        spec: RunSpec {
            addr: anvil.addr,
            requests: vec![RequestTemplate::new(
                "POST",
                &target,
                &[],
                Some(body.as_bytes()),
            )],
            answers: None,
            load: Load::Open {
                plan: RatePlan::parse("14s:50").expect("stages"),
                connections: 4,
                max_connections: 16,
            },
            threads: 1,
            timeout: Duration::from_secs(2),
        },
        target_url: target.url.clone(),
        method: "POST".into(),
        profile: None,
    };
    let load = tokio::spawn(loadgen::execute(
        job,
        ExecOptions {
            metrics_addr: Some(loadgen_metrics),
            metrics_wait: Duration::from_secs(1),
            metrics_linger: Duration::from_secs(20),
            progress: false,
            stop: Arc::new(AtomicBool::new(false)),
        },
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Some(prom) = Prometheus::start(&[
        ("url-anvil", anvil.addr),
        ("loadgen", loadgen_metrics),
        ("chaos-api", api.addr),
    ]) else {
        skip("prometheus (Debian's prometheus package)");
        return;
    };
    prom.wait_scraping().await;
    // Enough samples for 30 s rates over a 1 s scrape.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let http = reqwest::Client::new();
    let mut exposed = String::new();
    for url in [
        format!("{}/metrics", anvil.base_url()),
        format!("http://{loadgen_metrics}/metrics"),
        format!("{}/metrics", api.base_url()),
    ] {
        exposed.push_str(
            &http
                .get(&url)
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("text"),
        );
    }
    // A series may exist only once something happened (errors, scores, faults).
    let may_be_empty = ["loadgen_errors_total", "anvil_fault_active"];
    let mut checked = 0;
    for name in DASHBOARDS {
        for (title, expr) in expressions(&dashboard(name)) {
            for metric in metric_names(&expr) {
                assert!(
                    exposed.contains(&metric),
                    "{name} / {title}: no metric {metric} is exposed"
                );
            }
            let q = substituted(&expr);
            let r: Value = http
                .post(format!("{}/api/v1/query", prom.url))
                .form(&[("query", q.as_str())])
                .send()
                .await
                .expect("query")
                .json()
                .await
                .expect("json");
            assert_eq!(r["status"], "success", "{name} / {title}: {q}\n{r}");
            let empty = r["data"]["result"].as_array().is_none_or(|a| a.is_empty());
            let optional = may_be_empty.iter().any(|m| expr.contains(m));
            assert!(!empty || optional, "{name} / {title}: no data for {q}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} queries");
    load.abort();
    api.stop().await;
    anvil.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(dir);
}
