//! Scoring rules: the three statistics and the score of each challenge,
//! as pure functions of counter snapshots taken during a run. Rules v1
//! live here; v2 (made robust to run-to-run noise) in [`v2`]; v3 (the
//! current rules: only right answers to the load count) is v2 with
//! graceful-degradation's first statistic taken from the load generator's
//! checked answers instead of url-anvil's own counter. Every version stays:
//! a record says which rules made it.
//!
//! Both metric sources (Prometheus and the built-in scraper) produce the
//! same snapshots, so a score does not depend on where its numbers came
//! from. Counters are cumulative and may reset (a restarted url-anvil
//! starts from zero again); every increase here is reset-aware. A window
//! without usable samples is [`Outcome::NoData`], never a zero score.

use serde::{Deserialize, Serialize};

use crate::challenge::Challenge;

pub mod judged;
pub mod timeline;
mod v2;

/// The rules the board ranks by.
pub const RULES_VERSION: u32 = 3;

/// A version of the scoring rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Measured rates and sample-by-sample uptime (the first rules).
    V1,
    /// Asked rates interpolated at the SLO's edge, uptime in 10 s slots.
    V2,
    /// V2, with graceful-degradation's "served" counting only right
    /// answers the load received (url-anvil work that answered no request
    /// of the load, or an answer url-anvil did not produce, earns nothing).
    V3,
}

impl Rules {
    pub const CURRENT: Rules = Rules::V3;
    pub const ALL: [Rules; 3] = [Rules::V1, Rules::V2, Rules::V3];

    pub fn from_version(version: u32) -> Option<Rules> {
        match version {
            1 => Some(Rules::V1),
            2 => Some(Rules::V2),
            3 => Some(Rules::V3),
            _ => None,
        }
    }

    pub fn version(self) -> u32 {
        match self {
            Rules::V1 => 1,
            Rules::V2 => 2,
            Rules::V3 => 3,
        }
    }

    /// What each statistic is under these rules, for people.
    pub fn statistic_names(self, challenge: Challenge) -> [&'static str; 3] {
        match (self, challenge) {
            (Rules::V1, Challenge::RobustService) => [
                "max sustained RPS meeting the SLO",
                "p95 latency at that step (ms)",
                "error rate over the run (%)",
            ],
            (Rules::V2 | Rules::V3, Challenge::RobustService) => [
                "highest asked RPS meeting the SLO",
                "p95 latency at that step (ms)",
                "error rate over the run (%)",
            ],
            (Rules::V3, Challenge::GracefulDegradation) => [
                "right answers the load received",
                "graceful-response ratio (%)",
                "longest url-anvil downtime (s)",
            ],
            (_, Challenge::GracefulDegradation) => [
                "requests url-anvil served",
                "graceful-response ratio (%)",
                "longest url-anvil downtime (s)",
            ],
            (_, Challenge::LongestUpkeep) => [
                "longest continuous uptime (s)",
                "mean time to recovery (s)",
                "successful requests",
            ],
        }
    }
}

/// The robust-service SLO.
pub const SLO_P95_SECONDS: f64 = 0.25;
pub const SLO_MAX_ERROR_RATIO: f64 = 0.01;
/// "Answered in time" for graceful-degradation.
pub const IN_TIME_SECONDS: f64 = 1.0;
/// The `+Inf` bucket bound as stored: JSON has no infinity, so the
/// largest finite number stands for it (`f64::INFINITY` is accepted too).
pub const INF_BOUND: f64 = f64::MAX;

fn is_inf_bound(le: f64) -> bool {
    le.is_infinite() || le >= INF_BOUND
}

/// An interval counts as up for longest-upkeep when at least this share
/// of its requests succeeded.
pub const UP_SUCCESS_RATIO: f64 = 0.5;

/// The load generator's counters at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSample {
    /// Seconds since the Unix epoch.
    pub t: f64,
    /// Arrival rate asked for at `t`.
    pub target_rps: f64,
    /// Requests completed: responses of any status plus transport errors.
    pub requests: f64,
    /// Responses with a 1xx-3xx status.
    pub success: f64,
    /// Successful or deliberately shed (429/503) responses within `IN_TIME_SECONDS`.
    pub graceful_in_time: f64,
    /// Answers that were not url-anvil's right answer (checked runs; 0 in
    /// samples stored before answers were checked).
    #[serde(default)]
    pub wrong: f64,
    /// Cumulative latency histogram of all responses: `(le seconds, count)`,
    /// ascending, the last bound `+Inf` ([`INF_BOUND`]).
    pub latency_buckets: Vec<(f64, f64)>,
}

/// url-anvil's counters at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnvilSample {
    pub t: f64,
    /// Whether url-anvil answered the scrape.
    pub up: bool,
    /// `POST /api/test` answered with 2xx (resets when url-anvil restarts).
    pub served: f64,
}

/// The three statistics and the score. A statistic is `None` when the
/// window holds nothing it could be computed from (e.g. no step met the SLO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub stat1: Option<f64>,
    pub stat2: Option<f64>,
    pub stat3: Option<f64>,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Scored(Statistics),
    NoData { reason: String },
}

/// What each statistic is under the current rules, for people.
pub fn statistic_names(challenge: Challenge) -> [&'static str; 3] {
    Rules::CURRENT.statistic_names(challenge)
}

/// Whether a higher value of each statistic is better, for breaking ties.
pub fn higher_is_better(challenge: Challenge) -> [bool; 3] {
    match challenge {
        Challenge::RobustService => [true, false, false],
        Challenge::GracefulDegradation => [true, true, false],
        Challenge::LongestUpkeep => [true, false, true],
    }
}

/// Sort keys, descending is better: the score, then each statistic in
/// order (negated where lower is better; a missing statistic sorts last).
pub fn rank_keys(challenge: Challenge, s: &Statistics) -> [f64; 4] {
    let dir = higher_is_better(challenge);
    let key = |v: Option<f64>, higher: bool| match v {
        Some(v) if v.is_finite() => {
            if higher {
                v
            } else {
                -v
            }
        }
        _ => f64::MIN,
    };
    [
        s.score,
        key(s.stat1, dir[0]),
        key(s.stat2, dir[1]),
        key(s.stat3, dir[2]),
    ]
}

/// Why a run is practice rather than official, from what it declared and
/// what was measured; empty when it ranks. An official run is the whole
/// profile at its full length and rate: the declared scales are 1, the
/// window is as long as the profile, and the load generator's own samples
/// show the profile's asked rates over the profile's length (so a client
/// cannot declare a full run and send a squeezed one).
pub fn practice_reasons(
    profile: &crate::ChallengeProfile,
    duration_scale: f64,
    rate_scale: f64,
    window_s: f64,
    load: &[LoadSample],
) -> Vec<String> {
    let mut reasons = Vec::new();
    if duration_scale != 1.0 {
        reasons.push(format!(
            "its length was scaled ×{}",
            round(duration_scale, 3)
        ));
    }
    if rate_scale != 1.0 {
        reasons.push(format!("its rates were scaled ×{}", round(rate_scale, 3)));
    }
    let length = profile.duration_s();
    if window_s < OFFICIAL_LENGTH_SHARE * length {
        reasons.push(format!(
            "its window lasted {} s; the profile lasts {length} s",
            round(window_s, 1)
        ));
    }
    let asked: Vec<&LoadSample> = load
        .iter()
        .filter(|s| s.t.is_finite() && s.target_rps.is_finite() && s.target_rps > 0.0)
        .collect();
    let span = match (asked.first(), asked.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => 0.0,
    };
    // A sampled series starts and ends up to one sampling interval inside
    // the load (Prometheus scrapes every few seconds): that much is allowed
    // at each edge, the interval being the platform's, not the client's.
    let interval = asked
        .windows(2)
        .map(|w| w[1].t - w[0].t)
        .fold(0.0, f64::max)
        .clamp(0.0, MAX_SAMPLE_INTERVAL_S);
    if span < OFFICIAL_LENGTH_SHARE * length - 2.0 * interval {
        reasons.push(format!(
            "load was asked for {} s of the profile's {length} s",
            round(span, 1)
        ));
    }
    let peak = asked.iter().map(|s| s.target_rps).fold(0.0, f64::max);
    if !asked.is_empty() && peak < OFFICIAL_RATE_SHARE * profile.peak_rps() {
        reasons.push(format!(
            "the highest asked rate was {} req/s; the profile's is {}",
            round(peak, 1),
            profile.peak_rps()
        ));
    }
    reasons
}

/// An official run's window and load cover at least this share of the
/// profile's length (sampling edges and scheduling take a little).
pub const OFFICIAL_LENGTH_SHARE: f64 = 0.95;
/// The longest sampling interval allowed for at each edge of the load.
pub const MAX_SAMPLE_INTERVAL_S: f64 = 15.0;
/// ... and its highest asked rate reaches this share of the profile's.
pub const OFFICIAL_RATE_SHARE: f64 = 0.95;

/// Scores a challenge over the samples of its window under the current rules.
pub fn score(challenge: Challenge, load: &[LoadSample], anvil: &[AnvilSample]) -> Outcome {
    score_under(Rules::CURRENT, challenge, load, anvil)
}

/// Scores a challenge over the samples of its window under `rules`.
pub fn score_under(
    rules: Rules,
    challenge: Challenge,
    load: &[LoadSample],
    anvil: &[AnvilSample],
) -> Outcome {
    let load = clean_load(load);
    if load.len() < 2 {
        return no_data("fewer than two load generator samples in the window");
    }
    let total = increase(load.iter().map(|s| s.requests));
    if total <= 0.0 {
        return no_data("the load generator completed no request in the window");
    }
    if increase(load.iter().map(|s| s.success)) <= 0.0 {
        // A dead or wrong target is not a measurement of anything.
        return no_data(&format!(
            "the target answered none of the {total} requests successfully, that is with url-anvil's right answer (is it up, is it the right URL, and does it pass url-anvil's answers on?)"
        ));
    }
    match (rules, challenge) {
        (Rules::V1, Challenge::RobustService) => robust_service(&load, total),
        (Rules::V2 | Rules::V3, Challenge::RobustService) => v2::robust_service(&load, total),
        // Its spread was within 1 % before v2 (docs/SCORING.md): unchanged.
        (Rules::V1 | Rules::V2, Challenge::GracefulDegradation) => {
            graceful_degradation(&load, anvil, total, Served::ByAnvil)
        }
        (Rules::V3, Challenge::GracefulDegradation) => {
            graceful_degradation(&load, anvil, total, Served::RightAnswersToTheLoad)
        }
        (Rules::V1, Challenge::LongestUpkeep) => longest_upkeep(&load),
        (Rules::V2 | Rules::V3, Challenge::LongestUpkeep) => v2::longest_upkeep(&load),
    }
}

fn no_data(reason: &str) -> Outcome {
    Outcome::NoData {
        reason: reason.to_owned(),
    }
}

fn clean_load(load: &[LoadSample]) -> Vec<LoadSample> {
    let mut v: Vec<LoadSample> = load
        .iter()
        .filter(|s| {
            [s.t, s.target_rps, s.requests, s.success, s.graceful_in_time]
                .iter()
                .all(|x| x.is_finite())
                && s.latency_buckets.iter().all(|(_, c)| c.is_finite())
        })
        .cloned()
        .collect();
    v.sort_by(|a, b| a.t.total_cmp(&b.t));
    v
}

/// Total increase of a counter, counting a drop as a reset to zero.
pub fn increase(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut total = 0.0;
    let mut prev: Option<f64> = None;
    for v in values {
        if let Some(p) = prev {
            total += if v >= p { v - p } else { v };
        }
        prev = Some(v);
    }
    total
}

fn delta(a: f64, b: f64) -> f64 {
    if b >= a { b - a } else { b }
}

/// The q-quantile of a histogram given as cumulative `(le, count)`
/// pairs, interpolating linearly inside the bucket as PromQL's
/// `histogram_quantile` does. `None` for an empty histogram.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if is_inf_bound(le) {
                return Some(prev.0);
            }
            let in_bucket = count - prev.1;
            let frac = if in_bucket > 0.0 {
                (rank - prev.1) / in_bucket
            } else {
                1.0
            };
            return Some(prev.0 + (le - prev.0) * frac);
        }
        prev = (le, count);
    }
    Some(prev.0)
}

/// Bucket-wise increase between two cumulative histograms with the same bounds.
fn bucket_delta(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<(f64, f64)> {
    b.iter()
        .map(|&(le, cb)| {
            let ca = a
                .iter()
                .find(|(l, _)| *l == le)
                .map(|(_, c)| *c)
                .unwrap_or(0.0);
            (le, delta(ca, cb))
        })
        .collect()
}

struct Step {
    /// The rate asked for during the step (rounded to whole req/s).
    asked: f64,
    seconds: f64,
    /// (seconds into the step, requests so far) at the first and the last
    /// sample in which the request counter moved. Samples finer than the
    /// scrape interval repeat a counter until the next scrape, and a step's
    /// last increase falls in the next step's first (left out) interval, so
    /// requests over `seconds` understate the rate sent by up to a scrape
    /// interval's worth; between two moves of the counter they do not.
    first_move: Option<(f64, f64)>,
    last_move: Option<(f64, f64)>,
    requests: f64,
    success: f64,
    buckets: Vec<(f64, f64)>,
}

impl Step {
    fn p95(&self) -> Option<f64> {
        histogram_quantile(0.95, &self.buckets)
    }

    fn error_ratio(&self) -> f64 {
        1.0 - self.success / self.requests
    }

    /// Requests completed over requests asked for, between the first and
    /// the last move of the counter (over the whole step when it moved
    /// only once).
    fn sent_share(&self) -> f64 {
        match (self.first_move, self.last_move) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => (n1 - n0) / (self.asked * (t1 - t0)),
            _ => self.requests / (self.asked * self.seconds),
        }
    }
}

/// The stepped rate cut into its steps: consecutive intervals with the
/// same asked rate, less the first interval of each, in which the rate
/// changed. Only steps with time and requests in them are returned.
fn steps(load: &[LoadSample]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut previous_target = None;
    for w in load.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let target = b.target_rps.round();
        let dt = b.t - a.t;
        if dt <= 0.0 || target <= 0.0 {
            previous_target = Some(target);
            continue;
        }
        // The interval in which the rate changed mixes two steps: it is
        // left out, so each step is judged on its steady part only.
        let changed = previous_target != Some(target) || a.target_rps.round() != target;
        previous_target = Some(target);
        if changed {
            steps.push(Step {
                asked: target,
                seconds: 0.0,
                first_move: None,
                last_move: None,
                requests: 0.0,
                success: 0.0,
                buckets: Vec::new(),
            });
            continue;
        }
        let buckets = bucket_delta(&a.latency_buckets, &b.latency_buckets);
        let Some(s) = steps.last_mut() else { continue };
        s.seconds += dt;
        let moved = delta(a.requests, b.requests);
        s.requests += moved;
        if moved > 0.0 {
            s.first_move = s.first_move.or(Some((s.seconds, s.requests)));
            s.last_move = Some((s.seconds, s.requests));
        }
        s.success += delta(a.success, b.success);
        if s.buckets.is_empty() {
            s.buckets = buckets;
        } else {
            for (acc, (_, c)) in s.buckets.iter_mut().zip(&buckets) {
                acc.1 += c;
            }
        }
    }
    steps.retain(|s| s.requests > 0.0 && s.seconds > 0.0);
    steps
}

/// Robust service: the stepped rate is cut into its steps (consecutive
/// intervals with the same asked rate, less the first interval of each,
/// in which the rate changed); a step meets the SLO when its p95
/// is at most 250 ms and at most 1 % of its requests did not succeed.
/// Statistic 1 (and the score) is the highest successful rate of a step
/// meeting the SLO; 2 is that step's p95 in ms; 3 the error rate of the
/// whole window in percent.
fn robust_service(load: &[LoadSample], total: f64) -> Outcome {
    let best = steps(load)
        .iter()
        .filter_map(|s| {
            let p95 = s.p95()?;
            (p95 <= SLO_P95_SECONDS && s.error_ratio() <= SLO_MAX_ERROR_RATIO)
                .then_some((s.success / s.seconds, p95))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let success = increase(load.iter().map(|s| s.success));
    let error_pct = round((1.0 - success / total) * 100.0, 3);
    let (rps, p95_ms) = match best {
        Some((rps, p95)) => (round(rps, 2), Some(round(p95 * 1000.0, 2))),
        None => (0.0, None),
    };
    Outcome::Scored(Statistics {
        stat1: Some(rps),
        stat2: p95_ms,
        stat3: Some(error_pct),
        score: rps,
    })
}

/// What graceful-degradation's first statistic counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// Rules v1 and v2: every `POST /api/test` url-anvil answered with 2xx,
    /// whoever asked (an app's own traffic to url-anvil counted too).
    ByAnvil,
    /// Rules v3: the load's requests answered with url-anvil's right
    /// answer (the load generator checks each one).
    RightAnswersToTheLoad,
}

/// Graceful degradation: statistic 1 is what was served (see [`Served`]);
/// 2 the share of all requests that got, within 1 s, a success or a
/// deliberate 429/503 (percent); 3 the longest stretch url-anvil did not
/// answer its scrapes (seconds). The score is served × ratio.
fn graceful_degradation(
    load: &[LoadSample],
    anvil: &[AnvilSample],
    total: f64,
    counted: Served,
) -> Outcome {
    let mut anvil: Vec<AnvilSample> = anvil
        .iter()
        .filter(|s| s.t.is_finite() && s.served.is_finite())
        .cloned()
        .collect();
    anvil.sort_by(|a, b| a.t.total_cmp(&b.t));
    if anvil.len() < 2 {
        return no_data("fewer than two url-anvil samples in the window");
    }
    let served = match counted {
        Served::ByAnvil => increase(anvil.iter().filter(|s| s.up).map(|s| s.served)),
        Served::RightAnswersToTheLoad => increase(load.iter().map(|s| s.success)),
    };
    let graceful = increase(load.iter().map(|s| s.graceful_in_time));
    let ratio = (graceful / total).clamp(0.0, 1.0);
    let longest_down = longest_run(&anvil.iter().map(|s| (s.t, !s.up)).collect::<Vec<_>>());
    Outcome::Scored(Statistics {
        stat1: Some(served),
        stat2: Some(round(ratio * 100.0, 3)),
        stat3: Some(round(longest_down, 2)),
        score: round(served * ratio, 2),
    })
}

/// Longest upkeep: each interval between samples is up when at least half
/// of the requests completed in it succeeded, down otherwise. An interval
/// in which nothing completed is judged with the next one that has
/// completions; idle intervals (no load asked) are left out. Statistic 1 (and the score) is the longest
/// run of up intervals (seconds); 2 the mean length of the down runs that
/// ended in recovery (seconds; 0 when nothing went down); 3 the number of
/// successful requests.
fn longest_upkeep(load: &[LoadSample]) -> Outcome {
    let mut intervals = Vec::new();
    // Seconds in which load was asked but nothing completed yet. They are
    // judged with the next interval that has completions: a stalled target
    // produces timeouts within seconds, while a Prometheus step finer than
    // its scrape interval repeats samples that carry no news.
    let mut no_news = 0.0;
    for w in load.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let dt = b.t - a.t;
        if dt <= 0.0 {
            continue;
        }
        let requests = delta(a.requests, b.requests);
        let success = delta(a.success, b.success);
        if requests == 0.0 {
            if a.target_rps <= 0.0 || b.target_rps <= 0.0 {
                // Idle (before, after, or at the very start of the load).
                no_news = 0.0;
            } else {
                no_news += dt;
            }
            continue;
        }
        intervals.push((dt + no_news, success / requests >= UP_SUCCESS_RATIO));
        no_news = 0.0;
    }
    let (mut longest_up, mut current_up) = (0.0f64, 0.0f64);
    let (mut downs, mut current_down) = (Vec::new(), 0.0f64);
    for &(dt, up) in &intervals {
        if up {
            current_up += dt;
            longest_up = longest_up.max(current_up);
            if current_down > 0.0 {
                downs.push(current_down);
                current_down = 0.0;
            }
        } else {
            current_up = 0.0;
            current_down += dt;
        }
    }
    let mttr = if downs.is_empty() {
        0.0
    } else {
        downs.iter().sum::<f64>() / downs.len() as f64
    };
    let success = increase(load.iter().map(|s| s.success));
    Outcome::Scored(Statistics {
        stat1: Some(round(longest_up, 2)),
        stat2: Some(round(mttr, 2)),
        stat3: Some(success),
        score: round(longest_up, 2),
    })
}

/// Longest time a flag stayed true, from the first sample where it was
/// seen true to the next sample where it was not (or the last sample).
fn longest_run(flags: &[(f64, bool)]) -> f64 {
    let mut longest = 0.0f64;
    let mut since: Option<f64> = None;
    for &(t, on) in flags {
        match (on, since) {
            (true, None) => since = Some(t),
            (false, Some(s)) => {
                longest = longest.max(t - s);
                since = None;
            }
            _ => {}
        }
    }
    if let (Some(s), Some(&(last, _))) = (since, flags.last()) {
        longest = longest.max(last - s);
    }
    longest
}

pub(crate) fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(challenge: Challenge, load: &[LoadSample], anvil: &[AnvilSample]) -> Outcome {
        score_under(Rules::V1, challenge, load, anvil)
    }

    /// A load sample whose latencies all fall in one bucket.
    fn sample(t: f64, target: f64, requests: f64, success: f64, latency_le: f64) -> LoadSample {
        let bounds = [0.05, 0.1, 0.25, 0.5, 1.0, f64::INFINITY];
        LoadSample {
            wrong: 0.0,
            t,
            target_rps: target,
            requests,
            success,
            graceful_in_time: if latency_le <= 1.0 { requests } else { 0.0 },
            latency_buckets: bounds
                .iter()
                .map(|&le| (le, if le >= latency_le { requests } else { 0.0 }))
                .collect(),
        }
    }

    /// The load of a whole profile as the generator's samples show it, every 5 s.
    fn profile_load(p: &crate::ChallengeProfile, rate_scale: f64, seconds: f64) -> Vec<LoadSample> {
        let mut out = Vec::new();
        let (mut t, mut stage_end, mut stages) = (0.0, 0.0, p.stages.iter());
        let mut rate = 0.0;
        while t <= seconds {
            while t >= stage_end {
                match stages.next() {
                    Some(st) => {
                        stage_end += st.duration_s;
                        rate = st.to_rps.max(st.from_rps);
                    }
                    None => break,
                }
            }
            out.push(sample(
                1000.0 + t,
                rate * rate_scale,
                t * 10.0,
                t * 10.0,
                0.05,
            ));
            t += 5.0;
        }
        out
    }

    #[test]
    fn only_the_whole_profile_at_full_rate_is_official() {
        let p = crate::ChallengeProfile::current(Challenge::RobustService);
        let full = p.duration_s();
        let whole = profile_load(&p, 1.0, full);
        assert!(practice_reasons(&p, 1.0, 1.0, full + 3.0, &whole).is_empty());
        // Declared squeezed.
        let r = practice_reasons(&p, 0.25, 0.5, full + 3.0, &whole);
        assert!(
            r.iter().any(|x| x.contains("length was scaled ×0.25")),
            "{r:?}"
        );
        assert!(
            r.iter().any(|x| x.contains("rates were scaled ×0.5")),
            "{r:?}"
        );
        // Declared whole, but measured otherwise: cut short, or sent at a fifth of the rate.
        let short = profile_load(&p, 1.0, 60.0);
        let r = practice_reasons(&p, 1.0, 1.0, 60.0, &short);
        assert!(r.iter().any(|x| x.contains("window lasted 60 s")), "{r:?}");
        assert!(r.iter().any(|x| x.contains("asked for 60 s")), "{r:?}");
        let slow = profile_load(&p, 0.2, full);
        let r = practice_reasons(&p, 1.0, 1.0, full, &slow);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("highest asked rate was 384 req/s"), "{r:?}");
        // Scraped every 15 s, the series misses up to 15 s at each edge: still official.
        let coarse: Vec<LoadSample> = whole
            .iter()
            .filter(|x| {
                let t = x.t - 1000.0;
                t >= 15.0 && t <= full - 15.0 && (t as i64) % 15 == 0
            })
            .cloned()
            .collect();
        assert!(
            practice_reasons(&p, 1.0, 1.0, full + 3.0, &coarse).is_empty(),
            "{:?}",
            practice_reasons(&p, 1.0, 1.0, full + 3.0, &coarse)
        );
        // No load at all says so too.
        assert!(!practice_reasons(&p, 1.0, 1.0, full, &[]).is_empty());
    }

    #[test]
    fn a_target_that_answered_nothing_is_no_data_not_zero() {
        let load = vec![
            sample(0.0, 100.0, 0.0, 0.0, 0.05),
            sample(10.0, 100.0, 500.0, 0.0, 2.0),
        ];
        for c in Challenge::ALL {
            match score(c, &load, &[]) {
                Outcome::NoData { reason } => {
                    assert!(reason.contains("none of the 500"), "{reason}")
                }
                other => panic!("{c}: {other:?}"),
            }
        }
    }

    /// Steps of 10 s sampled every 5 s: 100 rps fine, 200 rps fine, 400 rps slow.
    fn stepped() -> Vec<LoadSample> {
        let mut v = vec![sample(0.0, 100.0, 0.0, 0.0, 0.05)];
        let mut reqs = 0.0;
        let mut buckets_at = |t: f64, target: f64, rps: f64, le: f64, v: &mut Vec<LoadSample>| {
            reqs += rps * 5.0;
            let mut s = sample(t, target, reqs, reqs, le);
            // Keep the histogram cumulative across steps.
            let prev = v
                .last()
                .map(|p: &LoadSample| p.latency_buckets.clone())
                .unwrap_or_default();
            for ((_, c), (_, p)) in s.latency_buckets.iter_mut().zip(prev.iter()) {
                *c = *p + if *c > 0.0 { rps * 5.0 } else { 0.0 };
            }
            v.push(s);
        };
        for (i, (target, le)) in [(100.0, 0.05), (200.0, 0.1), (400.0, 0.5)]
            .iter()
            .enumerate()
        {
            for k in 1..=2 {
                buckets_at((i * 10 + k * 5) as f64, *target, *target, *le, &mut v);
            }
        }
        v
    }

    #[test]
    fn robust_service_takes_the_fastest_step_that_meets_the_slo() {
        let Outcome::Scored(s) = v1(Challenge::RobustService, &stepped(), &[]) else {
            panic!("scored")
        };
        assert_eq!(s.stat1, Some(200.0));
        assert_eq!(s.score, 200.0);
        // All of the 200 rps step fell in (0.05, 0.1]: p95 interpolates to 97.5 ms.
        assert_eq!(s.stat2, Some(97.5));
        assert_eq!(s.stat3, Some(0.0));
    }

    #[test]
    fn robust_service_with_no_step_meeting_the_slo_scores_zero_not_no_data() {
        let load = vec![
            sample(0.0, 100.0, 0.0, 0.0, 0.5),
            sample(10.0, 100.0, 1000.0, 900.0, 0.5),
        ];
        let Outcome::Scored(s) = v1(Challenge::RobustService, &load, &[]) else {
            panic!("scored")
        };
        assert_eq!(
            (s.stat1, s.stat2, s.stat3, s.score),
            (Some(0.0), None, Some(10.0), 0.0)
        );
    }

    #[test]
    fn graceful_degradation_multiplies_served_by_the_graceful_ratio() {
        let mut late = sample(20.0, 1000.0, 2000.0, 1000.0, 0.1);
        late.graceful_in_time = 1500.0;
        let load = vec![sample(0.0, 500.0, 0.0, 0.0, 0.1), late];
        let anvil = vec![
            AnvilSample {
                t: 0.0,
                up: true,
                served: 100.0,
            },
            AnvilSample {
                t: 5.0,
                up: true,
                served: 600.0,
            },
            AnvilSample {
                t: 10.0,
                up: false,
                served: 0.0,
            },
            AnvilSample {
                t: 15.0,
                up: false,
                served: 0.0,
            },
            // Restarted: the counter began again from zero.
            AnvilSample {
                t: 17.0,
                up: true,
                served: 300.0,
            },
            AnvilSample {
                t: 20.0,
                up: true,
                served: 500.0,
            },
        ];
        let Outcome::Scored(s) =
            score_under(Rules::V2, Challenge::GracefulDegradation, &load, &anvil)
        else {
            panic!("scored")
        };
        assert_eq!(s.stat1, Some(500.0 + 300.0 + 200.0));
        assert_eq!(s.stat2, Some(75.0));
        assert_eq!(s.stat3, Some(7.0));
        assert_eq!(s.score, 750.0);

        // Rules v3: served is the load's right answers (1,000), whatever
        // url-anvil's own counter says; the other statistics are as in v2.
        let Outcome::Scored(s) = score(Challenge::GracefulDegradation, &load, &anvil) else {
            panic!("scored")
        };
        assert_eq!(s.stat1, Some(1000.0));
        assert_eq!(s.stat2, Some(75.0));
        assert_eq!(s.stat3, Some(7.0));
        assert_eq!(s.score, 750.0);
    }

    /// The cheat of issue 23: an app sends its own traffic to url-anvil
    /// beside the load. url-anvil's counter grows; under v3 nothing moves.
    #[test]
    fn an_apps_own_traffic_to_url_anvil_earns_nothing_under_v3() {
        let mut end = sample(20.0, 1000.0, 2000.0, 1200.0, 0.1);
        end.graceful_in_time = 1500.0;
        let load = vec![sample(0.0, 500.0, 0.0, 0.0, 0.1), end];
        let anvil_at = |served_at_end: f64| {
            vec![
                AnvilSample {
                    t: 0.0,
                    up: true,
                    served: 0.0,
                },
                AnvilSample {
                    t: 20.0,
                    up: true,
                    served: served_at_end,
                },
            ]
        };
        let honest = anvil_at(1200.0);
        let padded = anvil_at(1200.0 + 3000.0);
        let stats = |rules, anvil: &[AnvilSample]| match score_under(
            rules,
            Challenge::GracefulDegradation,
            &load,
            anvil,
        ) {
            Outcome::Scored(s) => s,
            Outcome::NoData { reason } => panic!("{reason}"),
        };
        assert!(
            stats(Rules::V2, &padded).score > stats(Rules::V2, &honest).score,
            "v2 paid for the padding"
        );
        assert_eq!(stats(Rules::V3, &padded), stats(Rules::V3, &honest));
        assert_eq!(stats(Rules::V3, &padded).stat1, Some(1200.0));
    }

    #[test]
    fn longest_upkeep_measures_uptime_and_recovery() {
        // 1 s samples: up 4 s, down 2 s, up 3 s, down 1 s, up 2 s.
        let pattern = [
            true, true, true, true, false, false, true, true, true, false, true, true,
        ];
        let mut load = vec![sample(0.0, 100.0, 0.0, 0.0, 0.05)];
        let (mut r, mut ok) = (0.0, 0.0);
        for (i, up) in pattern.iter().enumerate() {
            r += 100.0;
            ok += if *up { 100.0 } else { 10.0 };
            load.push(sample((i + 1) as f64, 100.0, r, ok, 0.05));
        }
        let Outcome::Scored(s) = v1(Challenge::LongestUpkeep, &load, &[]) else {
            panic!("scored")
        };
        assert_eq!(s.stat1, Some(4.0));
        assert_eq!(s.stat2, Some(1.5));
        assert_eq!(s.stat3, Some(900.0 + 30.0));
        assert_eq!(s.score, 4.0);
    }

    #[test]
    fn repeated_samples_do_not_look_like_downtime() {
        // A Prometheus step of 1 s over a 5 s scrape interval repeats each
        // sample five times; uptime must be the same as without repeats.
        let mut sparse = vec![sample(0.0, 100.0, 0.0, 0.0, 0.05)];
        let mut dense = sparse.clone();
        for k in 1..=6 {
            let s = sample(
                (k * 5) as f64,
                100.0,
                (k * 500) as f64,
                (k * 500) as f64,
                0.05,
            );
            for r in 1..=4 {
                dense.push(LoadSample {
                    wrong: 0.0,
                    t: ((k - 1) * 5 + r) as f64,
                    ..dense.last().cloned().expect("sample")
                });
            }
            dense.push(s.clone());
            sparse.push(s);
        }
        let up = |load: &[LoadSample]| match v1(Challenge::LongestUpkeep, load, &[]) {
            Outcome::Scored(s) => (s.stat1, s.stat2),
            other => panic!("{other:?}"),
        };
        assert_eq!(up(&sparse), (Some(30.0), Some(0.0)));
        assert_eq!(up(&dense), (Some(30.0), Some(0.0)));
    }

    #[test]
    fn empty_nan_and_missing_series_are_no_data() {
        for c in Challenge::ALL {
            assert!(
                matches!(score(c, &[], &[]), Outcome::NoData { .. }),
                "{c}: empty"
            );
            let nan = vec![
                sample(0.0, 1.0, f64::NAN, 0.0, 0.1),
                sample(1.0, 1.0, f64::NAN, 0.0, 0.1),
            ];
            assert!(
                matches!(score(c, &nan, &[]), Outcome::NoData { .. }),
                "{c}: NaN"
            );
            let idle = vec![
                sample(0.0, 1.0, 5.0, 5.0, 0.1),
                sample(1.0, 1.0, 5.0, 5.0, 0.1),
            ];
            let Outcome::NoData { reason } = score(c, &idle, &[]) else {
                panic!("{c}: idle")
            };
            assert!(reason.contains("no request"), "{reason}");
        }
        let load = vec![
            sample(0.0, 1.0, 0.0, 0.0, 0.1),
            sample(1.0, 1.0, 5.0, 5.0, 0.1),
        ];
        let Outcome::NoData { reason } = score(Challenge::GracefulDegradation, &load, &[]) else {
            panic!("no anvil")
        };
        assert!(reason.contains("url-anvil"));
    }

    #[test]
    fn quantiles_interpolate_like_promql() {
        let b = [(0.1, 50.0), (0.2, 100.0), (f64::INFINITY, 100.0)];
        assert_eq!(histogram_quantile(0.5, &b), Some(0.1));
        let q75 = histogram_quantile(0.75, &b).expect("non-empty");
        assert!((q75 - 0.15).abs() < 1e-12, "{q75}");
        assert_eq!(
            histogram_quantile(0.5, &[(0.1, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        assert_eq!(
            histogram_quantile(0.99, &[(0.1, 1.0), (f64::INFINITY, 10.0)]),
            Some(0.1)
        );
    }

    #[test]
    fn counter_resets_count_from_zero() {
        assert_eq!(increase([5.0, 8.0, 2.0, 4.0]), 3.0 + 2.0 + 2.0);
        assert_eq!(increase([]), 0.0);
    }

    #[test]
    fn ties_rank_by_statistic_order_and_direction() {
        let a = Statistics {
            stat1: Some(100.0),
            stat2: Some(120.0),
            stat3: Some(0.1),
            score: 100.0,
        };
        let b = Statistics {
            stat2: Some(90.0),
            ..a.clone()
        };
        // Lower p95 is better in robust-service.
        assert!(rank_keys(Challenge::RobustService, &b) > rank_keys(Challenge::RobustService, &a));
        let none = Statistics {
            stat2: None,
            ..a.clone()
        };
        assert!(
            rank_keys(Challenge::RobustService, &a) > rank_keys(Challenge::RobustService, &none)
        );
    }
}
