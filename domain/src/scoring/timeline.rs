//! A run over time, for people: what was asked and answered, latency and
//! errors through the window, from the same stored samples the score was
//! computed from. Nothing here scores; the run page draws it.

use serde::Serialize;

use super::{AnvilSample, LoadSample, bucket_delta, clean_load, delta, histogram_quantile};

/// At most this many points per line: a 600 s run sampled every second is
/// drawn from 60 intervals of 10 s.
pub const MAX_POINTS: usize = 60;

/// One interval between two samples, placed at its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Seconds since the window opened.
    pub at_s: f64,
    /// The arrival rate asked for at the interval's end.
    pub asked_rps: f64,
    /// Requests completed per second (any answer, or a transport error).
    pub completed_rps: f64,
    /// Successful (1xx-3xx) answers per second.
    pub success_rps: f64,
    /// Share of completed requests that did not succeed, in percent.
    pub error_pct: Option<f64>,
    /// Share of completed requests answered, but not with url-anvil's right
    /// answer, in percent (part of `error_pct`).
    pub wrong_pct: Option<f64>,
    /// p95 latency of the interval's answers, in milliseconds.
    pub p95_ms: Option<f64>,
}

/// The load generator's samples as at most [`MAX_POINTS`] intervals,
/// timed from `start_s` (the window's start, seconds since the epoch).
pub fn load_timeline(load: &[LoadSample], start_s: f64) -> Vec<Point> {
    let load = clean_load(load);
    if load.len() < 2 {
        return Vec::new();
    }
    let intervals = load.len() - 1;
    let stride = intervals.div_ceil(MAX_POINTS).max(1);
    let mut ends: Vec<usize> = (stride..load.len()).step_by(stride).collect();
    if ends.last() != Some(&(load.len() - 1)) {
        ends.push(load.len() - 1);
    }
    let mut out = Vec::with_capacity(ends.len());
    let mut from = 0;
    for to in ends {
        let (a, b) = (&load[from], &load[to]);
        let seconds = b.t - a.t;
        if seconds > 0.0 {
            // Counters are summed step by step so a restart inside the
            // interval counts as a reset, not as a negative rate.
            let span = &load[from..=to];
            let moved = |f: fn(&LoadSample) -> f64| {
                span.windows(2)
                    .map(|w| delta(f(&w[0]), f(&w[1])))
                    .sum::<f64>()
            };
            let (requests, success) = (moved(|s| s.requests), moved(|s| s.success));
            let wrong = moved(|s| s.wrong);
            out.push(Point {
                at_s: b.t - start_s,
                asked_rps: b.target_rps,
                completed_rps: requests / seconds,
                success_rps: success / seconds,
                error_pct: (requests > 0.0)
                    .then(|| (100.0 * (1.0 - success / requests)).clamp(0.0, 100.0)),
                wrong_pct: (requests > 0.0).then(|| (100.0 * wrong / requests).clamp(0.0, 100.0)),
                p95_ms: histogram_quantile(
                    0.95,
                    &bucket_delta(&a.latency_buckets, &b.latency_buckets),
                )
                .map(|s| s * 1000.0),
            });
        }
        from = to;
    }
    out
}

/// When url-anvil did not answer its scrapes: `(from, to)` in seconds since
/// the window opened, from the first missed scrape to the next answered one
/// (or the last sample).
pub fn anvil_down(anvil: &[AnvilSample], start_s: f64) -> Vec<(f64, f64)> {
    let mut samples: Vec<&AnvilSample> = anvil.iter().filter(|s| s.t.is_finite()).collect();
    samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut out = Vec::new();
    let mut down_since: Option<f64> = None;
    for s in &samples {
        match (s.up, down_since) {
            (false, None) => down_since = Some(s.t),
            (true, Some(from)) => {
                out.push((from - start_s, s.t - start_s));
                down_since = None;
            }
            _ => {}
        }
    }
    if let (Some(from), Some(last)) = (down_since, samples.last()) {
        out.push((from - start_s, last.t - start_s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, asked: f64, requests: f64, success: f64, fast: f64) -> LoadSample {
        LoadSample {
            wrong: 0.0,
            t,
            target_rps: asked,
            requests,
            success,
            graceful_in_time: success,
            // `fast` answers under 10 ms, the rest under 1 s.
            latency_buckets: vec![(0.01, fast), (1.0, requests), (f64::INFINITY, requests)],
        }
    }

    #[test]
    fn rates_errors_and_latency_per_interval() {
        let load = [
            sample(100.0, 50.0, 0.0, 0.0, 0.0),
            sample(101.0, 50.0, 50.0, 50.0, 50.0),
            sample(102.0, 100.0, 150.0, 100.0, 50.0),
        ];
        let t = load_timeline(&load, 100.0);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].at_s, t[0].completed_rps, t[0].error_pct),
            (1.0, 50.0, Some(0.0))
        );
        assert!(t[0].p95_ms.is_some_and(|p| p <= 10.0), "{t:?}");
        // The second second: 100 answered, half of them failed, all slow.
        assert_eq!(
            (t[1].asked_rps, t[1].completed_rps, t[1].success_rps),
            (100.0, 100.0, 50.0)
        );
        assert_eq!(t[1].error_pct, Some(50.0));
        assert_eq!((t[0].wrong_pct, t[1].wrong_pct), (Some(0.0), Some(0.0)));
        assert!(t[1].p95_ms.is_some_and(|p| p > 10.0), "{t:?}");

        // Of the failures, the wrong answers are shown as such.
        let mut load = load;
        load[2].wrong = 20.0;
        let t = load_timeline(&load, 100.0);
        assert_eq!((t[1].error_pct, t[1].wrong_pct), (Some(50.0), Some(20.0)));
    }

    #[test]
    fn long_runs_are_drawn_from_at_most_sixty_intervals() {
        let load: Vec<LoadSample> = (0..=600)
            .map(|i| {
                let n = f64::from(i) * 100.0;
                sample(f64::from(i), 100.0, n, n, n)
            })
            .collect();
        let t = load_timeline(&load, 0.0);
        assert_eq!(t.len(), MAX_POINTS);
        assert_eq!(t.last().map(|p| p.at_s), Some(600.0));
        assert!(t.iter().all(|p| p.completed_rps == 100.0), "{t:?}");
    }

    #[test]
    fn a_counter_reset_is_not_a_negative_rate() {
        let load = [
            sample(0.0, 10.0, 500.0, 500.0, 500.0),
            sample(1.0, 10.0, 10.0, 10.0, 10.0),
        ];
        let t = load_timeline(&load, 0.0);
        assert_eq!(t[0].completed_rps, 10.0);
        assert!(
            load_timeline(&load[..1], 0.0).is_empty(),
            "one sample, no interval"
        );
    }

    #[test]
    fn down_intervals_run_to_the_next_answered_scrape() {
        let anvil: Vec<AnvilSample> = [
            (10.0, true),
            (11.0, false),
            (12.0, false),
            (13.0, true),
            (20.0, false),
        ]
        .iter()
        .map(|&(t, up)| AnvilSample { t, up, served: 0.0 })
        .collect();
        assert_eq!(anvil_down(&anvil, 10.0), [(1.0, 3.0), (10.0, 10.0)]);
    }
}
