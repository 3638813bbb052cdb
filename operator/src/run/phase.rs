//! The phase decisions of a ChallengeRun that need no I/O: from a snapshot
//! (the run, its status, its contributor, the time) to the next status and
//! when to look again.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use kube::runtime::controller::Action;

use crate::conditions;
use crate::crd::{ChallengeRun, ChallengeRunStatus, Contributor, ContributorPhase, RunPhase};

/// How long a run may wait for its contributor to become Ready.
pub(super) const PENDING_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What one pass decided: the new status and when to look again.
pub(super) struct Next {
    pub(super) status: ChallengeRunStatus,
    pub(super) action: Action,
    /// The API server could not be reached in this pass.
    pub(super) platform_down: bool,
}

/// A run waits for its contributor to be Ready, for at most
/// [`PENDING_LIMIT`] from its creation.
pub(super) fn pending(
    run: &ChallengeRun,
    old: &ChallengeRunStatus,
    c: Option<&Contributor>,
    now: Time,
) -> Next {
    let mut s = old.clone();
    s.phase = Some(RunPhase::Pending);
    let ready = c.is_some_and(|c| {
        c.status.as_ref().and_then(|s| s.phase) == Some(ContributorPhase::Ready)
            && c.meta().deletion_timestamp.is_none()
    });
    if ready {
        s.phase = Some(RunPhase::Queued);
        s.queued_at = Some(now.clone());
        s.message = Some("waiting for its turn".into());
        describe(
            run,
            &mut s,
            "ContributorReady",
            "the contributor is Ready; the run is queued",
            now,
        );
        return Next {
            status: s,
            action: Action::requeue(Duration::from_secs(1)),
            platform_down: false,
        };
    }
    let waited = age_since(run.meta().creation_timestamp.as_ref(), &now);
    let why = match c {
        None => format!("contributor {:?} does not exist", run.spec.contributor),
        Some(_) => format!("contributor {:?} is not Ready", run.spec.contributor),
    };
    if waited > PENDING_LIMIT {
        return fail(
            run,
            s,
            "ContributorNotReady",
            &format!("{why} after {} min", PENDING_LIMIT.as_secs() / 60),
            now,
        );
    }
    s.message = Some(format!("{why}; the clock starts once it is"));
    describe(run, &mut s, "WaitingForContributor", &why, now);
    Next {
        status: s,
        action: Action::requeue(Duration::from_secs(10)),
        platform_down: false,
    }
}

pub(super) fn waiting(mut s: ChallengeRunStatus, position: usize) -> Next {
    s.message = Some(format!("queued: {position} run(s) ahead"));
    Next {
        status: s,
        action: Action::requeue(Duration::from_secs(10)),
        platform_down: false,
    }
}

pub(super) fn fail(
    run: &ChallengeRun,
    mut s: ChallengeRunStatus,
    reason: &str,
    message: &str,
    now: Time,
) -> Next {
    s.phase = Some(RunPhase::Failed);
    s.message = Some(message.to_owned());
    describe(run, &mut s, reason, message, now);
    Next {
        status: s,
        action: Action::await_change(),
        platform_down: false,
    }
}

/// The conditions, per the API conventions, describe the run's state
/// now: `Progressing` while it is not finished (the reason says at what),
/// `Complete` once it succeeded, `Failed` once it failed. Each is reset
/// when it stops being true, so `kubectl wait --for=condition=Complete`
/// and `condition=Failed` work and never both hold.
pub(super) fn describe(
    run: &ChallengeRun,
    s: &mut ChallengeRunStatus,
    reason: &str,
    message: &str,
    now: Time,
) {
    let phase = s.phase.unwrap_or(RunPhase::Pending);
    let generation = run.metadata.generation;
    // Conditions of earlier operator versions, one per phase, left True.
    s.conditions.retain(|c| {
        !matches!(
            c.type_.as_str(),
            "Queued" | "Running" | "Scoring" | "Succeeded"
        )
    });
    let (progress_reason, progress_message) = match phase {
        RunPhase::Succeeded => ("Succeeded", "the run finished and was scored"),
        RunPhase::Failed => ("Failed", "the run stopped; see the Failed condition"),
        _ => (reason, message),
    };
    conditions::set(
        &mut s.conditions,
        "Progressing",
        !phase.is_finished(),
        progress_reason,
        progress_message,
        generation,
        now.clone(),
    );
    let (complete_reason, complete_message) = match phase {
        RunPhase::Succeeded => (reason, message),
        RunPhase::Failed => ("Failed", "the run failed"),
        _ => ("InProgress", "the run has not finished"),
    };
    conditions::set(
        &mut s.conditions,
        "Complete",
        phase == RunPhase::Succeeded,
        complete_reason,
        complete_message,
        generation,
        now.clone(),
    );
    let (failed_reason, failed_message) = match phase {
        RunPhase::Failed => (reason, message),
        RunPhase::Succeeded => ("Succeeded", "the run succeeded"),
        _ => ("InProgress", "the run has not finished"),
    };
    conditions::set(
        &mut s.conditions,
        "Failed",
        phase == RunPhase::Failed,
        failed_reason,
        failed_message,
        generation,
        now,
    );
}

pub(super) fn age(run: &ChallengeRun) -> Duration {
    age_since(run.meta().creation_timestamp.as_ref(), &conditions::now())
}

pub(super) fn age_since(t: Option<&Time>, now: &Time) -> Duration {
    t.map(|t| {
        let d = now.0.as_millisecond() - t.0.as_millisecond();
        Duration::from_millis(d.max(0) as u64)
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{
        AppSpec, ChallengeName, ChallengeRunSpec, ContributorSpec, ContributorStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    use k8s_openapi::jiff::Timestamp;

    fn at(s: i64) -> Time {
        Time(Timestamp::from_second(1_800_000_000 + s).expect("time"))
    }

    fn run(created: i64) -> ChallengeRun {
        let mut r = ChallengeRun::new(
            "r1",
            ChallengeRunSpec {
                contributor: "ada".into(),
                challenge: ChallengeName::RobustService,
                duration_scale: None,
            },
        );
        r.metadata.generation = Some(1);
        r.metadata.creation_timestamp = Some(at(created));
        r
    }

    fn contributor(phase: ContributorPhase) -> Contributor {
        let mut c = Contributor::new(
            "ada",
            ContributorSpec {
                display_name: None,
                challenge: ChallengeName::RobustService,
                app: AppSpec {
                    image: "app:1".into(),
                    port: 8080,
                    replicas: 1,
                    cpu_millis: None,
                    memory_mib: None,
                },
            },
        );
        c.status = Some(ContributorStatus {
            phase: Some(phase),
            ..Default::default()
        });
        c
    }

    fn condition<'a>(s: &'a ChallengeRunStatus, type_: &str) -> &'a Condition {
        s.conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} in {:?}", s.conditions))
    }

    #[test]
    fn a_ready_contributor_queues_the_run_at_once() {
        let ready = contributor(ContributorPhase::Ready);
        let next = pending(&run(0), &Default::default(), Some(&ready), at(5));
        let s = &next.status;
        assert_eq!(s.phase, Some(RunPhase::Queued));
        assert_eq!(s.queued_at, Some(at(5)));
        assert_eq!(condition(s, "Progressing").status, "True");
        assert_eq!(condition(s, "Progressing").reason, "ContributorReady");
        assert_eq!(condition(s, "Complete").status, "False");
        assert_eq!(condition(s, "Failed").status, "False");
        assert_eq!(next.action, Action::requeue(Duration::from_secs(1)));
    }

    #[test]
    fn a_run_waits_for_its_contributor_then_gives_up_saying_why() {
        let not_ready = contributor(ContributorPhase::Pending);
        let waiting = pending(&run(0), &Default::default(), Some(&not_ready), at(60));
        assert_eq!(waiting.status.phase, Some(RunPhase::Pending));
        assert!(
            waiting
                .status
                .message
                .as_deref()
                .is_some_and(|m| m.contains("is not Ready")),
            "{:?}",
            waiting.status.message
        );
        assert_eq!(
            condition(&waiting.status, "Progressing").reason,
            "WaitingForContributor"
        );

        let limit = PENDING_LIMIT.as_secs() as i64;
        let gone = pending(&run(0), &waiting.status, None, at(limit + 1));
        let s = &gone.status;
        assert_eq!(s.phase, Some(RunPhase::Failed));
        assert!(
            s.message
                .as_deref()
                .is_some_and(|m| m.contains("does not exist"))
        );
        assert_eq!(condition(s, "Failed").status, "True");
        assert_eq!(condition(s, "Failed").reason, "ContributorNotReady");
        // Progressing is reset, not left True beside Failed.
        assert_eq!(condition(s, "Progressing").status, "False");
        assert_eq!(gone.action, Action::await_change());
    }

    #[test]
    fn a_deleted_contributor_is_not_ready() {
        let mut leaving = contributor(ContributorPhase::Ready);
        leaving.metadata.deletion_timestamp = Some(at(1));
        let next = pending(&run(0), &Default::default(), Some(&leaving), at(2));
        assert_eq!(next.status.phase, Some(RunPhase::Pending));
    }

    #[test]
    fn conditions_describe_the_state_now_and_drop_the_old_log() {
        let mut s = ChallengeRunStatus {
            phase: Some(RunPhase::Succeeded),
            ..Default::default()
        };
        // An earlier operator's one-condition-per-phase log.
        for t in ["Queued", "Running", "Scoring", "Succeeded"] {
            conditions::set(&mut s.conditions, t, true, t, "", Some(1), at(0));
        }
        describe(&run(0), &mut s, "Scored", "scored 12.00", at(9));
        let types: Vec<&str> = s.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Progressing", "Complete", "Failed"]);
        assert_eq!(condition(&s, "Complete").status, "True");
        assert_eq!(condition(&s, "Complete").message, "scored 12.00");
        assert_eq!(condition(&s, "Failed").status, "False");
        assert_eq!(condition(&s, "Progressing").status, "False");
    }

    #[test]
    fn a_clock_behind_the_timestamp_is_no_time_at_all() {
        assert_eq!(age_since(Some(&at(10)), &at(5)), Duration::ZERO);
        assert_eq!(age_since(Some(&at(5)), &at(10)), Duration::from_secs(5));
        assert_eq!(age_since(None, &at(10)), Duration::ZERO);
    }
}
