use std::process::ExitCode;

use chaos_api::Config;
use clap::Parser;

fn main() -> ExitCode {
    let config = Config::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos-api: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos-api: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let running = chaos_api::start(&config, listener).await?;
    tracing::info!(url = %running.base_url(), database = %chaos_api::db::redact(&config.database), "chaos-api serving");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing the requests in flight");
    let db = running.state.db.clone();
    // Requests in flight finish and the tracker's writer commits what it
    // acknowledged; an idle keep-alive connection must not hold the exit
    // (Kubernetes and compose kill after their own grace, 10 s by default).
    if tokio::time::timeout(SHUTDOWN_GRACE, running.stop())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still open after the grace period; stopping anyway");
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How long requests in flight get to finish at shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// SIGTERM (Kubernetes, compose, systemd) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
