//! What every reconcile shares: clients, settings, events and metrics.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use crate::labels::MANAGER;
use crate::settings::{RunSettings, Settings};
use crate::telemetry::Metrics;

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
    /// How often every child of a Contributor is applied again, so one
    /// deleted by hand (a NetworkPolicy, a ResourceQuota) comes back.
    pub resync: Duration,
    /// Reconciles in flight at once, per controller.
    pub concurrency: u16,
    /// The controller's cache of ChallengeRuns, once it runs: queued runs
    /// wait on it instead of listing every run every few seconds.
    pub runs_cache: std::sync::OnceLock<kube::runtime::reflector::Store<crate::crd::ChallengeRun>>,
    failures: Mutex<HashMap<String, u32>>,
    /// Per Contributor: when this process last applied its children, and
    /// the digest it applied.
    applied: Mutex<HashMap<String, Applied>>,
}

/// The default resync period; each Contributor's is spread over up to a
/// fifth more, so a thousand do not resync in the same second.
pub const RESYNC: Duration = Duration::from_secs(10 * 60);

/// What a Contributor's children looked like when applied, one entry per
/// child in the order they are applied; `None` where one is missing.
pub type Fingerprints = Vec<Option<String>>;

struct Applied {
    at: std::time::Instant,
    digest: Option<String>,
    /// The children as the server answered the apply.
    children: Option<Fingerprints>,
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
            resync: RESYNC,
            concurrency: 32,
            runs_cache: std::sync::OnceLock::new(),
            failures: Mutex::new(HashMap::new()),
            applied: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key`'s children are due to be applied again: not within its
    /// resync period. The period starts when this process first sees the
    /// key, so a restart does not re-apply every Contributor at once.
    pub fn resync_due(&self, key: &str) -> bool {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        let since = applied
            .entry(key.to_owned())
            .or_insert_with(|| Applied {
                at: std::time::Instant::now(),
                digest: None,
                children: None,
            })
            .at;
        since.elapsed() >= self.resync_period(key)
    }

    pub fn applied(&self, key: &str, digest: &str, children: Fingerprints) {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                key.to_owned(),
                Applied {
                    at: std::time::Instant::now(),
                    digest: Some(digest.to_owned()),
                    children: Some(children),
                },
            );
    }

    /// The children as this process last applied them for `key`.
    pub fn applied_children(&self, key: &str) -> Option<Fingerprints> {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .and_then(|a| a.children.clone())
    }

    /// A resync found `key`'s children as applied: the next is a period away.
    pub fn resynced(&self, key: &str) {
        if let Some(a) = self
            .applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(key)
        {
            a.at = std::time::Instant::now();
        }
    }

    /// Whether this process has applied exactly `digest` for `key`. The
    /// Contributor a reconcile starts from comes from the watch cache and
    /// may not show the status written by the pass before (a Deployment's
    /// event can come first), so this, not only the status, says whether an
    /// apply pass is needed.
    pub fn has_applied(&self, key: &str, digest: &str) -> bool {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .is_some_and(|a| a.digest.as_deref() == Some(digest))
    }

    pub fn forget(&self, key: &str) {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// `resync` plus a jitter of up to a fifth of it, fixed per key.
    pub fn resync_period(&self, key: &str) -> Duration {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let spread = self.resync.as_millis() as u64 / 5;
        self.resync + Duration::from_millis(h.finish() % spread.max(1))
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
