//! Reporting runs to a local tracker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chaos_contract::TrackPayload;
use loadgen::tracker::{TrackerTarget, send};

type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

async fn tracker() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/api/track",
            post(
                |State(seen): State<Seen>,
                 headers: HeaderMap,
                 Json(body): Json<serde_json::Value>| async move {
                    let key = headers
                        .get("x-api-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    if key != "k" {
                        return StatusCode::UNAUTHORIZED;
                    }
                    seen.lock().expect("lock").push((key, body));
                    StatusCode::CREATED
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn target(url: &str, key: &str) -> TrackerTarget {
    TrackerTarget {
        url: url.to_owned(),
        api_key: key.to_owned(),
        user: "ada".into(),
        session: "s-1".into(),
        commit: Some("abc1234".into()),
        target_name: Some("my-app".into()),
        challenge: "robust-service".into(),
    }
}

async fn real_report() -> loadgen::RunReport {
    use loadgen::target::{RequestTemplate, Target};
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let t = Target::parse(&format!("http://{closed}/")).expect("url");
    let job = loadgen::Job {
        spec: loadgen::RunSpec {
            addr: closed,
            requests: vec![RequestTemplate::new("GET", &t, &[], None)],
            answers: None,
            load: loadgen::Load::Closed {
                connections: 1,
                duration: None,
                max_requests: Some(3),
            },
            threads: 1,
            timeout: Duration::from_secs(1),
        },
        target_url: t.url.clone(),
        method: "GET".into(),
        profile: None,
    };
    loadgen::execute(job, loadgen::ExecOptions::default())
        .await
        .expect("runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_sent_with_the_earlier_payload_and_richer_fields() {
    let (url, seen) = tracker().await;
    let r = real_report().await;
    let msg = send(&r, &target(&url, "k")).await.expect("accepted");
    assert!(msg.contains("s-1"));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1);
    let payload: TrackPayload =
        serde_json::from_value(seen[0].1.clone()).expect("payload parses as the earlier schema");
    assert_eq!(payload.user_id, "ada");
    assert_eq!(payload.schema_version, "1.0");
    assert_eq!(payload.run_details.session_id, "s-1");
    assert_eq!(payload.run_details.commit_hash.as_deref(), Some("abc1234"));
    assert_eq!(payload.run_details.total_requests, 3);
    assert_eq!(payload.run_details.failed_requests, 3);
    assert_eq!(payload.run_details.error_counts.get("connect"), Some(&3));
    assert!(payload.run_details.p99_latency_ms.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_or_missing_tracker_is_reported_not_fatal() {
    let (url, _) = tracker().await;
    let r = real_report().await;
    let refused = send(&r, &target(&url, "wrong")).await.expect_err("401");
    assert!(
        refused.contains("refused") && refused.contains("401"),
        "{refused}"
    );

    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let started = std::time::Instant::now();
    let down = send(&r, &target(&format!("http://{nowhere}"), "k"))
        .await
        .expect_err("down");
    assert!(down.contains("after 4 attempts"), "{down}");
    assert!(
        started.elapsed() >= Duration::from_millis(1_500),
        "it retried with backoff"
    );
}
