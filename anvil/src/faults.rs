//! Injected faults: what is active now and how it changes a request.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chaos_domain::{FaultKind, FaultSpec};
use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Default, Clone, Copy)]
struct Active {
    latency: Option<(Duration, Instant)>,
    errors: Option<(f64, u16, Instant)>,
    freeze_until: Option<Instant>,
}

/// The faults of one url-anvil incarnation.
#[derive(Debug, Default)]
pub struct Faults {
    active: RwLock<Active>,
    /// Wakes frozen requests when a freeze is lifted early.
    thaw: Notify,
    /// Requests seen while an error burst is active; spreads the errors
    /// evenly instead of by chance, so a burst of rate r fails exactly r.
    error_ticket: AtomicU64,
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Proceed { extra_latency: Duration },
    Fail { status: u16 },
}

/// One active fault, as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActiveFault {
    pub kind: FaultKind,
    pub remaining_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl Faults {
    /// Starts a validated fault (crash is handled by the server, not here).
    pub fn inject(&self, spec: &FaultSpec) {
        let until = Instant::now() + Duration::from_secs(u64::from(spec.duration_s.unwrap_or(0)));
        let mut a = self.active.write().unwrap_or_else(|e| e.into_inner());
        match spec.kind {
            FaultKind::Latency => {
                let ms = u64::from(spec.latency_ms.unwrap_or(0));
                a.latency = Some((Duration::from_millis(ms), until));
            }
            FaultKind::Errors => {
                self.error_ticket.store(0, Ordering::Relaxed);
                a.errors = Some((
                    spec.error_rate.unwrap_or(1.0),
                    spec.status.unwrap_or(500),
                    until,
                ));
            }
            FaultKind::Freeze => a.freeze_until = Some(until),
            FaultKind::Crash => {}
        }
    }

    /// Ends every fault at once.
    pub fn clear(&self) {
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Active::default();
        self.thaw.notify_waiters();
    }

    fn snapshot(&self) -> Active {
        *self.active.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits while url-anvil is frozen.
    pub async fn wait_while_frozen(&self) {
        loop {
            let Some(until) = self.snapshot().freeze_until.filter(|u| *u > Instant::now()) else {
                return;
            };
            let thawed = self.thaw.notified();
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = thawed => {}
            }
        }
    }

    /// Latency and errors for one request.
    pub fn verdict(&self) -> Verdict {
        let now = Instant::now();
        let a = self.snapshot();
        if let Some((rate, status, until)) = a.errors
            && until > now
        {
            // Request n fails when floor(n * rate) moves up: exactly `rate` of them.
            let n = self.error_ticket.fetch_add(1, Ordering::Relaxed);
            let fails = ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor();
            if fails {
                return Verdict::Fail { status };
            }
        }
        let extra_latency = match a.latency {
            Some((d, until)) if until > now => d,
            _ => Duration::ZERO,
        };
        Verdict::Proceed { extra_latency }
    }

    pub fn is_frozen(&self) -> bool {
        self.snapshot()
            .freeze_until
            .is_some_and(|u| u > Instant::now())
    }

    /// The faults still running.
    pub fn list(&self) -> Vec<ActiveFault> {
        let now = Instant::now();
        let a = self.snapshot();
        let left = |until: Instant| until.saturating_duration_since(now).as_millis() as u64;
        let mut out = Vec::new();
        if let Some((d, until)) = a.latency.filter(|(_, u)| *u > now) {
            out.push(ActiveFault {
                kind: FaultKind::Latency,
                remaining_ms: left(until),
                latency_ms: Some(d.as_millis() as u64),
                error_rate: None,
                status: None,
            });
        }
        if let Some((rate, status, until)) = a.errors.filter(|(_, _, u)| *u > now) {
            out.push(ActiveFault {
                kind: FaultKind::Errors,
                remaining_ms: left(until),
                latency_ms: None,
                error_rate: Some(rate),
                status: Some(status),
            });
        }
        if let Some(until) = a.freeze_until.filter(|u| *u > now) {
            out.push(ActiveFault {
                kind: FaultKind::Freeze,
                remaining_ms: left(until),
                latency_ms: None,
                error_rate: None,
                status: None,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_error_burst_fails_exactly_its_rate() {
        let f = Faults::default();
        f.inject(&FaultSpec::errors(0.25, 503, 60));
        let failed = (0..1000)
            .filter(|_| matches!(f.verdict(), Verdict::Fail { status: 503 }))
            .count();
        assert_eq!(failed, 250);
        f.clear();
        assert!(
            matches!(f.verdict(), Verdict::Proceed { extra_latency } if extra_latency.is_zero())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn latency_applies_until_it_expires() {
        let f = Faults::default();
        f.inject(&FaultSpec::latency(300, 2));
        assert_eq!(
            f.verdict(),
            Verdict::Proceed {
                extra_latency: Duration::from_millis(300)
            }
        );
        assert_eq!(f.list().len(), 1);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(
            f.verdict(),
            Verdict::Proceed {
                extra_latency: Duration::ZERO
            }
        );
        assert!(f.list().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_freeze_holds_requests_until_it_ends_or_is_cleared() {
        let f = std::sync::Arc::new(Faults::default());
        f.inject(&FaultSpec::freeze(10));
        assert!(f.is_frozen());
        let start = Instant::now();
        let waiter = tokio::spawn({
            let f = f.clone();
            async move { f.wait_while_frozen().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished());
        f.clear();
        waiter.await.expect("joins");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "cleared early, not after 10 s"
        );
    }
}
