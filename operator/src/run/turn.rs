//! The Queued phase's decisions: whether the run may still take its turn,
//! what the API server is told when it does, and the status once its load
//! Job exists. The queue's order is `queue::turn`; the calls and the Job
//! are `queued()`'s to make.

use std::time::Duration;

use chaos_client::{NewRun, Source};
use chaos_domain::ChallengeProfile;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Resource, ResourceExt};

use super::phase::{Next, describe, fail};
use crate::contributor::desired::target;
use crate::crd::{ChallengeRun, ChallengeRunStatus, Contributor, RunPhase};

/// The contributor the run is for, or the run fails: one deleted while the
/// run waited takes the run with it.
pub(super) fn contributor<'c>(
    run: &ChallengeRun,
    old: &ChallengeRunStatus,
    c: Option<&'c Contributor>,
    now: Time,
) -> Result<&'c Contributor, Box<Next>> {
    c.filter(|c| c.meta().deletion_timestamp.is_none())
        .ok_or_else(|| {
            Box::new(fail(
                run,
                old.clone(),
                "ContributorDeleted",
                "the contributor was deleted while the run was queued",
                now,
            ))
        })
}

/// The run as the API server learns of it when its turn comes: its id is
/// the ChallengeRun's uid, so registering again after a lost answer finds
/// the same run, and its measurements are the ones Prometheus scrapes from
/// its load Job and its contributor's url-anvil.
pub(super) fn registration(run: &ChallengeRun, contributor: &Contributor) -> NewRun {
    let run_id = run.uid().unwrap_or_default();
    let name = contributor.name_any();
    NewRun {
        id: Some(run_id.clone()),
        profile_version: Some(i64::from(
            ChallengeProfile::current(run.spec.challenge).version,
        )),
        // A squeezed run is practice: the API server ranks only full ones.
        duration_scale: Some(run.spec.scale()),
        source: Some(Source::Prometheus),
        loadgen_selector: Some(
            [
                ("job".to_owned(), "loadgen".to_owned()),
                ("run_id".to_owned(), run_id),
            ]
            .into(),
        ),
        anvil_selector: Some(
            [
                ("job".to_owned(), "url-anvil".to_owned()),
                ("contributor".to_owned(), name.clone()),
            ]
            .into(),
        ),
        ..NewRun::new(&name, run.spec.challenge, &target(contributor))
    }
}

/// Registered and its Job created: the run is Running, its window not yet
/// open (it opens when the load's pod starts, so the time the pod takes to
/// be scheduled and pulled costs the profile nothing).
pub(super) fn job_created(
    run: &ChallengeRun,
    old: &ChallengeRunStatus,
    run_id: &str,
    job_name: &str,
    now: Time,
) -> Next {
    let mut s = old.clone();
    s.phase = Some(RunPhase::Running);
    s.run_id = Some(run_id.to_owned());
    s.job_name = Some(job_name.to_owned());
    s.chaos_applied = Some(0);
    s.message = Some("load Job created; waiting for it to start".into());
    describe(
        run,
        &mut s,
        "JobCreated",
        "the run was registered and its load Job created",
        now,
    );
    Next::after(s, Duration::from_secs(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use chaos_domain::Challenge;

    #[test]
    fn a_deleted_contributor_fails_the_queued_run() {
        let run = fixtures::run("r");
        let mut c = fixtures::contributor("ada");
        c.metadata.deletion_timestamp = Some(fixtures::at(0));
        let s = ChallengeRunStatus {
            phase: Some(RunPhase::Queued),
            ..Default::default()
        };
        let next = contributor(&run, &s, Some(&c), fixtures::at(5)).expect_err("fails");
        assert_eq!(next.status.phase, Some(RunPhase::Failed));
        assert!(contributor(&run, &s, None, fixtures::at(5)).is_err());
        let c = fixtures::contributor("ada");
        assert!(contributor(&run, &s, Some(&c), fixtures::at(5)).is_ok());
    }

    #[test]
    fn the_registration_names_the_runs_own_measurements() {
        let mut run = fixtures::run("r");
        run.spec.challenge = Challenge::GracefulDegradation;
        run.metadata.uid = Some("0f8fad5b-d9cb-469f-a165-70867728950e".into());
        run.spec.duration_scale = Some(0.01);
        let c = fixtures::contributor("ada");
        let r = registration(&run, &c);
        assert_eq!(
            r.id.as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        // Clamped to the shortest scale the CRD allows.
        assert_eq!(r.duration_scale, Some(0.05));
        let selector = r.loadgen_selector.expect("selector");
        assert_eq!(
            selector.get("run_id").map(String::as_str),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert_eq!(
            r.anvil_selector.expect("anvil")["contributor"],
            "ada".to_owned()
        );
    }

    #[test]
    fn a_created_job_makes_the_run_running_with_its_window_still_closed() {
        let run = fixtures::run("r");
        let s = ChallengeRunStatus {
            phase: Some(RunPhase::Queued),
            ..Default::default()
        };
        let next = job_created(&run, &s, "uid-1", "r-load", fixtures::at(9));
        assert_eq!(next.status.phase, Some(RunPhase::Running));
        assert_eq!(next.status.job_name.as_deref(), Some("r-load"));
        assert_eq!(next.status.chaos_applied, Some(0));
        assert!(next.status.started_at.is_none());
    }
}
