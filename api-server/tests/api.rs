//! The API server's behaviour, each scenario played on SQLite and on
//! PostgreSQL (a throwaway cluster; skipped where PostgreSQL is missing
//! unless CHAOS_REQUIRE_TOOLS=1).

mod support;

use std::time::Duration;

use chaos_domain::Challenge;
use chaos_domain::scoring::{Outcome, Statistics};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

scenarios!(
    contributors,
    accounts_belong_to_whoever_registered_them,
    run_lifecycle_and_validation,
    leaderboard_order_and_pages,
    bad_input_is_json_4xx,
    unreachable_prometheus_keeps_runs_waiting,
);

/// A controller (the operator) may recover only the accounts it
/// registered: a name registered by hand is never reactivated, re-keyed,
/// renamed or deregistered by it, until an admin hands it over.
async fn accounts_belong_to_whoever_registered_them(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    let owner_key = c.register("ada").await;
    let as_operator = "?manager=chaos-operator";
    for (method, path, body) in [
        (Method::POST, "/api/v1/contributors/ada/key", None),
        (Method::POST, "/api/v1/contributors/ada/reactivate", None),
        (
            Method::PATCH,
            "/api/v1/contributors/ada",
            Some(json!({"display_name": "Not Ada"})),
        ),
        (Method::DELETE, "/api/v1/contributors/ada", None),
    ] {
        let r = c
            .call(
                method.clone(),
                &format!("{path}{as_operator}"),
                Some(ADMIN),
                body,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "{method} {path}: {}",
            r.text
        );
        assert!(
            r.body["error"]
                .as_str()
                .is_some_and(|e| e.contains("not registered by")),
            "{}",
            r.text
        );
    }
    let ada = c.get("/api/v1/contributors/ada").await.body;
    assert_eq!(ada["display_name"], "ada", "{ada}");
    assert_eq!(ada["deregistered"], false, "{ada}");
    // The owner's key still works.
    let r = c
        .call(
            Method::PUT,
            "/api/v1/contributors/ada/challenge",
            Some(&owner_key),
            Some(json!({"challenge": "longest-upkeep"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Registered by the operator: its own to re-key and rename.
    let r = c
        .admin_post(
            "/api/v1/contributors",
            json!({"name": "grace", "manager": "chaos-operator"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = c
        .call(
            Method::POST,
            &format!("/api/v1/contributors/grace/key{as_operator}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c
        .call(
            Method::PATCH,
            &format!("/api/v1/contributors/grace{as_operator}"),
            Some(ADMIN),
            Some(json!({"display_name": "Grace Hopper"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["display_name"], "Grace Hopper");
    // Another controller may not.
    let r = c
        .call(
            Method::POST,
            "/api/v1/contributors/grace/key?manager=other-operator",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // An admin hands ada over: now the operator may act on it.
    let r = c
        .call(
            Method::PATCH,
            "/api/v1/contributors/ada",
            Some(ADMIN),
            Some(json!({"manager": "chaos-operator"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c
        .call(
            Method::POST,
            &format!("/api/v1/contributors/ada/key{as_operator}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Bad values are a 422 naming the field; no admin token is a 401.
    for body in [
        json!({"manager": "Not A Name"}),
        json!({"display_name": ""}),
    ] {
        let r = c
            .call(
                Method::PATCH,
                "/api/v1/contributors/ada",
                Some(ADMIN),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
    }
    let r = c
        .call(
            Method::PATCH,
            "/api/v1/contributors/ada",
            None,
            Some(json!({"display_name": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    s.stop().await;
}

async fn contributors(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());

    let r = c
        .admin_post(
            "/api/v1/contributors",
            json!({"name": "ada", "display_name": "Ada L.", "challenge": "longest-upkeep"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let key = r.body["api_key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("sck_"));
    assert_eq!(r.body["contributor"]["active_challenge"], "longest-upkeep");

    let dup = c
        .admin_post("/api/v1/contributors", json!({"name": "ada"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert!(dup.error().contains("already exists"));
    let bad = c
        .admin_post("/api/v1/contributors", json!({"name": "Ada Lovelace"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.error().contains("lower-case"));
    let no_token = c
        .call(
            Method::POST,
            "/api/v1/contributors",
            None,
            Some(json!({"name": "eve"})),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    let wrong = c
        .call(
            Method::POST,
            "/api/v1/contributors",
            Some("not-the-admin-token"),
            Some(json!({"name": "eve"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // A contributor's key is not an admin token.
    let as_contributor = c
        .call(
            Method::POST,
            "/api/v1/contributors",
            Some(&key),
            Some(json!({"name": "eve"})),
        )
        .await;
    assert_eq!(as_contributor.status, StatusCode::FORBIDDEN);

    let got = c.get("/api/v1/contributors/ada").await;
    assert_eq!(
        (got.status, got.body["display_name"].as_str()),
        (StatusCode::OK, Some("Ada L."))
    );
    assert!(
        got.body.get("api_key").is_none() && !got.text.contains("key_hash"),
        "{}",
        got.text
    );
    assert_eq!(
        c.get("/api/v1/contributors/nobody").await.status,
        StatusCode::NOT_FOUND
    );

    let switched = c
        .call(
            Method::PUT,
            "/api/v1/contributors/ada/challenge",
            Some(&key),
            Some(json!({"challenge": "robust-service"})),
        )
        .await;
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.text);
    assert_eq!(switched.body["active_challenge"], "robust-service");
    // The earlier platform's call, byte for byte.
    let legacy = c
        .call(
            Method::POST,
            "/api/v1/register-influencer",
            Some(&key),
            Some(json!({"challenge_type": "graceful-degradation"})),
        )
        .await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.text);
    assert_eq!(
        c.get("/api/v1/contributors/ada").await.body["active_challenge"],
        "graceful-degradation"
    );
    let unknown = c
        .call(
            Method::POST,
            "/api/v1/register-influencer",
            Some(&key),
            Some(json!({"challenge_type": "fastest"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.error().contains("robust-service"));

    let bob_key = c.register("bob").await;
    let other = c
        .call(
            Method::PUT,
            "/api/v1/contributors/ada/challenge",
            Some(&bob_key),
            Some(json!({"challenge": "robust-service"})),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // Change the secret's last digit, whatever it is.
    let last = if key.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &key[..key.len() - 1]);
    let r = c
        .call(
            Method::POST,
            "/api/v1/register-influencer",
            Some(&forged),
            Some(json!({"challenge_type": "robust-service"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let list = c.get("/api/v1/contributors?per_page=1&page=2").await;
    assert_eq!(
        (
            list.body["total"].as_i64(),
            list.body["contributors"][0]["name"].as_str()
        ),
        (Some(2), Some("bob"))
    );

    assert_eq!(
        c.call(
            Method::DELETE,
            "/api/v1/contributors/bob",
            Some(ADMIN),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let gone = c
        .call(
            Method::POST,
            "/api/v1/register-influencer",
            Some(&bob_key),
            Some(json!({"challenge_type": "robust-service"})),
        )
        .await;
    assert_eq!(
        gone.status,
        StatusCode::UNAUTHORIZED,
        "a deregistered contributor's key stops working"
    );
    // A deregistered contributor reads as gone, with what they were.
    let gone = c.get("/api/v1/contributors/bob").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    assert_eq!(gone.body["contributor"]["deregistered"], true);
    assert!(gone.error().contains("deregistered"));
    // Registering the name again is refused; an admin reactivates it with a new key.
    assert_eq!(
        c.admin_post("/api/v1/contributors", json!({"name": "bob"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let back = c
        .admin_post("/api/v1/contributors/bob/reactivate", json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    let new_key = back.body["api_key"].as_str().expect("a new key").to_owned();
    assert_ne!(new_key, bob_key);
    assert_eq!(
        c.get("/api/v1/contributors/bob").await.status,
        StatusCode::OK
    );
    let switch = |key: String| {
        let c = c.clone();
        async move {
            c.call(
                Method::POST,
                "/api/v1/register-influencer",
                Some(&key),
                Some(json!({"challenge_type": "robust-service"})),
            )
            .await
            .status
        }
    };
    assert_eq!(switch(new_key.clone()).await, StatusCode::OK);
    assert_eq!(
        switch(bob_key.clone()).await,
        StatusCode::UNAUTHORIZED,
        "the old key stays dead"
    );
    assert_eq!(
        c.admin_post("/api/v1/contributors/bob/reactivate", json!({}))
            .await
            .status,
        StatusCode::CONFLICT,
        "an active contributor is not reactivated"
    );
    // A new key for an active contributor replaces the old one.
    let rotated = c
        .admin_post("/api/v1/contributors/bob/key", json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let rotated = rotated.body["api_key"].as_str().expect("key").to_owned();
    assert_eq!(switch(rotated).await, StatusCode::OK);
    assert_eq!(switch(new_key).await, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

fn builtin_run(id: &str, contributor: &str) -> serde_json::Value {
    json!({
        "id": id, "contributor": contributor, "challenge": "robust-service", "target": "http://app:8080",
        "source": "builtin",
        "loadgen_metrics_url": "http://127.0.0.1:9/metrics", "anvil_metrics_url": "http://127.0.0.1:9/metrics",
    })
}

async fn run_lifecycle_and_validation(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    c.register("bob").await;

    let created = c
        .admin_post("/api/v1/runs", builtin_run("run-1", "ada"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["state"], "registered");
    assert_eq!(created.body["profile_version"], 2);
    let again = c
        .admin_post("/api/v1/runs", builtin_run("run-1", "ada"))
        .await;
    assert_eq!(again.status, StatusCode::OK, "the same id twice is one run");
    let clash = c
        .admin_post("/api/v1/runs", builtin_run("run-1", "bob"))
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);

    let unknown = c
        .admin_post("/api/v1/runs", builtin_run("run-2", "nobody"))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::NOT_FOUND,
        "an unknown contributor is a 404 everywhere"
    );
    assert!(unknown.error().contains("no contributor"));
    let mut squeezed = builtin_run("run-2", "ada");
    squeezed["duration_scale"] = json!(1.5);
    let mut nulled = builtin_run("run-2", "ada");
    nulled["anvil_selector"] = json!(null);
    for (body, needle) in [
        (builtin_run("run 2", "ada"), "id must be"),
        (squeezed, "duration_scale must be above 0 and at most 1"),
        (nulled, "anvil_selector: invalid type: null"),
        (
            json!({"contributor": "ada", "challenge": "robust-service", "target": "x", "profile_version": 99}),
            "no profile version 99",
        ),
        (
            json!({"contributor": "ada", "challenge": "fastest", "target": "x"}),
            "unknown challenge",
        ),
        (
            json!({"contributor": "ada", "challenge": "robust-service", "target": "x", "source": "prometheus"}),
            "no --prometheus-url",
        ),
        (
            json!({"contributor": "ada", "challenge": "robust-service", "target": "x", "source": "builtin"}),
            "needs loadgen_metrics_url",
        ),
        (
            json!({"contributor": "ada", "challenge": "robust-service", "target": "x", "source": "builtin",
                "loadgen_metrics_url": "ftp://x", "anvil_metrics_url": "http://x/metrics"}),
            "http(s) URL",
        ),
        (
            json!({"contributor": "ada", "challenge": "robust-service", "target": "x", "source": "builtin",
                "loadgen_metrics_url": "http://x/m", "anvil_metrics_url": "http://x/m", "loadgen_selector": {"1bad": "v"}}),
            "label name",
        ),
    ] {
        let r = c.admin_post("/api/v1/runs", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.error().contains(needle), "{needle}: {}", r.error());
    }
    // A body that is not a JSON object cannot be read as asked: 400, as
    // for a body that is not JSON, from every JSON endpoint (docs/API.md).
    for path in ["/api/v1/runs", "/api/v1/contributors"] {
        let r = c
            .admin_post(path, json!(["ada", "robust-service", "x"]))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert!(r.error().contains("must be a JSON object"), "{}", r.error());
    }

    // Nobody but the admin moves a run.
    let public = c
        .call(Method::POST, "/api/v1/runs/run-1/start", None, None)
        .await;
    assert_eq!(public.status, StatusCode::UNAUTHORIZED);
    let early = c.admin_post("/api/v1/runs/run-1/score", json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.error().contains("end it before scoring"));
    let end_first = c.admin_post("/api/v1/runs/run-1/end", json!({})).await;
    assert_eq!(end_first.status, StatusCode::CONFLICT);

    // Window edges near the server's clock only: at most a minute ahead, a day behind.
    let now = jiff::Timestamp::now();
    let at = |secs: i64| {
        (now + jiff::SignedDuration::from_secs(secs))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    for (bad, why) in [
        (at(3600), "ahead"),
        (at(-3 * 86_400), "behind"),
        ("1970-01-01T00:00:00Z".into(), "behind"),
    ] {
        let r = c
            .admin_post("/api/v1/runs/run-1/start", json!({ "at": bad }))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{bad}: {}", r.text);
        assert!(r.error().contains(why), "{}", r.error());
    }
    let start_at = at(-600);
    let started = c
        .admin_post("/api/v1/runs/run-1/start", json!({ "at": start_at }))
        .await;
    assert_eq!(
        (started.status, started.body["state"].as_str()),
        (StatusCode::OK, Some("running")),
        "{}",
        started.text
    );
    assert_eq!(
        started.body["window"]["start"],
        start_at.replace('Z', ".000Z")
    );
    assert_eq!(
        c.admin_post("/api/v1/runs/run-1/start", json!({}))
            .await
            .status,
        StatusCode::OK,
        "starting twice is harmless"
    );
    let backwards = c
        .admin_post("/api/v1/runs/run-1/end", json!({ "at": at(-900) }))
        .await;
    assert_eq!(backwards.status, StatusCode::CONFLICT);
    let same = c
        .admin_post("/api/v1/runs/run-1/end", json!({ "at": start_at }))
        .await;
    assert_eq!(
        same.status,
        StatusCode::CONFLICT,
        "an end must come after the start"
    );
    let null_at = c
        .admin_post("/api/v1/runs/run-1/end", json!({ "at": null }))
        .await;
    assert_eq!(
        null_at.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        null_at.text
    );
    let listed = c.get("/api/v1/runs?challenge=&contributor=").await;
    assert_eq!(
        listed.status,
        StatusCode::OK,
        "an empty filter is no filter: {}",
        listed.text
    );
    // A query-string mistake is a 400, whichever parameter it is in.
    for bad in ["?challenge=fastest", "?page=0", "?sort=id"] {
        let r = c.get(&format!("/api/v1/runs{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    let bad_time = c
        .admin_post("/api/v1/runs/run-1/end", json!({"at": "yesterday"}))
        .await;
    assert_eq!(bad_time.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ended = c
        .admin_post("/api/v1/runs/run-1/end", json!({ "at": at(-540) }))
        .await;
    assert_eq!(
        (ended.status, ended.body["state"].as_str()),
        (StatusCode::OK, Some("ended")),
        "{}",
        ended.text
    );

    let queued = c.admin_post("/api/v1/runs/run-1/score", json!({})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED);
    // Nothing was scraped in that window: an explicit no-data outcome, not a zero.
    let done = c
        .wait_for_run("run-1", &["no_data"], Duration::from_secs(10))
        .await;
    assert_eq!(done["score"]["outcome"], "no_data");
    assert!(
        done["score"]["reason"]
            .as_str()
            .expect("reason")
            .contains("samples")
    );
    assert_eq!(done["score"]["score"], serde_json::Value::Null);
    assert_eq!(done["score"]["rules_version"], 3);
    assert_eq!(
        c.get("/api/v1/leaderboard/robust-service").await.body["total"],
        0,
        "no data never ranks"
    );

    let listed = c
        .get("/api/v1/runs?contributor=ada&challenge=robust-service")
        .await;
    assert_eq!(listed.body["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        c.get("/api/v1/runs?contributor=nobody").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/api/v1/runs/missing").await.status,
        StatusCode::NOT_FOUND
    );
    s.stop().await;
}

fn stats(stat1: f64, stat2: f64, stat3: f64) -> Outcome {
    Outcome::Scored(Statistics {
        stat1: Some(stat1),
        stat2: Some(stat2),
        stat3: Some(stat3),
        score: stat1,
    })
}

async fn leaderboard_order_and_pages(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    let store = &s.state.db;
    for name in ["ada", "bob", "cy", "dee"] {
        c.register(name).await;
    }
    let mut n = 0;
    let mut score_run = |name: &'static str, outcome: Outcome| {
        n += 1;
        let id = format!("r{n}");
        let c = c.clone();
        async move {
            assert_eq!(
                c.admin_post("/api/v1/runs", builtin_run(&id, name))
                    .await
                    .status,
                StatusCode::CREATED
            );
            let run = chaos_api::runs::store::get(store, &id)
                .await
                .expect("db")
                .expect("run");
            chaos_api::scores::store::record(
                store,
                &chaos_api::scores::store::NewRecord {
                    run_id: &id,
                    contributor_id: &run.contributor_id,
                    challenge: Challenge::RobustService,
                    rules: chaos_domain::scoring::Rules::CURRENT,
                    outcome: &outcome,
                    practice_reasons: &[],
                    run_end_ms: chaos_api::db::now_ms(),
                    evidence: &json!({}),
                },
            )
            .await
            .expect("stored");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // A no-data outcome first: NULL statistics must not break the next,
    // real ones on the same prepared statement (a PostgreSQL pitfall).
    score_run("ada", Outcome::NoData { reason: "x".into() }).await;
    score_run("ada", stats(500.0, 120.0, 0.5)).await;
    score_run("ada", stats(300.0, 90.0, 0.1)).await; // worse: ada keeps 500
    score_run("bob", stats(500.0, 100.0, 0.5)).await; // same score, lower p95: above ada
    score_run("cy", stats(800.0, 200.0, 0.9)).await;
    score_run("dee", stats(500.0, 120.0, 0.5)).await; // ties ada exactly: later, so below
    score_run("dee", Outcome::NoData { reason: "x".into() }).await;

    let board = c.get("/api/v1/leaderboard/robust-service").await;
    assert_eq!(board.status, StatusCode::OK);
    let names: Vec<&str> = board.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["contributor"].as_str())
        .collect();
    assert_eq!(names, ["cy", "bob", "ada", "dee"]);
    let first = &board.body["entries"][0];
    assert_eq!(
        (
            first["rank"].as_i64(),
            first["stat1"].as_f64(),
            first["stat2"].as_f64(),
            first["stat3"].as_f64()
        ),
        (Some(1), Some(800.0), Some(200.0), Some(0.9))
    );
    assert_eq!(board.body["entries"][2]["score"], 500.0);
    assert_eq!(board.body["total"], 4);
    let page2 = c
        .get("/api/v1/leaderboard/robust-service?per_page=2&page=2")
        .await;
    let ranks: Vec<i64> = page2.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["rank"].as_i64())
        .collect();
    assert_eq!(ranks, [3, 4]);
    assert_eq!(
        c.get("/api/v1/leaderboard/graceful-degradation").await.body["total"],
        0
    );
    let unknown = c.get("/api/v1/leaderboard/fastest").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.error().contains("unknown challenge"));
    for bad in ["?page=0", "?per_page=1000", "?page=x", "?sort=name"] {
        let r = c
            .get(&format!("/api/v1/leaderboard/robust-service{bad}"))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(!r.error().is_empty());
    }
    let metrics = reqwest::get(format!("{}/metrics", s.base_url()))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"chaos_best_score{contributor="cy",challenge="robust-service"} 800.0"#),
        "{metrics}"
    );
    s.stop().await;
}

/// Method, path, content type, body, expected status.
type BadRequest = (
    Method,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    StatusCode,
);

async fn bad_input_is_json_4xx(db: String) {
    let s = server(&config(&db)).await;
    let c = Client::new(s.base_url());
    let cases: Vec<BadRequest> = vec![
        (
            Method::POST,
            "/api/v1/contributors",
            Some("application/json"),
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/contributors",
            None,
            br#"{"name":"x"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Method::POST,
            "/api/v1/contributors",
            Some("application/json"),
            br#"{"name":5}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/contributors",
            Some("application/json"),
            br#"{"nom":"x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/contributors",
            Some("application/json"),
            vec![b' '; 70 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Method::POST,
            "/api/v1/runs/x/start",
            Some("application/json"),
            b"[1,2]".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/nothing",
            None,
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            "/api/v1/leaderboard/robust-service",
            None,
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, ct, body, status) in cases {
        let r = c.raw(method.clone(), path, ct, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        assert!(!r.error().is_empty(), "{method} {path}: {}", r.text);
    }
    s.stop().await;
}

/// Prometheus is down: the run waits in `scoring`, retried with backoff,
/// and survives a restart of the server.
async fn unreachable_prometheus_keeps_runs_waiting(db: String) {
    let mut cfg = config(&db);
    cfg.prometheus_url = Some(format!("http://127.0.0.1:{}", free_port()));
    cfg.scoring_max_backoff = Duration::from_millis(500);
    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    c.register("ada").await;
    let run = json!({"id": "p-1", "contributor": "ada", "challenge": "longest-upkeep", "target": "http://app",
                     "loadgen_selector": {"job": "loadgen"}, "anvil_selector": {"job": "url-anvil"}});
    let r = c.admin_post("/api/v1/runs", run).await;
    assert_eq!(
        (r.status, r.body["source"].as_str()),
        (StatusCode::CREATED, Some("prometheus")),
        "{}",
        r.text
    );
    let ago = |secs: i64| {
        (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    c.admin_post("/api/v1/runs/p-1/start", json!({ "at": ago(400) }))
        .await;
    c.admin_post("/api/v1/runs/p-1/end", json!({ "at": ago(100) }))
        .await;
    assert_eq!(
        c.admin_post("/api/v1/runs/p-1/score", json!({}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let waiting = c.get("/api/v1/runs/p-1").await.body;
    assert_eq!(waiting["state"], "scoring");
    assert!(
        waiting["attempts"].as_i64().expect("attempts") >= 2,
        "{waiting}"
    );
    assert!(
        waiting["last_error"]
            .as_str()
            .expect("error")
            .contains("unavailable"),
        "{waiting}"
    );
    s.stop().await;

    let s = server(&cfg).await;
    let c = Client::new(s.base_url());
    let after = c.get("/api/v1/runs/p-1").await.body;
    assert_eq!(after["state"], "scoring", "not lost across a restart");
    s.stop().await;
}
