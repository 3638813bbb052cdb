//! Rules v2: the v1 statistics, computed so that the same app scores the
//! same from one run to the next.
//!
//! v1 judged measured throughput and sample-by-sample uptime, so a noisy
//! machine moved scores: robust-service jumped by a whole step when the
//! step at url-anvil's capacity was just inside or just outside the SLO
//! (575 vs 485 for the same proxy), and longest-upkeep's edges moved with
//! the sampling. v2 scores what the platform asked for, not what the
//! machine happened to deliver, and makes each score continuous in the
//! measurements at the edges where v1 jumped:
//!
//! - robust-service: the asked rate at which the SLO stops being met,
//!   interpolated between the highest step that met it and the next one;
//! - longest-upkeep: uptime counted in the profile's own 10 s slots.

use super::{
    LoadSample, Outcome, SLO_MAX_ERROR_RATIO, SLO_P95_SECONDS, Statistics, Step, UP_SUCCESS_RATIO,
    delta, increase, round, steps,
};

/// A step only counts as met when the load generator completed at least
/// this share of the requests asked for in it: a target that stalls the
/// generator's connections must not pass on the few requests it answered.
pub const MIN_SENT_SHARE: f64 = 0.9;

/// How far a step is from its SLO: the worst of p95 / 250 ms, error ratio
/// / 1 % and the unsent share / 10 %. At most 1 means the step met it.
pub(super) fn slo_margin(s: &Step) -> Option<f64> {
    let p95 = s.p95()?;
    let unsent = (1.0 - s.sent_share()).max(0.0);
    Some(
        (p95 / SLO_P95_SECONDS)
            .max(s.error_ratio() / SLO_MAX_ERROR_RATIO)
            .max(unsent / (1.0 - MIN_SENT_SHARE)),
    )
}

/// Robust service v2. Each step is judged as in v1 (its steady part: p95
/// at most 250 ms, at most 1 % errors) and must also have been sent. The
/// first statistic (and the score) is the asked rate where the SLO stops
/// being met: the highest step that met it, plus the share of the way to
/// the next step given by linear interpolation of the SLO margin (0 at the
/// met step's margin, 1 where the margin would reach 1). A step just over
/// or just under the line thus moves the score a little, not a whole step.
/// Statistic 2 is the met step's p95 (ms), 3 the window's error rate (%).
pub(super) fn robust_service(load: &[LoadSample], total: f64) -> Outcome {
    let judged: Vec<(f64, f64, f64)> = steps(load)
        .iter()
        .filter(|s| s.asked > 0.0)
        .filter_map(|s| Some((s.asked, slo_margin(s)?, s.p95()?)))
        .collect();
    let best = judged
        .iter()
        .filter(|(_, m, _)| *m <= 1.0)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let success = increase(load.iter().map(|s| s.success));
    let error_pct = round((1.0 - success / total) * 100.0, 3);
    let (rate, p95_ms) = match best {
        None => (0.0, None),
        Some(&(asked, margin, p95)) => {
            // The next higher step tried, judged on its worst showing.
            let next = judged
                .iter()
                .filter(|(a, _, _)| *a > asked)
                .min_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
            let rate = match next {
                Some(&(next_asked, next_margin, _)) if next_margin > margin => {
                    let share = ((1.0 - margin) / (next_margin - margin)).clamp(0.0, 1.0);
                    asked + (next_asked - asked) * share
                }
                _ => asked,
            };
            (round(rate, 1), Some(round(p95 * 1000.0, 2)))
        }
    };
    Outcome::Scored(Statistics {
        stat1: Some(rate),
        stat2: p95_ms,
        stat3: Some(error_pct),
        score: rate,
    })
}

/// The longest-upkeep profile is made of 10 s pieces (50 s at the base
/// rate, 10 s spikes), so uptime is judged in slots of that size.
pub const UPKEEP_SLOT_S: f64 = 10.0;

/// One 10 s slot of a longest-upkeep window, as judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Seconds since the load's start.
    pub from_s: f64,
    pub to_s: f64,
    pub requests: f64,
    pub success: f64,
    /// Up, down, or no verdict (nothing completed from here to the end).
    pub up: Option<bool>,
    /// Whether the verdict was borrowed from the next slot with news.
    pub borrowed: bool,
}

/// The load's span cut into judged slots (see [`longest_upkeep`]);
/// `None` when no load was asked for.
pub fn upkeep_slots(load: &[LoadSample]) -> Option<Vec<Slot>> {
    let asked: Vec<&LoadSample> = load.iter().filter(|s| s.target_rps > 0.0).collect();
    let (start, end) = (asked.first()?.t, asked.last()?.t);
    let n = ((end - start) / UPKEEP_SLOT_S).ceil().max(1.0) as usize;
    let mut slots: Vec<Slot> = (0..n)
        .map(|i| {
            let from = i as f64 * UPKEEP_SLOT_S;
            Slot {
                from_s: from,
                to_s: (end - start).min(from + UPKEEP_SLOT_S).max(from),
                requests: 0.0,
                success: 0.0,
                up: None,
                borrowed: false,
            }
        })
        .collect();
    for w in load.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let mid = (a.t + b.t) / 2.0;
        if b.t <= a.t || mid < start || mid > end {
            continue;
        }
        let i = (((mid - start) / UPKEEP_SLOT_S) as usize).min(n - 1);
        slots[i].requests += delta(a.requests, b.requests);
        slots[i].success += delta(a.success, b.success);
    }
    // Judge each slot, slots without completions taking the next verdict.
    let mut next = None;
    for slot in slots.iter_mut().rev() {
        if slot.requests > 0.0 {
            let up = slot.success / slot.requests >= UP_SUCCESS_RATIO;
            slot.up = Some(up);
            next = Some(up);
        } else {
            slot.up = next;
            slot.borrowed = next.is_some();
        }
    }
    Some(slots)
}

/// Longest upkeep v2. The load's span (from the first to the last sample
/// with a rate asked) is cut into 10 s slots from its start; each sample
/// interval counts in the slot holding its middle. A slot is up when at
/// least half of the requests completed in it succeeded; a slot in which
/// nothing completed is judged with the next slot that has completions
/// (a stalled target produces timeouts within seconds). Statistic 1 (and
/// the score) is the longest run of up slots in seconds (the last slot
/// may be shorter), 2 the mean length of the down runs that recovered, 3
/// the successful requests. Where an edge falls inside a slot no longer
/// moves the score: only a slot that changes sides does.
pub(super) fn longest_upkeep(load: &[LoadSample]) -> Outcome {
    let Some(slots) = upkeep_slots(load) else {
        return super::no_data("no load was asked for in the window");
    };
    let length = |i: usize| slots[i].to_s - slots[i].from_s;
    let verdicts: Vec<Option<bool>> = slots.iter().map(|s| s.up).collect();
    let (mut longest_up, mut current_up) = (0.0f64, 0.0f64);
    let (mut downs, mut current_down) = (Vec::new(), 0.0f64);
    for (i, verdict) in verdicts.iter().enumerate() {
        match verdict {
            Some(true) => {
                current_up += length(i);
                longest_up = longest_up.max(current_up);
                if current_down > 0.0 {
                    downs.push(current_down);
                    current_down = 0.0;
                }
            }
            Some(false) => {
                current_up = 0.0;
                current_down += length(i);
            }
            // Nothing completed from here to the end: no news, no verdict.
            None => {}
        }
    }
    let mttr = if downs.is_empty() {
        0.0
    } else {
        downs.iter().sum::<f64>() / downs.len() as f64
    };
    Outcome::Scored(Statistics {
        stat1: Some(round(longest_up, 2)),
        stat2: Some(round(mttr, 2)),
        stat3: Some(increase(load.iter().map(|s| s.success))),
        score: round(longest_up, 2),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{AnvilSample, Rules, score_under, steps};
    use super::*;
    use crate::Challenge;

    const BOUNDS: [f64; 9] = [0.05, 0.1, 0.2, 0.24, 0.25, 0.26, 0.3, 0.5, f64::INFINITY];

    /// Cumulative load samples every `dt` seconds from per-interval
    /// figures: (asked rate, completed, succeeded, latency of them all).
    fn series(dt: f64, intervals: &[(f64, f64, f64, f64)]) -> Vec<LoadSample> {
        let mut out = Vec::new();
        let (mut req, mut ok) = (0.0, 0.0);
        let mut buckets: Vec<(f64, f64)> = BOUNDS.iter().map(|&b| (b, 0.0)).collect();
        let first_rate = intervals.first().map_or(0.0, |i| i.0);
        out.push(LoadSample {
            wrong: 0.0,
            t: 1000.0,
            target_rps: first_rate,
            requests: 0.0,
            success: 0.0,
            graceful_in_time: 0.0,
            latency_buckets: buckets.clone(),
        });
        for (k, &(rate, r, s, le)) in intervals.iter().enumerate() {
            req += r;
            ok += s;
            for (b, c) in buckets.iter_mut() {
                if *b >= le {
                    *c += r;
                }
            }
            out.push(LoadSample {
                wrong: 0.0,
                t: 1000.0 + (k + 1) as f64 * dt,
                target_rps: rate,
                requests: req,
                success: ok,
                graceful_in_time: ok,
                latency_buckets: buckets.clone(),
            });
        }
        out
    }

    /// Steps of 20 s sampled every 2 s, each step's latency given.
    fn stepped(steps: &[(f64, f64)]) -> Vec<LoadSample> {
        let mut intervals = Vec::new();
        for &(rate, le) in steps {
            for _ in 0..10 {
                intervals.push((rate, rate * 2.0, rate * 2.0, le));
            }
        }
        series(2.0, &intervals)
    }

    fn scored(o: Outcome) -> Statistics {
        match o {
            Outcome::Scored(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn robust(load: &[LoadSample]) -> Statistics {
        scored(score_under(
            Rules::V2,
            Challenge::RobustService,
            load,
            &[] as &[AnvilSample],
        ))
    }

    #[test]
    fn robust_service_scores_the_asked_rate_with_a_share_of_the_next_step() {
        // 100 and 200 met (p95 ≤ 100 ms and ≤ 200 ms), 400 missed by p95 in (0.3, 0.5].
        let s = robust(&stepped(&[(100.0, 0.05), (200.0, 0.1), (400.0, 0.5)]));
        // p95 at 200: 97.5 ms → margin 0.39; at 400: 490 ms → margin 1.96.
        // 200 + 200 × (1 − 0.39) / (1.96 − 0.39) = 277.7.
        assert_eq!(s.stat2, Some(97.5));
        assert_eq!(s.stat1, Some(277.7));
        assert_eq!(s.score, 277.7);
        assert_eq!(s.stat3, Some(0.0));
    }

    #[test]
    fn a_step_just_over_or_just_under_the_line_moves_the_score_a_little() {
        // The same app on two machines: the 400 step's p95 lands just
        // under 250 ms in one run (249.5) and just over in the other (259.5).
        let under = robust(&stepped(&[(200.0, 0.1), (400.0, 0.25), (600.0, 0.5)]));
        let over = robust(&stepped(&[(200.0, 0.1), (400.0, 0.26), (600.0, 0.5)]));
        let (a, b) = (under.score, over.score);
        assert!(a >= 400.0 && b < 400.0, "{a} {b}");
        assert!((a - b) / a < 0.05, "{a} vs {b}: a whole step apart");
        // v1 puts them a whole step apart.
        let v1 = |l: &[LoadSample]| {
            scored(score_under(Rules::V1, Challenge::RobustService, l, &[])).score
        };
        let (v1a, v1b) = (
            v1(&stepped(&[(200.0, 0.1), (400.0, 0.25), (600.0, 0.5)])),
            v1(&stepped(&[(200.0, 0.1), (400.0, 0.26), (600.0, 0.5)])),
        );
        assert_eq!((v1a, v1b), (400.0, 200.0));
    }

    /// Steps of 20 s, everything sent on time at `le` latency, as a query
    /// with a 1 s step reads a Prometheus that scrapes every `scrape` s:
    /// each sample repeats the last scrape's values.
    fn scraped(steps: &[(f64, f64)], scrape: f64) -> Vec<LoadSample> {
        let total = steps.len() as f64 * 20.0;
        let rate_at = |t: f64| steps[((t / 20.0) as usize).min(steps.len() - 1)].0;
        // The true counters at time t (the rate integrated up to t).
        let sent_by = |t: f64| {
            let mut n = 0.0;
            for (i, &(rate, _)) in steps.iter().enumerate() {
                let from = i as f64 * 20.0;
                n += rate * (t.min(from + 20.0) - from).max(0.0);
            }
            n
        };
        let le = steps[0].1;
        (0..=total as usize)
            .map(|sec| {
                let t = sec as f64;
                let last_scrape = (t / scrape).floor() * scrape;
                let n = sent_by(last_scrape);
                LoadSample {
                    wrong: 0.0,
                    t: 1000.0 + t,
                    target_rps: rate_at(last_scrape),
                    requests: n,
                    success: n,
                    graceful_in_time: n,
                    latency_buckets: BOUNDS
                        .iter()
                        .map(|&b| (b, if b >= le { n } else { 0.0 }))
                        .collect(),
                }
            })
            .collect()
    }

    #[test]
    fn a_coarse_scrape_does_not_count_as_unsent_load() {
        // Prometheus every 5 s (the chart's), read at a 1 s step: each
        // step's last increase lands in the next step's first interval.
        // Counted over the seconds its counter moved in, all was sent.
        let load = scraped(&[(100.0, 0.05), (200.0, 0.05), (400.0, 0.05)], 5.0);
        let s = robust(&load);
        assert_eq!(s.score, 400.0, "{s:?}");
        for st in steps(&load) {
            let share = st.sent_share();
            assert!(
                (0.99..=1.01).contains(&share),
                "{} req/s: sent {share}",
                st.asked
            );
        }
        // The same run scraped every second scores the same.
        assert_eq!(
            robust(&scraped(
                &[(100.0, 0.05), (200.0, 0.05), (400.0, 0.05)],
                1.0
            ))
            .score,
            400.0
        );
    }

    #[test]
    fn the_top_step_met_scores_its_asked_rate_and_unsent_load_is_not_met() {
        let s = robust(&stepped(&[(100.0, 0.05), (200.0, 0.05)]));
        assert_eq!(s.score, 200.0);
        // 200 asked, only half completed (the generator's connections stalled).
        let mut intervals = vec![(100.0, 200.0, 200.0, 0.05); 10];
        intervals.extend(vec![(200.0, 200.0, 200.0, 0.05); 10]);
        let s = robust(&series(2.0, &intervals));
        assert!(s.score < 200.0, "{}", s.score);
        assert!(s.score >= 100.0, "{}", s.score);
    }

    #[test]
    fn no_step_met_scores_zero() {
        let s = robust(&stepped(&[(100.0, 0.5), (200.0, 0.5)]));
        assert_eq!((s.stat1, s.stat2, s.score), (Some(0.0), None, 0.0));
    }

    fn upkeep(load: &[LoadSample]) -> Statistics {
        scored(score_under(Rules::V2, Challenge::LongestUpkeep, load, &[]))
    }

    /// One sample per `dt` seconds; `up(t)` says whether that interval succeeded.
    fn upkeep_load(dt: f64, seconds: f64, up: impl Fn(f64) -> bool) -> Vec<LoadSample> {
        let n = (seconds / dt) as usize;
        let intervals: Vec<_> = (0..n)
            .map(|k| {
                let ok = if up(k as f64 * dt) { 100.0 } else { 10.0 };
                (100.0, 100.0, ok, 0.05)
            })
            .collect();
        series(dt, &intervals)
    }

    #[test]
    fn longest_upkeep_counts_whole_slots() {
        // Down from 50 s to 60 s and from 110 s to 120 s of 180 s.
        let down = |t: f64| (50.0..60.0).contains(&t) || (110.0..120.0).contains(&t);
        let s = upkeep(&upkeep_load(1.0, 180.0, |t| !down(t)));
        assert_eq!(s.stat1, Some(60.0));
        assert_eq!(s.stat2, Some(10.0));
        assert_eq!(s.score, 60.0);
    }

    #[test]
    fn an_edge_moving_inside_a_slot_does_not_move_the_score() {
        // The spike's failures start 2 s early or 2 s late: v1 moves, v2 does not.
        let early = |t: f64| !(48.0..58.0).contains(&t);
        let late = |t: f64| !(52.0..62.0).contains(&t);
        let v2 = (
            upkeep(&upkeep_load(1.0, 120.0, early)).score,
            upkeep(&upkeep_load(1.0, 120.0, late)).score,
        );
        assert_eq!(v2, (60.0, 60.0));
        let v1 = |l: &[LoadSample]| {
            scored(score_under(Rules::V1, Challenge::LongestUpkeep, l, &[])).score
        };
        assert_ne!(
            v1(&upkeep_load(1.0, 120.0, early)),
            v1(&upkeep_load(1.0, 120.0, late))
        );
    }

    #[test]
    fn sparse_samples_and_a_stall_are_judged_by_the_next_news() {
        // Samples every 15 s (a slow Prometheus): slots without a sample
        // take the next verdict, so 120 s all up is 120 s.
        let s = upkeep(&upkeep_load(15.0, 120.0, |_| true));
        assert_eq!(s.score, 120.0);
        // A target that stalls: nothing completes for 20 s, then timeouts.
        let mut intervals = vec![(100.0, 100.0, 100.0, 0.05); 30];
        intervals.extend(vec![(100.0, 0.0, 0.0, 0.05); 20]);
        intervals.extend(vec![(100.0, 100.0, 0.0, 2.0); 10]);
        intervals.extend(vec![(100.0, 100.0, 100.0, 0.05); 30]);
        let s = upkeep(&series(1.0, &intervals));
        assert_eq!(s.stat1, Some(30.0));
        assert_eq!(s.stat2, Some(30.0));
    }
}
