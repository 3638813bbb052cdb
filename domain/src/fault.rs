//! Faults that the platform injects into url-anvil during chaos.
//!
//! One flat struct rather than a tagged enum: the same type is the body of
//! url-anvil's admin API and an entry of a ChallengeRun's chaos schedule,
//! and Kubernetes CRD schemas cannot express internally tagged enums.

use serde::{Deserialize, Serialize};

/// Longest fault the platform accepts, so a typo cannot break url-anvil for hours.
pub const MAX_FAULT_DURATION_S: u32 = 600;
/// Largest injected latency.
pub const MAX_LATENCY_MS: u32 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Every request waits `latency_ms` longer.
    Latency,
    /// A share `error_rate` of requests fails with `status`.
    Errors,
    /// Nothing answers (health and metrics included) for `duration_s`.
    Freeze,
    /// The process dies; it restarts by itself or through its supervisor.
    Crash,
}

impl FaultKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::Errors => "errors",
            FaultKind::Freeze => "freeze",
            FaultKind::Crash => "crash",
        }
    }
}

/// A fault to inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// How long the fault lasts; required for every kind but `crash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    /// Added latency for `latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u32>,
    /// Share of failed requests for `errors`, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Status of the failed requests for `errors` (500..=599, default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// Why a fault spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FaultSpecError(pub String);

impl FaultSpec {
    pub fn latency(latency_ms: u32, duration_s: u32) -> Self {
        FaultSpec {
            kind: FaultKind::Latency,
            duration_s: Some(duration_s),
            latency_ms: Some(latency_ms),
            error_rate: None,
            status: None,
        }
    }

    pub fn errors(error_rate: f64, status: u16, duration_s: u32) -> Self {
        FaultSpec {
            kind: FaultKind::Errors,
            duration_s: Some(duration_s),
            latency_ms: None,
            error_rate: Some(error_rate),
            status: Some(status),
        }
    }

    pub fn freeze(duration_s: u32) -> Self {
        FaultSpec {
            kind: FaultKind::Freeze,
            duration_s: Some(duration_s),
            latency_ms: None,
            error_rate: None,
            status: None,
        }
    }

    pub fn crash() -> Self {
        FaultSpec {
            kind: FaultKind::Crash,
            duration_s: None,
            latency_ms: None,
            error_rate: None,
            status: None,
        }
    }

    /// Checks that the fields the kind needs are present and within bounds,
    /// and that no field of another kind is set.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        let err = |m: String| Err(FaultSpecError(m));
        let kind = self.kind.as_str();
        match (self.kind, self.duration_s) {
            (FaultKind::Crash, Some(_)) => return err("a crash fault takes no duration_s".into()),
            (FaultKind::Crash, None) => {}
            (_, None) => return err(format!("a {kind} fault needs duration_s")),
            (_, Some(0)) => return err("duration_s must be at least 1".into()),
            (_, Some(d)) if d > MAX_FAULT_DURATION_S => {
                return err(format!(
                    "duration_s must be at most {MAX_FAULT_DURATION_S}, got {d}"
                ));
            }
            _ => {}
        }
        match (self.kind, self.latency_ms) {
            (FaultKind::Latency, None) => return err("a latency fault needs latency_ms".into()),
            (FaultKind::Latency, Some(ms)) if ms == 0 || ms > MAX_LATENCY_MS => {
                return err(format!(
                    "latency_ms must be between 1 and {MAX_LATENCY_MS}, got {ms}"
                ));
            }
            (FaultKind::Latency, Some(_)) | (_, None) => {}
            (_, Some(_)) => return err(format!("latency_ms does not apply to a {kind} fault")),
        }
        match (self.kind, self.error_rate) {
            (FaultKind::Errors, None) => return err("an errors fault needs error_rate".into()),
            (FaultKind::Errors, Some(r)) if !(r > 0.0 && r <= 1.0) => {
                return err(format!("error_rate must be in (0, 1], got {r}"));
            }
            (FaultKind::Errors, Some(_)) | (_, None) => {}
            (_, Some(_)) => return err(format!("error_rate does not apply to a {kind} fault")),
        }
        match (self.kind, self.status) {
            (FaultKind::Errors, Some(s)) if !(500..=599).contains(&s) => {
                err(format!("status must be a 5xx code, got {s}"))
            }
            (FaultKind::Errors, _) | (_, None) => Ok(()),
            (_, Some(_)) => err(format!("status does not apply to a {kind} fault")),
        }
    }
}

/// What the fault does, for people: "+200 ms latency for 10 s".
impl std::fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self
            .duration_s
            .map(|d| format!(" for {d} s"))
            .unwrap_or_default();
        match self.kind {
            FaultKind::Latency => write!(f, "+{} ms latency{d}", self.latency_ms.unwrap_or(0)),
            FaultKind::Errors => write!(
                f,
                "{:.0}% errors ({}){d}",
                self.error_rate.unwrap_or(0.0) * 100.0,
                self.status.unwrap_or(500)
            ),
            FaultKind::Freeze => write!(f, "frozen{d}"),
            FaultKind::Crash => f.write_str("killed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_build_valid_specs() {
        for spec in [
            FaultSpec::latency(200, 10),
            FaultSpec::errors(0.3, 503, 10),
            FaultSpec::freeze(1),
            FaultSpec::crash(),
        ] {
            assert_eq!(spec.validate(), Ok(()), "{spec:?}");
        }
    }

    #[test]
    fn invalid_specs_say_what_is_wrong() {
        let cases = [
            (r#"{"kind":"latency","duration_s":5}"#, "needs latency_ms"),
            (r#"{"kind":"latency","latency_ms":10}"#, "needs duration_s"),
            (
                r#"{"kind":"errors","duration_s":5,"error_rate":1.5}"#,
                "error_rate must be in (0, 1]",
            ),
            (
                r#"{"kind":"errors","duration_s":5,"error_rate":0.5,"status":404}"#,
                "5xx",
            ),
            (r#"{"kind":"freeze","duration_s":0}"#, "at least 1"),
            (r#"{"kind":"freeze","duration_s":601}"#, "at most 600"),
            (r#"{"kind":"crash","duration_s":5}"#, "takes no duration_s"),
            (
                r#"{"kind":"freeze","duration_s":5,"latency_ms":3}"#,
                "does not apply",
            ),
        ];
        for (json, expected) in cases {
            let spec: FaultSpec = serde_json::from_str(json).expect(json);
            let err = spec.validate().expect_err(json);
            assert!(err.0.contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn a_fault_says_what_it_does() {
        assert_eq!(
            FaultSpec::latency(200, 10).to_string(),
            "+200 ms latency for 10 s"
        );
        assert_eq!(
            FaultSpec::errors(0.3, 503, 5).to_string(),
            "30% errors (503) for 5 s"
        );
        assert_eq!(FaultSpec::freeze(2).to_string(), "frozen for 2 s");
        assert_eq!(FaultSpec::crash().to_string(), "killed");
    }

    #[test]
    fn unknown_fields_and_kinds_are_rejected_when_parsing() {
        assert!(serde_json::from_str::<FaultSpec>(r#"{"kind":"meteor"}"#).is_err());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"kind":"crash","extra":1}"#).is_err());
    }
}
