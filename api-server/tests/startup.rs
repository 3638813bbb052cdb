//! Starting before the database does. In a cluster the API server's pod and
//! PostgreSQL's start together; the server used to exit at once and
//! crash-loop until the database answered. It now waits for it, within
//! `--database-wait`, and still fails fast on what waiting cannot fix.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_waits_for_a_database_that_starts_after_it() {
    let port = free_port();
    let mut cfg = config(&format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    cfg.database_wait = Duration::from_secs(60);
    let starting = tokio::spawn(async move {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .expect("bind");
        chaos_api::start(&cfg, listener).await
    });
    // Nothing listens on the port yet: the server keeps trying.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!starting.is_finished(), "gave up before the database came");
    let Some(_pg) = tokio::task::spawn_blocking(move || Pg::start_on(port))
        .await
        .expect("join")
    else {
        skip("PostgreSQL (initdb, pg_ctl under /usr/lib/postgresql)");
        starting.abort();
        return;
    };
    let running = tokio::time::timeout(Duration::from_secs(30), starting)
        .await
        .expect("started once the database was up")
        .expect("join")
        .expect("chaos-api starts");
    let ready = reqwest::get(format!("{}/readyz", running.base_url()))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_will_not_come_is_given_up_on_and_named() {
    let port = free_port();
    let mut cfg = config(&format!("postgres://chaos:secret@127.0.0.1:{port}/chaos"));
    cfg.database_wait = Duration::from_secs(2);
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .expect("bind");
    let err = match chaos_api::start(&cfg, listener).await {
        Ok(_) => panic!("started without a database"),
        Err(e) => format!("{e:#}"),
    };
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "did not wait: {took:?}");
    assert!(took < Duration::from_secs(15), "waited too long: {took:?}");
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("secret"), "the password is shown: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_fails_at_once() {
    let Some((url, _pg)) = postgres_db("startup_probe").await else {
        return;
    };
    // The server answers, but the database does not exist: waiting cannot help.
    let missing = url.replace("/startup_probe", "/no_such_database");
    let mut cfg = config(&missing);
    cfg.database_wait = Duration::from_secs(60);
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .expect("bind");
    let err = match chaos_api::start(&cfg, listener).await {
        Ok(_) => panic!("started on a missing database"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} for a database that does not exist",
        started.elapsed()
    );
    assert!(err.contains("no_such_database"), "{err}");
}
