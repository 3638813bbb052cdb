//! End to end, through the chaosctl binary: `chaosctl up` on free ports
//! fills its leaderboard with the example contributor; a new contributor
//! is created, switched and given a scored `chaosctl run` against the
//! example app; the leaderboard JSON and page (in headless Chromium) show
//! the run's three statistics; a restart keeps everything.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chaos_client::Client;
use chaos_domain::Challenge;
use chaos_testkit::{Chromedriver, free_port, skip, temp_dir, texts};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_chaosctl");

struct Ports {
    anvil: u16,
    api: u16,
    example: u16,
}

/// A `chaosctl up` process, stopped with SIGTERM like a service manager would.
struct Up {
    child: Child,
    log: PathBuf,
}

impl Up {
    fn start(dir: &Path, ports: &Ports, extra: &[&str]) -> Up {
        let log = dir.join(format!("up-{}.log", ports.api));
        let child = Command::new(BIN)
            .current_dir(dir)
            .args(["up", "--data-dir", "data"])
            .args(["--anvil-port", &ports.anvil.to_string()])
            .args(["--api-port", &ports.api.to_string()])
            .args(["--example-port", &ports.example.to_string()])
            .args(extra)
            .stdout(fs::File::create(&log).expect("log"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chaosctl up starts");
        Up { child, log }
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status within 30 s.
    fn stop(mut self) -> (bool, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.success(), self.output());
            }
            assert!(Instant::now() < deadline, "chaosctl up did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chaosctl(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("chaosctl runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn wait_until_healthy(api: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.healthy().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the playground's API never answered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn stat(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_from_up_to_a_scored_run_on_the_leaderboard() {
    let Some(driver) = Chromedriver::start() else {
        skip("chromium and chromium-driver (Debian packages)");
        return;
    };
    let dir = temp_dir("chaosctl-e2e");
    let ports = Ports {
        anvil: free_port(),
        api: free_port(),
        example: free_port(),
    };
    let api_url = format!("http://127.0.0.1:{}", ports.api);
    let anvil_url = format!("http://127.0.0.1:{}", ports.anvil);
    let example_url = format!("http://127.0.0.1:{}", ports.example);
    let up = Up::start(
        &dir,
        &ports,
        &["--example-duration", "6s", "--example-rate-scale", "0.3"],
    );
    let api = Client::new(&api_url).expect("client");
    wait_until_healthy(&api).await;

    // Within a minute or so, the example contributor has a scored run in
    // every challenge: short ones, so practice, shown under every board.
    let deadline = Instant::now() + Duration::from_secs(120);
    for challenge in Challenge::ALL {
        loop {
            let runs = match api.runs(Some("example"), Some(challenge)).await {
                Ok(runs) => runs,
                // Not registered yet.
                Err(e) if e.status() == Some(404) => Vec::new(),
                Err(e) => panic!("runs: {e}"),
            };
            if let Some(run) = runs
                .iter()
                .find(|r| r.state == chaos_client::RunState::Scored)
            {
                assert!(!run.is_official(), "a 6 s run is practice: {run:?}");
                if challenge == Challenge::LongestUpkeep {
                    // Run at the shortest length that can be judged (60 s),
                    // not 6 s: a working proxy shows some uptime, not 0.
                    let uptime = run.score.as_ref().and_then(|s| s.stat1);
                    assert!(uptime.is_some_and(|u| u > 0.0), "{run:?}");
                }
                let page = reqwest::get(format!("{api_url}/leaderboard/{challenge}"))
                    .await
                    .expect("page")
                    .text()
                    .await
                    .expect("html");
                assert!(
                    page.contains("id=\"practice\"") && page.contains(&format!("/runs/{}", run.id)),
                    "{page}"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no example entry on {challenge}:\n{}",
                up.output()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let out = up.output();
    assert!(out.contains(&format!("leaderboard   {api_url}/")), "{out}");
    assert!(
        out.contains(&format!("example app   {example_url}")),
        "{out}"
    );

    // A newcomer signs up; the key lands in .env.
    let root = dir.to_str().expect("utf-8 path");
    let create = chaosctl(
        &dir,
        &[
            "contributor",
            "create",
            "ada",
            "--root",
            root,
            "--api-url",
            &api_url,
            "--data-dir",
            "data",
        ],
    );
    assert!(create.status.success(), "{}", text(&create));
    let env = fs::read_to_string(dir.join(".env")).expect(".env");
    assert!(env.contains("CHAOS_API_KEY_ADA=sck_"), "{env}");
    assert!(env.contains("CHAOS_CONTRIBUTOR=ada\n"), "{env}");
    for f in [
        "Dockerfile",
        "nginx.conf",
        "nginx.local.conf",
        "run-local.sh",
        "index.html",
        ".dockerignore",
    ] {
        assert!(dir.join("contributors/ada").join(f).is_file(), "{f}");
    }
    // Next to `chaosctl up`, the next step is the Docker-free one.
    let told = text(&create);
    assert!(
        told.contains("next to `chaosctl up` (no Docker") && told.contains("run-local.sh"),
        "{told}"
    );
    let local = fs::read_to_string(dir.join("contributors/ada/nginx.local.conf")).expect("local");
    assert!(local.contains("server 127.0.0.1:"), "{local}");
    // The key is also where the earlier switch_challenge.py reads it, owner-only.
    let key_file = dir.join("contributors/ada/private/api_key.txt");
    let key = fs::read_to_string(&key_file).expect("private/api_key.txt");
    assert!(env.contains(&format!("CHAOS_API_KEY_ADA={key}\n")), "{env}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &std::path::Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(key_file.parent().expect("dir")), 0o700);
    }
    let compose =
        fs::read_to_string(dir.join("compose-files/docker-compose.ada.yml")).expect("override");
    assert!(compose.contains("app-ada:"), "{compose}");
    // The override follows the Compose specification (PyPI check-jsonschema).
    let schema = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(dir.join("compose-files/docker-compose.ada.yml"))
        .output();
    match schema {
        Ok(o) => assert!(o.status.success(), "{}", text(&o)),
        Err(_) => chaos_testkit::skip("check-jsonschema (PyPI)"),
    }
    let again = chaosctl(
        &dir,
        &[
            "contributor",
            "create",
            "ada",
            "--root",
            root,
            "--api-url",
            &api_url,
            "--data-dir",
            "data",
        ],
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        text(&again)
    );
    let bad = chaosctl(
        &dir,
        &["contributor", "create", "Ada!", "--api-url", &api_url],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a valid contributor name"),
        "{}",
        text(&bad)
    );

    let switch = chaosctl(
        &dir,
        &[
            "challenge",
            "switch",
            "--user",
            "ada",
            "--challenge",
            "graceful-degradation",
            "--api-url",
            &api_url,
        ],
    );
    assert!(switch.status.success(), "{}", text(&switch));
    assert_eq!(
        api.contributor("ada").await.expect("ada").active_challenge,
        Some(chaos_domain::Challenge::GracefulDegradation)
    );

    // Contributors of the earlier platform come over from its api_keys export.
    fs::write(
        dir.join("keys.csv"),
        "id,key,user_id,challenge_type\n1,3f1b2c4d-aaaa-4bbb-8ccc-123456789abc,Grace_Hopper,longest-upkeep\n",
    )
    .expect("export");
    let keys = dir.join("keys.csv");
    let import = |extra: &[&str]| {
        let mut a = vec![
            "contributor",
            "import",
            keys.to_str().expect("utf-8"),
            "--api-url",
            &api_url,
            "--data-dir",
            "data",
        ];
        a.extend_from_slice(extra);
        chaosctl(&dir, &a)
    };
    let dry = import(&["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("Grace_Hopper → grace-hopper: created"),
        "{}",
        text(&dry)
    );
    assert_eq!(
        api.contributor("grace-hopper")
            .await
            .map(|_| ())
            .err()
            .and_then(|e| e.status()),
        Some(404)
    );
    let done = import(&["--output", "json"]);
    assert!(done.status.success(), "{}", text(&done));
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).expect("json report");
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["contributors"][0]["earlier_key"], "kept");
    assert!(
        report["contributors"][0]["api_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("sck_"))
    );
    assert_eq!(
        api.contributor("grace-hopper")
            .await
            .expect("imported")
            .active_challenge,
        Some(chaos_domain::Challenge::LongestUpkeep)
    );

    // The data directory holds tokens and the database: its owner's only.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("data")), 0o700);
        assert_eq!(mode(&dir.join("data/chaos.db")), 0o600);
        assert_eq!(mode(&dir.join("data/admin-token")), 0o600);
    }

    // A target that does not answer is refused before anything happens: exit 3.
    let runs_before = api.runs(Some("ada"), None).await.expect("runs").len();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let refused = chaosctl(
        &dir,
        &[
            "run",
            "--challenge",
            "graceful-degradation",
            "--target",
            &dead,
            "--api-url",
            &api_url,
            "--anvil-url",
            &anvil_url,
            "--data-dir",
            "data",
        ],
    );
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains(&dead) && said.contains("does not answer HTTP"),
        "{said}"
    );
    assert_eq!(
        api.runs(Some("ada"), None).await.expect("runs").len(),
        runs_before,
        "no run registered for a dead target"
    );

    // A scored run against the example app; the contributor comes from .env.
    let run = chaosctl(
        &dir,
        &[
            "run",
            "--challenge",
            "robust-service",
            "--target",
            &example_url,
            "--api-url",
            &api_url,
            "--anvil-url",
            &anvil_url,
            "--data-dir",
            "data",
            "--duration",
            "8s",
            "--rate-scale",
            "0.4",
            "--output",
            "json",
        ],
    );
    assert!(run.status.success(), "{}", text(&run));
    let result: Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(result["state"], "scored", "{result}");
    assert_eq!(result["contributor"], "ada");
    // Squeezed and slowed: practice, and it says why.
    assert_eq!(result["official"], false, "{result}");
    let reasons = result["practice_reasons"].to_string();
    assert!(
        reasons.contains("length was scaled") && reasons.contains("rates were scaled ×0.4"),
        "{reasons}"
    );
    let stats = [
        stat(&result, "stat1"),
        stat(&result, "stat2"),
        stat(&result, "stat3"),
    ];
    // At 0.4 × the profile's rates url-anvil serves the low steps within the SLO.
    assert!(stats[0] > 0.0, "{result}");
    assert!(result["report"]["requests"]["total"].as_u64().unwrap_or(0) > 100);

    let board = chaosctl(
        &dir,
        &[
            "leaderboard",
            "--challenge",
            "robust-service",
            "--output",
            "json",
            "--api-url",
            &api_url,
        ],
    );
    assert!(board.status.success(), "{}", text(&board));
    let board: Value = serde_json::from_slice(&board.stdout).expect("json");
    let entries = board["entries"].as_array().expect("entries");
    assert!(
        entries.iter().all(|e| e["contributor"] != "ada"),
        "a practice run never ranks: {board}"
    );
    let table = chaosctl(&dir, &["leaderboard", "--api-url", &api_url]);
    assert!(table.status.success(), "{}", text(&table));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("Robust Service") && table.contains("No official runs yet"),
        "{table}"
    );

    // The page lists it under the board, as practice, with the same three statistics.
    let profile = dir.join("chrome");
    let b = driver.browser(&profile).await;
    b.goto(&format!("{api_url}/leaderboard/robust-service"))
        .await
        .expect("open");
    for (i, k) in ["stat1", "stat2", "stat3"].into_iter().enumerate() {
        let shown = texts(
            &b,
            &format!("table#practice tr[data-contributor=ada] td.{k}"),
        )
        .await;
        assert_eq!(shown.len(), 1, "{k}: {shown:?}");
        let v: f64 = shown[0]
            .replace(',', "")
            .parse()
            .unwrap_or_else(|_| panic!("{k} shows {:?}", shown[0]));
        assert!(
            (v - stats[i]).abs() <= 0.005 + stats[i].abs() * 1e-9,
            "{k}: page {v}, API {}",
            stats[i]
        );
    }
    let _ = b.close().await;

    let (clean, out) = up.stop();
    assert!(clean, "chaosctl up did not exit cleanly:\n{out}");
    assert!(out.contains("Stopped."), "{out}");

    // A restart keeps the scores and does not run the examples again.
    let up = Up::start(&dir, &ports, &[]);
    wait_until_healthy(&api).await;
    let ada_runs = api.runs(Some("ada"), None).await.expect("runs");
    assert!(
        ada_runs
            .iter()
            .any(|r| r.id == result["run_id"] && r.state == chaos_client::RunState::Scored),
        "{ada_runs:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let example_runs = api.runs(Some("example"), None).await.expect("runs");
    assert_eq!(example_runs.len(), 3, "{example_runs:?}");
    let (clean, out) = up.stop();
    assert!(clean, "{out}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn a_port_in_use_is_named_with_its_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = temp_dir("chaosctl-port");
    let o = chaosctl(
        &dir,
        &[
            "up",
            "--data-dir",
            "data",
            "--api-port",
            &port.to_string(),
            "--anvil-port",
            &free_port().to_string(),
            "--example-port",
            &free_port().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("port {port}")) && err.contains("--api-port"),
        "{err}"
    );
    // The holder is named: here, this test's own process.
    assert!(
        err.contains(&format!("(pid {})", std::process::id())),
        "{err}"
    );
    let _ = fs::remove_dir_all(dir);
}

/// The usual clash is the other playground: a second `chaosctl up` on the
/// same ports is told which program holds them and how to run both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_playground_is_told_who_holds_the_port() {
    let dir = temp_dir("chaosctl-two-ups");
    let ports = Ports {
        anvil: free_port(),
        api: free_port(),
        example: free_port(),
    };
    let first = Up::start(&dir, &ports, &["--no-example"]);
    let api = Client::new(&format!("http://127.0.0.1:{}", ports.api)).expect("client");
    wait_until_healthy(&api).await;
    let o = chaosctl(
        &dir,
        &[
            "up",
            "--data-dir",
            "data2",
            "--api-port",
            &ports.api.to_string(),
            "--anvil-port",
            &free_port().to_string(),
            "--no-example",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "another `chaosctl up` holds it (pid {})",
            first.child.id()
        )) && err.contains("--api-port"),
        "{err}"
    );
    let (clean, out) = first.stop();
    assert!(clean, "{out}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn completions_and_help_work_without_a_server() {
    let dir = temp_dir("chaosctl-help");
    let bash = chaosctl(&dir, &["completions", "bash"]);
    assert!(bash.status.success());
    assert!(String::from_utf8_lossy(&bash.stdout).contains("chaosctl"));
    for sub in [
        &["up", "--help"][..],
        &["run", "--help"],
        &["contributor", "create", "--help"],
        &["challenge", "switch", "--help"],
        &["leaderboard", "--help"],
    ] {
        let o = chaosctl(&dir, sub);
        assert!(o.status.success(), "{sub:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Examples:"),
            "{sub:?} has no examples"
        );
    }
    let o = chaosctl(&dir, &["run", "--challenge", "fastest", "--target", "x"]);
    assert_eq!(o.status.code(), Some(2), "bad usage is 2");
    let o = chaosctl(
        &dir,
        &[
            "run",
            "--challenge",
            "robust-service",
            "--target",
            "http://127.0.0.1:1",
            "--data-dir",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("whose run is it")
            || String::from_utf8_lossy(&o.stderr).contains("no admin token"),
        "{}",
        text(&o)
    );
    // A longest-upkeep run too short to judge is refused up front, saying
    // how long the shortest one is.
    let o = chaosctl(
        &dir,
        &[
            "run",
            "--challenge",
            "longest-upkeep",
            "--target",
            "http://127.0.0.1:1",
            "--contributor",
            "ada",
            "--duration",
            "15s",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("shortest run that can be judged lasts 60 s"),
        "{}",
        text(&o)
    );
    let _ = fs::remove_dir_all(dir);
}
