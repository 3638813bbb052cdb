//! The cheat gallery: apps that try to win without building a better
//! system, each scored on all three boards from the same load as an honest
//! proxy in front of url-anvil, and none may score above it. Each app is a
//! small handler below; its comment names the rule that stops it.
//!
//! The load is the robust-service profile (version 2, answers checked) at
//! a tenth of its rates, so the honest proxy keeps url-anvil within its
//! capacity, squeezed to 10 s for the built-in scraper (4 samples a
//! second) and to 20 s for a real Prometheus (1 a second: a step needs a
//! few), where Prometheus is installed.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode as AxStatus;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chaos_api::scores::store as scores;
use chaos_domain::corpus::{self, CorpusKey, CorpusOf};
use chaos_domain::{CapacityProfile, Challenge};
use chaos_testkit::prometheus::Prometheus;
use loadgen::ExecOptions;
use loadgen::profile::{ProfileRun, Scale};
use loadgen::target::Target;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

const ANVIL_TOKEN: &str = "cheat-gallery-anvil-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    /// Forwards every request to url-anvil: the yardstick.
    Honest,
    /// Answers 200 with a well-formed made-up answer and never asks
    /// url-anvil. Stopped by: every answer is checked (a wrong answer is
    /// not a success), so nothing it answers counts.
    Constant,
    /// Answers with the *public* corpus's right answer for the document
    /// id asked (what an app could precompute). Stopped by: run corpora are
    /// keyed, so the public answer is wrong.
    PublicCorpus,
    /// Forwards to url-anvil and also sends url-anvil 150 requests/s of its
    /// own. Stopped by: rules v3 count only right answers to the load (v2
    /// counted url-anvil's own counter, which this pads).
    SelfTraffic,
    /// Forwards every other request and answers the rest itself. Stopped
    /// by: the made-up half is wrong, so errors pass 1 % and half the
    /// successes are gone.
    Half,
    /// Sheds everything with a fast 503. Stopped by: shedding is graceful,
    /// but serves nothing (no success: no data).
    ShedAll,
}

#[derive(Clone)]
struct AppState {
    app: App,
    anvil: String,
    http: reqwest::Client,
    count: Arc<std::sync::atomic::AtomicU64>,
}

const MADE_UP: &str = r#"{"urls_tested":1,"total_fetch_time_ms":0.1,"average_fetch_time_ms":0.1,"content_hash":"759ad8360ecfcf3eb36640f6f6d04fd6eba02508cf12684dada82108c0b73ef3","timestamp":"2026-12-07T00:00:00.000Z"}"#;

fn json_reply(status: u16, body: String) -> Response {
    (
        AxStatus::from_u16(status).unwrap_or(AxStatus::BAD_GATEWAY),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

async fn forward(s: &AppState, body: Bytes) -> Response {
    match s
        .http
        .post(format!("{}/api/test", s.anvil))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            json_reply(status, r.text().await.unwrap_or_default())
        }
        Err(_) => json_reply(502, r#"{"error":"upstream"}"#.into()),
    }
}

async fn handle(State(s): State<AppState>, body: Bytes) -> Response {
    let n = s.count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match s.app {
        App::Honest | App::SelfTraffic => forward(&s, body).await,
        App::Half if n % 2 == 0 => forward(&s, body).await,
        App::Constant | App::Half => json_reply(200, MADE_UP.into()),
        App::PublicCorpus => {
            let text = String::from_utf8_lossy(&body);
            let id = text
                .split("/corpus/")
                .nth(1)
                .and_then(|rest| rest.split(['?', '"']).next())
                .and_then(|id| id.parse::<u32>().ok())
                .unwrap_or(1);
            let doc = corpus::document(id.clamp(1, 100), CorpusOf::Public).unwrap_or_default();
            let hash = corpus::content_hash(&[doc]);
            json_reply(
                200,
                MADE_UP.replace(
                    &corpus::content_hash(&[
                        corpus::document(1, CorpusOf::Public).unwrap_or_default()
                    ]),
                    &hash,
                ),
            )
        }
        App::ShedAll => json_reply(503, r#"{"error":"shedding"}"#.into()),
    }
}

/// Starts the app; for `SelfTraffic`, also its own traffic to url-anvil.
async fn start_app(app: App, anvil: &str) -> (SocketAddr, tokio_util::sync::CancellationToken) {
    let state = AppState {
        app,
        anvil: anvil.to_owned(),
        http: reqwest::Client::new(),
        count: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = tokio_util::sync::CancellationToken::new();
    let router = Router::new()
        .route("/api/test", post(handle))
        .with_state(state.clone());
    tokio::spawn({
        let stop = stop.clone();
        async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        }
    });
    if app == App::SelfTraffic {
        let stop = stop.clone();
        let s = state.clone();
        tokio::spawn(async move {
            let body = format!(r#"{{"urls":["{}/corpus/7"]}}"#, s.anvil);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while !stop.is_cancelled() {
                tick.tick().await;
                // Three requests every 20 ms: 150 requests/s.
                for _ in 0..3 {
                    let s = s.clone();
                    let body = body.clone();
                    tokio::spawn(async move {
                        let _ = forward(&s, Bytes::from(body)).await;
                    });
                }
            }
        });
    }
    (addr, stop)
}

struct Scores {
    by_challenge: Vec<(Challenge, Value)>,
}

impl Scores {
    fn score(&self, c: Challenge) -> Option<f64> {
        self.by_challenge
            .iter()
            .find(|(x, _)| *x == c)
            .and_then(|(_, v)| v["score"]["score"].as_f64())
    }
}

/// One squeezed, checked robust-service load against `app`, its window
/// registered once per challenge (scored by `source`).
async fn play(
    c: &Client,
    anvil: &url_anvil::RunningAnvil,
    app: App,
    source: &str,
    metrics: SocketAddr,
    duration_scale: f64,
) -> Scores {
    let prefix = source;
    let load_ms = (200_000.0 * duration_scale) as u64;
    let (addr, stop) = start_app(app, &anvil.base_url()).await;
    let base = format!("http://{addr}");
    let mut ids = Vec::new();
    for challenge in Challenge::ALL {
        let id = format!("{prefix}-{app:?}-{challenge}").to_lowercase();
        let r = c
            .admin_post(
                "/api/v1/runs",
                json!({"id": id, "contributor": "mallory", "challenge": challenge.as_str(),
                       "target": base, "source": source, "duration_scale": duration_scale, "rate_scale": 0.1,
                       "loadgen_metrics_url": format!("http://{metrics}/metrics"),
                       "anvil_metrics_url": format!("{}/metrics", anvil.base_url()),
                       "loadgen_selector": {"job": "loadgen"}, "anvil_selector": {"job": "url-anvil"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        c.admin_post(&format!("/api/v1/runs/{id}/start"), json!({}))
            .await;
        ids.push((challenge, id));
    }
    let run = ProfileRun::new(
        Challenge::RobustService,
        &Target::parse(&base).expect("url"),
        &anvil.base_url(),
        Scale {
            duration: duration_scale,
            rate: 0.1,
        },
        CorpusKey::from_secret(ANVIL_TOKEN),
    )
    .expect("plan");
    let job = run.job(addr, 1, Some(Duration::from_secs(2)));
    let opts = ExecOptions {
        metrics_addr: Some(metrics),
        metrics_wait: Duration::from_secs(2),
        metrics_linger: Duration::from_secs(3),
        progress: false,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let loading = tokio::spawn(loadgen::execute(job, opts));
    // The window closes while loadgen still serves flat counters.
    tokio::time::sleep(Duration::from_millis(2_000 + load_ms + 1_500)).await;
    for (_, id) in &ids {
        c.admin_post(&format!("/api/v1/runs/{id}/end"), json!({}))
            .await;
        c.admin_post(&format!("/api/v1/runs/{id}/score"), json!({}))
            .await;
    }
    let report = loading.await.expect("joined").expect("load ran");
    stop.cancel();
    let mut by_challenge = Vec::new();
    for (challenge, id) in ids {
        let run = c
            .wait_for_run(
                &id,
                &["scored", "no_data", "failed"],
                Duration::from_secs(60),
            )
            .await;
        by_challenge.push((challenge, run));
    }
    eprintln!(
        "{app:?} ({source}): success {} wrong {} shed {} of {}; scores {:?}",
        report.requests.success,
        report.requests.wrong,
        report.requests.shed,
        report.requests.total,
        by_challenge
            .iter()
            .map(|(c, v)| (c.as_str(), v["score"]["score"].clone()))
            .collect::<Vec<_>>()
    );
    Scores { by_challenge }
}

/// The two tests load one machine: they take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn gallery(
    source: &str,
    prom: Option<&Prometheus>,
    metrics: SocketAddr,
    anvil: &url_anvil::RunningAnvil,
    duration_scale: f64,
    cheats: &[App],
) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut cfg = config(&sqlite_db());
    if let Some(p) = prom {
        cfg.prometheus_url = Some(p.url.clone());
        cfg.scoring_settle = Duration::from_secs(3);
    }
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    c.register("mallory").await;
    let honest = play(&c, anvil, App::Honest, source, metrics, duration_scale).await;
    let page = c
        .get(&format!("/runs/{source}-honest-graceful-degradation"))
        .await
        .text;
    assert!(page.contains(" right, 0 wrong."), "{page}");
    for challenge in Challenge::ALL {
        assert!(
            honest.score(challenge).is_some_and(|v| v > 0.0),
            "the honest proxy scores on {challenge}: {:?}",
            honest.by_challenge
        );
    }
    // The run-to-run spread allowed between two runs of the same app.
    const SPREAD: f64 = 1.05;
    for &app in cheats {
        let cheat = play(&c, anvil, app, source, metrics, duration_scale).await;
        for challenge in Challenge::ALL {
            let (h, x) = (honest.score(challenge), cheat.score(challenge));
            assert!(
                x.unwrap_or(0.0) <= h.unwrap_or(0.0) * SPREAD,
                "{app:?} beat the honest proxy on {challenge} ({source}): {x:?} > {h:?}"
            );
        }
        if app == App::Half {
            // The run page says how many answers were wrong.
            let id = format!("{source}-half-graceful-degradation");
            let page = c.get(&format!("/runs/{id}")).await.text;
            let answers = page
                .split("id=\"answers\">")
                .nth(1)
                .and_then(|rest| rest.split("</p>").next())
                .unwrap_or_else(|| panic!("no answers line on the run page:\n{page}"));
            assert!(
                answers.contains("wrong") && !answers.contains(" 0 wrong"),
                "{answers}"
            );
        }
        if app == App::SelfTraffic && source == "builtin" {
            // The same samples under rules v2 pay for the padding: the test
            // would catch a return to url-anvil's own counter.
            let id = format!("{source}-selftraffic-graceful-degradation");
            let r = c
                .admin_post(
                    &format!("/api/v1/runs/{id}/score"),
                    json!({"rules_version": 2}),
                )
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            let padded = loop {
                let records = scores::records_for_run(&s.state.db, &id)
                    .await
                    .expect("records");
                if let Some(v2) = records.iter().find(|r| r.rules_version == 2) {
                    break v2.score.unwrap_or(0.0);
                }
                assert!(std::time::Instant::now() < deadline, "no v2 record");
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            let v3 = cheat.score(Challenge::GracefulDegradation).unwrap_or(0.0);
            assert!(
                padded > v3 * 1.2,
                "v2 counted the app's own traffic ({padded} vs v3 {v3})"
            );
        }
    }
    s.stop().await;
}

async fn keyed_anvil() -> url_anvil::RunningAnvil {
    let mut c = url_anvil::Config::defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.capacity = CapacityProfile::STANDARD_V1;
    c.admin_token = Some(ANVIL_TOKEN.into());
    url_anvil::spawn(c).await.expect("url-anvil starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cheat_beats_an_honest_proxy_scored_by_the_builtin_scraper() {
    let anvil = keyed_anvil().await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let every = [
        App::Constant,
        App::PublicCorpus,
        App::SelfTraffic,
        App::Half,
        App::ShedAll,
    ];
    gallery("builtin", None, metrics, &anvil, 0.05, &every).await;
    anvil.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cheat_beats_an_honest_proxy_scored_from_prometheus() {
    let anvil = keyed_anvil().await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let Some(prom) = Prometheus::start(&[("loadgen", metrics), ("url-anvil", anvil.addr)]) else {
        skip("prometheus (Debian's prometheus package)");
        return;
    };
    prom.wait_scraping().await;
    // The two cheats measured on the playground, and the almost-right one.
    let measured = [App::Constant, App::SelfTraffic, App::Half];
    gallery("prometheus", Some(&prom), metrics, &anvil, 0.1, &measured).await;
    anvil.stop().await.expect("stops");
}
