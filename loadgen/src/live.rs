//! Counters that the workers update as they go and that the progress bar
//! and the `/metrics` endpoint read while the run is on.
//!
//! Each worker thread owns one `LiveCounters` and is its only writer, so
//! updates are uncontended atomic adds; readers sum over threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::client::ErrorKind;
use crate::outcome::Outcome;

/// Latency bucket bounds (seconds) of the exported histogram: the same
/// as url-anvil's, so both sides of a run can be compared bucket by bucket.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0,
];

const STATUSES: usize = 600;

#[derive(Debug)]
pub struct LiveCounters {
    status: Box<[AtomicU64]>,
    /// Of `status`, the responses judged wrong.
    wrong: Box<[AtomicU64]>,
    errors: [AtomicU64; ErrorKind::ALL.len()],
    buckets: [[AtomicU64; BUCKETS.len()]; Outcome::ALL.len()],
    count: [AtomicU64; Outcome::ALL.len()],
    sum_us: [AtomicU64; Outcome::ALL.len()],
    in_flight: AtomicI64,
    late: AtomicU64,
}

impl Default for LiveCounters {
    fn default() -> Self {
        LiveCounters {
            status: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            wrong: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            errors: Default::default(),
            buckets: Default::default(),
            count: Default::default(),
            sum_us: Default::default(),
            in_flight: AtomicI64::new(0),
            late: AtomicU64::new(0),
        }
    }
}

impl LiveCounters {
    pub fn response(&self, status: u16, outcome: Outcome, latency_us: u64) {
        if let Some(c) = self.status.get(usize::from(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if outcome == Outcome::Wrong
            && let Some(c) = self.wrong.get(usize::from(status))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let o = outcome.index();
        let secs = latency_us as f64 / 1e6;
        // Cumulative buckets are built at scrape time; here only the first that fits.
        if let Some(b) = BUCKETS.iter().position(|&le| secs <= le) {
            self.buckets[o][b].fetch_add(1, Ordering::Relaxed);
        }
        self.count[o].fetch_add(1, Ordering::Relaxed);
        self.sum_us[o].fetch_add(latency_us, Ordering::Relaxed);
    }

    pub fn error(&self, kind: ErrorKind) {
        self.errors[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn late(&self) {
        self.late.fetch_add(1, Ordering::Relaxed);
    }

    pub fn in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Sums over every worker's counters.
#[derive(Debug, Clone, Default)]
pub struct LiveView {
    threads: Vec<Arc<LiveCounters>>,
}

/// Totals at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `(status, outcome, count)` for every status and outcome seen.
    pub statuses: Vec<(u16, Outcome, u64)>,
    pub errors: Vec<(ErrorKind, u64)>,
    /// Per outcome: non-cumulative bucket counts, count, sum in seconds.
    pub latency: Vec<(Outcome, [u64; BUCKETS.len()], u64, f64)>,
    pub in_flight: i64,
    pub late: u64,
}

impl Snapshot {
    pub fn responses(&self) -> u64 {
        self.statuses.iter().map(|(_, _, n)| n).sum()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(|(_, n)| n).sum()
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        self.latency
            .iter()
            .find(|(o, ..)| *o == outcome)
            .map(|(_, _, c, _)| *c)
            .unwrap_or(0)
    }
}

impl LiveView {
    pub fn new(threads: usize) -> LiveView {
        LiveView {
            threads: (0..threads)
                .map(|_| Arc::new(LiveCounters::default()))
                .collect(),
        }
    }

    pub fn thread(&self, i: usize) -> Arc<LiveCounters> {
        self.threads[i % self.threads.len()].clone()
    }

    pub fn snapshot(&self) -> Snapshot {
        let sum = |f: &dyn Fn(&LiveCounters) -> u64| self.threads.iter().map(|t| f(t)).sum::<u64>();
        let mut statuses = Vec::new();
        for s in 0..STATUSES {
            let n = sum(&|t| t.status[s].load(Ordering::Relaxed));
            if n == 0 {
                continue;
            }
            let wrong = sum(&|t| t.wrong[s].load(Ordering::Relaxed)).min(n);
            if n > wrong {
                statuses.push((s as u16, Outcome::of(s as u16), n - wrong));
            }
            if wrong > 0 {
                statuses.push((s as u16, Outcome::Wrong, wrong));
            }
        }
        let errors = ErrorKind::ALL
            .iter()
            .map(|k| (*k, sum(&|t| t.errors[k.index()].load(Ordering::Relaxed))))
            .collect();
        let latency = Outcome::ALL
            .iter()
            .map(|o| {
                let i = o.index();
                let mut buckets = [0u64; BUCKETS.len()];
                for (b, slot) in buckets.iter_mut().enumerate() {
                    *slot = sum(&|t| t.buckets[i][b].load(Ordering::Relaxed));
                }
                let count = sum(&|t| t.count[i].load(Ordering::Relaxed));
                let secs = sum(&|t| t.sum_us[i].load(Ordering::Relaxed)) as f64 / 1e6;
                (*o, buckets, count, secs)
            })
            .collect();
        Snapshot {
            statuses,
            errors,
            latency,
            in_flight: self
                .threads
                .iter()
                .map(|t| t.in_flight.load(Ordering::Relaxed))
                .sum(),
            late: sum(&|t| t.late.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_sum_threads_and_sort_outcomes() {
        let view = LiveView::new(2);
        view.thread(0).response(200, Outcome::Success, 2_000);
        view.thread(1).response(200, Outcome::Success, 300_000);
        view.thread(1).response(503, Outcome::Shed, 1_000);
        view.thread(1).response(200, Outcome::Wrong, 1_000);
        view.thread(0).error(ErrorKind::Timeout);
        let s = view.snapshot();
        assert_eq!(
            s.statuses,
            vec![
                (200, Outcome::Success, 2),
                (200, Outcome::Wrong, 1),
                (503, Outcome::Shed, 1)
            ]
        );
        assert_eq!(s.count(Outcome::Wrong), 1);
        assert_eq!(s.responses(), 4);
        assert_eq!(s.error_count(), 1);
        assert_eq!(s.count(Outcome::Success), 2);
        assert_eq!(s.count(Outcome::Shed), 1);
        let (_, buckets, _, sum) = s.latency[0];
        assert_eq!(buckets[1], 1, "2 ms falls in le=0.0025");
        assert_eq!(buckets[8], 1, "300 ms falls in le=0.5");
        assert!((sum - 0.302).abs() < 1e-9);
    }
}
