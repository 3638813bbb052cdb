//! What every reconcile shares: clients, settings, events and metrics.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use crate::contributor::desired::Settings;
use crate::telemetry::Metrics;

/// The field manager of every object the operator applies.
pub const MANAGER: &str = "chaos-operator";

pub struct Context {
    pub client: Client,
    /// The API server, with the admin token.
    pub platform: chaos_client::Client,
    pub settings: Settings,
    pub runs: RunSettings,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Calls url-anvil's fault API.
    pub http: reqwest::Client,
    failures: Mutex<HashMap<String, u32>>,
}

/// How ChallengeRuns are carried out.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub loadgen_image: String,
    pub max_concurrent: u32,
    pub job_ttl: Duration,
}

impl Context {
    pub fn new(
        client: Client,
        platform: chaos_client::Client,
        settings: Settings,
        runs: RunSettings,
        metrics: Metrics,
    ) -> Context {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGER.into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Context {
            client,
            platform,
            settings,
            runs,
            recorder,
            metrics,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The wait before retrying `key` after its n-th failure in a row:
    /// 5 s doubling up to 5 min.
    pub fn backoff(&self, key: &str) -> Duration {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = f.entry(key.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        backoff_after(*n)
    }

    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

pub fn backoff_after(failures: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << failures.saturating_sub(1).min(10));
    Duration::from_secs(secs.min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff_after(1), Duration::from_secs(5));
        assert_eq!(backoff_after(2), Duration::from_secs(10));
        assert_eq!(backoff_after(4), Duration::from_secs(40));
        assert_eq!(backoff_after(7), Duration::from_secs(300));
        assert_eq!(backoff_after(60), Duration::from_secs(300));
    }
}
