//! The local tracker, each scenario on SQLite and on PostgreSQL.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

const KEY: &str = "local_dev_key";

async fn tracker_server(db: &str, key: Option<&str>) -> (chaos_api::Running, String) {
    let mut cfg = config(db);
    cfg.enable_local_tracker = true;
    cfg.tracker_listen = "127.0.0.1:0".parse().expect("addr");
    cfg.tracker_api_key = key.map(str::to_owned);
    let s = server(&cfg).await;
    let url = format!("http://{}", s.tracker_addr.expect("tracker listens"));
    (s, url)
}

async fn post(url: &str, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut r = reqwest::Client::new()
        .post(format!("{url}/api/track"))
        .json(body);
    if let Some(k) = key {
        r = r.header("x-api-key", k);
    }
    let resp = r.send().await.expect("post");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> (StatusCode, Value) {
    let resp = reqwest::get(url).await.expect("get");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn rows(s: &chaos_api::Running) -> i64 {
    chaos_api::tracker::store::count(&s.state.db)
        .await
        .expect("count")
}

scenarios!(
    off_by_default,
    ingest_and_read,
    earlier_runs_group_into_sittings,
    bad_input_writes_nothing,
    concurrent_posts_are_all_stored,
    regressions_are_flagged,
    shutdown_loses_no_acknowledged_run,
    a_nul_in_one_post_fails_only_that_post,
);

/// A NUL (`\u0000`, which PostgreSQL cannot store in text) in a post's
/// texts is refused at the edge with a 422 naming the field; posts sent
/// beside it, which share its group commit, are all stored.
async fn a_nul_in_one_post_fails_only_that_post(db: String) {
    let (s, url) = tracker_server(&db, Some(KEY)).await;
    let mut sends = Vec::new();
    for i in 0..40 {
        let url = url.clone();
        sends.push(tokio::spawn(async move {
            let mut body = legacy(
                &format!("user-{i}"),
                "s1",
                "c1",
                Some(10.0),
                50.0,
                "2026-01-01T00:00:00Z",
            );
            match i {
                7 => body["userId"] = json!("bad\u{0}user"),
                13 => body["runDetails"]["session_id"] = json!("s\u{0}1"),
                21 => body["runDetails"]["target_url"] = json!("http://x/\u{0}"),
                29 => body["runDetails"]["commit_hash"] = json!("abc\u{0}"),
                33 => body["labels"]["target"] = json!("app\nname"),
                _ => {}
            }
            (i, post(&url, Some(KEY), &body).await)
        }));
    }
    let mut stored = 0;
    for send in sends {
        let (i, (status, body)) = send.await.expect("joined");
        if [7, 13, 21, 29, 33].contains(&i) {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{i}: {body}");
            assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("control characters")),
                "{i}: {body}"
            );
        } else {
            assert_eq!(status, StatusCode::CREATED, "{i}: {body}");
            stored += 1;
        }
    }
    assert_eq!(rows(&s).await, stored);
    s.stop().await;
}

async fn off_by_default(db: String) {
    let s = server(&config(&db)).await;
    assert!(
        s.tracker_addr.is_none(),
        "no tracker listener unless enabled"
    );
    let (status, body) = post(
        &s.base_url(),
        Some(KEY),
        &legacy("u", "s", "c", None, 1.0, "2026-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    s.stop().await;
}

async fn ingest_and_read(db: String) {
    let (s, url) = tracker_server(&db, Some(KEY)).await;
    assert_eq!(
        post(
            &url,
            None,
            &legacy("u", "s", "c", None, 1.0, "2026-01-01T00:00:00Z")
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(
            &url,
            Some("wrong"),
            &legacy("u", "s", "c", None, 1.0, "2026-01-01T00:00:00Z")
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );

    let (status, body) = post(
        &url,
        Some(KEY),
        &legacy(
            "local_dev_user",
            "s1",
            "abc1234",
            None,
            812.5,
            "2025-10-04T12:00:00Z",
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the earlier client's payload is accepted: {body}"
    );
    assert!(
        body["notice"]
            .as_str()
            .expect("notice")
            .contains("never affect the leaderboard")
    );
    let first = body["id"].as_str().expect("id").to_owned();
    post(
        &url,
        Some(KEY),
        &legacy(
            "local_dev_user",
            "s1",
            "abc1234",
            Some(20.0),
            800.0,
            "2025-10-04T12:01:00Z",
        ),
    )
    .await;
    post(
        &url,
        Some(KEY),
        &legacy(
            "local_dev_user",
            "s2",
            "def5678",
            Some(18.0),
            850.0,
            "2025-10-05T09:00:00Z",
        ),
    )
    .await;

    // loadgen's own sender, with its richer fields.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let target = loadgen::target::Target::parse(&format!("http://{closed}/")).expect("url");
    let job = loadgen::Job {
        spec: loadgen::RunSpec {
            addr: closed,
            requests: vec![loadgen::target::RequestTemplate::new(
                "GET",
                &target,
                &[],
                None,
            )],
            answers: None,
            load: loadgen::Load::Closed {
                connections: 1,
                duration: None,
                max_requests: Some(5),
            },
            threads: 1,
            timeout: Duration::from_secs(1),
        },
        target_url: target.url.clone(),
        method: "GET".into(),
        profile: None,
    };
    let report = loadgen::execute(job, loadgen::ExecOptions::default())
        .await
        .expect("runs");
    let t = loadgen::tracker::TrackerTarget {
        url: url.clone(),
        api_key: KEY.into(),
        user: "local_dev_user".into(),
        session: "s3".into(),
        commit: Some("0ff1ce".into()),
        target_name: Some("other-app".into()),
        challenge: "custom".into(),
    };
    loadgen::tracker::send(&report, &t)
        .await
        .expect("loadgen's payload is accepted");

    let (status, grouped) = get(&format!("{url}/api/track/local_dev_user")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grouped["total"], 4);
    assert_eq!(
        grouped["targets"]["my-app"]["s1"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        grouped["targets"]["my-app"]["s2"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        grouped["targets"]["other-app"]["s3"][0]["total_requests"],
        5
    );
    let page = get(&format!("{url}/api/track/local_dev_user?per_page=1&page=2"))
        .await
        .1;
    assert_eq!(page["total"], 4);
    // Paging by key: following `next` a run at a time gives every run
    // once, in the grouping order, the same as one page of all.
    let ids_in = |v: &Value| -> Vec<String> {
        let mut ids = Vec::new();
        for (_, sessions) in v["targets"].as_object().expect("targets") {
            for (_, runs) in sessions.as_object().expect("sessions") {
                for r in runs.as_array().expect("runs") {
                    ids.push(r["id"].as_str().expect("id").to_owned());
                }
            }
        }
        ids
    };
    let all = ids_in(&get(&format!("{url}/api/track/local_dev_user")).await.1);
    assert_eq!(all.len(), 4);
    let mut walked = Vec::new();
    let mut query = "per_page=1".to_owned();
    loop {
        let (status, p) = get(&format!("{url}/api/track/local_dev_user?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{p}");
        walked.extend(ids_in(&p));
        match p["next"].as_str() {
            Some(next) => query = format!("per_page=1&after={next}"),
            None => break,
        }
    }
    assert_eq!(walked, all);
    for bad in ["after=no-such-run", "after=7b7d", "after=x&page=2"] {
        assert_eq!(
            get(&format!("{url}/api/track/local_dev_user?{bad}"))
                .await
                .0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(
        get(&format!("{url}/api/track/local_dev_user?per_page=0"))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let sessions = get(&format!("{url}/api/track/local_dev_user/sessions"))
        .await
        .1;
    let s1 = sessions["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|x| x["name"] == "s1")
        .expect("s1")
        .clone();
    assert_eq!(
        (s1["runs"].as_i64(), s1["commits"][0].as_str()),
        (Some(2), Some("abc1234"))
    );

    let one = get(&format!("{url}/api/track/runs/{first}")).await.1;
    assert_eq!(one["run"]["rps"], 812.5);
    assert_eq!(one["regression"]["judged"], false);
    assert_eq!(
        get(&format!("{url}/api/track/runs/missing")).await.0,
        StatusCode::NOT_FOUND
    );

    let cmp = get(&format!(
        "{url}/api/track/compare?user=local_dev_user&session_a=s1&session_b=s2"
    ))
    .await
    .1;
    assert_eq!(cmp["a"]["runs"], 2);
    assert_eq!(cmp["change"]["rps"]["delta"], 850.0 - (812.5 + 800.0) / 2.0);
    assert_eq!(
        get(&format!("{url}/api/track/compare?a={first}")).await.0,
        StatusCode::BAD_REQUEST
    );

    // The tracker never feeds the leaderboard.
    let board = Client::new(s.base_url())
        .get("/api/v1/leaderboard/robust-service")
        .await;
    assert_eq!(board.body["total"], 0);
    let html = reqwest::get(format!("{url}/?user=local_dev_user"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("UNOFFICIAL") && html.contains("my-app") && html.contains("abc1234"));
    // Someone else's name shows nobody's data, and says so.
    let html = reqwest::get(format!("{url}/?user=nobody"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("id=\"unknown-user\"") && html.contains("No runs for user <strong>nobody"),
        "{html}"
    );
    assert!(
        !html.contains("abc1234"),
        "another user's runs are not shown: {html}"
    );
    // Wrong methods answer JSON too.
    let r = reqwest::Client::new()
        .delete(format!("{url}/api/track"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = r.json().await.expect("json error");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("DELETE")),
        "{body}"
    );
    s.stop().await;
}

/// The earlier client sends a new session id with every run; the tracker
/// still groups a sitting's runs into one session.
async fn earlier_runs_group_into_sittings(db: String) {
    let (s, url) = tracker_server(&db, Some(KEY)).await;
    let user = "sitter";
    // Three runs within 20 minutes, then one three hours later.
    for (i, at) in [
        "2026-11-29T19:22:51.641714",
        "2026-11-29T19:27:02.100000",
        "2026-11-29T19:42:10.000000",
        "2026-11-29T22:45:00.000000",
    ]
    .iter()
    .enumerate()
    {
        let sent = format!("20261129-{i:08x}");
        let (status, body) = post(
            &url,
            Some(KEY),
            &legacy(user, &sent, "c0ffee1", Some(20.0), 800.0 + i as f64, at),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, v) = get(&format!("{url}/api/track/{user}/sessions")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["gap_minutes"], 30);
    let sessions = v["sessions"].as_array().expect("sessions");
    let shape: Vec<(i64, i64)> = sessions
        .iter()
        .map(|x| {
            (
                x["runs"].as_i64().expect("runs"),
                x["sent_session_count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(shape, [(3, 3), (1, 1)], "{v}");
    assert_eq!(sessions[0]["name"], "20261129-00000000");
    assert_eq!(sessions[0]["first_run_at"], "2026-11-29T19:22:51.641Z");
    assert_eq!(sessions[0]["last_run_at"], "2026-11-29T19:42:10.000Z");
    let (first, second) = (
        sessions[0]["session_id"].as_str().expect("id").to_owned(),
        sessions[1]["session_id"].as_str().expect("id").to_owned(),
    );

    // A reader may ask for another gap; a day at most.
    let wide = get(&format!("{url}/api/track/{user}/sessions?gap_minutes=240"))
        .await
        .1;
    assert_eq!(wide["sessions"].as_array().map(Vec::len), Some(1), "{wide}");
    assert_eq!(wide["sessions"][0]["runs"], 4);
    for bad in [
        "gap_minutes=0",
        "gap_minutes=1441",
        "gap_minutes=soon",
        "gap=5",
    ] {
        let (status, body) = get(&format!("{url}/api/track/{user}/sessions?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }

    // Sessions are compared by their working-session ids.
    let (status, cmp) = get(&format!(
        "{url}/api/track/compare?user={user}&session_a={first}&session_b={second}"
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    assert_eq!(
        (cmp["a"]["runs"].as_i64(), cmp["b"]["runs"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(cmp["a"]["rps"], 801.0);

    // The page numbers the sittings and tags each run with its own.
    let html = reqwest::get(format!("{url}/?user={user}"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let in_runs = html.split("id=\"runs\"").nth(1).expect("runs table");
    assert_eq!(
        (
            in_runs.matches(">#1<").count(),
            in_runs.matches(">#2<").count()
        ),
        (3, 1),
        "{in_runs}"
    );
    assert!(html.contains(&format!("data-session=\"{first}\"")));
    s.stop().await;
}

async fn bad_input_writes_nothing(db: String) {
    let (s, url) = tracker_server(&db, Some(KEY)).await;
    let client = reqwest::Client::new();
    let send = |body: Vec<u8>, ct: Option<&'static str>| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let mut r = client
                .post(format!("{url}/api/track"))
                .header("x-api-key", KEY)
                .body(body);
            if let Some(ct) = ct {
                r = r.header("content-type", ct);
            }
            let resp = r.send().await.expect("post");
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let good = legacy("u", "s", "c", None, 1.0, "2026-01-01T00:00:00Z");
    let mut wrong_type = good.clone();
    wrong_type["runDetails"]["total_requests"] = json!("many");
    let mut missing = good.clone();
    missing["runDetails"]
        .as_object_mut()
        .expect("object")
        .remove("session_id");
    let mut bad_time = good.clone();
    bad_time["timestamp"] = json!("yesterday");
    let mut negative = good.clone();
    negative["runDetails"]["rps"] = json!(-5.0);
    let json_ct = Some("application/json");
    let cases: Vec<(Vec<u8>, Option<&'static str>, StatusCode, &str)> = vec![
        (
            b"{not json".to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            format!("[{good}]").into_bytes(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "must be a JSON object",
        ),
        (
            wrong_type.to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "total_requests",
        ),
        (
            missing.to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "session_id",
        ),
        (
            bad_time.to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "timestamp",
        ),
        (
            negative.to_string().into_bytes(),
            json_ct,
            StatusCode::UNPROCESSABLE_ENTITY,
            "rps",
        ),
        (
            good.to_string().into_bytes(),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            vec![b' '; 300 * 1024],
            json_ct,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (body, ct, status, needle) in cases {
        let (got, reply) = send(body, ct).await;
        assert_eq!(got, status, "{reply}");
        assert!(
            reply["error"].as_str().unwrap_or_default().contains(needle),
            "{needle}: {reply}"
        );
    }
    assert_eq!(rows(&s).await, 0, "nothing half-written");
    s.stop().await;
}

async fn concurrent_posts_are_all_stored(db: String) {
    let (s, url) = tracker_server(&db, None).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let url = url.clone();
        tasks.spawn(async move {
            post(
                &url,
                Some("anything"),
                &legacy(
                    "u",
                    &format!("s{}", i % 7),
                    "c",
                    None,
                    1.0,
                    "2026-01-01T00:00:00Z",
                ),
            )
            .await
            .0
        });
    }
    let mut acknowledged = 0;
    while let Some(status) = tasks.join_next().await {
        if status.expect("joins") == StatusCode::CREATED {
            acknowledged += 1;
        }
    }
    assert_eq!(acknowledged, 200);
    assert_eq!(rows(&s).await, 200, "N acknowledged posts are N rows");
    s.stop().await;
}

async fn regressions_are_flagged(db: String) {
    let (s, url) = tracker_server(&db, Some(KEY)).await;
    let mut last = String::new();
    for (i, (p95, rps)) in [
        (40.0, 1000.0),
        (42.0, 990.0),
        (39.0, 1010.0),
        (41.0, 1000.0),
        (80.0, 600.0),
    ]
    .iter()
    .enumerate()
    {
        let at = format!("2026-01-01T10:0{i}:00Z");
        let (status, body) = post(
            &url,
            Some(KEY),
            &legacy("ada", "s", &format!("c{i}"), Some(*p95), *rps, &at),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        last = body["id"].as_str().expect("id").to_owned();
    }
    let verdict = get(&format!("{url}/api/track/runs/{last}")).await.1["regression"].clone();
    assert_eq!(verdict["regressed"], true, "{verdict}");
    assert_eq!(
        verdict["reasons"].as_array().map(Vec::len),
        Some(2),
        "{verdict}"
    );
    let html = reqwest::get(format!("{url}/?user=ada&target=my-app"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert_eq!(
        html.matches("REGRESSED").count(),
        1,
        "only the slow run is flagged"
    );
    s.stop().await;
}

async fn shutdown_loses_no_acknowledged_run(db: String) {
    let (s, url) = tracker_server(&db, None).await;
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (url, acknowledged) = (url.clone(), acknowledged.clone());
        senders.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("client");
            for i in 0.. {
                let body = legacy(
                    "u",
                    &format!("w{w}"),
                    "c",
                    None,
                    f64::from(i),
                    "2026-01-01T00:00:00Z",
                );
                match client
                    .post(format!("{url}/api/track"))
                    .header("x-api-key", "k")
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let db_handle = s.state.db.clone();
    s.stop().await;
    while senders.join_next().await.is_some() {}
    let stored = chaos_api::tracker::store::count(&db_handle)
        .await
        .expect("count");
    let acked = acknowledged.load(Ordering::SeqCst) as i64;
    assert!(acked > 10, "the senders got going: {acked}");
    assert!(stored >= acked, "acknowledged {acked}, stored {stored}");
}

/// The writer keeps its connection from batch to batch; a database
/// restart ends that connection, and the first post after it must still be
/// stored, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_between_posts_loses_none() {
    // A cluster of its own: the restart would break other tests' sessions.
    let Some(pg) = Pg::start() else {
        skip("PostgreSQL (initdb, pg_ctl under /usr/lib/postgresql)");
        return;
    };
    let db = pg.fresh_db("restart").await;
    let (s, url) = tracker_server(&db, None).await;
    let body = legacy("u", "s", "c", None, 1.0, "2026-01-01T00:00:00Z");
    assert_eq!(post(&url, None, &body).await.0, StatusCode::CREATED);
    for round in 1..=3 {
        assert!(pg.restart(), "pg_ctl restart");
        let (status, reply) = post(&url, None, &body).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "post after restart {round}: {reply}"
        );
    }
    assert_eq!(rows(&s).await, 4, "each acknowledged post stored once");
    s.stop().await;
}
