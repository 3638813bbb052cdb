//! url-anvil's capacity profiles.
//!
//! Fairness depends on every competitor facing the same upstream, so the
//! capacity is data with a name and a version, not a set of loose flags.
//! A profile fixes how much work one `POST /api/test` costs and how much
//! of it url-anvil can do at once; its nominal capacity follows from that
//! and does not depend on the machine as long as the CPU is not the
//! bottleneck (the work is mostly a timed wait, like a slow dependency).

use serde::Serialize;

/// How url-anvil behaves under load. All durations are in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CapacityProfile {
    pub name: &'static str,
    pub version: u32,
    /// Requests to `POST /api/test` processed at once; `None` removes the limit.
    pub max_concurrency: Option<u32>,
    /// Requests allowed to wait for a slot; more than that are shed at once (503).
    pub queue_depth: u32,
    /// Longest wait for a slot before the request is shed (503).
    pub queue_timeout_ms: u64,
    /// Time each request holds its slot, standing for a slow dependency.
    pub service_time_ms: u64,
    /// Extra SHA-256 rounds per request: CPU work that grows with load.
    pub cpu_rounds: u32,
    /// Memory each admitted request holds while it is processed (KiB).
    pub memory_per_request_kib: u32,
    /// A second counts as overloaded when more than this share of its
    /// requests to `POST /api/test` were shed.
    pub overload_shed_ratio: f64,
    /// Consecutive overloaded seconds after which url-anvil crashes;
    /// `None` never crashes from overload.
    pub crash_after_overloaded_s: Option<u32>,
    /// How long a crashed url-anvil stays down when it restarts itself.
    pub restart_delay_ms: u64,
}

impl CapacityProfile {
    /// The profile every competitor faces.
    pub const STANDARD_V1: CapacityProfile = CapacityProfile {
        name: "standard",
        version: 1,
        max_concurrency: Some(16),
        queue_depth: 64,
        queue_timeout_ms: 500,
        service_time_ms: 25,
        cpu_rounds: 200,
        memory_per_request_kib: 256,
        overload_shed_ratio: 0.5,
        crash_after_overloaded_s: Some(20),
        restart_delay_ms: 5_000,
    };

    /// No limits and no simulated work: for benchmarking url-anvil itself.
    pub const UNCAPPED: CapacityProfile = CapacityProfile {
        name: "uncapped",
        version: 1,
        max_concurrency: None,
        queue_depth: 0,
        queue_timeout_ms: 0,
        service_time_ms: 0,
        cpu_rounds: 0,
        memory_per_request_kib: 0,
        overload_shed_ratio: 1.0,
        crash_after_overloaded_s: None,
        restart_delay_ms: 0,
    };

    pub const ALL: [CapacityProfile; 2] = [Self::STANDARD_V1, Self::UNCAPPED];

    /// Finds a profile by `name` or `name-vN`.
    pub fn by_name(name: &str) -> Option<CapacityProfile> {
        Self::ALL
            .into_iter()
            .find(|p| p.name == name || p.versioned_name() == name)
    }

    /// `standard-v1`.
    pub fn versioned_name(&self) -> String {
        format!("{}-v{}", self.name, self.version)
    }

    /// Requests per second url-anvil completes when saturated, if capped.
    pub fn nominal_capacity_rps(&self) -> Option<f64> {
        let slots = f64::from(self.max_concurrency?);
        (self.service_time_ms > 0).then(|| slots * 1000.0 / self.service_time_ms as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_capacity_is_slots_over_service_time() {
        assert_eq!(
            CapacityProfile::STANDARD_V1.nominal_capacity_rps(),
            Some(640.0)
        );
        assert_eq!(CapacityProfile::UNCAPPED.nominal_capacity_rps(), None);
    }

    #[test]
    fn profiles_are_found_by_plain_and_versioned_name() {
        assert_eq!(
            CapacityProfile::by_name("standard"),
            Some(CapacityProfile::STANDARD_V1)
        );
        assert_eq!(
            CapacityProfile::by_name("standard-v1"),
            Some(CapacityProfile::STANDARD_V1)
        );
        assert_eq!(
            CapacityProfile::by_name("uncapped"),
            Some(CapacityProfile::UNCAPPED)
        );
        assert_eq!(CapacityProfile::by_name("standard-v9"), None);
    }
}
