//! Carrying out a profile's chaos schedule against url-anvil's fault API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chaos_client::anvil::FaultApi;
use chaos_domain::ChaosStep;
use serde::Serialize;

/// What happened to one scheduled fault.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChaosEvent {
    pub at_s: f64,
    pub kind: String,
    pub applied: bool,
    pub detail: String,
}

/// The events so far; the schedule may be cut short when the run ends.
pub type ChaosLog = Arc<Mutex<Vec<ChaosEvent>>>;

/// Injects each step at its time after `start`, through the admin API at
/// `admin_base` (`http://host:port`), appending what happened to `log`.
/// Never fails: a fault that could not be injected is logged as such.
pub async fn carry_out(
    steps: Vec<ChaosStep>,
    admin_base: String,
    token: String,
    start: Instant,
    log: ChaosLog,
) {
    let push = |e: ChaosEvent| log.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    let api = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(http) => FaultApi::new(http, &admin_base, token),
        Err(e) => {
            for s in &steps {
                push(ChaosEvent {
                    at_s: s.at_s,
                    kind: s.fault.kind.as_str().into(),
                    applied: false,
                    detail: e.to_string(),
                });
            }
            return;
        }
    };
    for step in steps {
        tokio::time::sleep_until((start + Duration::from_secs_f64(step.at_s)).into()).await;
        let (applied, detail) = match api.inject(&step.fault).await {
            Ok(()) => (true, step.fault.to_string()),
            Err(e) => (false, e.to_string()),
        };
        push(ChaosEvent {
            at_s: step.at_s,
            kind: step.fault.kind.as_str().into(),
            applied,
            detail,
        });
    }
}
