//! The operator's settings: flags, each with an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// chaos-operator: the Contributor and ChallengeRun controllers of SRE Chaos Challenge.
#[derive(Debug, Clone, Parser)]
#[command(name = "chaos-operator", version, about, long_about = None)]
pub struct Config {
    /// The platform's namespace: load Jobs run here, and its pods (Prometheus, load Jobs, the operator) may reach contributor namespaces.
    #[arg(long, env = "CHAOS_PLATFORM_NAMESPACE", default_value = "sre-chaos")]
    pub platform_namespace: String,

    /// The API server (contributors, run windows, scores).
    #[arg(long, env = "CHAOS_API_URL", default_value = "http://chaos-api:8081")]
    pub api_url: String,

    /// The API server's admin token.
    #[arg(long, env = "CHAOS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// A file holding the API server's admin token (a mounted Secret).
    #[arg(long, env = "CHAOS_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// The url-anvil image every contributor gets.
    #[arg(
        long,
        env = "CHAOS_ANVIL_IMAGE",
        default_value = "sre-chaos/url-anvil:dev"
    )]
    pub anvil_image: String,

    /// url-anvil's admin token, for the chaos schedule's faults (at least 16 characters).
    #[arg(long, env = "CHAOS_ANVIL_ADMIN_TOKEN", hide_env_values = true)]
    pub anvil_admin_token: Option<String>,

    /// A file holding url-anvil's admin token.
    #[arg(long, env = "CHAOS_ANVIL_ADMIN_TOKEN_FILE")]
    pub anvil_admin_token_file: Option<PathBuf>,

    /// The loadgen image of the load Jobs.
    #[arg(
        long,
        env = "CHAOS_LOADGEN_IMAGE",
        default_value = "sre-chaos/loadgen:dev"
    )]
    pub loadgen_image: String,

    /// Runs under load at once; the others wait their turn, first in first out.
    #[arg(long, env = "CHAOS_MAX_CONCURRENT_RUNS", default_value_t = 1)]
    pub max_concurrent_runs: u32,

    /// How long finished load Jobs are kept.
    #[arg(long, env = "CHAOS_JOB_TTL", value_parser = humantime::parse_duration, default_value = "10m")]
    pub job_ttl: Duration,

    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "CHAOS_OPERATOR_LISTEN", default_value = "0.0.0.0:8090")]
    pub listen: SocketAddr,

    /// Elect a leader through a Lease, so several replicas can run.
    #[arg(long, env = "CHAOS_LEADER_ELECTION")]
    pub leader_election: bool,

    /// Log as JSON.
    #[arg(long, env = "CHAOS_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    pub fn defaults() -> Config {
        Config::parse_from(["chaos-operator"])
    }

    pub fn admin_token(&self) -> anyhow::Result<String> {
        secret(
            self.admin_token.as_deref(),
            self.admin_token_file.as_deref(),
            "--admin-token",
        )
    }

    pub fn anvil_admin_token(&self) -> anyhow::Result<String> {
        secret(
            self.anvil_admin_token.as_deref(),
            self.anvil_admin_token_file.as_deref(),
            "--anvil-admin-token",
        )
    }
}

fn secret(
    value: Option<&str>,
    file: Option<&std::path::Path>,
    flag: &str,
) -> anyhow::Result<String> {
    let token = match (value, file) {
        (Some(v), _) => v.trim().to_owned(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?
            .trim()
            .to_owned(),
        (None, None) => anyhow::bail!("{flag} (or {flag}-file) is required"),
    };
    if token.len() < 16 {
        anyhow::bail!("{flag} must be at least 16 characters");
    }
    Ok(token)
}
