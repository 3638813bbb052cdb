//! What the handlers share. `Shared` lives as long as the process;
//! `Incarnation` is rebuilt when url-anvil restarts itself after a crash,
//! so a restart loses queues, faults, history and counters as a real one would.

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chaos_domain::CapacityProfile;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::capacity::Limiter;
use crate::config::CrashMode;
use crate::corpus::Corpus;
use crate::faults::Faults;
use crate::fetch::Fetcher;
use crate::metrics::Metrics;

/// How many tests `/api/history` keeps.
pub const HISTORY_LEN: usize = 10;

/// Settings resolved once at start.
#[derive(Debug)]
pub struct Settings {
    pub public_url: String,
    pub capacity: CapacityProfile,
    /// SHA-256 of the admin token; `None` disables the fault API.
    pub admin_token_digest: Option<[u8; 32]>,
    pub max_urls: usize,
    pub max_body_bytes: usize,
    pub on_crash: CrashMode,
}

#[derive(Debug)]
pub struct Shared {
    pub settings: Settings,
    pub corpus: Corpus,
    pub fetcher: Fetcher,
}

/// One `POST /api/test` result, as the earlier url-anvil answered it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TestResult {
    pub urls_tested: usize,
    pub total_fetch_time_ms: f64,
    pub average_fetch_time_ms: f64,
    pub content_hash: String,
    pub timestamp: String,
}

#[derive(Debug)]
pub struct Incarnation {
    pub shared: Arc<Shared>,
    pub limiter: Arc<Limiter>,
    pub faults: Arc<Faults>,
    pub metrics: Arc<Metrics>,
    pub history: Mutex<VecDeque<TestResult>>,
    /// Cancelled when this incarnation crashes.
    pub crashed: CancellationToken,
    /// Set when shutdown has begun; `/readyz` then answers 503.
    pub draining: AtomicBool,
}

pub type AppState = Arc<Incarnation>;

impl Incarnation {
    pub fn new(shared: Arc<Shared>) -> AppState {
        let limiter = Arc::new(Limiter::new(shared.settings.capacity));
        let faults = Arc::new(Faults::default());
        let metrics = Arc::new(Metrics::new(
            limiter.clone(),
            faults.clone(),
            SystemTime::now(),
        ));
        Arc::new(Incarnation {
            shared,
            limiter,
            faults,
            metrics,
            history: Mutex::new(VecDeque::with_capacity(HISTORY_LEN)),
            crashed: CancellationToken::new(),
            draining: AtomicBool::new(false),
        })
    }

    pub fn remember(&self, result: TestResult) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if h.len() == HISTORY_LEN {
            h.pop_back();
        }
        h.push_front(result);
    }
}
