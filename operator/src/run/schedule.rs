//! The chaos schedule in time: which steps are due, and when the next one is.

use std::time::Duration;

use chaos_domain::ChaosStep;

/// Indices of the steps due `elapsed` into the load, of which `applied`
/// were carried out already.
pub fn due(steps: &[ChaosStep], elapsed: Duration, applied: usize) -> std::ops::Range<usize> {
    let until = steps
        .iter()
        .take_while(|s| Duration::from_secs_f64(s.at_s.max(0.0)) <= elapsed)
        .count();
    applied.min(until)..until
}

/// How long until the next step after the first `applied`.
pub fn next_in(steps: &[ChaosStep], elapsed: Duration, applied: usize) -> Option<Duration> {
    steps
        .get(applied)
        .map(|s| Duration::from_secs_f64(s.at_s.max(0.0)).saturating_sub(elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_domain::{Challenge, ChallengeProfile};

    #[test]
    fn steps_fall_due_in_order_and_only_once() {
        let p = ChallengeProfile::current(Challenge::LongestUpkeep);
        let s = &p.chaos;
        assert_eq!(due(s, Duration::from_secs(10), 0), 0..0);
        assert_eq!(
            next_in(s, Duration::from_secs(10), 0),
            Some(Duration::from_secs(110))
        );
        assert_eq!(due(s, Duration::from_secs(130), 0), 0..1);
        assert_eq!(due(s, Duration::from_secs(130), 1), 1..1);
        assert_eq!(due(s, Duration::from_secs(1_000), 1), 1..3);
        assert_eq!(next_in(s, Duration::from_secs(1_000), 3), None);
    }

    #[test]
    fn a_squeezed_profile_squeezes_its_chaos() {
        let p = ChallengeProfile::current(Challenge::GracefulDegradation).scaled(0.5, 1.0);
        assert_eq!(due(&p.chaos, Duration::from_secs(21), 0), 0..1);
    }
}
