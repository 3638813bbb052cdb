//! The client against a real API server on SQLite, started in this process.

use std::time::Duration;

use chaos_client::{Client, Error, NewRun};
use chaos_domain::Challenge;

const ADMIN: &str = "client-test-admin-token";

async fn server() -> (chaos_api::Running, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "chaos-client-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut c = chaos_api::Config::defaults();
    c.listen = ([127, 0, 0, 1], 0).into();
    c.database = dir.join("chaos.db").display().to_string();
    c.admin_token = Some(ADMIN.into());
    c.scoring_settle = Duration::ZERO;
    let listener = tokio::net::TcpListener::bind(c.listen).await.expect("bind");
    let running = chaos_api::start(&c, listener).await.expect("starts");
    (running, dir)
}

#[tokio::test]
async fn contributors_runs_and_the_leaderboard() {
    let (s, dir) = server().await;
    let public = Client::new(&s.base_url()).expect("client");
    let admin = public.clone().with_admin_token(ADMIN);
    public.healthy().await.expect("healthy");

    // Admin calls need the token, and say so before sending anything.
    assert!(matches!(
        public.register_contributor("ada", None, None).await,
        Err(Error::NoAdminToken)
    ));
    let wrong = public.clone().with_admin_token("not-the-token-at-all");
    let e = wrong
        .register_contributor("ada", None, None)
        .await
        .expect_err("refused");
    assert_eq!(e.status(), Some(403));
    assert!(!e.is_transient());

    let reg = admin
        .register_contributor("ada", Some("Ada L."), Some(Challenge::LongestUpkeep))
        .await
        .expect("registered");
    assert!(reg.api_key.starts_with("sck_"));
    assert_eq!(reg.contributor.display_name, "Ada L.");
    assert_eq!(
        reg.contributor.active_challenge,
        Some(Challenge::LongestUpkeep)
    );
    let taken = admin
        .register_contributor("ada", None, None)
        .await
        .expect_err("taken");
    assert_eq!(taken.status(), Some(409), "{taken}");
    let bad = admin
        .register_contributor("Not A Name", None, None)
        .await
        .expect_err("invalid");
    assert_eq!(bad.status(), Some(422));
    assert!(bad.to_string().contains("not valid"), "{bad}");

    let switched = public
        .switch_challenge("ada", &reg.api_key, Challenge::RobustService)
        .await
        .expect("switched");
    assert_eq!(switched.active_challenge, Some(Challenge::RobustService));
    let e = public
        .switch_challenge("ada", "sck_wrong", Challenge::RobustService)
        .await
        .expect_err("wrong key");
    assert!(matches!(e.status(), Some(401 | 403)), "{e}");
    assert_eq!(
        public.contributor("ada").await.expect("get").name,
        "ada".to_owned()
    );
    assert_eq!(
        public.contributor("bob").await.expect_err("none").status(),
        Some(404)
    );

    let new = NewRun {
        id: Some("run-1".into()),
        source: Some(chaos_client::Source::Builtin),
        loadgen_metrics_url: Some("http://127.0.0.1:1/metrics".into()),
        anvil_metrics_url: Some("http://127.0.0.1:1/metrics".into()),
        ..NewRun::new("ada", Challenge::RobustService, "http://127.0.0.1:1")
    };
    let run = admin.register_run(&new).await.expect("run");
    assert_eq!(run.state, chaos_client::RunState::Registered);
    // The same id again is the same run.
    assert_eq!(admin.register_run(&new).await.expect("again").id, "run-1");
    let run = admin.start_run("run-1", None).await.expect("start");
    assert_eq!(run.state, chaos_client::RunState::Running);
    assert!(run.window.start.is_some());
    tokio::time::sleep(Duration::from_millis(20)).await;
    admin.end_run("run-1", None).await.expect("end");
    admin.score_run("run-1").await.expect("score");
    // Nothing was listening at the metrics URLs: an explicit no-data outcome.
    let done = public
        .wait_for_outcome("run-1", Duration::from_secs(20))
        .await
        .expect("finished");
    assert!(done.is_finished());
    assert_eq!(done.state, chaos_client::RunState::NoData, "{done:?}");
    assert!(done.links.page.ends_with("/runs/run-1"));
    assert_eq!(
        public
            .runs(Some("ada"), Some(Challenge::RobustService))
            .await
            .expect("runs")
            .len(),
        1
    );
    let board = public
        .leaderboard(Challenge::RobustService, 1, 10)
        .await
        .expect("board");
    assert_eq!(board.statistics.len(), 3);
    assert_eq!(board.total, 0);

    admin.deregister_contributor("ada").await.expect("gone");
    // Deregistering twice is fine.
    admin
        .deregister_contributor("ada")
        .await
        .expect("gone again");
    // A deregistered contributor is not found as one; the error says why.
    let gone = public.contributor("ada").await.expect_err("deregistered");
    assert_eq!(gone.status(), Some(404));
    assert!(gone.to_string().contains("deregistered"), "{gone}");
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_server_that_is_down_is_a_transient_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let c = Client::new(&format!("http://127.0.0.1:{port}")).expect("client");
    let e = c.healthy().await.expect_err("down");
    assert!(e.is_transient());
    assert!(e.to_string().contains("cannot reach"), "{e}");
}
