//! url-anvil's configuration: one struct, from flags and environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use chaos_domain::CapacityProfile;
use chaos_domain::corpus::CorpusKey;
use clap::{Parser, ValueEnum};

/// What url-anvil does when it crashes (overload or an injected crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrashMode {
    /// Exit the process with status 70; a supervisor (Kubernetes, compose) restarts it.
    Exit,
    /// Drop every connection, stay down for the profile's restart delay, then serve again
    /// with fresh state, as a restarted process would.
    Restart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// url-anvil: the standard target service of SRE Chaos Challenge.
///
/// Serves a small URL-testing API with a fixed, versioned capacity, a
/// deterministic built-in corpus, Prometheus metrics and (with an admin
/// token) fault injection.
#[derive(Debug, Clone, Parser)]
#[command(name = "url-anvil", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "ANVIL_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Base URL under which clients reach this url-anvil; corpus URLs in
    /// `/api/sample-urls` use it, and URLs under it are served from memory.
    /// Default: http://127.0.0.1:<port>.
    #[arg(long, env = "ANVIL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Capacity profile: `standard` (what competitors face) or `uncapped` (benchmarks).
    #[arg(long, env = "ANVIL_CAPACITY", default_value = "standard", value_parser = parse_capacity)]
    pub capacity: CapacityProfile,

    /// Override the profile's concurrency (the profile is then reported as `custom`).
    #[arg(long, env = "ANVIL_MAX_CONCURRENCY")]
    pub max_concurrency: Option<u32>,

    /// Override the profile's service time per request, in milliseconds.
    #[arg(long, env = "ANVIL_SERVICE_TIME_MS")]
    pub service_time_ms: Option<u64>,

    /// Override the profile's queue depth.
    #[arg(long, env = "ANVIL_QUEUE_DEPTH")]
    pub queue_depth: Option<u32>,

    /// Override the profile's longest queue wait, in milliseconds.
    #[arg(long, env = "ANVIL_QUEUE_TIMEOUT_MS")]
    pub queue_timeout_ms: Option<u64>,

    /// Override how many overloaded seconds in a row make url-anvil crash (0: never).
    #[arg(long, env = "ANVIL_CRASH_AFTER_OVERLOADED_S")]
    pub crash_after_overloaded_s: Option<u32>,

    /// Override how long a self-restarting url-anvil stays down, in milliseconds.
    #[arg(long, env = "ANVIL_RESTART_DELAY_MS")]
    pub restart_delay_ms: Option<u64>,

    /// What a crash does.
    #[arg(long, env = "ANVIL_ON_CRASH", value_enum, default_value = "exit")]
    pub on_crash: CrashMode,

    /// Token that enables the fault-injection API (`/admin/faults`). Without
    /// a token (here or in --admin-token-file) that API does not exist.
    #[arg(long, env = "ANVIL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// File holding the admin token (its surrounding whitespace is ignored).
    #[arg(long, env = "ANVIL_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    pub admin_token_file: Option<PathBuf>,

    /// Secret behind run corpora (`/corpus/{id}?run=<nonce>`): what their
    /// documents hold cannot be known without it, so an answer needs
    /// url-anvil's work. The platform's load generator gets the same key
    /// (`loadgen --corpus-key`) to check answers. Default: the admin token;
    /// without either, a public key (fine for local tries, never for a
    /// competition).
    #[arg(long, env = "ANVIL_CORPUS_KEY", hide_env_values = true)]
    pub corpus_key: Option<String>,

    /// File holding the corpus key.
    #[arg(long, env = "ANVIL_CORPUS_KEY_FILE", conflicts_with = "corpus_key")]
    pub corpus_key_file: Option<PathBuf>,

    /// Hosts `POST /api/test` may fetch besides this url-anvil's own corpus:
    /// `example.com`, `example.com:8443` or `*.example.com`. Comma-separated.
    #[arg(long = "allow-host", env = "ANVIL_ALLOW_HOSTS", value_delimiter = ',')]
    pub allow_hosts: Vec<String>,

    /// Most URLs in one `POST /api/test`.
    #[arg(long, env = "ANVIL_MAX_URLS", default_value_t = 20)]
    pub max_urls: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "ANVIL_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Largest fetched document, in bytes.
    #[arg(long, env = "ANVIL_MAX_FETCH_BYTES", default_value_t = 1024 * 1024)]
    pub max_fetch_bytes: usize,

    /// Time limit for fetching one URL, in milliseconds.
    #[arg(long, env = "ANVIL_FETCH_TIMEOUT_MS", default_value_t = 5_000)]
    pub fetch_timeout_ms: u64,

    /// On SIGTERM, report not-ready for this long before refusing new
    /// connections, so load balancers stop sending traffic first.
    #[arg(long, env = "ANVIL_SHUTDOWN_DELAY_MS", default_value_t = 0)]
    pub shutdown_delay_ms: u64,

    /// Longest wait for open requests to finish at shutdown, in milliseconds.
    #[arg(long, env = "ANVIL_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,

    /// Log format.
    #[arg(long, env = "ANVIL_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

const EXAMPLES: &str = "\
Examples:
  url-anvil                                     # standard capacity on :8080
  url-anvil --listen 127.0.0.1:9000 --capacity uncapped
  ANVIL_ADMIN_TOKEN=$(openssl rand -hex 16) url-anvil --on-crash restart
  url-anvil --allow-host example.com,*.internal.test

Exit status: 0 after a clean shutdown, 70 when it crashed (--on-crash exit),
1 on a start-up error (bad flags, port in use).";

fn parse_capacity(s: &str) -> Result<CapacityProfile, String> {
    CapacityProfile::by_name(s).ok_or_else(|| {
        let names: Vec<_> = CapacityProfile::ALL.iter().map(|p| p.name).collect();
        format!(
            "unknown capacity profile {s:?}; expected one of {}",
            names.join(", ")
        )
    })
}

impl Config {
    /// Defaults, as if started with no flags and no environment.
    pub fn defaults() -> Config {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_url: None,
            capacity: CapacityProfile::STANDARD_V1,
            max_concurrency: None,
            service_time_ms: None,
            queue_depth: None,
            queue_timeout_ms: None,
            crash_after_overloaded_s: None,
            restart_delay_ms: None,
            on_crash: CrashMode::Exit,
            admin_token: None,
            admin_token_file: None,
            corpus_key: None,
            corpus_key_file: None,
            allow_hosts: Vec::new(),
            max_urls: 20,
            max_body_bytes: 64 * 1024,
            max_fetch_bytes: 1024 * 1024,
            fetch_timeout_ms: 5_000,
            shutdown_delay_ms: 0,
            shutdown_grace_ms: 10_000,
            log_format: LogFormat::Text,
        }
    }

    /// The capacity profile with the overrides applied; named `custom`
    /// when any override changed it, so metrics never claim a standard
    /// profile that is not.
    pub fn effective_capacity(&self) -> CapacityProfile {
        let mut p = self.capacity;
        if let Some(v) = self.max_concurrency {
            p.max_concurrency = Some(v.max(1));
        }
        if let Some(v) = self.service_time_ms {
            p.service_time_ms = v;
        }
        if let Some(v) = self.queue_depth {
            p.queue_depth = v;
        }
        if let Some(v) = self.queue_timeout_ms {
            p.queue_timeout_ms = v;
        }
        if let Some(v) = self.crash_after_overloaded_s {
            p.crash_after_overloaded_s = (v > 0).then_some(v);
        }
        if let Some(v) = self.restart_delay_ms {
            p.restart_delay_ms = v;
        }
        if p != self.capacity {
            p.name = "custom";
        }
        p
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

    /// The corpus key: `--corpus-key`, else the admin token, else public.
    pub fn resolve_corpus_key(&self) -> anyhow::Result<CorpusKey> {
        let configured = chaos_domain::token::resolve(
            "--corpus-key",
            self.corpus_key.as_deref(),
            self.corpus_key_file.as_deref(),
            |p| std::fs::read_to_string(p),
        )?;
        Ok(match configured.or(self.resolve_admin_token()?) {
            Some(secret) => CorpusKey::from_secret(&secret),
            None => CorpusKey::public(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_an_empty_command_line() {
        let parsed = Config::try_parse_from(["url-anvil"]).expect("parses");
        let d = Config::defaults();
        assert_eq!(parsed.listen, d.listen);
        assert_eq!(parsed.capacity, d.capacity);
        assert_eq!(parsed.max_urls, d.max_urls);
        assert_eq!(parsed.max_body_bytes, d.max_body_bytes);
        assert_eq!(parsed.on_crash, d.on_crash);
    }

    #[test]
    fn overrides_rename_the_profile() {
        let mut c = Config::defaults();
        assert_eq!(c.effective_capacity().name, "standard");
        c.max_concurrency = Some(2);
        let p = c.effective_capacity();
        assert_eq!((p.name, p.max_concurrency), ("custom", Some(2)));
    }

    #[test]
    fn an_unknown_capacity_is_a_clear_error() {
        let err = Config::try_parse_from(["url-anvil", "--capacity", "huge"]).expect_err("unknown");
        assert!(
            err.to_string()
                .contains("unknown capacity profile \"huge\""),
            "{err}"
        );
    }

    #[test]
    fn short_admin_tokens_are_refused() {
        let mut c = Config::defaults();
        c.admin_token = Some("abc".into());
        assert!(c.resolve_admin_token().is_err());
        c.admin_token = Some("  long-enough-token \n".into());
        assert_eq!(
            c.resolve_admin_token().expect("ok").as_deref(),
            Some("long-enough-token")
        );
    }
}
