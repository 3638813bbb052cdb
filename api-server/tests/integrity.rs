//! Competition integrity: official and practice runs, scores as records,
//! runs that are abandoned or left open, samples that survive a restart,
//! corrupt data said out loud. Each scenario on SQLite and PostgreSQL.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use chaos_api::leaderboard::store as board;
use chaos_api::scores::store::{self as scores, NewRecord};
use chaos_domain::Challenge;
use chaos_domain::scoring::{Outcome, Rules, Statistics};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

scenarios!(
    scores_are_records,
    interrupted_runs_never_score,
    overdue_runs_are_closed_by_the_server,
    samples_survive_a_restart_and_squeezed_runs_are_practice,
    corrupt_data_fails_loudly,
    damaged_records_are_said_on_their_pages,
    rules_versions_are_kept_apart,
);

fn run_body(id: &str, who: &str, metrics: &str) -> Value {
    json!({"id": id, "contributor": who, "challenge": "robust-service", "target": "http://app",
           "source": "builtin", "loadgen_metrics_url": format!("{metrics}/loadgen"),
           "anvil_metrics_url": format!("{metrics}/anvil")})
}

fn stats(score: f64, p95: f64) -> Outcome {
    Outcome::Scored(Statistics {
        stat1: Some(score),
        stat2: Some(p95),
        stat3: Some(0.1),
        score,
    })
}

async fn record(
    s: &chaos_api::Running,
    run: &str,
    outcome: Outcome,
    practice: &[String],
    run_end_ms: i64,
) {
    record_under(s, Rules::CURRENT, run, outcome, practice, run_end_ms).await;
}

async fn record_under(
    s: &chaos_api::Running,
    rules: Rules,
    run: &str,
    outcome: Outcome,
    practice: &[String],
    run_end_ms: i64,
) {
    let stored = chaos_api::runs::store::get(&s.state.db, run)
        .await
        .expect("db")
        .expect("run");
    scores::record(
        &s.state.db,
        &NewRecord {
            run_id: run,
            contributor_id: &stored.contributor_id,
            challenge: Challenge::RobustService,
            rules,
            outcome: &outcome,
            practice_reasons: practice,
            run_end_ms,
            evidence: &json!({}),
        },
    )
    .await
    .expect("recorded");
    s.state.cache.invalidate();
}

async fn board(c: &Client) -> Vec<(String, f64)> {
    let b = c.get("/api/v1/leaderboard/robust-service").await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    b.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["contributor"].as_str().expect("name").to_owned(),
                e["score"]
                    .as_f64()
                    .expect("a ranked entry always has a score"),
            )
        })
        .collect()
}

async fn scores_are_records(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    c.register("bob").await;
    let dead = "http://127.0.0.1:9";
    for (id, who) in [("a1", "ada"), ("b1", "bob"), ("b2", "bob")] {
        let r = c.admin_post("/api/v1/runs", run_body(id, who, dead)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        c.admin_post(&format!("/api/v1/runs/{id}/start"), json!({}))
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        c.admin_post(&format!("/api/v1/runs/{id}/end"), json!({}))
            .await;
    }
    let t = chaos_api::db::now_ms() - 60_000;
    record(&s, "a1", stats(500.0, 100.0), &[], t + 2_000).await;
    record(&s, "b1", stats(500.0, 100.0), &[], t + 1_000).await;
    // Equal keys: the earlier run end ranks first, whenever it was scored.
    let ranked = board(&c).await;
    assert_eq!(
        ranked,
        [("bob".to_owned(), 500.0), ("ada".to_owned(), 500.0)]
    );
    let entry = &c.get("/api/v1/leaderboard/robust-service").await.body["entries"][0];
    assert_eq!(
        entry["run_end"].as_str().map(|s| s.len()),
        Some(24),
        "{entry}"
    );

    // A practice record never ranks, however good.
    record(
        &s,
        "b2",
        stats(9_000.0, 10.0),
        &["its rates were scaled ×4".into()],
        t + 3_000,
    )
    .await;
    assert_eq!(board(&c).await[0], ("bob".to_owned(), 500.0));
    let practice = board::practice(&s.state.db, Challenge::RobustService, 10)
        .await
        .expect("practice");
    assert_eq!(practice.len(), 1);
    assert_eq!(practice[0].0, "bob");
    assert_eq!(practice[0].1.practice_reasons, ["its rates were scaled ×4"]);
    let b2 = c.get("/api/v1/runs/b2").await.body;
    assert_eq!(b2["score"]["official"], false);
    let page = reqwest::get(format!("{}/leaderboard/robust-service", s.base_url()))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("id=\"practice\"") && page.contains("scaled ×4"),
        "{page}"
    );
    let run_page = reqwest::get(format!("{}/runs/b2", s.base_url()))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(run_page.contains("badge practice"), "{run_page}");

    // Scoring again adds a record: lower lowers the entry, no data removes it.
    let first = scores::for_run(&s.state.db, "a1")
        .await
        .expect("db")
        .expect("score");
    record(&s, "a1", stats(300.0, 90.0), &[], t + 2_000).await;
    assert_eq!(
        board(&c).await,
        [("bob".to_owned(), 500.0), ("ada".to_owned(), 300.0)]
    );
    record(
        &s,
        "a1",
        Outcome::NoData { reason: "x".into() },
        &["it has no score".into()],
        t + 2_000,
    )
    .await;
    assert_eq!(board(&c).await, [("bob".to_owned(), 500.0)]);
    let records = scores::records_for_run(&s.state.db, "a1")
        .await
        .expect("records");
    assert_eq!(records.len(), 3, "every scoring is kept");
    let oldest = records.last().expect("first record");
    assert_eq!(
        (oldest.id.as_str(), oldest.scored_at.as_str(), oldest.score),
        (first.id.as_str(), first.scored_at.as_str(), Some(500.0)),
        "the first record is untouched"
    );
    // Through the API too: re-scoring a scored run queues it; the worker
    // finds no samples and adds a no-data record, which takes bob off.
    let again = c.admin_post("/api/v1/runs/b1/score", json!({})).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    c.wait_for_run("b1", &["no_data"], Duration::from_secs(10))
        .await;
    assert!(board(&c).await.is_empty());
    let page = c.get("/leaderboard/robust-service").await.text;
    assert!(page.contains("id=\"no-official\""), "{page}");
    s.stop().await;
}

async fn interrupted_runs_never_score(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    let dead = "http://127.0.0.1:9";
    c.admin_post("/api/v1/runs", run_body("i1", "ada", dead))
        .await;
    c.admin_post("/api/v1/runs/i1/start", json!({})).await;
    let open = c.get("/leaderboard/robust-service").await;
    assert!(open.text.contains("1 run in progress"), "{}", open.text);
    let r = c
        .admin_post(
            "/api/v1/runs/i1/interrupt",
            json!({"reason": "Ctrl-C at 12 s"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "interrupted");
    assert_eq!(r.body["last_error"], "Ctrl-C at 12 s");
    assert_eq!(
        c.admin_post("/api/v1/runs/i1/interrupt", json!({}))
            .await
            .status,
        StatusCode::OK,
        "interrupting twice is harmless"
    );
    let score = c.admin_post("/api/v1/runs/i1/score", json!({})).await;
    assert_eq!(score.status, StatusCode::CONFLICT, "{}", score.text);
    let end = c.admin_post("/api/v1/runs/i1/end", json!({})).await;
    assert_eq!(end.status, StatusCode::CONFLICT, "{}", end.text);
    let page = c.get("/runs/i1").await;
    assert!(page.text.contains("badge interrupted"), "{}", page.text);
    // Only open runs can be interrupted.
    c.admin_post("/api/v1/runs", run_body("i2", "ada", dead))
        .await;
    c.admin_post("/api/v1/runs/i2/start", json!({})).await;
    c.admin_post("/api/v1/runs/i2/end", json!({})).await;
    let late = c.admin_post("/api/v1/runs/i2/interrupt", json!({})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    for bad in [json!({"reason": ""}), json!({"reason": null}), json!(["x"])] {
        let r = c.admin_post("/api/v1/runs/i1/interrupt", bad.clone()).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.text);
        assert!(!r.error().is_empty());
    }
    let public = c
        .call(Method::POST, "/api/v1/runs/i2/interrupt", None, None)
        .await;
    assert_eq!(public.status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

async fn overdue_runs_are_closed_by_the_server(db: String) {
    let cfg = config(&db);
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    let dead = "http://127.0.0.1:9";
    // Started 23 hours ago and never ended: a client killed mid-run.
    let long_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(23))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for id in ["o1", "o2", "fresh"] {
        c.admin_post("/api/v1/runs", run_body(id, "ada", dead))
            .await;
    }
    c.admin_post("/api/v1/runs/o1/start", json!({ "at": long_ago }))
        .await;
    c.admin_post("/api/v1/runs/fresh/start", json!({})).await;
    // Registered 20 minutes ago and never started.
    sqlx::query("UPDATE runs SET created_at = created_at - 1200000 WHERE id = 'o2'")
        .execute(&s.state.db)
        .await
        .expect("backdate");
    s.stop().await;

    // The restarted server closes them before anything else.
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    let o1 = c.get("/api/v1/runs/o1").await.body;
    assert_eq!(o1["state"], "interrupted", "{o1}");
    assert!(
        o1["last_error"]
            .as_str()
            .expect("reason")
            .contains("its profile takes 200 s"),
        "{o1}"
    );
    let o2 = c.get("/api/v1/runs/o2").await.body;
    assert_eq!(o2["state"], "interrupted", "{o2}");
    assert!(
        o2["last_error"]
            .as_str()
            .expect("reason")
            .contains("never started"),
        "{o2}"
    );
    assert_eq!(
        c.get("/api/v1/runs/fresh").await.body["state"],
        "running",
        "a run within its time is left alone"
    );
    assert_eq!(s.state.scoring.sweep().await.expect("sweep"), 0);
    s.stop().await;
}

/// A stand-in for a run's loadgen and url-anvil `/metrics`: counters that
/// grow at every scrape; loadgen asks 192 req/s.
async fn metrics_server() -> (String, tokio::task::JoinHandle<()>) {
    let n = Arc::new(AtomicU64::new(0));
    let loadgen = {
        let n = n.clone();
        move || {
            let v = n.fetch_add(10, Ordering::Relaxed) + 10;
            async move {
                format!(
                    "loadgen_target_rps 192\nloadgen_requests_total{{outcome=\"success\"}} {v}\n\
                     loadgen_request_duration_seconds_bucket{{outcome=\"success\",le=\"0.1\"}} {v}\n\
                     loadgen_request_duration_seconds_bucket{{outcome=\"success\",le=\"1\"}} {v}\n\
                     loadgen_request_duration_seconds_bucket{{outcome=\"success\",le=\"+Inf\"}} {v}\n"
                )
            }
        }
    };
    let anvil = move || {
        let v = n.load(Ordering::Relaxed);
        async move {
            format!(
                "anvil_http_requests_total{{method=\"POST\",route=\"/api/test\",status=\"200\"}} {v}\n"
            )
        }
    };
    let app = Router::new()
        .route("/loadgen", get(loadgen))
        .route("/anvil", get(anvil));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

async fn samples_survive_a_restart_and_squeezed_runs_are_practice(db: String) {
    let (metrics, task) = metrics_server().await;
    let cfg = config(&db);
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    let mut body = run_body("s1", "ada", &metrics);
    body["duration_scale"] = json!(0.1);
    let r = c.admin_post("/api/v1/runs", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["duration_scale"], 0.1);
    c.admin_post("/api/v1/runs/s1/start", json!({})).await;
    // Samples are stored while the run goes on, not only at its end.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let before = chaos_api::runs::store::load_samples(&s.state.db, "s1")
        .await
        .expect("db");
    assert!(!before.is_empty(), "no samples stored during the run");
    let stored_before: usize = before
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).expect("json")["load"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    s.stop().await;

    // The restarted server scrapes the same window on.
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let ended = c.admin_post("/api/v1/runs/s1/end", json!({})).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    c.admin_post("/api/v1/runs/s1/score", json!({})).await;
    let done = c
        .wait_for_run("s1", &["scored", "no_data"], Duration::from_secs(10))
        .await;
    let load = done["score"]["evidence"]["samples"]["load"]
        .as_array()
        .expect("load samples")
        .len();
    assert!(
        load > stored_before + 2,
        "samples from after the restart join those before: {stored_before} then {load}"
    );
    // A squeezed run is practice, and says why.
    assert_eq!(done["state"], "scored", "{done}");
    assert_eq!(done["score"]["official"], false);
    let reasons = done["score"]["practice_reasons"].to_string();
    assert!(reasons.contains("length was scaled ×0.1"), "{reasons}");
    assert!(reasons.contains("window lasted"), "{reasons}");
    assert!(
        board(&c).await.is_empty(),
        "practice never reaches the board"
    );
    // The run page shows what was judged, from the same samples, and
    // offers the evidence as JSON.
    let page = c.get("/runs/s1").await.text;
    assert!(
        page.contains("id=\"judged\"") && page.contains("SLO met"),
        "{page}"
    );
    assert!(page.contains("download=\"run-s1.json\""), "{page}");
    // …and the run through its window, drawn from the scraped samples.
    for chart in ["rates-chart", "latency-chart", "errors-chart"] {
        assert!(
            page.contains(&format!("<svg id=\"{chart}\"")),
            "{chart}: {page}"
        );
    }
    assert!(page.contains("href=\"/rules#robust-service\""), "{page}");
    s.stop().await;
    task.abort();
}

async fn corrupt_data_fails_loudly(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    c.admin_post("/api/v1/runs", run_body("bad", "ada", "http://127.0.0.1:9"))
        .await;
    for (sql, field) in [
        (
            "UPDATE runs SET anvil_selector = 'not json' WHERE id = 'bad'",
            "anvil_selector",
        ),
        (
            "UPDATE runs SET anvil_selector = '{}', state = 'exploded' WHERE id = 'bad'",
            "state",
        ),
        (
            "UPDATE runs SET state = 'registered', source = 'carrier-pigeon' WHERE id = 'bad'",
            "source",
        ),
    ] {
        sqlx::query(sql)
            .execute(&s.state.db)
            .await
            .expect("corrupt it");
        let r = c.get("/api/v1/runs/bad").await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
        let e = r.error();
        assert!(
            e.contains("run bad") && e.contains(field) && e.contains("corrupt"),
            "{e}"
        );
    }
    s.stop().await;
}

/// A stored run the page cannot read in full says so: never drawn as an
/// empty run, judged by rules it was not scored by, shown as another
/// challenge, or exported as a score of 0.
async fn damaged_records_are_said_on_their_pages(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    let dead = "http://127.0.0.1:9";
    for id in ["p1", "p2", "p3"] {
        c.admin_post("/api/v1/runs", run_body(id, "ada", dead))
            .await;
        c.admin_post(&format!("/api/v1/runs/{id}/start"), json!({}))
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        c.admin_post(&format!("/api/v1/runs/{id}/end"), json!({}))
            .await;
        let stored = chaos_api::runs::store::get(&s.state.db, id)
            .await
            .expect("db")
            .expect("run");
        scores::record(
            &s.state.db,
            &NewRecord {
                run_id: id,
                contributor_id: &stored.contributor_id,
                challenge: Challenge::RobustService,
                rules: Rules::CURRENT,
                outcome: &stats(500.0, 80.0),
                practice_reasons: &[],
                run_end_ms: chaos_api::db::now_ms(),
                evidence: &json!({"samples": {"load": [{"t": "not a sample"}], "anvil": []}}),
            },
        )
        .await
        .expect("recorded");
    }
    let page = c.get("/runs/p1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("id=\"unreadable\"") && page.text.contains("could not be read"),
        "{}",
        page.text
    );
    sqlx::query("UPDATE score_records SET rules_version = 99 WHERE run_id = 'p2'")
        .execute(&s.state.db)
        .await
        .expect("damage");
    let page = c.get("/runs/p2").await.text;
    assert!(
        page.contains("rules v99, which this server does not know"),
        "{page}"
    );
    assert!(!page.contains("id=\"judged\""), "{page}");
    sqlx::query("UPDATE runs SET challenge = 'tiddlywinks' WHERE id = 'p3'")
        .execute(&s.state.db)
        .await
        .expect("damage");
    let page = c.get("/runs/p3").await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.text.contains("tiddlywinks"), "{}", page.text);
    // The board lists practice runs without reading their evidence: a
    // record whose evidence is damaged still leaves the board readable.
    sqlx::query("UPDATE score_records SET official = 0, evidence = 'not json' WHERE run_id = 'p1'")
        .execute(&s.state.db)
        .await
        .expect("damage");
    let board = c.get("/leaderboard/robust-service").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text);
    assert!(board.text.contains("/runs/p1"), "{}", board.text);
    // A best without a score is not exported as a score of 0.
    sqlx::query("UPDATE score_records SET score = NULL")
        .execute(&s.state.db)
        .await
        .expect("damage");
    let metrics = c.get("/metrics").await.text;
    assert!(
        !metrics.lines().any(|l| l.starts_with("chaos_best_score{")),
        "{metrics}"
    );
    s.stop().await;
}

async fn rules_versions_are_kept_apart(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    c.register("bob").await;
    let dead = "http://127.0.0.1:9";
    for (id, who) in [("a1", "ada"), ("b1", "bob")] {
        let r = c.admin_post("/api/v1/runs", run_body(id, who, dead)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        c.admin_post(&format!("/api/v1/runs/{id}/start"), json!({}))
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        c.admin_post(&format!("/api/v1/runs/{id}/end"), json!({}))
            .await;
    }
    let t = chaos_api::db::now_ms() - 60_000;
    // A v1 score never ranks beside v2 ones: it is listed apart, labelled.
    record_under(&s, Rules::V1, "a1", stats(700.0, 90.0), &[], t + 1_000).await;
    assert!(board(&c).await.is_empty());
    let b = c.get("/api/v1/leaderboard/robust-service").await.body;
    assert_eq!(b["rules_version"], 3);
    assert_eq!(b["earlier_rules"][0]["contributor"], "ada");
    assert_eq!(b["earlier_rules"][0]["rules_version"], 1);
    assert_eq!(b["earlier_rules"][0]["score"], 700.0);
    let page = c.get("/leaderboard/robust-service").await.text;
    assert!(
        page.contains("id=\"earlier-rules\"") && page.contains("rules v3"),
        "{page}"
    );
    record(&s, "b1", stats(400.0, 90.0), &[], t + 2_000).await;
    assert_eq!(board(&c).await, [("bob".to_owned(), 400.0)]);
    // Scored under v2, ada ranks by it, lower or not, and leaves the v1 list.
    record(&s, "a1", stats(300.0, 90.0), &[], t + 1_000).await;
    assert_eq!(
        board(&c).await,
        [("bob".to_owned(), 400.0), ("ada".to_owned(), 300.0)]
    );
    let b = c.get("/api/v1/leaderboard/robust-service").await.body;
    assert_eq!(b["earlier_rules"], json!([]));
    // A contributor's page says where they stand, by the board's own order.
    let ada = c.get("/contributors/ada").await.text;
    assert!(
        ada.contains("id=\"standing\"") && ada.contains("2 of 2") && ada.contains("Robust Service"),
        "{ada}"
    );
    let bob = c.get("/contributors/bob").await.text;
    assert!(bob.contains("1 of 2"), "{bob}");
    // A later v1 record changes neither the board nor what the run reads as.
    record_under(&s, Rules::V1, "a1", stats(900.0, 90.0), &[], t + 1_000).await;
    assert_eq!(
        board(&c).await,
        [("bob".to_owned(), 400.0), ("ada".to_owned(), 300.0)]
    );
    let a1 = c.get("/api/v1/runs/a1").await.body;
    assert_eq!(a1["score"]["rules_version"], 3, "{a1}");
    assert_eq!(a1["score"]["score"], 300.0, "{a1}");
    assert_eq!(a1["state"], "scored", "{a1}");

    // Through the API: an unknown version is refused; v1 is queued and
    // adds a v1 record (no samples here: no data), the run stays scored.
    let bad = c
        .admin_post("/api/v1/runs/a1/score", json!({"rules_version": 9}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(
        bad.body["error"]
            .as_str()
            .unwrap_or("")
            .contains("rules_version")
    );
    let before = scores::records_for_run(&s.state.db, "a1")
        .await
        .expect("records")
        .len();
    let again = c
        .admin_post("/api/v1/runs/a1/score", json!({"rules_version": 1}))
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let records = loop {
        let r = scores::records_for_run(&s.state.db, "a1")
            .await
            .expect("records");
        if r.len() > before {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "no new record");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (records[0].rules_version, records[0].outcome.as_str()),
        (1, "no_data")
    );
    c.wait_for_run("a1", &["scored"], Duration::from_secs(5))
        .await;
    assert_eq!(
        board(&c).await,
        [("bob".to_owned(), 400.0), ("ada".to_owned(), 300.0)]
    );
    // The default is the current rules.
    let again = c.admin_post("/api/v1/runs/b1/score", json!({})).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    c.wait_for_run("b1", &["no_data"], Duration::from_secs(10))
        .await;
    assert_eq!(board(&c).await, [("ada".to_owned(), 300.0)]);
    s.stop().await;
}
