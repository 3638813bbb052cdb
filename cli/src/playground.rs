//! `chaosctl up`: the embedded playground. url-anvil, the API server on
//! SQLite with its built-in scraper, the local tracker when asked, and an
//! example contributor, all in this process; no Docker, no Prometheus.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chaos_client::Client;
use chaos_domain::{CapacityProfile, Challenge};
use clap::Args;
use loadgen::profile::Scale;
use tokio::net::TcpListener;

use crate::platform::DATA_DIR;
use crate::proxy::Proxy;
use crate::scored::{self, Plan};
use crate::{report, secrets};

/// The example contributor's name on the leaderboard.
pub const EXAMPLE: &str = "example";

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the database and the tokens are kept; a restart keeps them.
    #[arg(long, env = "CHAOS_DATA_DIR", default_value = DATA_DIR)]
    pub data_dir: PathBuf,
    /// Address every service listens on (0.0.0.0 to reach them from other machines).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// url-anvil's port.
    #[arg(long, default_value_t = 8080)]
    pub anvil_port: u16,
    /// The API server's port: the leaderboard, the API and the run pages.
    #[arg(long, default_value_t = 8081)]
    pub api_port: u16,
    /// The local tracker's port (with --tracker).
    #[arg(long, default_value_t = 8082)]
    pub tracker_port: u16,
    /// The example contributor's app (a plain proxy in front of url-anvil).
    #[arg(long, default_value_t = 8090)]
    pub example_port: u16,
    /// Serve the local tracker, your unofficial notebook of load tests.
    #[arg(long, env = "ENABLE_LOCAL_TRACKER")]
    pub tracker: bool,
    /// Key the tracker asks for in x-api-key (without one, every post is accepted).
    #[arg(long, env = "LOCAL_TRACKER_API_KEY", hide_env_values = true)]
    pub tracker_api_key: Option<String>,
    /// No example contributor and no example runs.
    #[arg(long)]
    pub no_example: bool,
    /// How long each example run lasts (one per challenge, on first start).
    #[arg(long, value_parser = chaos_domain::duration::parse, default_value = "15s")]
    pub example_duration: Duration,
    /// Multiply the example runs' arrival rates (lower it on a slow machine).
    #[arg(long, default_value_t = 1.0)]
    pub example_rate_scale: f64,
}

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    if !(args.example_rate_scale.is_finite() && args.example_rate_scale > 0.0) {
        anyhow::bail!("--example-rate-scale must be a positive number");
    }
    if args.example_duration < Duration::from_secs(5) {
        anyhow::bail!("--example-duration must be at least 5s");
    }
    secrets::private_dir(&args.data_dir)?;
    let admin_token = secrets::read_or_create(&args.data_dir.join("admin-token"))?;
    let anvil_token = secrets::read_or_create(&args.data_dir.join("anvil-token"))?;

    // Every port is checked before anything starts, so a clash is one clear error.
    let api_listener = bind(args.host, args.api_port, "the API server", "--api-port").await?;
    let example_listener = if args.no_example {
        None
    } else {
        Some(
            bind(
                args.host,
                args.example_port,
                "the example app",
                "--example-port",
            )
            .await?,
        )
    };
    drop(bind(args.host, args.anvil_port, "url-anvil", "--anvil-port").await?);
    if args.tracker {
        drop(
            bind(
                args.host,
                args.tracker_port,
                "the local tracker",
                "--tracker-port",
            )
            .await?,
        );
    }

    let mut anvil_config = url_anvil::Config::defaults();
    anvil_config.listen = SocketAddr::new(args.host, args.anvil_port);
    anvil_config.capacity = CapacityProfile::STANDARD_V1;
    anvil_config.on_crash = url_anvil::CrashMode::Restart;
    anvil_config.admin_token = Some(anvil_token.clone());
    let anvil = url_anvil::spawn(anvil_config).await?;
    let anvil_url = loopback_url(args.host, anvil.addr.port());

    let mut api_config = chaos_api::Config::defaults();
    api_config.listen = SocketAddr::new(args.host, args.api_port);
    api_config.database = args.data_dir.join("chaos.db").display().to_string();
    api_config.admin_token = Some(admin_token.clone());
    api_config.prometheus_url = None;
    // A finer scrape than a cluster's: the example runs are short.
    api_config.scrape_interval = Duration::from_millis(500);
    api_config.scoring_settle = Duration::ZERO;
    api_config.enable_local_tracker = args.tracker;
    api_config.tracker_listen = SocketAddr::new(args.host, args.tracker_port);
    api_config.tracker_api_key = args.tracker_api_key.clone();
    let api = match chaos_api::start(&api_config, api_listener).await {
        Ok(api) => api,
        Err(e) => {
            let _ = anvil.stop().await;
            return Err(e.context("the API server did not start"));
        }
    };
    let api_url = loopback_url(args.host, api.addr.port());
    let proxy = match example_listener {
        Some(l) => Some(Proxy::spawn(l, &anvil_url)?),
        None => None,
    };

    println!(
        "SRE Chaos Challenge playground (data in {})",
        args.data_dir.display()
    );
    println!("  leaderboard   {api_url}/");
    println!(
        "  API           {api_url}/api/v1  (admin token in {})",
        args.data_dir.join("admin-token").display()
    );
    println!(
        "  url-anvil     {anvil_url}  ({})",
        CapacityProfile::STANDARD_V1.versioned_name()
    );
    if let Some(addr) = api.tracker_addr {
        println!(
            "  tracker       {}  (unofficial)",
            loopback_url(args.host, addr.port())
        );
    }
    if let Some(p) = &proxy {
        println!(
            "  example app   {}  (contributor {EXAMPLE:?})",
            loopback_url(args.host, p.addr.port())
        );
    }
    println!("Press Ctrl-C to stop; the data stays for the next start.");

    let stop = Arc::new(AtomicBool::new(false));
    let client = Client::new(&api_url)?.with_admin_token(admin_token);
    let example = proxy.as_ref().map(|p| {
        let plan = Plan {
            challenge: Challenge::RobustService,
            contributor: EXAMPLE.to_owned(),
            target: loopback_url(args.host, p.addr.port()),
            anvil_url: anvil_url.clone(),
            corpus_base: anvil_url.clone(),
            anvil_token: Some(anvil_token.clone()),
            corpus_key: None,
            anvil_metrics_url: None,
            metrics_host: "127.0.0.1".to_owned(),
            scale: Scale {
                duration: 1.0,
                rate: args.example_rate_scale,
            },
            threads: 1,
            progress: false,
            stop: stop.clone(),
            announce_in: None,
        };
        tokio::spawn(seed_example(client.clone(), plan, args.example_duration))
    });

    shutdown_signal().await;
    println!("\nStopping…");
    stop.store(true, Ordering::Relaxed);
    if let Some(task) = example {
        let _ = task.await;
    }
    if let Some(p) = proxy {
        p.stop().await;
    }
    api.stop().await;
    anvil.stop().await?;
    println!("Stopped. The data is kept in {}.", args.data_dir.display());
    Ok(())
}

/// Registers the example contributor (once) and gives it one scored run
/// per challenge it has none for, so a fresh leaderboard is not empty.
async fn seed_example(client: Client, plan: Plan, duration: Duration) {
    match client
        .register_contributor(EXAMPLE, Some("Example (a plain proxy)"), None)
        .await
    {
        Ok(_) => {}
        Err(e) if e.status() == Some(409) => {}
        Err(e) => {
            eprintln!("chaosctl: cannot register the example contributor: {e}");
            return;
        }
    }
    for challenge in Challenge::ALL {
        if plan.stop.load(Ordering::Relaxed) {
            return;
        }
        match client.runs(Some(EXAMPLE), Some(challenge)).await {
            Ok(runs)
                if runs
                    .iter()
                    .any(|r| r.state == chaos_client::RunState::Scored) =>
            {
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("chaosctl: cannot list the example's runs: {e}");
                return;
            }
        }
        let profile = chaos_domain::ChallengeProfile::current(challenge);
        let official = profile.duration_s();
        // Never shorter than the challenge can judge: a 15 s longest-upkeep
        // run would show 0 for any app.
        let scale = (duration.as_secs_f64() / official).max(profile.shortest_judged_scale());
        let plan = Plan {
            challenge,
            scale: Scale {
                duration: scale,
                ..plan.scale
            },
            ..plan.clone()
        };
        println!(
            "example: a {} s {} run has started",
            (official * scale).round(),
            challenge.as_str()
        );
        match scored::execute(&client, plan).await {
            Ok(done) => println!("example: {}", report::one_line(&done.run)),
            Err(e) => eprintln!("chaosctl: the example {} run: {e:#}", challenge.as_str()),
        }
    }
}

async fn bind(host: IpAddr, port: u16, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(host, port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "port {port} for {what} is in use: {}. To run both playgrounds, give this one other ports ({flag}; see docs/PLAYGROUND.md, \"Ports\")",
                crate::port_holder::Holder::of(host, port).advice()
            ),
            _ => anyhow::anyhow!("cannot listen on {host}:{port} for {what}: {e}"),
        })
}

/// The URL to print and to use from this machine.
fn loopback_url(host: IpAddr, port: u16) -> String {
    if host.is_unspecified() {
        format!("http://127.0.0.1:{port}")
    } else if host.is_ipv6() {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

/// Ctrl-C, or SIGTERM from a service manager or a test.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
