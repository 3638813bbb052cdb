//! The phase decisions of a ChallengeRun that need no I/O: from a snapshot
//! (the run, its status, its contributor, the time) to the next status and
//! when to look again.

use std::time::Duration;

use chaos_domain::run_clock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use kube::runtime::controller::Action;

use crate::conditions;
use crate::crd::{ChallengeRun, ChallengeRunStatus, Contributor, ContributorPhase, RunPhase};

/// How long a run may wait for its contributor to become Ready.
pub(super) const PENDING_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What one pass decided: the new status and when to look again.
#[derive(Debug)]
pub(super) struct Next {
    pub(super) status: ChallengeRunStatus,
    pub(super) again: Again,
    /// The API server could not be reached in this pass.
    pub(super) platform_down: bool,
}

/// When to look at the run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Again {
    After(Duration),
    /// Only when the run changes.
    OnChange,
    /// After the run's API-server backoff, which grows while the API
    /// server stays away and starts afresh once it answers.
    Backoff,
}

impl Again {
    pub(super) fn action(self, backoff: impl FnOnce() -> Duration) -> Action {
        match self {
            Again::After(d) => Action::requeue(d),
            Again::OnChange => Action::await_change(),
            Again::Backoff => Action::requeue(backoff()),
        }
    }
}

impl Next {
    pub(super) fn after(status: ChallengeRunStatus, wait: Duration) -> Next {
        Next {
            status,
            again: Again::After(wait),
            platform_down: false,
        }
    }
}

/// The API server could not be reached (retry after the backoff, unless
/// `give_up`) or refused the call (fail: the same call would be refused
/// again).
pub(super) fn platform_trouble(
    run: &ChallengeRun,
    mut s: ChallengeRunStatus,
    e: &chaos_client::Error,
    give_up: bool,
    now: Time,
) -> Next {
    if e.is_transient() && !give_up {
        s.message = Some(format!("the API server is unavailable; retrying: {e}"));
        conditions::set(
            &mut s.conditions,
            "ApiServerAvailable",
            false,
            "Unavailable",
            e.to_string(),
            run.metadata.generation,
            now,
        );
        return Next {
            status: s,
            again: Again::Backoff,
            platform_down: true,
        };
    }
    let reason = if e.is_transient() {
        "ApiServerUnavailable"
    } else {
        "ApiServerRefused"
    };
    let mut next = fail(run, s, reason, &e.to_string(), now);
    next.platform_down = e.is_transient();
    next
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
            again: Again::After(Duration::from_secs(1)),
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
        again: Again::After(Duration::from_secs(10)),
        platform_down: false,
    }
}

pub(super) fn waiting(mut s: ChallengeRunStatus, position: usize) -> Next {
    s.message = Some(format!("queued: {position} run(s) ahead"));
    Next {
        status: s,
        again: Again::After(Duration::from_secs(10)),
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
        again: Again::OnChange,
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

/// The load Job, as one pass read it.
#[derive(Debug, Clone, Default)]
pub(super) struct LoadJob {
    pub(super) failed: bool,
    /// When it completed (the pass's time if the Job does not say).
    pub(super) completed: Option<Time>,
    pub(super) created: Option<Time>,
}

impl LoadJob {
    pub(super) fn of(job: &k8s_openapi::api::batch::v1::Job, now: &Time) -> LoadJob {
        let status = job.status.clone().unwrap_or_default();
        let holds = |t: &str| {
            status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == t && c.status == "True")
        };
        LoadJob {
            failed: holds("Failed"),
            completed: holds("Complete")
                .then(|| status.completion_time.clone().unwrap_or(now.clone())),
            created: job.metadata.creation_timestamp.clone(),
        }
    }

    fn finished(&self) -> bool {
        self.failed || self.completed.is_some()
    }
}

/// What the load Job's pod is doing.
#[derive(Debug, Clone, Default)]
pub(super) struct LoadPod {
    /// When its container started, plus loadgen's metrics wait.
    pub(super) started: Option<Time>,
    /// The scheduler's reason, while it cannot place the pod.
    pub(super) unschedulable: Option<String>,
}

/// What a Running run does next.
#[derive(Debug, PartialEq)]
pub(super) enum UnderLoad {
    /// It cannot go on: it fails with `reason`, and is interrupted on the
    /// API server. `delete_job`: its Job may still send load and must go.
    Stop {
        reason: &'static str,
        message: String,
        delete_job: bool,
    },
    /// The load finished at `end`: close the window and ask for a score.
    Finished { end: Time },
    /// The pod has not started; look again after `recheck`, saying
    /// `message` meanwhile when there is something to say.
    NotStarted {
        message: Option<String>,
        recheck: Duration,
    },
    /// Under load since `start`, `elapsed` into the profile.
    Loading { start: Time, elapsed: Duration },
}

/// How long a run may take, by the profile and the operator's settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) profile_length: Duration,
    /// How long the load Job's pod may stay unschedulable (a node too
    /// small for the Job's requests) before the run fails saying so.
    pub(super) unschedulable: Duration,
}

/// The Running phase's decision, from what one pass read: whether the
/// contributor is gone, the load Job (`None`: it disappeared), and its pod
/// (read only while the Job runs).
pub(super) fn under_load(
    contributor_gone: bool,
    job: Option<&LoadJob>,
    pod: Option<&LoadPod>,
    recorded_start: Option<&Time>,
    limits: Limits,
    now: &Time,
) -> UnderLoad {
    let stop = |reason, message: &str, delete_job| UnderLoad::Stop {
        reason,
        message: message.to_owned(),
        delete_job,
    };
    if contributor_gone {
        return stop(
            "ContributorDeleted",
            "the contributor was deleted during the run; the load was stopped",
            job.is_some_and(|j| !j.finished()),
        );
    }
    let Some(job) = job else {
        return stop(
            "JobMissing",
            "the load Job disappeared before it finished",
            false,
        );
    };
    if job.failed {
        return stop("JobFailed", "the load Job failed; see its pod's log", false);
    }
    if let Some(end) = &job.completed {
        return UnderLoad::Finished { end: end.clone() };
    }
    let pod = pod.cloned().unwrap_or_default();
    // A load that started once has started: a pod read between its
    // container's end and the Job's Complete (or a pod gone with it) must
    // not make the run look as if it never began.
    let Some(start) = pod.started.or_else(|| recorded_start.cloned()) else {
        if let Some(why) = pod.unschedulable {
            if age_since(job.created.as_ref(), now) > limits.unschedulable {
                return stop(
                    "Unschedulable",
                    &format!(
                        "the load Job's pod could not be scheduled for {} s: {why}",
                        limits.unschedulable.as_secs()
                    ),
                    true,
                );
            }
            return UnderLoad::NotStarted {
                message: Some(format!("the load Job's pod cannot be scheduled yet: {why}")),
                recheck: Duration::from_secs(5),
            };
        }
        // From the Job's creation: that is when the run's turn came, however
        // long it waited in the queue before.
        if age_since(job.created.as_ref(), now) > run_clock::START_WITHIN {
            return stop(
                "JobNotStarted",
                &format!(
                    "the load Job's pod did not start within {} s of its creation",
                    run_clock::START_WITHIN.as_secs()
                ),
                true,
            );
        }
        return UnderLoad::NotStarted {
            message: None,
            recheck: Duration::from_secs(2),
        };
    };
    let elapsed = age_since(Some(&start), now);
    let limit = run_clock::load_limit(limits.profile_length);
    if elapsed > limit {
        return stop(
            "Timeout",
            &format!(
                "the load ran for {} s, past its profile's {} s and the {} s allowed after it",
                elapsed.as_secs(),
                limits.profile_length.as_secs(),
                run_clock::overrun(limits.profile_length).as_secs()
            ),
            true,
        );
    }
    UnderLoad::Loading { start, elapsed }
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
    use crate::crd::ContributorStatus;
    use crate::fixtures::at;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    fn run(created: i64) -> ChallengeRun {
        let mut r = crate::fixtures::run("r1");
        r.metadata.creation_timestamp = Some(at(created));
        r
    }

    fn contributor(phase: ContributorPhase) -> Contributor {
        let mut c = crate::fixtures::contributor("ada");
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
        assert_eq!(next.again, Again::After(Duration::from_secs(1)));
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
        assert_eq!(gone.again, Again::OnChange);
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

    fn job(created: i64) -> LoadJob {
        LoadJob {
            created: Some(at(created)),
            ..Default::default()
        }
    }

    const LENGTH: Limits = Limits {
        profile_length: Duration::from_secs(200),
        unschedulable: Duration::from_secs(180),
    };

    #[test]
    fn an_unschedulable_pod_is_reported_then_ends_the_run_and_its_job() {
        let pod = LoadPod {
            started: None,
            unschedulable: Some("0/1 nodes are available: 1 Insufficient cpu.".into()),
        };
        let early = under_load(false, Some(&job(0)), Some(&pod), None, LENGTH, &at(30));
        let UnderLoad::NotStarted { message, .. } = &early else {
            panic!("{early:?}")
        };
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("Insufficient cpu")),
            "{message:?}"
        );
        let limit = LENGTH.unschedulable.as_secs() as i64;
        let late = under_load(
            false,
            Some(&job(0)),
            Some(&pod),
            None,
            LENGTH,
            &at(limit + 1),
        );
        assert_eq!(
            late,
            UnderLoad::Stop {
                reason: "Unschedulable",
                message: "the load Job's pod could not be scheduled for 180 s: \
                          0/1 nodes are available: 1 Insufficient cpu."
                    .into(),
                delete_job: true,
            }
        );
    }

    #[test]
    fn the_job_decides_before_its_pod() {
        let failed = LoadJob {
            failed: true,
            ..job(0)
        };
        assert!(matches!(
            under_load(false, Some(&failed), None, None, LENGTH, &at(10)),
            UnderLoad::Stop {
                reason: "JobFailed",
                delete_job: false,
                ..
            }
        ));
        let done = LoadJob {
            completed: Some(at(205)),
            ..job(0)
        };
        assert_eq!(
            under_load(false, Some(&done), None, None, LENGTH, &at(210)),
            UnderLoad::Finished { end: at(205) }
        );
        assert!(matches!(
            under_load(false, None, None, None, LENGTH, &at(10)),
            UnderLoad::Stop {
                reason: "JobMissing",
                delete_job: false,
                ..
            }
        ));
        // A deleted contributor stops the load, and removes a Job still running.
        assert!(matches!(
            under_load(true, Some(&job(0)), None, None, LENGTH, &at(10)),
            UnderLoad::Stop {
                reason: "ContributorDeleted",
                delete_job: true,
                ..
            }
        ));
        assert!(matches!(
            under_load(true, Some(&done), None, None, LENGTH, &at(210)),
            UnderLoad::Stop {
                reason: "ContributorDeleted",
                delete_job: false,
                ..
            }
        ));
    }

    #[test]
    fn the_profile_clock_starts_at_the_pod_and_has_a_slack() {
        let started = LoadPod {
            started: Some(at(20)),
            unschedulable: None,
        };
        assert_eq!(
            under_load(false, Some(&job(0)), Some(&started), None, LENGTH, &at(70)),
            UnderLoad::Loading {
                start: at(20),
                elapsed: Duration::from_secs(50)
            }
        );
        let past = 20 + run_clock::load_limit(LENGTH.profile_length).as_secs() as i64 + 1;
        assert!(matches!(
            under_load(
                false,
                Some(&job(0)),
                Some(&started),
                None,
                LENGTH,
                &at(past)
            ),
            UnderLoad::Stop {
                reason: "Timeout",
                delete_job: true,
                ..
            }
        ));
        // A pod that never starts (an image that cannot be pulled, say).
        let never = LoadPod::default();
        assert!(matches!(
            under_load(false, Some(&job(0)), Some(&never), None, LENGTH, &at(60)),
            UnderLoad::NotStarted { message: None, .. }
        ));
        let slack = run_clock::START_WITHIN.as_secs() as i64 + 1;
        assert!(matches!(
            under_load(false, Some(&job(0)), Some(&never), None, LENGTH, &at(slack)),
            UnderLoad::Stop {
                reason: "JobNotStarted",
                delete_job: true,
                ..
            }
        ));
        // Queued long before its turn: the pod's time counts from the Job.
        let turn = slack + 600;
        assert!(matches!(
            under_load(
                false,
                Some(&job(turn)),
                Some(&never),
                None,
                LENGTH,
                &at(turn + 60)
            ),
            UnderLoad::NotStarted { message: None, .. }
        ));
    }

    /// Found on the cluster: an official longest-upkeep (600 s) failed as
    /// "did not start within 600 s" when a pass read the pod after its
    /// container had ended and before the Job said Complete.
    #[test]
    fn a_load_that_started_never_becomes_a_load_that_did_not_start() {
        let long = Limits {
            profile_length: Duration::from_secs(600),
            unschedulable: Duration::from_secs(180),
        };
        let ended = LoadPod::default();
        let late = run_clock::START_WITHIN.as_secs() as i64 + 30;
        assert_eq!(
            under_load(
                false,
                Some(&job(0)),
                Some(&ended),
                Some(&at(5)),
                long,
                &at(late)
            ),
            UnderLoad::Loading {
                start: at(5),
                elapsed: Duration::from_secs(late as u64 - 5)
            }
        );
    }

    #[test]
    fn a_clock_behind_the_timestamp_is_no_time_at_all() {
        assert_eq!(age_since(Some(&at(10)), &at(5)), Duration::ZERO);
        assert_eq!(age_since(Some(&at(5)), &at(10)), Duration::from_secs(5));
        assert_eq!(age_since(None, &at(10)), Duration::ZERO);
    }
}
