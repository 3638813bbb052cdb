//! Helpers shared by chaos-api's integration tests: servers on free
//! ports, a throwaway PostgreSQL cluster, an HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chaos_api::{Config, Running};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ADMIN: &str = "test-admin-token-0123456789";

#[allow(unused_imports)]
pub use chaos_testkit::{free_port, require_tools, skip};

pub fn config(database: &str) -> Config {
    let mut c = Config::defaults();
    c.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.database = database.to_owned();
    c.admin_token = Some(ADMIN.into());
    c.scoring_settle = Duration::from_millis(0);
    c.scrape_interval = Duration::from_millis(250);
    c
}

pub async fn server(config: &Config) -> Running {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    chaos_api::start(config, listener)
        .await
        .expect("chaos-api starts")
}

/// A fresh SQLite file in a temporary directory.
pub fn sqlite_db() -> String {
    let dir =
        std::env::temp_dir().join(format!("chaos-api-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("chaos.db").display().to_string()
}

/// A PostgreSQL cluster of its own, on a free port, removed on drop.
pub struct Pg {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

fn find_pg_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
}

impl Pg {
    pub fn start() -> Option<Pg> {
        Pg::start_on(free_port())
    }

    /// A cluster on `port`, for a test that connects before it exists.
    pub fn start_on(port: u16) -> Option<Pg> {
        let bin = find_pg_bin()?;
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!("chaos-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).ok()?;
        if as_postgres {
            Command::new("chown")
                .args(["postgres:postgres", &dir.display().to_string()])
                .status()
                .ok()?;
        }
        let data = dir.join("data");
        let pg = Pg {
            dir: dir.clone(),
            bin,
            port,
            as_postgres,
        };
        let ok = pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ],
        ) && pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &dir.join("log").display().to_string(),
                "-o",
                &format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                    dir.display()
                ),
                "-w",
                "start",
            ],
        );
        ok.then_some(pg)
    }

    /// Restarts the cluster the way an operator would (`pg_ctl restart -m
    /// fast`: every session is ended), and waits until it accepts
    /// connections again.
    pub fn restart(&self) -> bool {
        let data = self.dir.join("data").display().to_string();
        // With its log file named: a server writing to pg_ctl's output
        // would hold the pipe `run` reads to its end.
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-m", "fast", "-w", "restart"],
        )
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(&self.dir);
        matches!(cmd.output(), Ok(o) if o.status.success())
    }

    /// A new, empty database in the cluster.
    pub async fn fresh_db(&self, name: &str) -> String {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to postgres");
        sqlx::Executor::execute(
            &mut conn,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .expect("create database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A JSON client for one server.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn error(&self) -> String {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field in {}", self.text))
            .to_owned()
    }
}

impl Client {
    pub fn new(base: String) -> Client {
        Client {
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let response = r.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(ADMIN), Some(body)).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .body(body);
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        let response = r.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// Registers a contributor and returns their API key.
    pub async fn register(&self, name: &str) -> String {
        let r = self
            .admin_post("/api/v1/contributors", serde_json::json!({ "name": name }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["api_key"].as_str().expect("api_key").to_owned()
    }

    /// Polls a run until its state is one of `states`.
    pub async fn wait_for_run(&self, id: &str, states: &[&str], within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let r = self.get(&format!("/api/v1/runs/{id}")).await;
            let state = r.body["state"].as_str().unwrap_or_default().to_owned();
            if states.contains(&state.as_str()) {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "run {id} stayed {state}: {}",
                r.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The PostgreSQL cluster the tests of this binary share while they
/// overlap: each test holds it, the last one to finish stops it (a test
/// that starts after that gets a new one). Nothing outlives the tests.
static SHARED_PG: std::sync::Mutex<std::sync::Weak<Pg>> =
    std::sync::Mutex::new(std::sync::Weak::new());

/// A fresh database named `name` in the shared cluster, and the cluster
/// to hold while using it; `None` (after saying SKIPPED, or failing when
/// tools are required) where PostgreSQL is missing.
pub async fn postgres_db(name: &str) -> Option<(String, std::sync::Arc<Pg>)> {
    let pg = {
        let mut shared = SHARED_PG.lock().unwrap_or_else(|p| p.into_inner());
        match shared.upgrade() {
            Some(pg) => pg,
            None => {
                let Some(pg) = Pg::start() else {
                    skip("PostgreSQL (initdb, pg_ctl under /usr/lib/postgresql)");
                    return None;
                };
                let pg = std::sync::Arc::new(pg);
                *shared = std::sync::Arc::downgrade(&pg);
                pg
            }
        }
    };
    let url = pg.fresh_db(name).await;
    Some((url, pg))
}

/// One test per scenario and database, named `sqlite::<scenario>` and
/// `postgres::<scenario>`, so each runs, fails and is reported on its own
/// (`cargo test -p chaos-api --test api postgres::contributors`). Each
/// scenario is an `async fn(database_url: String)`.
#[macro_export]
macro_rules! scenarios {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::support::sqlite_db()).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some((db, _cluster)) = super::support::postgres_db(stringify!($scenario)).await else {
                        return;
                    };
                    super::$scenario(db).await;
                }
            )+
        }
    };
}

/// Exactly what the earlier platform's Python client sent.
pub fn legacy(
    user: &str,
    session: &str,
    commit: &str,
    p95: Option<f64>,
    rps: f64,
    at: &str,
) -> Value {
    let mut v = json!({
        "schema_version": "1.0",
        "userId": user,
        "challengeType": "robust-service",
        "metricName": "rps",
        "value": rps,
        "timestamp": at,
        "labels": {"target": "my-app"},
        "runDetails": {
            "target_url": "http://localhost:8080/api/test",
            "request_count": 1000,
            "method": "POST",
            "payload_urls": ["http://url-anvil:8080/corpus/1"],
            "total_requests": 1000,
            "successful_requests": 990,
            "failed_requests": 10,
            "avg_latency_ms": 12.3,
            "error_rate": 1.0,
            "rps": rps,
            "duration_s": 1.23,
            "test_type": "load",
            "commit_hash": commit,
            "session_id": session
        }
    });
    if let Some(p) = p95 {
        v["runDetails"]["p95_latency_ms"] = json!(p);
    }
    v
}
