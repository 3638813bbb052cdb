//! The challenge load profiles: the same load, and the same chaos, for
//! every competitor.
//!
//! A profile is versioned; changing any number here means a new version,
//! because stored scores name the profile version they were measured with.

use serde::Serialize;

use crate::capacity::CapacityProfile;
use crate::challenge::Challenge;
use crate::fault::FaultSpec;

/// A span of the run during which the arrival rate goes linearly from
/// `from_rps` to `to_rps` (equal for a constant rate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateStage {
    pub duration_s: f64,
    pub from_rps: f64,
    pub to_rps: f64,
}

impl RateStage {
    pub const fn hold(duration_s: f64, rps: f64) -> Self {
        RateStage {
            duration_s,
            from_rps: rps,
            to_rps: rps,
        }
    }

    pub const fn ramp(duration_s: f64, from_rps: f64, to_rps: f64) -> Self {
        RateStage {
            duration_s,
            from_rps,
            to_rps,
        }
    }
}

/// A fault injected into url-anvil `at_s` seconds after the run starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosStep {
    pub at_s: f64,
    pub fault: FaultSpec,
}

/// Everything that makes a challenge's load the same for everyone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChallengeProfile {
    pub challenge: Challenge,
    pub version: u32,
    pub description: &'static str,
    /// Open-loop arrival rate over time.
    pub stages: Vec<RateStage>,
    /// Connections opened at the start.
    pub connections: u32,
    /// Connections the generator may open when every open one is busy.
    pub max_connections: u32,
    /// A request not answered within this time counts as a timeout.
    pub timeout_ms: u64,
    /// Faults injected into url-anvil during the run.
    pub chaos: Vec<ChaosStep>,
    /// The standard request is `POST /api/test` with one corpus URL. The
    /// "hot" documents 1..=corpus_documents are asked for again and again;
    /// see [`ChallengeProfile::document_for`].
    pub corpus_documents: u32,
    /// Of every 1,000 requests, how many ask for a document no earlier
    /// request of the run asked for (0 in version 1). A cache in front of
    /// url-anvil can answer the others, never these: it helps, and cannot
    /// replace url-anvil (docs/SCORING.md, "How cacheable the load is").
    pub fresh_permille: u32,
}

impl ChallengeProfile {
    /// The current version of a challenge's profile.
    pub fn current(challenge: Challenge) -> ChallengeProfile {
        with_fresh_documents(v1(challenge))
    }

    /// A challenge's profile at a given version, `None` when there is no
    /// such version. Stored runs name their version, so every version ever
    /// shipped stays here.
    pub fn version(challenge: Challenge, version: u32) -> Option<ChallengeProfile> {
        match version {
            1 => Some(v1(challenge)),
            2 => Some(ChallengeProfile::current(challenge)),
            _ => None,
        }
    }

    /// The corpus document that arrival `n` of a run asks for. `mix` is
    /// drawn at random per run, so which arrivals repeat a document and
    /// which ask for a fresh one cannot be known before the run either.
    /// A fresh document's id is unique to its arrival (above the hot set),
    /// and drawn through a permutation keyed by `mix`: an app that has
    /// seen the fresh ids so far cannot tell which come next, so it cannot
    /// fetch them ahead (in the slack before a spike or an outage) and
    /// answer the fresh half from a cache.
    pub fn document_for(&self, n: u64, mix: u64) -> u32 {
        let hot = u64::from(self.corpus_documents.max(1));
        let mut state = mix ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let r = crate::corpus::next(&mut state);
        if r % 1000 < u64::from(self.fresh_permille) {
            let fresh_ids = u64::from(crate::corpus::RUN_DOCUMENTS) - hot;
            (hot + 1 + permuted(n % fresh_ids, fresh_ids, mix)) as u32
        } else {
            (1 + (r >> 32) % hot) as u32
        }
    }

    /// The shortest squeeze of this profile that can still be judged:
    /// longest-upkeep counts uptime in 10 s slots, and below a tenth of its
    /// length (60 s) no slot fits between its first url-anvil kill and the
    /// start, so any app, good or bad, would score 0.
    /// The other two have no floor of their own (robust-service's depends
    /// on the scrape interval: docs/OPERATOR.md).
    pub fn shortest_judged_scale(&self) -> f64 {
        match self.challenge {
            Challenge::LongestUpkeep => LONGEST_UPKEEP_SHORTEST_SCALE,
            Challenge::RobustService | Challenge::GracefulDegradation => 0.0,
        }
    }

    /// `robust-service-v1`.
    pub fn versioned_name(&self) -> String {
        format!("{}-v{}", self.challenge, self.version)
    }

    pub fn duration_s(&self) -> f64 {
        self.stages.iter().map(|s| s.duration_s).sum()
    }

    pub fn peak_rps(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.from_rps.max(s.to_rps))
            .fold(0.0, f64::max)
    }

    /// The same profile stretched in time and in rate, for quick local
    /// tries on a small machine. Chaos keeps its place relative to the load.
    pub fn scaled(&self, duration_scale: f64, rate_scale: f64) -> ChallengeProfile {
        ChallengeProfile {
            stages: self
                .stages
                .iter()
                .map(|s| RateStage {
                    duration_s: s.duration_s * duration_scale,
                    from_rps: s.from_rps * rate_scale,
                    to_rps: s.to_rps * rate_scale,
                })
                .collect(),
            chaos: self
                .chaos
                .iter()
                .map(|c| ChaosStep {
                    at_s: c.at_s * duration_scale,
                    fault: FaultSpec {
                        duration_s: c
                            .fault
                            .duration_s
                            .map(|d| ((f64::from(d) * duration_scale).round() as u32).max(1)),
                        ..c.fault.clone()
                    },
                })
                .collect(),
            ..self.clone()
        }
    }
}

/// The shortest squeeze of longest-upkeep (see [`ChallengeProfile::shortest_judged_scale`]).
pub const LONGEST_UPKEEP_SHORTEST_SCALE: f64 = 0.1;

/// url-anvil's nominal capacity under the standard profile, the yardstick
/// every profile's rates are set against.
fn anvil_capacity() -> f64 {
    CapacityProfile::STANDARD_V1
        .nominal_capacity_rps()
        .unwrap_or(640.0)
}

fn v1(challenge: Challenge) -> ChallengeProfile {
    match challenge {
        Challenge::RobustService => robust_service_v1(),
        Challenge::GracefulDegradation => graceful_degradation_v1(),
        Challenge::LongestUpkeep => longest_upkeep_v1(),
    }
}

/// Version 2 of every profile: the same load and chaos as version 1, but
/// half the requests ask for a document no earlier request asked for,
/// and every answer is checked against the run's corpus.
fn with_fresh_documents(v1: ChallengeProfile) -> ChallengeProfile {
    ChallengeProfile {
        version: 2,
        fresh_permille: 500,
        ..v1
    }
}

fn robust_service_v1() -> ChallengeProfile {
    let c = anvil_capacity();
    // Steps below and far above url-anvil's capacity: only an app that
    // protects or offloads url-anvil keeps the SLO on the high steps.
    let steps = [0.15, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0];
    ChallengeProfile {
        challenge: Challenge::RobustService,
        version: 1,
        description: "Stepped arrival rate, 10 steps of 20 s from 0.15x to 3x url-anvil's capacity.",
        stages: steps
            .iter()
            .map(|f| RateStage::hold(20.0, (f * c).round()))
            .collect(),
        connections: 64,
        max_connections: 512,
        timeout_ms: 2_000,
        chaos: Vec::new(),
        corpus_documents: 20,
        fresh_permille: 0,
    }
}

fn graceful_degradation_v1() -> ChallengeProfile {
    let c = anvil_capacity();
    ChallengeProfile {
        challenge: Challenge::GracefulDegradation,
        version: 1,
        description: "Warm-up at half capacity, ramp to 3x url-anvil's capacity and hold, \
                      with injected latency, an error burst and a freeze.",
        stages: vec![
            RateStage::hold(20.0, 0.5 * c),
            RateStage::ramp(100.0, 0.5 * c, 3.0 * c),
            RateStage::hold(40.0, 3.0 * c),
        ],
        connections: 64,
        max_connections: 1024,
        timeout_ms: 2_000,
        chaos: vec![
            ChaosStep {
                at_s: 40.0,
                fault: FaultSpec::latency(150, 30),
            },
            ChaosStep {
                at_s: 90.0,
                fault: FaultSpec::errors(0.2, 503, 20),
            },
            ChaosStep {
                at_s: 125.0,
                fault: FaultSpec::freeze(3),
            },
        ],
        corpus_documents: 20,
        fresh_permille: 0,
    }
}

fn longest_upkeep_v1() -> ChallengeProfile {
    let c = anvil_capacity();
    let base = 1.2 * c;
    let spike = 3.0 * c;
    let mut stages = Vec::new();
    // Ten minutes above capacity, with a 10 s spike to 3x every minute.
    for _ in 0..10 {
        stages.push(RateStage::hold(50.0, base));
        stages.push(RateStage::hold(10.0, spike));
    }
    ChallengeProfile {
        challenge: Challenge::LongestUpkeep,
        version: 1,
        description: "Ten minutes at 1.2x url-anvil's capacity with a spike to 3x every minute; \
                      url-anvil is killed three times.",
        stages,
        connections: 64,
        max_connections: 1024,
        timeout_ms: 2_000,
        chaos: [120.0, 300.0, 480.0]
            .into_iter()
            .map(|at_s| ChaosStep {
                at_s,
                fault: FaultSpec::crash(),
            })
            .collect(),
        corpus_documents: 20,
        fresh_permille: 0,
    }
}

/// `x`'s image under a permutation of `0..size` keyed by `key`: a
/// four-round Feistel network over the smallest even number of bits that
/// covers `size`, with SHA-256 as its round function, applied again while
/// the result falls outside `0..size` (cycle walking keeps it a
/// permutation of `0..size`). Without the key, seeing some images tells
/// nothing about the others. `size` must be at most 2^62.
fn permuted(x: u64, size: u64, key: u64) -> u64 {
    use sha2::{Digest, Sha256};
    let bits = (64 - size.saturating_sub(1).leading_zeros())
        .max(2)
        .div_ceil(2)
        * 2;
    let half = bits / 2;
    let mask = (1u64 << half) - 1;
    let round = |i: u8, r: u64| {
        let mut h = Sha256::new();
        h.update(key.to_le_bytes());
        h.update([i]);
        h.update(r.to_le_bytes());
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_le_bytes(b) & mask
    };
    let mut v = x;
    loop {
        let (mut l, mut r) = (v >> half, v & mask);
        for i in 0..4 {
            (l, r) = (r, l ^ round(i, r));
        }
        v = (l << half) | r;
        if v < size {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_valid() {
        for challenge in Challenge::ALL {
            let p = ChallengeProfile::current(challenge);
            assert_eq!(p.challenge, challenge);
            assert!(p.duration_s() > 0.0);
            assert!(p.connections >= 1 && p.connections <= p.max_connections);
            for step in &p.chaos {
                assert!(
                    step.at_s < p.duration_s(),
                    "{challenge}: chaos after the end"
                );
                step.fault.validate().expect("chaos fault is valid");
            }
        }
    }

    #[test]
    fn graceful_degradation_ramps_to_three_times_capacity() {
        let p = ChallengeProfile::current(Challenge::GracefulDegradation);
        assert_eq!(p.peak_rps(), 1920.0);
        assert_eq!(p.duration_s(), 160.0);
        assert_eq!(p.versioned_name(), "graceful-degradation-v2");
        assert_eq!(
            ChallengeProfile::version(Challenge::GracefulDegradation, 1)
                .expect("kept")
                .versioned_name(),
            "graceful-degradation-v1"
        );
        assert!(ChallengeProfile::version(Challenge::GracefulDegradation, 3).is_none());
    }

    #[test]
    fn scaling_stretches_time_rate_and_chaos_together() {
        let p = ChallengeProfile::current(Challenge::GracefulDegradation).scaled(0.25, 0.5);
        assert_eq!(p.duration_s(), 40.0);
        assert_eq!(p.peak_rps(), 960.0);
        assert_eq!(p.chaos[0].at_s, 10.0);
        assert_eq!(p.chaos[0].fault.duration_s, Some(8));
        // A fault never shrinks to nothing.
        let tiny = p.scaled(0.01, 1.0);
        assert_eq!(tiny.chaos[2].fault.duration_s, Some(1));
    }

    #[test]
    fn half_the_arrivals_ask_for_a_fresh_document_and_the_rest_repeat_twenty() {
        let p = ChallengeProfile::current(Challenge::RobustService);
        let mix = 0x1234_5678_9abc_def0;
        let ids: Vec<u32> = (0..20_000).map(|n| p.document_for(n, mix)).collect();
        let fresh: Vec<u32> = ids.iter().copied().filter(|&id| id > 20).collect();
        let share = fresh.len() as f64 / ids.len() as f64;
        assert!((0.48..=0.52).contains(&share), "fresh share {share}");
        let mut unique = fresh.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            fresh.len(),
            "a fresh document is never asked twice"
        );
        let hot: std::collections::BTreeSet<u32> =
            ids.iter().copied().filter(|&id| id <= 20).collect();
        assert_eq!(hot.len(), 20);
        // The fresh ids follow no order an app could extrapolate.
        let rising = fresh.windows(2).filter(|w| w[1] > w[0]).count();
        let share = rising as f64 / (fresh.len() - 1) as f64;
        assert!((0.45..=0.55).contains(&share), "rising share {share}");
        // Another run's mix picks other arrivals to repeat.
        let other: Vec<u32> = (0..20_000).map(|n| p.document_for(n, mix ^ 1)).collect();
        assert_ne!(ids, other);
        // Version 1 never asked for a fresh document.
        let v1 = ChallengeProfile::version(Challenge::RobustService, 1).expect("kept");
        assert!((0..1000).all(|n| v1.document_for(n, mix) <= 20));
    }

    #[test]
    fn the_fresh_ids_are_a_keyed_permutation() {
        for size in [1, 2, 3, 17, 1000, 4096, 4097] {
            let mut seen: Vec<u64> = (0..size).map(|x| permuted(x, size, 7)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..size).collect::<Vec<_>>(), "size {size}");
        }
        let size = u64::from(crate::corpus::RUN_DOCUMENTS) - 20;
        let a: Vec<u64> = (0..1000).map(|x| permuted(x, size, 1)).collect();
        let b: Vec<u64> = (0..1000).map(|x| permuted(x, size, 2)).collect();
        assert!(a.iter().all(|&v| v < size));
        assert_ne!(a, b, "another key, another order");
        assert_eq!(
            a,
            (0..1000).map(|x| permuted(x, size, 1)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn longest_upkeep_cannot_be_squeezed_below_a_tenth() {
        let lu = ChallengeProfile::current(Challenge::LongestUpkeep);
        assert_eq!(lu.shortest_judged_scale(), 0.1);
        // At a tenth the first kill comes after a whole 10 s slot.
        assert!(lu.scaled(0.1, 1.0).chaos[0].at_s >= 10.0);
        assert!(lu.scaled(0.05, 1.0).chaos[0].at_s < 10.0);
        let rs = ChallengeProfile::current(Challenge::RobustService);
        assert_eq!(rs.shortest_judged_scale(), 0.0);
    }
}
