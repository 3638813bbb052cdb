//! When each request of an open-loop run is meant to be sent.
//!
//! The arrival rate is piecewise linear (holds and ramps). Arrival `n` is
//! due at the time the cumulative number of arrivals reaches `n`; latency
//! is measured from that intended time, not from when the request could
//! actually be sent, so a stalled target cannot hide its stall
//! (coordinated omission).

use std::time::Duration;

use chaos_domain::RateStage;

#[derive(Debug, Clone, PartialEq)]
pub struct RatePlan {
    stages: Vec<RateStage>,
    /// Start time of each stage, in seconds.
    starts: Vec<f64>,
    /// Arrivals before each stage.
    before: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid stages {0:?}: {1}")]
pub struct StagesError(pub String, pub String);

impl RatePlan {
    pub fn new(stages: Vec<RateStage>) -> RatePlan {
        let mut starts = Vec::with_capacity(stages.len());
        let mut before = Vec::with_capacity(stages.len());
        let (mut t, mut n) = (0.0, 0.0);
        for s in &stages {
            starts.push(t);
            before.push(n);
            t += s.duration_s;
            n += (s.from_rps + s.to_rps) / 2.0 * s.duration_s;
        }
        RatePlan {
            stages,
            starts,
            before,
        }
    }

    pub fn constant(rps: f64, duration: Duration) -> RatePlan {
        RatePlan::new(vec![RateStage::hold(duration.as_secs_f64(), rps)])
    }

    /// Parses `DURATION:RATE` (hold) and `DURATION:FROM->TO` (ramp) stages
    /// separated by commas, e.g. `10s:100,30s:100->500,20s:500`.
    pub fn parse(text: &str) -> Result<RatePlan, StagesError> {
        let fail = |m: &str| StagesError(text.to_owned(), m.to_owned());
        let mut stages = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (d, rates) = part
                .split_once(':')
                .ok_or_else(|| fail("each stage is DURATION:RATE or DURATION:FROM->TO"))?;
            let duration = chaos_domain::duration::parse(d).map_err(|e| fail(&e))?;
            let rate = |r: &str| -> Result<f64, StagesError> {
                let v: f64 = r
                    .trim()
                    .parse()
                    .map_err(|_| fail(&format!("{r:?} is not a rate")))?;
                if v.is_finite() && v >= 0.0 {
                    Ok(v)
                } else {
                    Err(fail("rates must be finite and not negative"))
                }
            };
            let (from, to) = match rates.split_once("->") {
                Some((a, b)) => (rate(a)?, rate(b)?),
                None => (rate(rates)?, rate(rates)?),
            };
            stages.push(RateStage::ramp(duration.as_secs_f64(), from, to));
        }
        let plan = RatePlan::new(stages);
        if plan.total_arrivals() < 1.0 {
            return Err(fail("the stages send no request"));
        }
        Ok(plan)
    }

    pub fn stages(&self) -> &[RateStage] {
        &self.stages
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.stages.iter().map(|s| s.duration_s).sum())
    }

    pub fn total_arrivals(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| (s.from_rps + s.to_rps) / 2.0 * s.duration_s)
            .sum()
    }

    /// The arrival rate `t` seconds in (0 after the end).
    pub fn rate_at(&self, t: f64) -> f64 {
        for (s, start) in self.stages.iter().zip(&self.starts) {
            let tau = t - start;
            if tau >= 0.0 && tau < s.duration_s {
                return s.from_rps + (s.to_rps - s.from_rps) * tau / s.duration_s;
            }
        }
        0.0
    }

    /// Seconds from the start at which arrival `n` (from 0) is due, or
    /// `None` once the plan has no more arrivals.
    pub fn intended_offset(&self, n: u64) -> Option<f64> {
        let n = n as f64;
        for (i, s) in self.stages.iter().enumerate() {
            let stage_arrivals = (s.from_rps + s.to_rps) / 2.0 * s.duration_s;
            let m = n - self.before[i];
            if m < 0.0 || m >= stage_arrivals {
                continue;
            }
            let r0 = s.from_rps;
            let a = (s.to_rps - r0) / (2.0 * s.duration_s);
            // Root of a*tau^2 + r0*tau - m = 0 in a form that is stable when a is ~0.
            let disc = (r0 * r0 + 4.0 * a * m).max(0.0);
            let denom = r0 + disc.sqrt();
            let tau = if denom > 0.0 { 2.0 * m / denom } else { 0.0 };
            return Some(self.starts[i] + tau.min(s.duration_s));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_spaces_arrivals_evenly() {
        let plan = RatePlan::constant(100.0, Duration::from_secs(2));
        assert_eq!(plan.total_arrivals(), 200.0);
        assert_eq!(plan.intended_offset(0), Some(0.0));
        assert_eq!(plan.intended_offset(50), Some(0.5));
        assert_eq!(plan.intended_offset(199), Some(1.99));
        assert_eq!(plan.intended_offset(200), None);
    }

    #[test]
    fn a_ramp_sends_more_as_the_rate_rises() {
        // 0 -> 100 rps over 10 s: 500 arrivals, half of them in the last 2.93 s.
        let plan = RatePlan::parse("10s:0->100").expect("valid");
        assert_eq!(plan.total_arrivals(), 500.0);
        let mid = plan.intended_offset(250).expect("within");
        assert!((mid - 50f64.sqrt()).abs() < 1e-9, "{mid}");
        assert!((plan.rate_at(5.0) - 50.0).abs() < 1e-9);
        // Offsets never go backwards.
        let offsets: Vec<f64> = (0..500).filter_map(|n| plan.intended_offset(n)).collect();
        assert_eq!(offsets.len(), 500);
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn stages_follow_each_other() {
        let plan = RatePlan::parse("1s:10, 2s:10->30, 1s:0, 1s:5").expect("valid");
        assert_eq!(plan.duration(), Duration::from_secs(5));
        assert_eq!(plan.total_arrivals(), 10.0 + 40.0 + 0.0 + 5.0);
        assert_eq!(plan.intended_offset(10), Some(1.0));
        assert_eq!(
            plan.intended_offset(50),
            Some(4.0),
            "the silent stage is skipped"
        );
        assert_eq!(plan.rate_at(3.5), 0.0);
        assert_eq!(plan.intended_offset(55), None);
    }

    #[test]
    fn bad_stages_are_explained() {
        for bad in ["", "10s", "ten:5", "1s:-3", "1s:x", "1s:0"] {
            assert!(RatePlan::parse(bad).is_err(), "{bad}");
        }
        let err = RatePlan::parse("1s:x").expect_err("bad");
        assert!(err.to_string().contains("not a rate"));
    }
}
