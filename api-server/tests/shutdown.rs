//! The chaos-api binary stops cleanly on SIGTERM, as Kubernetes and
//! compose stop it: in a couple of seconds, with exit status 0, and with
//! every tracker post it acknowledged stored.

mod support;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Row;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_chaos-api");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_exits_0_quickly_and_loses_no_acknowledged_post() {
    let db = sqlite_db();
    let (api_port, tracker_port) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .env("CHAOS_API_LISTEN", format!("127.0.0.1:{api_port}"))
        .env("DATABASE_URL", &db)
        .env("CHAOS_ADMIN_TOKEN", ADMIN)
        .env("ENABLE_LOCAL_TRACKER", "true")
        .env("LOCAL_TRACKER_LISTEN", format!("127.0.0.1:{tracker_port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("chaos-api starts");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http
        .get(format!("http://127.0.0.1:{api_port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chaos-api did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Eight clients post as fast as they can and note what was acknowledged.
    let acked = Arc::new(Mutex::new(HashSet::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (http, acked) = (http.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let r = http
                    .post(format!("http://127.0.0.1:{tracker_port}/api/track"))
                    .json(&legacy(
                        &format!("user-{c}"),
                        "shutdown-test",
                        "abc1234",
                        Some(20.5),
                        100.0 + n as f64,
                        "2026-12-07T03:00:00Z",
                    ))
                    .send()
                    .await;
                let Ok(r) = r else { break };
                if r.status() != reqwest::StatusCode::CREATED {
                    continue;
                }
                let Ok(body) = r.json::<serde_json::Value>().await else {
                    break;
                };
                if let Some(id) = body["id"].as_str() {
                    acked.lock().expect("lock").insert(id.to_owned());
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(8),
            "chaos-api still running {:?} after SIGTERM",
            sent.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = sent.elapsed();
    for c in clients {
        let _ = c.await;
    }
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");

    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() > 100, "only {} posts acknowledged", acked.len());
    let (pool, _) = chaos_api::db::connect(&db, Duration::from_secs(5))
        .await
        .expect("db opens");
    let stored: HashSet<String> = sqlx::query("SELECT id FROM local_test_runs")
        .fetch_all(&pool)
        .await
        .expect("rows")
        .iter()
        .map(|r| r.try_get::<String, _>("id").expect("id"))
        .collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    eprintln!(
        "SIGTERM: exit 0 after {took:?}; {} acknowledged, {} stored, {} lost",
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
}
