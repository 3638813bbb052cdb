//! The loadgen binary: exit codes and messages.

use std::process::Command;

fn loadgen(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An uncapped url-anvil on a free loopback port, served by `rt`.
fn uncapped_anvil(rt: &tokio::runtime::Runtime) -> url_anvil::RunningAnvil {
    rt.block_on(async {
        let mut c = url_anvil::Config::defaults();
        c.listen = "127.0.0.1:0".parse().expect("addr");
        c.capacity = chaos_domain::CapacityProfile::UNCAPPED;
        url_anvil::spawn(c).await.expect("starts")
    })
}

#[test]
fn a_missed_threshold_exits_3_and_says_which() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let anvil = uncapped_anvil(&rt);
    let url = format!("{}/healthz", anvil.base_url());
    let (code, out, _) = loadgen(&["run", &url, "-n", "200", "-c", "4", "--max-p99", "1us"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("FAIL max-p99-ms"), "{out}");

    let (code, out, _) = loadgen(&[
        "run",
        &url,
        "-n",
        "200",
        "-c",
        "4",
        "--max-error-rate",
        "0",
        "--output",
        "json",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json on stdout");
    assert_eq!(report["schema"], "loadgen.report/v1");
    assert_eq!(report["thresholds"][0]["passed"], true);
    rt.block_on(anvil.stop()).expect("stops");
}

#[test]
fn bad_input_is_named() {
    let (code, _, err) = loadgen(&["run", "https://example.com/"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("https is not supported"), "{err}");
    let (code, _, err) = loadgen(&["run", "http://127.0.0.1:1/", "--stages", "10s:lots"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not a rate"), "{err}");
    let (code, _, err) = loadgen(&["profile", "fastest", "--target", "http://127.0.0.1:1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown challenge"), "{err}");
    let (code, _, err) = loadgen(&["run", "http://127.0.0.1:1/", "-H", "no colon"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("invalid header"), "{err}");
}

#[test]
fn profiles_are_listed_with_versions() {
    let (code, out, _) = loadgen(&["profiles"]);
    assert_eq!(code, Some(0));
    for name in [
        "robust-service-v2",
        "graceful-degradation-v2",
        "longest-upkeep-v2",
    ] {
        assert!(out.contains(name), "{out}");
    }
}

/// SIGTERM (how Kubernetes and compose stop a container) ends the run
/// early: the requests in flight finish, the report is printed, the metrics
/// linger is cut short, and the exit status is 0.
#[test]
fn sigterm_stops_the_run_reports_it_and_exits_0() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let anvil = uncapped_anvil(&rt);
    let url = format!("{}/healthz", anvil.base_url());
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            &url,
            "-d",
            "60s",
            "-c",
            "2",
            "--metrics-addr",
            &metrics.to_string(),
            "--metrics-linger",
            "60s",
            "--no-progress",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let sent = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("waits");
    let took = sent.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
    assert!(stdout.contains("stopped early"), "{stdout}");
}
