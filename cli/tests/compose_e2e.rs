//! The docker-compose playground end to end, as a new user follows
//! docs/PLAYGROUND.md, on a real Docker engine. Opt-in (it needs Docker and
//! the four images built from the root Dockerfile): `CHAOS_COMPOSE_E2E=1`
//! with `DOCKER_HOST` set; `deploy/compose-e2e.sh` builds the images with
//! the offline Docker kit and runs it. Without the variable it says
//! SKIPPED and passes.
//!
//! The path: `compose up` (no Grafana: no image of it here), `chaosctl
//! contributor create`, the app started with the command it printed, the
//! load's metrics in Prometheus both from a `chaosctl run --compose` and
//! from the `loadgen` service, an official score on the board and its run
//! page, and `compose stop` with every container exiting 0.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chaos_testkit::{free_port, temp_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_chaosctl");

fn enabled() -> bool {
    std::env::var("CHAOS_COMPOSE_E2E").as_deref() == Ok("1")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_path_buf()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run_in(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn ok(dir: &Path, program: &str, args: &[&str]) -> String {
    let o = run_in(dir, program, args);
    assert!(o.status.success(), "{program} {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The project as a user has it: the compose file, what it mounts, and a
/// `.env` made from `.env.example` with the secrets set.
fn project(prometheus_port: u16) -> PathBuf {
    let dir = temp_dir("chaos-compose-e2e");
    let root = repo();
    fs::copy(
        root.join("docker-compose.yml"),
        dir.join("docker-compose.yml"),
    )
    .expect("compose file");
    for sub in ["deploy/compose", "charts/sre-chaos/dashboards"] {
        copy_dir(&root.join(sub), &dir.join(sub));
    }
    let example = fs::read_to_string(root.join(".env.example")).expect(".env.example");
    let env: String = example
        .lines()
        .map(|l| match l.split_once('=') {
            Some(("POSTGRES_PASSWORD", _)) => "POSTGRES_PASSWORD=e2e-postgres-secret".into(),
            Some(("CHAOS_ADMIN_TOKEN", _)) => {
                "CHAOS_ADMIN_TOKEN=e2e-admin-token-0123456789abcdef".into()
            }
            Some(("ANVIL_ADMIN_TOKEN", _)) => {
                "ANVIL_ADMIN_TOKEN=e2e-anvil-token-0123456789abcdef".into()
            }
            Some(("PROMETHEUS_PORT", _)) => format!("PROMETHEUS_PORT={prometheus_port}"),
            Some(("TRACKER_PORT", _)) => format!("TRACKER_PORT={}", free_port()),
            _ => l.to_owned(),
        })
        .map(|l| l + "\n")
        .collect();
    fs::write(dir.join(".env"), env).expect(".env");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The printed line that starts with `prefix` (after its indentation).
fn printed<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

async fn get_json(url: &str) -> Option<Value> {
    let r = reqwest::get(url).await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

async fn wait_for(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The value of an instant PromQL query, if it has one.
async fn promql(prometheus: &str, query: &str) -> Option<f64> {
    let url =
        reqwest::Url::parse_with_params(&format!("{prometheus}/api/v1/query"), &[("query", query)])
            .ok()?;
    let v = get_json(url.as_str()).await?;
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
}

/// Stops and removes the project whatever happens to the test.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = run_in(
            &self.0,
            "docker",
            &[
                "compose",
                "--profile",
                "load",
                "down",
                "-v",
                "--remove-orphans",
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_playground_from_up_to_an_official_score() {
    if !enabled() {
        eprintln!(
            "SKIPPED: the compose e2e runs with CHAOS_COMPOSE_E2E=1 and a Docker engine (deploy/compose-e2e.sh)"
        );
        return;
    }
    for port in [8080, 8081] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "127.0.0.1:{port} is taken: the playground's defaults must be free for this test"
        );
    }
    let prometheus_port = free_port();
    let dir = project(prometheus_port);
    let prometheus = format!("http://127.0.0.1:{prometheus_port}");
    let api = "http://127.0.0.1:8081";

    // Up, without Grafana (no image of it here) and without building.
    let started = Instant::now();
    ok(
        &dir,
        "docker",
        &[
            "compose",
            "up",
            "-d",
            "postgres",
            "chaos-api",
            "url-anvil",
            "prometheus",
        ],
    );
    let _down = Down(dir.clone());
    wait_for("the API server", Duration::from_secs(120), async || {
        get_json(&format!("{api}/readyz")).await.is_some()
    })
    .await;
    eprintln!(
        "compose up to a ready API: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A contributor, and the commands chaosctl prints for this playground.
    let created = ok(
        &dir,
        BIN,
        &[
            "contributor",
            "create",
            "ada",
            "--challenge",
            "robust-service",
        ],
    );
    let start_app = printed(&created, "docker compose -f docker-compose.yml");
    let run = printed(&created, "chaosctl run");
    assert!(run.contains("--compose"), "{created}");
    let words: Vec<&str> = start_app.split_whitespace().collect();
    ok(&dir, words[0], &words[1..]);
    let target = run
        .split_whitespace()
        .skip_while(|w| *w != "--target")
        .nth(1)
        .expect("--target")
        .to_owned();
    wait_for("the app", Duration::from_secs(60), async || {
        reqwest::get(format!("{target}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    // Its /metrics is its own: url-anvil's are not scraped twice.
    let metrics = reqwest::get(format!("{target}/metrics"))
        .await
        .expect("app");
    assert_eq!(metrics.status(), 404);

    // The printed run, as printed: an official robust-service run.
    let words: Vec<String> = run.split_whitespace().map(str::to_owned).collect();
    let run_dir = dir.clone();
    let child = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .current_dir(run_dir)
            .args(&words[1..])
            .args(["--output", "json"])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("chaosctl run")
    });
    // During the run, Prometheus scrapes the load.
    wait_for(
        "the run's load in Prometheus",
        Duration::from_secs(90),
        async || {
            promql(
                &prometheus,
                r#"sum(loadgen_requests_total{job="loadgen",run_id=~"cli-.+"})"#,
            )
            .await
            .is_some_and(|v| v > 0.0)
        },
    )
    .await;
    let o = child.await.expect("joined");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    let answer: Value = serde_json::from_str(&out).expect("json answer");
    assert_eq!(answer["state"], "scored", "{answer}");
    assert_eq!(answer["official"], true, "{answer}");
    let score = answer["score"].as_f64().expect("score");
    assert!(score > 0.0, "{answer}");
    eprintln!("official robust-service score: {score:.1}");
    let run_id = answer["run_id"].as_str().expect("run id").to_owned();

    // On the board and its run page.
    let board = get_json(&format!("{api}/api/v1/leaderboard/robust-service"))
        .await
        .expect("board");
    let entries = board["entries"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["contributor"] == "ada" && e["run_id"] == run_id.as_str()),
        "{board}"
    );
    let page = reqwest::get(format!("{api}/runs/{run_id}"))
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains(&run_id));
    // Withdrawn from Prometheus' targets once the run is over.
    assert!(
        fs::read_dir(dir.join("compose-files/targets/load"))
            .expect("dir")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().ends_with(".json"))
    );

    // The loadgen service run by hand, as the compose file says: Prometheus
    // reaches it by its service name.
    let service_dir = dir.clone();
    let loadgen = tokio::task::spawn_blocking(move || {
        run_in(
            &service_dir,
            "docker",
            &[
                "compose",
                "--profile",
                "load",
                "run",
                "--rm",
                "--use-aliases",
                "loadgen",
                "profile",
                "robust-service",
                "--target",
                "http://app-ada:8080",
                "--duration-scale",
                "0.1",
                "--metrics-addr",
                "0.0.0.0:9100",
                "--metrics-wait",
                "10s",
                "--metrics-linger",
                "10s",
                "--no-progress",
            ],
        )
    });
    let seen = async {
        wait_for(
            "the loadgen service in Prometheus",
            Duration::from_secs(60),
            async || {
                promql(&prometheus, r#"max(up{job="loadgen"})"#)
                    .await
                    .is_some_and(|v| v == 1.0)
            },
        )
        .await;
    };
    let (o, ()) = tokio::join!(loadgen, seen);
    let o = o.expect("joined");
    assert!(o.status.success(), "{}", text(&o));

    // A reference topology from examples/, as its manifest says, for a
    // second contributor: rendered, started with the printed command, and
    // a request through its entry reaches url-anvil through the second tier.
    let example = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contributors/two-tiers.yaml"),
    )
    .expect("example")
    .replace("name: ada", "name: bob");
    let manifest = dir.join("bob-two-tiers.yaml");
    fs::write(&manifest, example).expect("manifest");
    let rendered = ok(&dir, BIN, &["contributor", "compose", "bob-two-tiers.yaml"]);
    let start = printed(&rendered, "docker compose -f docker-compose.yml");
    assert!(start.ends_with("edge-bob tier-bob"), "{rendered}");
    let words: Vec<&str> = start.split_whitespace().collect();
    ok(&dir, words[0], &words[1..]);
    let entry = printed(&rendered, "chaosctl run")
        .split_whitespace()
        .skip_while(|w| *w != "--target")
        .nth(1)
        .expect("--target")
        .to_owned();
    wait_for(
        "url-anvil's /readyz through edge-bob and tier-bob",
        Duration::from_secs(90),
        async || {
            reqwest::get(format!("{entry}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    let edges = ok(
        &dir,
        "docker",
        &[
            "compose",
            "-f",
            "docker-compose.yml",
            "-f",
            "compose-files/docker-compose.bob.yml",
            "ps",
            "-q",
            "edge-bob",
        ],
    );
    assert_eq!(edges.lines().count(), 2, "two edge replicas: {edges}");
    eprintln!("two-tiers from examples/ answers through its tiers at {entry}");

    // Every service stops cleanly on SIGTERM.
    let files = [
        "compose",
        "-f",
        "docker-compose.yml",
        "-f",
        "compose-files/docker-compose.ada.yml",
        "-f",
        "compose-files/docker-compose.bob.yml",
    ];
    ok(&dir, "docker", &[&files[..], &["stop"]].concat());
    let ps = ok(
        &dir,
        "docker",
        &[&files[..], &["ps", "-a", "--format", "json"]].concat(),
    );
    let containers: Vec<Value> = ps
        .lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Array(items)) => items,
            Ok(one) => vec![one],
            Err(e) => panic!("docker compose ps: {e}: {l}"),
        })
        .collect();
    // postgres, chaos-api, url-anvil, prometheus and the app.
    assert!(containers.len() >= 5, "{ps}");
    for c in &containers {
        assert_eq!(c["ExitCode"], 0, "{} did not exit 0: {c}", c["Service"]);
    }
}
