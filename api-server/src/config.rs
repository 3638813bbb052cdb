//! chaos-api's configuration: one struct, from flags and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// chaos-api: contributors, runs, scoring from Prometheus, and the leaderboard.
#[derive(Debug, Clone, Parser)]
#[command(name = "chaos-api", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Config {
    /// Address of the API and the leaderboard.
    #[arg(long, env = "CHAOS_API_LISTEN", default_value = "0.0.0.0:8081")]
    pub listen: SocketAddr,

    /// Database: a SQLite file path (created if missing), `sqlite://PATH`,
    /// or a `postgres://` URL.
    #[arg(long, env = "DATABASE_URL", default_value = "chaos.db")]
    pub database: String,

    /// How long to keep trying a PostgreSQL server that cannot be reached
    /// yet at start (a pod whose database starts beside it), before giving
    /// up. A refused password or a bad URL fails at once.
    #[arg(long, env = "CHAOS_DATABASE_WAIT", value_parser = chaos_domain::duration::parse, default_value = "60s")]
    pub database_wait: Duration,

    /// Token for admin and operator actions (register contributors, runs, scoring).
    #[arg(long, env = "CHAOS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// File holding the admin token.
    #[arg(long, env = "CHAOS_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    pub admin_token_file: Option<PathBuf>,

    /// Prometheus base URL for scoring (runs registered with source `prometheus`).
    #[arg(long, env = "PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// Wait this long after a run's window ends before querying Prometheus,
    /// so its last scrapes have landed.
    #[arg(long, env = "CHAOS_SCORING_SETTLE", value_parser = chaos_domain::duration::parse, default_value = "10s")]
    pub scoring_settle: Duration,

    /// Longest wait between two scoring attempts while Prometheus is unreachable.
    #[arg(long, env = "CHAOS_SCORING_MAX_BACKOFF", value_parser = chaos_domain::duration::parse, default_value = "5m")]
    pub scoring_max_backoff: Duration,

    /// Interval of the built-in scraper (runs registered with source `builtin`).
    #[arg(long, env = "CHAOS_SCRAPE_INTERVAL", value_parser = chaos_domain::duration::parse, default_value = "1s")]
    pub scrape_interval: Duration,

    /// How long a rendered leaderboard page may be served from memory. A
    /// score recorded by this server refreshes it at once; 0 turns the cache off.
    #[arg(long, env = "CHAOS_LEADERBOARD_CACHE", value_parser = chaos_domain::duration::parse, default_value = "1s")]
    pub leaderboard_cache: Duration,

    /// Public base URL of this server, for links in run status (default: http://<listen>).
    #[arg(long, env = "CHAOS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Serve the local tracker (a personal, unofficial notebook) on its own listener.
    #[arg(long, env = "ENABLE_LOCAL_TRACKER")]
    pub enable_local_tracker: bool,

    /// Address of the local tracker's API and pages.
    #[arg(long, env = "LOCAL_TRACKER_LISTEN", default_value = "0.0.0.0:8082")]
    pub tracker_listen: SocketAddr,

    /// Key that `POST /api/track` must carry in `x-api-key`; without one every post is accepted, with or without a key.
    #[arg(long, env = "LOCAL_TRACKER_API_KEY", hide_env_values = true)]
    pub tracker_api_key: Option<String>,

    /// Log as JSON.
    #[arg(long, env = "CHAOS_LOG_JSON")]
    pub log_json: bool,
}

const EXAMPLES: &str = "\
Examples:
  chaos-api --admin-token \"$(openssl rand -hex 16)\"                 # SQLite in ./chaos.db
  chaos-api --database postgres://chaos@db/chaos --prometheus-url http://prometheus:9090
  CHAOS_ADMIN_TOKEN_FILE=/run/secrets/admin chaos-api --database /data/chaos.db";

impl Config {
    pub fn defaults() -> Config {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8081)),
            database: "chaos.db".into(),
            database_wait: Duration::from_secs(60),
            admin_token: None,
            admin_token_file: None,
            prometheus_url: None,
            scoring_settle: Duration::from_secs(10),
            scoring_max_backoff: Duration::from_secs(300),
            scrape_interval: Duration::from_secs(1),
            leaderboard_cache: Duration::from_secs(1),
            public_url: None,
            enable_local_tracker: false,
            tracker_listen: SocketAddr::from(([0, 0, 0, 0], 8082)),
            tracker_api_key: None,
            log_json: false,
        }
    }

    /// The admin token from the flag, the environment or the file (at
    /// least 16 characters, the rule of every binary of the platform).
    pub fn resolve_admin_token(&self) -> anyhow::Result<Option<String>> {
        Ok(chaos_domain::token::resolve(
            "--admin-token",
            self.admin_token.as_deref(),
            self.admin_token_file.as_deref(),
            |p| std::fs::read_to_string(p),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_an_empty_command_line() {
        let parsed = Config::try_parse_from(["chaos-api"]).expect("parses");
        let d = Config::defaults();
        assert_eq!(
            (parsed.listen, parsed.database.as_str()),
            (d.listen, d.database.as_str())
        );
        assert_eq!(parsed.scoring_settle, d.scoring_settle);
    }
}
