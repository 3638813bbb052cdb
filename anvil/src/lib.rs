//! url-anvil, the standard target service of SRE Chaos Challenge.
//!
//! Competitors build infrastructure around it and never change it: it
//! has a fixed, versioned capacity (see [`chaos_domain::CapacityProfile`]),
//! a deterministic built-in corpus so the standard workload needs no
//! outside network, Prometheus metrics, and a fault-injection API that
//! only the platform (holding the admin token) can reach.
//!
//! Embed it with [`spawn`]; the binary is a thin wrapper around [`serve`].

pub mod admin;
pub mod api;
pub mod capacity;
pub mod config;
pub mod corpus;
pub mod error;
pub mod faults;
pub mod fetch;
pub mod metrics;
pub mod server;
pub mod state;

use std::net::SocketAddr;

pub use config::{Config, CrashMode};
pub use server::{Exit, serve};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A url-anvil running inside this process.
#[derive(Debug)]
pub struct RunningAnvil {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<Exit>>,
}

impl RunningAnvil {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// Stops it gracefully and waits for it.
    pub async fn stop(self) -> anyhow::Result<Exit> {
        self.shutdown.cancel();
        self.task.await?
    }

    /// True once it has stopped for good (a clean stop, or a crash in `exit` mode).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Binds `config.listen` and serves on the current runtime.
pub async fn spawn(config: Config) -> anyhow::Result<RunningAnvil> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("url-anvil cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    // Validate the settings before returning, so a bad flag fails here.
    server::shared(&config, addr)?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(config, listener, shutdown.clone()));
    Ok(RunningAnvil {
        addr,
        shutdown,
        task,
    })
}
