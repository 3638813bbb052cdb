//! Carrying out a profile's chaos schedule against url-anvil's fault API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
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
        let result = client
            .post(format!("{admin_base}/admin/faults"))
            .bearer_auth(&token)
            .json(&step.fault)
            .send()
            .await;
        let (applied, detail) = match result {
            Ok(r) if r.status().is_success() => (true, describe(&step)),
            Ok(r) => (false, format!("url-anvil answered {}", r.status())),
            Err(e) => (false, format!("url-anvil unreachable: {e}")),
        };
        push(ChaosEvent {
            at_s: step.at_s,
            kind: step.fault.kind.as_str().into(),
            applied,
            detail,
        });
    }
}

fn describe(step: &ChaosStep) -> String {
    let f = &step.fault;
    let d = f
        .duration_s
        .map(|d| format!(" for {d} s"))
        .unwrap_or_default();
    match f.kind {
        chaos_domain::FaultKind::Latency => format!("+{} ms latency{d}", f.latency_ms.unwrap_or(0)),
        chaos_domain::FaultKind::Errors => {
            format!(
                "{:.0}% errors ({}){d}",
                f.error_rate.unwrap_or(0.0) * 100.0,
                f.status.unwrap_or(500)
            )
        }
        chaos_domain::FaultKind::Freeze => format!("frozen{d}"),
        chaos_domain::FaultKind::Crash => "killed".to_owned(),
    }
}
