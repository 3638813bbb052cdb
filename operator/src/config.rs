//! The operator's settings: flags, each with an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::core::v1::ResourceRequirements;

/// Requests are what the scheduler sets aside; loadgen may use up to its
/// limit when the node has it, so a small request still fits a 2-CPU node.
pub const DEFAULT_LOADGEN_RESOURCES: &str =
    r#"{"requests":{"cpu":"500m","memory":"128Mi"},"limits":{"cpu":"2","memory":"512Mi"}}"#;
/// url-anvil's limits are part of the contest (every contributor's anvil
/// has the same ceiling); the requests only place it.
pub const DEFAULT_ANVIL_RESOURCES: &str =
    r#"{"requests":{"cpu":"500m","memory":"256Mi"},"limits":{"cpu":"500m","memory":"256Mi"}}"#;

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

    /// url-anvil's container resources, as JSON (a Kubernetes
    /// ResourceRequirements); the same for every contributor.
    #[arg(
        long,
        env = "CHAOS_ANVIL_RESOURCES",
        value_parser = container_resources,
        default_value = DEFAULT_ANVIL_RESOURCES
    )]
    pub anvil_resources: ResourceRequirements,

    /// What one contributor's components may use in all (the sum of
    /// replicas x cpuMillis), the same for everyone. A spec over it is
    /// refused whole. Also the namespace's ResourceQuota, with room for
    /// url-anvil and for one pod more while a component rolls.
    #[arg(long, env = "CHAOS_BUDGET_CPU_MILLIS", default_value_t = 3000)]
    pub budget_cpu_millis: u64,

    /// The same for memory (replicas x memoryMib), in MiB.
    #[arg(long, env = "CHAOS_BUDGET_MEMORY_MIB", default_value_t = 1536)]
    pub budget_memory_mib: u64,

    /// The same for pods (the sum of replicas).
    #[arg(long, env = "CHAOS_BUDGET_PODS", default_value_t = 6)]
    pub budget_pods: u64,

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

    /// The load Job's container resources, as JSON (a Kubernetes
    /// ResourceRequirements). A run whose Job no node can fit ends
    /// `Unschedulable`, so on a small cluster ask for less.
    #[arg(
        long,
        env = "CHAOS_LOADGEN_RESOURCES",
        value_parser = container_resources,
        default_value = DEFAULT_LOADGEN_RESOURCES
    )]
    pub loadgen_resources: ResourceRequirements,

    /// Runs under load at once; the others wait their turn, first in first out.
    #[arg(long, env = "CHAOS_MAX_CONCURRENT_RUNS", default_value_t = 1)]
    pub max_concurrent_runs: u32,

    /// Reconciles in flight at once, per controller. Each holds connections
    /// and buffers to the API server: unbounded, a thousand new Contributors
    /// meant a thousand at once, most of the operator's memory, and
    /// timeouts on the API server's side.
    #[arg(
        long,
        env = "CHAOS_RECONCILE_CONCURRENCY",
        default_value_t = 32,
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    pub reconcile_concurrency: u16,

    /// How long a load Job's pod may wait for a node that can fit it before
    /// its run fails `Unschedulable`, with the scheduler's reason.
    #[arg(long, env = "CHAOS_UNSCHEDULABLE_AFTER", value_parser = chaos_domain::duration::parse, default_value = "3m")]
    pub unschedulable_after: Duration,

    /// How long finished load Jobs are kept.
    #[arg(long, env = "CHAOS_JOB_TTL", value_parser = chaos_domain::duration::parse, default_value = "10m")]
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
    chaos_domain::token::resolve(flag, value, file, |p| std::fs::read_to_string(p))?
        .ok_or_else(|| anyhow::anyhow!("{flag} (or {flag}-file) is required"))
}

/// Parses `--loadgen-resources` and `--anvil-resources`. Unknown keys and malformed quantities are
/// refused here, at start, rather than by the API server at every run.
pub fn container_resources(text: &str) -> Result<ResourceRequirements, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("expected an object with \"requests\" and/or \"limits\"")?;
    for (key, section) in object {
        if key != "requests" && key != "limits" {
            return Err(format!("unknown key {key:?}: expected requests or limits"));
        }
        let section = section
            .as_object()
            .ok_or(format!("{key} must be an object of quantities"))?;
        for (resource, quantity) in section {
            let q = quantity
                .as_str()
                .ok_or(format!("{key}.{resource} must be a string, e.g. \"500m\""))?;
            if !is_quantity(q) {
                return Err(format!("{key}.{resource}: {q:?} is not a quantity"));
            }
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// The common forms of a Kubernetes quantity: a decimal number with an
/// optional SI or binary suffix (`500m`, `1.5`, `256Mi`, `1G`).
fn is_quantity(q: &str) -> bool {
    const SUFFIXES: [&str; 13] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E",
    ];
    let number = SUFFIXES.iter().find_map(|s| q.strip_suffix(s)).unwrap_or(q);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_load_resources_parse() {
        let r = Config::defaults().loadgen_resources;
        assert_eq!(r.requests.expect("requests")["cpu"].0, "500m");
        let a = Config::defaults().anvil_resources;
        assert_eq!(a.limits.expect("limits")["cpu"].0, "500m");
    }

    #[test]
    fn bad_load_resources_are_named() {
        for (text, says) in [
            ("cpu=1", "not JSON"),
            (r#"{"request": {}}"#, "unknown key"),
            (r#"{"requests": {"cpu": 1}}"#, "must be a string"),
            (r#"{"requests": {"cpu": "one"}}"#, "not a quantity"),
            (r#"{"limits": {"memory": "1.Gi"}}"#, "not a quantity"),
        ] {
            let err = container_resources(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
        assert!(container_resources(r#"{"requests": {"cpu": "250m", "memory": "128Mi"}}"#).is_ok());
        let parsed = Config::try_parse_from(["chaos-operator", "--loadgen-resources", "{}x"]);
        assert!(parsed.is_err());
    }
}
