//! The Contributor and ChallengeRun that the unit tests start from; each
//! test changes only what it is about.

use crate::crd::{AppSpec, ChallengeRun, ChallengeRunSpec, Contributor, ContributorSpec};
use chaos_domain::Challenge;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// `s` seconds after a fixed moment, so tests read as offsets.
pub fn at(s: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + s).expect("time"))
}

/// A robust-service Contributor as `kubectl apply` makes it (generation 1,
/// no finalizer, no status), with a one-replica app on port 8080.
pub fn contributor(name: &str) -> Contributor {
    let mut c = Contributor::new(
        name,
        ContributorSpec {
            display_name: None,
            challenge: Challenge::RobustService,
            app: Some(AppSpec::new("ghcr.io/ada/app:1", 8080)),
            components: None,
            entry: None,
        },
    );
    c.metadata.generation = Some(1);
    c.metadata.uid = Some("uid-1".into());
    c
}

/// A full-length robust-service run of `ada` in the platform namespace.
pub fn run(name: &str) -> ChallengeRun {
    let mut r = ChallengeRun::new(
        name,
        ChallengeRunSpec {
            contributor: "ada".into(),
            challenge: Challenge::RobustService,
            duration_scale: None,
        },
    );
    r.metadata.namespace = Some("sre-chaos".into());
    r.metadata.uid = Some("run-uid-1".into());
    r.metadata.generation = Some(1);
    r
}
