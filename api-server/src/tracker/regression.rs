//! When a tracked run counts as a regression.
//!
//! Rule v1: a run is compared with the median of up to the 5 previous
//! comparable runs (same user, target and test type), and only when there
//! are at least 3 of them. It regressed when any of these holds:
//! - latency: its p95 (mean latency when p95 is missing) is above 1.25 ×
//!   the baseline **and** more than 5 ms above it;
//! - throughput: its request rate is below 0.8 × the baseline;
//! - errors: its error rate is more than 2 percentage points above the
//!   baseline **and** above 1 %.
//!
//! The median ignores a single odd run, and each threshold is wider than
//! the run-to-run noise of a loopback benchmark (a few percent, a few ms),
//! so noise alone does not raise the flag.

use serde::Serialize;

use super::store::TrackedRun;

pub const MIN_BASELINE_RUNS: usize = 3;
pub const BASELINE_RUNS: i64 = 5;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub regressed: bool,
    /// Whether there were enough earlier runs to judge.
    pub judged: bool,
    pub reasons: Vec<String>,
    pub baseline_runs: usize,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

fn latency(r: &TrackedRun) -> f64 {
    r.p95_ms.unwrap_or(r.avg_latency_ms)
}

/// Judges `run` against `previous` (its earlier comparable runs, any order).
pub fn judge(run: &TrackedRun, previous: &[TrackedRun]) -> Verdict {
    let n = previous.len();
    if n < MIN_BASELINE_RUNS {
        return Verdict {
            regressed: false,
            judged: false,
            reasons: vec![format!(
                "fewer than {MIN_BASELINE_RUNS} earlier comparable runs"
            )],
            baseline_runs: n,
        };
    }
    let mut reasons = Vec::new();
    if let Some(base) = median(previous.iter().map(latency).collect()) {
        let now = latency(run);
        if now > base * 1.25 && now - base > 5.0 {
            reasons.push(format!(
                "latency {now:.1} ms vs {base:.1} ms (+{:.0} %)",
                (now / base - 1.0) * 100.0
            ));
        }
    }
    if let Some(base) = median(previous.iter().map(|r| r.rps).collect())
        && run.rps < base * 0.8
    {
        reasons.push(format!(
            "throughput {:.1} req/s vs {base:.1} (−{:.0} %)",
            run.rps,
            (1.0 - run.rps / base) * 100.0
        ));
    }
    if let Some(base) = median(previous.iter().map(|r| r.error_rate).collect())
        && run.error_rate > base + 2.0
        && run.error_rate > 1.0
    {
        reasons.push(format!("error rate {:.2} % vs {base:.2} %", run.error_rate));
    }
    Verdict {
        regressed: !reasons.is_empty(),
        judged: true,
        reasons,
        baseline_runs: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p95: f64, rps: f64, errors: f64) -> TrackedRun {
        TrackedRun {
            id: "r".into(),
            user_id: "u".into(),
            target: "t".into(),
            session_id: "s".into(),
            commit_hash: None,
            challenge_type: "robust-service".into(),
            test_type: "load".into(),
            run_at: String::new(),
            run_at_ms: 0,
            total_requests: 1000,
            successful_requests: 1000,
            failed_requests: 0,
            rps,
            error_rate: errors,
            avg_latency_ms: p95 / 2.0,
            p50_ms: Some(p95 / 2.0),
            p95_ms: Some(p95),
            p99_ms: Some(p95 * 1.5),
            duration_s: 10.0,
        }
    }

    #[test]
    fn noise_does_not_regress() {
        let base = [
            run(40.0, 1000.0, 0.1),
            run(44.0, 950.0, 0.3),
            run(38.0, 1040.0, 0.0),
            run(42.0, 990.0, 0.2),
        ];
        // 10 % slower, 8 % less throughput, a few more errors: noise.
        let v = judge(&run(46.0, 915.0, 1.5), &base);
        assert!(v.judged && !v.regressed, "{v:?}");
        // One odd earlier run does not move the baseline.
        let mut odd = base.to_vec();
        odd.push(run(400.0, 100.0, 50.0));
        assert!(!judge(&run(41.0, 1000.0, 0.1), &odd).regressed);
    }

    #[test]
    fn real_regressions_are_flagged_with_reasons() {
        let base = [
            run(40.0, 1000.0, 0.1),
            run(44.0, 950.0, 0.3),
            run(38.0, 1040.0, 0.0),
        ];
        let v = judge(&run(60.0, 700.0, 5.0), &base);
        assert!(v.regressed);
        assert_eq!(v.reasons.len(), 3, "{v:?}");
        assert!(v.reasons[0].starts_with("latency 60.0 ms vs 40.0 ms"));
        // Small absolute latencies need a 5 ms step too: 1 ms → 2 ms is not a regression.
        let fast = [
            run(1.0, 1000.0, 0.0),
            run(1.1, 1000.0, 0.0),
            run(0.9, 1000.0, 0.0),
        ];
        assert!(!judge(&run(2.0, 1000.0, 0.0), &fast).regressed);
    }

    #[test]
    fn too_few_earlier_runs_are_not_judged() {
        let v = judge(
            &run(400.0, 1.0, 90.0),
            &[run(40.0, 1000.0, 0.0), run(40.0, 1000.0, 0.0)],
        );
        assert!(!v.judged && !v.regressed);
    }
}
