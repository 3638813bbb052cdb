//! Per-thread recording of a run: HDR histograms with and without the
//! coordinated-omission correction, status and error counts, the
//! per-second timeline, and how late the generator sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::client::ErrorKind;
use crate::live::LiveCounters;
use crate::outcome::Outcome;

/// Highest latency recorded exactly: one hour, in microseconds.
const MAX_US: u64 = 3_600_000_000;
/// A send this much after its intended time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(10);

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).expect("constant bounds are valid")
}

/// One second of the run, by completion time.
#[derive(Debug, Clone)]
pub struct Second {
    pub requests: u64,
    pub outcomes: [u64; Outcome::ALL.len()],
    pub errors: u64,
    /// Corrected latency; one significant digit is enough for a timeline.
    pub latency: Histogram<u64>,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            requests: 0,
            outcomes: [0; Outcome::ALL.len()],
            errors: 0,
            latency: histogram(1),
        }
    }
}

#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    live: Arc<LiveCounters>,
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
    pub statuses: Vec<u64>,
    /// Responses judged wrong (of any status).
    pub wrong: u64,
    pub errors: [u64; ErrorKind::ALL.len()],
    pub timeline: Vec<Second>,
    pub late: u64,
    pub max_lag: Duration,
    /// Time of the last completion, from the start.
    pub last_done: Duration,
}

impl Recorder {
    pub fn new(start: Instant, live: Arc<LiveCounters>) -> Recorder {
        Recorder {
            start,
            live,
            corrected: histogram(3),
            uncorrected: histogram(3),
            statuses: vec![0; 600],
            wrong: 0,
            errors: [0; ErrorKind::ALL.len()],
            timeline: Vec::new(),
            late: 0,
            max_lag: Duration::ZERO,
            last_done: Duration::ZERO,
        }
    }

    fn second(&mut self, at: Instant) -> &mut Second {
        let elapsed = at.saturating_duration_since(self.start);
        self.last_done = self.last_done.max(elapsed);
        let i = elapsed.as_secs() as usize;
        if self.timeline.len() <= i {
            self.timeline.resize_with(i + 1, Second::default);
        }
        &mut self.timeline[i]
    }

    /// A response: `intended` is when it was due (the send time in closed loop).
    pub fn response(
        &mut self,
        status: u16,
        outcome: Outcome,
        intended: Instant,
        sent: Instant,
        done: Instant,
    ) {
        let corrected = micros(done.saturating_duration_since(intended));
        let uncorrected = micros(done.saturating_duration_since(sent));
        self.corrected.saturating_record(corrected);
        self.uncorrected.saturating_record(uncorrected);
        if let Some(c) = self.statuses.get_mut(usize::from(status)) {
            *c += 1;
        }
        self.live.response(status, outcome, corrected);
        if outcome == Outcome::Wrong {
            self.wrong += 1;
        }
        let outcome = outcome.index();
        let s = self.second(done);
        s.requests += 1;
        s.outcomes[outcome] += 1;
        s.latency.saturating_record(corrected);
    }

    pub fn error(&mut self, kind: ErrorKind, at: Instant) {
        self.errors[kind.index()] += 1;
        self.live.error(kind);
        let s = self.second(at);
        s.requests += 1;
        s.errors += 1;
    }

    /// How late a send was against its intended time.
    pub fn lag(&mut self, lag: Duration) {
        if lag > LATE_AFTER {
            self.late += 1;
            self.live.late();
        }
        self.max_lag = self.max_lag.max(lag);
    }

    pub fn merge(&mut self, other: Recorder) {
        let _ = self.corrected.add(&other.corrected);
        let _ = self.uncorrected.add(&other.uncorrected);
        for (a, b) in self.statuses.iter_mut().zip(other.statuses) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        self.wrong += other.wrong;
        if self.timeline.len() < other.timeline.len() {
            self.timeline
                .resize_with(other.timeline.len(), Second::default);
        }
        for (a, b) in self.timeline.iter_mut().zip(other.timeline) {
            a.requests += b.requests;
            a.errors += b.errors;
            for (x, y) in a.outcomes.iter_mut().zip(b.outcomes) {
                *x += y;
            }
            let _ = a.latency.add(&b.latency);
        }
        self.late += other.late;
        self.max_lag = self.max_lag.max(other.max_lag);
        self.last_done = self.last_done.max(other.last_done);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_latency_counts_from_the_intended_time() {
        let start = Instant::now();
        let mut r = Recorder::new(start, Arc::default());
        let intended = start;
        let sent = start + Duration::from_millis(900);
        let done = sent + Duration::from_millis(10);
        r.response(200, Outcome::Success, intended, sent, done);
        assert!(
            (909_000..=911_000).contains(&r.corrected.max()),
            "{}",
            r.corrected.max()
        );
        assert!(
            (9_990..=10_010).contains(&r.uncorrected.max()),
            "{}",
            r.uncorrected.max()
        );
        assert_eq!(r.timeline.len(), 1);
    }

    #[test]
    fn merging_adds_counts_and_aligns_seconds() {
        let start = Instant::now();
        let mut a = Recorder::new(start, Arc::default());
        let mut b = Recorder::new(start, Arc::default());
        a.response(
            200,
            Outcome::Success,
            start,
            start,
            start + Duration::from_millis(5),
        );
        b.response(
            503,
            Outcome::Shed,
            start,
            start,
            start + Duration::from_millis(2_500),
        );
        b.error(ErrorKind::Reset, start + Duration::from_millis(2_600));
        b.lag(Duration::from_millis(50));
        a.merge(b);
        assert_eq!(a.corrected.len(), 2);
        assert_eq!((a.statuses[200], a.statuses[503]), (1, 1));
        assert_eq!(a.errors[ErrorKind::Reset.index()], 1);
        assert_eq!(a.timeline.len(), 3);
        assert_eq!(
            (
                a.timeline[2].requests,
                a.timeline[2].errors,
                a.timeline[2].outcomes[1]
            ),
            (2, 1, 1)
        );
        assert_eq!(a.late, 1);
        assert_eq!(a.last_done, Duration::from_millis(2_600));
    }
}
