//! Command-line interface: one struct per subcommand, every flag with
//! its environment variable where scripts want one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chaos_domain::Challenge;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit status when a threshold was missed.
pub const EXIT_THRESHOLD: u8 = 3;

/// loadgen: closed- and open-loop HTTP load with coordinated-omission
/// corrected latency, and the SRE Chaos Challenge profiles.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "\
Exit status: 0 done, 1 error (target unreachable before start, bad file, ...),
2 bad usage, 3 a --max-*/--min-* threshold was missed.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a URL: closed loop by default, open loop with --rate or --stages.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Run a challenge profile against a contributor app or url-anvil.
    #[command(after_help = PROFILE_EXAMPLES)]
    Profile(ProfileArgs),
    /// List the challenge profiles and their versions.
    Profiles,
}

const RUN_EXAMPLES: &str = "\
Examples:
  loadgen run http://127.0.0.1:8080/api/sample-urls -c 64 -d 10s
  loadgen run http://127.0.0.1:8080/api/test -m POST --body '{\"urls\":[\"http://127.0.0.1:8080/corpus/1\"]}' --rate 500 -d 30s
  loadgen run http://127.0.0.1:8080/ --stages '10s:100,30s:100->1000,20s:1000' --output json
  loadgen run http://127.0.0.1:8080/ -n 10000 --max-p99 50ms --max-error-rate 1";

const PROFILE_EXAMPLES: &str = "\
Examples:
  loadgen profile robust-service --target http://127.0.0.1:8080
  loadgen profile graceful-degradation --target http://127.0.0.1:9000 --corpus-base http://url-anvil:8080
  loadgen profile longest-upkeep --target http://127.0.0.1:8080 --duration 60s --rate-scale 0.5
Chaos (faults in url-anvil) is carried out by chaosctl or the operator, not by loadgen.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Target URL (http://host[:port]/path).
    pub url: String,
    /// Connections (closed loop), or connections opened at the start (open loop).
    #[arg(short = 'c', long, default_value_t = 64)]
    pub connections: u32,
    /// Open loop: most connections when all open ones are busy (default: --connections).
    #[arg(long)]
    pub max_connections: Option<u32>,
    /// Stop after this long (closed loop; default 10s unless -n is given).
    #[arg(short = 'd', long, value_parser = chaos_domain::duration::parse)]
    pub duration: Option<Duration>,
    /// Stop after this many requests (closed loop).
    #[arg(short = 'n', long, conflicts_with_all = ["rate", "stages"])]
    pub requests: Option<u64>,
    /// Open loop at a constant rate (requests per second) for --duration.
    #[arg(long, conflicts_with = "stages")]
    pub rate: Option<f64>,
    /// Open loop with stages: `DURATION:RATE` holds and `DURATION:FROM->TO` ramps, comma-separated.
    #[arg(long)]
    pub stages: Option<String>,
    /// HTTP method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// Extra header `Name: value`; repeatable.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// File whose content is the request body.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The challenge whose profile to run.
    #[arg(value_parser = parse_challenge)]
    pub challenge: Challenge,
    /// Base URL of the app under test (its `/api/test` is loaded).
    #[arg(long, env = "LOADGEN_TARGET")]
    pub target: String,
    /// url-anvil's address as seen by the app under test, for the corpus
    /// URLs in each request (default: --target).
    #[arg(long, env = "LOADGEN_CORPUS_BASE")]
    pub corpus_base: Option<String>,
    /// The corpus key url-anvil holds (its --corpus-key, or its admin token
    /// when it has no corpus key), so every answer is checked against the
    /// run's corpus. Without it, the public key: right only against a
    /// url-anvil that has neither.
    #[arg(long, env = "LOADGEN_CORPUS_KEY", hide_env_values = true)]
    pub corpus_key: Option<String>,
    /// File holding the corpus key.
    #[arg(long, env = "LOADGEN_CORPUS_KEY_FILE", conflicts_with = "corpus_key")]
    pub corpus_key_file: Option<std::path::PathBuf>,
    /// The derived corpus key itself (64 hex digits), as the operator gives
    /// it to a load Job so the Job never holds url-anvil's admin token.
    #[arg(long, env = "LOADGEN_CORPUS_KEY_HEX", hide_env_values = true, conflicts_with_all = ["corpus_key", "corpus_key_file"])]
    pub corpus_key_hex: Option<String>,
    /// Stretch the profile to last this long (unofficial; for local tries).
    #[arg(long, value_parser = chaos_domain::duration::parse, conflicts_with = "duration_scale")]
    pub duration: Option<Duration>,
    /// Multiply every stage's duration (unofficial unless 1).
    #[arg(long, default_value_t = 1.0)]
    pub duration_scale: f64,
    /// Multiply every arrival rate (unofficial unless 1).
    #[arg(long, default_value_t = 1.0)]
    pub rate_scale: f64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Worker threads (default: one per core).
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// A request not answered in this time is a timeout.
    #[arg(long, value_parser = chaos_domain::duration::parse, default_value = "2s")]
    pub timeout: Duration,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Serve Prometheus metrics on this address while running.
    #[arg(long, env = "LOADGEN_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Serve metrics (all zero) this long before sending, so the first
    /// scrape sees the counters start; use at least one scrape interval.
    #[arg(long, value_parser = chaos_domain::duration::parse, default_value = "0s")]
    pub metrics_wait: Duration,
    /// Keep serving metrics this long after the run, for a last scrape.
    #[arg(long, value_parser = chaos_domain::duration::parse, default_value = "0s")]
    pub metrics_linger: Duration,
    /// Fail (exit 3) if the error rate in percent is above this.
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// Fail (exit 3) if the corrected p95 latency is above this (e.g. 250ms).
    #[arg(long, value_parser = chaos_domain::duration::parse)]
    pub max_p95: Option<Duration>,
    /// Fail (exit 3) if the corrected p99 latency is above this.
    #[arg(long, value_parser = chaos_domain::duration::parse)]
    pub max_p99: Option<Duration>,
    /// Fail (exit 3) if fewer requests per second were achieved.
    #[arg(long)]
    pub min_rps: Option<f64>,
    #[command(flatten)]
    pub tracker: TrackerArgs,
}

#[derive(Debug, Args)]
pub struct TrackerArgs {
    /// Report the run to this local tracker (http://host:8082).
    #[arg(long, env = "LOCAL_TRACKER_URL")]
    pub tracker_url: Option<String>,
    /// The tracker's API key.
    #[arg(long, env = "LOCAL_TRACKER_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Your user id in the tracker.
    #[arg(long, env = "LOCAL_TRACKER_USER_ID")]
    pub user: Option<String>,
    /// Session id (default: a new one for every loadgen start).
    #[arg(long)]
    pub session: Option<String>,
    /// Commit of the app under test.
    #[arg(long, env = "LOADGEN_COMMIT")]
    pub commit: Option<String>,
    /// A name for the app under test, to group its runs.
    #[arg(long)]
    pub target_name: Option<String>,
}

fn parse_challenge(s: &str) -> Result<Challenge, String> {
    s.parse()
        .map_err(|e: chaos_domain::UnknownChallenge| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_challenges_are_named() {
        let err = Cli::try_parse_from(["loadgen", "profile", "fastest", "--target", "http://x"])
            .expect_err("bad");
        assert!(
            err.to_string().contains("unknown challenge \"fastest\""),
            "{err}"
        );
    }

    #[test]
    fn requests_and_rate_exclude_each_other() {
        assert!(
            Cli::try_parse_from(["loadgen", "run", "http://x/", "-n", "5", "--rate", "9"]).is_err()
        );
    }
}
