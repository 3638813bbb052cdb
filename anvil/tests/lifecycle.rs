//! url-anvil on a real socket: crash and restart, overload crash,
//! graceful shutdown, and a `promtool check metrics` of its exposition.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{TOKEN, config};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn start_time(base: &str) -> f64 {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("process_start_time_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .expect("process_start_time_seconds")
}

/// Polls until `base` answers /healthz or the deadline passes.
async fn wait_up(base: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = client().get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn an_injected_crash_drops_connections_and_a_restart_brings_fresh_state() {
    let mut c = config();
    c.admin_token = Some(TOKEN.into());
    c.on_crash = url_anvil::CrashMode::Restart;
    c.restart_delay_ms = Some(700);
    let anvil = url_anvil::spawn(c).await.expect("starts");
    let base = anvil.base_url();
    let before = start_time(&base).await;
    let body = serde_json::json!({"urls": [format!("{base}/corpus/3")]});
    assert!(
        client()
            .post(format!("{base}/api/test"))
            .json(&body)
            .send()
            .await
            .expect("test")
            .status()
            .is_success()
    );

    let r = client()
        .post(format!("{base}/admin/faults"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"kind": "crash"}))
        .send()
        .await
        .expect("crash accepted");
    assert_eq!(r.status(), 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "down after the crash"
    );
    assert!(
        wait_up(&base, Duration::from_secs(5)).await,
        "back after the restart delay"
    );
    assert!(
        start_time(&base).await > before,
        "a restart is a new process start"
    );
    let history: serde_json::Value = client()
        .get(format!("{base}/api/history"))
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(
        history,
        serde_json::json!([]),
        "a restart forgets the history"
    );
    assert_eq!(anvil.stop().await.expect("stops"), url_anvil::Exit::Clean);
}

#[tokio::test]
async fn sustained_overload_crashes_url_anvil() {
    let mut c = config();
    c.on_crash = url_anvil::CrashMode::Restart;
    c.max_concurrency = Some(1);
    c.queue_depth = Some(0);
    c.service_time_ms = Some(200);
    c.crash_after_overloaded_s = Some(2);
    c.restart_delay_ms = Some(60_000);
    let anvil = url_anvil::spawn(c).await.expect("starts");
    let base = anvil.base_url();
    let body = serde_json::json!({"urls": [format!("{base}/corpus/1")]});
    let client = client();
    let started = Instant::now();
    let mut crashed_after = None;
    // About 50 requests a second, nearly all shed: overloaded from the first second.
    while started.elapsed() < Duration::from_secs(8) {
        let mut batch = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (client, url, body) = (client.clone(), format!("{base}/api/test"), body.clone());
            batch.spawn(async move {
                client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            });
        }
        let results: Vec<_> = batch.join_all().await;
        if results.iter().all(|r| r.is_err()) {
            crashed_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let crashed_after = crashed_after.expect("url-anvil crashed under sustained overload");
    assert!(
        crashed_after >= Duration::from_secs(2),
        "not before two overloaded seconds: {crashed_after:?}"
    );
    anvil.stop().await.expect("stops");
}

#[tokio::test]
async fn shutdown_lets_open_requests_finish() {
    let mut c = config();
    c.service_time_ms = Some(500);
    let anvil = url_anvil::spawn(c).await.expect("starts");
    let base = anvil.base_url();
    let body = serde_json::json!({"urls": [format!("{base}/corpus/1")]});
    let request = tokio::spawn({
        let url = format!("{base}/api/test");
        async move {
            client()
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(anvil.stop().await.expect("stops"), url_anvil::Exit::Clean);
    assert_eq!(request.await.expect("joins").expect("answered"), 200);
    assert!(
        client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
}

/// SIGTERM, as `docker stop` and the kubelet send it, while a request is
/// being served: the request is answered, the binary exits 0 quickly.
#[test]
fn the_binary_answers_what_it_holds_and_exits_0_on_sigterm() {
    let bin = env!("CARGO_BIN_EXE_url-anvil");
    let port = free_port();
    let mut child = Command::new(bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--service-time-ms", "800"])
        .env("ANVIL_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let base = format!("http://127.0.0.1:{port}");
    let answered = rt.block_on(async {
        assert!(
            wait_up(&base, Duration::from_secs(10)).await,
            "binary came up"
        );
        let body = serde_json::json!({"urls": [format!("{base}/corpus/1")]});
        let request = tokio::spawn(client().post(format!("{base}/api/test")).json(&body).send());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(term.success());
        request.await.expect("joins").map(|r| r.status().as_u16())
    });
    assert_eq!(answered.expect("answered, not dropped"), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_binary_exits_70_when_it_crashes_and_rejects_bad_flags() {
    let bin = env!("CARGO_BIN_EXE_url-anvil");
    let bad = Command::new(bin)
        .args(["--capacity", "gigantic"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown capacity profile"));

    let port = free_port();
    let mut child = Command::new(bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("ANVIL_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        assert!(
            wait_up(&base, Duration::from_secs(10)).await,
            "binary came up"
        );
        let r = client()
            .post(format!("{base}/admin/faults"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"kind": "crash"}))
            .send()
            .await
            .expect("crash");
        assert_eq!(r.status(), 202);
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "did not exit after the crash");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(70));

    // A port in use is a clear start-up error.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let out = Command::new(bin)
        .args(["--listen", &addr.to_string()])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test]
async fn promtool_accepts_the_metrics_exposition() {
    let Some(promtool) = external_tool("promtool") else {
        return;
    };
    let mut c = config();
    c.admin_token = Some(TOKEN.into());
    let anvil = url_anvil::spawn(c).await.expect("starts");
    let base = anvil.base_url();
    let body = serde_json::json!({"urls": [format!("{base}/corpus/1")]});
    client()
        .post(format!("{base}/api/test"))
        .json(&body)
        .send()
        .await
        .expect("test");
    client()
        .get(format!("{base}/corpus/0"))
        .send()
        .await
        .expect("404");
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    anvil.stop().await.expect("stops");

    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("output");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool complained:\n{report}\n---\n{text}"
    );
}

/// The path of an external tool. Missing tools fail the test when
/// CHAOS_REQUIRE_TOOLS=1 (as in CI) and skip it, loudly, otherwise.
fn external_tool(name: &str) -> Option<String> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    match found {
        Some(p) => Some(p.display().to_string()),
        None if std::env::var("CHAOS_REQUIRE_TOOLS").as_deref() == Ok("1") => {
            panic!(
                "{name} is required (CHAOS_REQUIRE_TOOLS=1) but not on PATH; install Debian's prometheus package"
            )
        }
        None => {
            eprintln!(
                "SKIPPED: {name} not found on PATH; install Debian's prometheus package to run this test"
            );
            None
        }
    }
}
