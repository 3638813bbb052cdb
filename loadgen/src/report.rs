//! The result of a run, as printed and as `--output json` (schema
//! `loadgen.report/v1`, documented in docs/LOADGEN.md).

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::ErrorKind;
use crate::outcome::Outcome;
use crate::work::{Load, RunData};

pub const SCHEMA: &str = "loadgen.report/v1";

/// Achieved below this share of the asked rate draws a warning.
const KEEP_UP_RATIO: f64 = 0.99;
/// How the warning about a generator that fell behind begins; each front
/// end adds the advice that fits its own flags.
pub const KEEP_UP_WARNING: &str = "the generator could not keep the asked rate";
/// More late sends than this share draws a warning.
const LATE_SHARE: f64 = 0.01;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Percentiles {
        let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
        if h.is_empty() {
            return Percentiles {
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// From the intended send time (coordinated-omission corrected).
    pub corrected: Percentiles,
    /// From the actual send time.
    pub uncorrected: Percentiles,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counts {
    /// Responses plus errors.
    pub total: u64,
    /// With answers checked: 2xx responses carrying url-anvil's right answer.
    pub success: u64,
    pub shed: u64,
    pub failure: u64,
    /// Answers that were not url-anvil's right answer (only when checked).
    pub wrong: u64,
    pub errors: u64,
    /// Whether every answer was checked against the run's corpus.
    pub answers_checked: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rates {
    pub achieved: f64,
    /// Mean asked rate (open loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    pub success: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Generator {
    pub late_requests: u64,
    pub late_pct: f64,
    pub max_lag_ms: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineSecond {
    pub second: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    pub requests: u64,
    pub success: u64,
    pub shed: u64,
    pub failure: u64,
    pub wrong: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProfileRef {
    pub name: String,
    pub version: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThresholdResult {
    pub name: String,
    pub limit: f64,
    pub actual: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunReport {
    pub schema: &'static str,
    pub loadgen_version: &'static str,
    pub target: String,
    pub method: String,
    /// `closed` or `open`.
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRef>,
    pub started_at: String,
    pub duration_s: f64,
    pub threads: usize,
    pub connections: u32,
    pub stopped_early: bool,
    pub requests: Counts,
    /// Everything but `success`, over `total`, in percent.
    pub error_rate_pct: f64,
    pub rps: Rates,
    pub latency_ms: Latency,
    pub status_counts: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub generator: Generator,
    pub timeline: Vec<TimelineSecond>,
    pub warnings: Vec<String>,
    pub thresholds: Vec<ThresholdResult>,
}

/// Limits that make the run fail (exit status 3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub max_error_rate_pct: Option<f64>,
    pub max_p95: Option<Duration>,
    pub max_p99: Option<Duration>,
    pub min_rps: Option<f64>,
}

impl RunReport {
    pub fn build(
        data: RunData,
        load: &Load,
        target: &str,
        method: &str,
        threads: usize,
    ) -> RunReport {
        let r = &data.recorder;
        let statuses: BTreeMap<String, u64> = r
            .statuses
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (s.to_string(), *n))
            .collect();
        let by = |o: Outcome| -> u64 {
            r.statuses
                .iter()
                .enumerate()
                .filter(|(s, _)| Outcome::of(*s as u16) == o)
                .map(|(_, n)| n)
                .sum()
        };
        // A wrong answer carries a status that would otherwise be a success.
        let wrong = r.wrong;
        let errors: BTreeMap<String, u64> = ErrorKind::ALL
            .iter()
            .filter(|k| r.errors[k.index()] > 0)
            .map(|k| (k.as_str().to_owned(), r.errors[k.index()]))
            .collect();
        let error_total: u64 = r.errors.iter().sum();
        let (success, shed, failure) = (
            by(Outcome::Success).saturating_sub(wrong),
            by(Outcome::Shed),
            by(Outcome::Failure),
        );
        let total = success + shed + failure + wrong + error_total;
        let secs = data.elapsed.as_secs_f64();
        let (mode, connections, plan) = match load {
            Load::Closed { connections, .. } => ("closed", *connections, None),
            Load::Open {
                plan, connections, ..
            } => ("open", *connections, Some(plan)),
        };
        let target_rps = plan.map(|p| p.total_arrivals() / p.duration().as_secs_f64().max(1e-9));
        let achieved = total as f64 / secs;
        let late_pct = if total > 0 {
            r.late as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let timeline = r
            .timeline
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let q = |p: f64| {
                    if s.latency.is_empty() {
                        0.0
                    } else {
                        s.latency.value_at_quantile(p) as f64 / 1000.0
                    }
                };
                TimelineSecond {
                    second: i as u64,
                    target_rps: plan.map(|p| round2(p.rate_at(i as f64 + 0.5))),
                    requests: s.requests,
                    success: s.outcomes[Outcome::Success.index()],
                    shed: s.outcomes[Outcome::Shed.index()],
                    failure: s.outcomes[Outcome::Failure.index()],
                    wrong: s.outcomes[Outcome::Wrong.index()],
                    errors: s.errors,
                    p50_ms: q(0.5),
                    p99_ms: q(0.99),
                    max_ms: if s.latency.is_empty() {
                        0.0
                    } else {
                        s.latency.max() as f64 / 1000.0
                    },
                }
            })
            .collect();
        let mut warnings = Vec::new();
        if let Some(target) = target_rps
            && !data.stopped_early
        {
            let asked = plan.map(|p| p.total_arrivals()).unwrap_or(0.0);
            if (total as f64) < asked * KEEP_UP_RATIO || late_pct > LATE_SHARE * 100.0 {
                warnings.push(format!(
                    "{KEEP_UP_WARNING}: {achieved:.1} of {target:.1} req/s achieved, \
                     {late_pct:.1}% of requests sent more than 10 ms late (max lag {:.0} ms): \
                     the generator ran out of connections or CPU, or the target is saturated",
                    r.max_lag.as_secs_f64() * 1000.0
                ));
            }
        }
        if total == 0 {
            warnings.push("no request completed".to_owned());
        }
        if data.stopped_early {
            warnings
                .push("the run was stopped early; the numbers cover the part that ran".to_owned());
        }
        RunReport {
            schema: SCHEMA,
            loadgen_version: env!("CARGO_PKG_VERSION"),
            target: target.to_owned(),
            method: method.to_owned(),
            mode,
            profile: None,
            started_at: jiff::Timestamp::try_from(data.started_at)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default(),
            duration_s: round2(secs),
            threads,
            connections,
            stopped_early: data.stopped_early,
            requests: Counts {
                total,
                success,
                shed,
                failure,
                wrong,
                errors: error_total,
                answers_checked: data.answers_checked,
            },
            error_rate_pct: if total > 0 {
                round2((total - success) as f64 * 100.0 / total as f64)
            } else {
                0.0
            },
            rps: Rates {
                achieved: round2(achieved),
                target: target_rps.map(round2),
                success: round2(success as f64 / secs),
            },
            latency_ms: Latency {
                corrected: Percentiles::of(&r.corrected),
                uncorrected: Percentiles::of(&r.uncorrected),
            },
            status_counts: statuses,
            errors,
            generator: Generator {
                late_requests: r.late,
                late_pct: round2(late_pct),
                max_lag_ms: round2(r.max_lag.as_secs_f64() * 1000.0),
            },
            timeline,
            warnings,
            thresholds: Vec::new(),
        }
    }

    /// Checks the thresholds; true when all passed.
    pub fn check(&mut self, t: &Thresholds) -> bool {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut results = Vec::new();
        if let Some(limit) = t.max_error_rate_pct {
            results.push((
                "max-error-rate",
                limit,
                self.error_rate_pct,
                self.error_rate_pct <= limit,
            ));
        }
        if let Some(limit) = t.max_p95 {
            let actual = self.latency_ms.corrected.p95;
            results.push(("max-p95-ms", ms(limit), actual, actual <= ms(limit)));
        }
        if let Some(limit) = t.max_p99 {
            let actual = self.latency_ms.corrected.p99;
            results.push(("max-p99-ms", ms(limit), actual, actual <= ms(limit)));
        }
        if let Some(limit) = t.min_rps {
            results.push((
                "min-rps",
                limit,
                self.rps.achieved,
                self.rps.achieved >= limit,
            ));
        }
        self.thresholds = results
            .into_iter()
            .map(|(name, limit, actual, passed)| ThresholdResult {
                name: name.to_owned(),
                limit,
                actual,
                passed,
            })
            .collect();
        self.thresholds.iter().all(|t| t.passed)
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

impl RunReport {
    /// Whether the generator fell behind the asked rate.
    pub fn fell_behind(&self) -> bool {
        self.warnings.iter().any(|w| w.starts_with(KEEP_UP_WARNING))
    }
}
