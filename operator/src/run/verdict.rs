//! The decisions after the load: closing the window, asking for the
//! score, and reading the API server's verdict into the run's status.
//! Each takes what a call answered; the calls are the controller's.

use std::time::Duration;

use chaos_client::{Error as PlatformError, Run as RemoteRun, RunState};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::phase::{Again, Next, age_since, describe, fail, platform_trouble};
use crate::crd::{ChallengeRun, ChallengeRunStatus, RunPhase};

/// How long scoring may take (Prometheus down included).
pub(super) const SCORING_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The API server answered the window's end: `None` goes on to ask for
/// the score. A 409 is a window already closed (by an earlier pass whose
/// status was lost, or by the API server's sweep), which is as good.
pub(super) fn window_closed(
    run: &ChallengeRun,
    s: &ChallengeRunStatus,
    ended: Result<(), &PlatformError>,
    now: Time,
) -> Option<Next> {
    match ended {
        Ok(()) => None,
        Err(e) if e.status() == Some(409) => None,
        Err(e) => Some(platform_trouble(run, s.clone(), e, false, now)),
    }
}

/// Scoring was asked for (or could not be): the run waits for its verdict.
pub(super) fn scoring_asked(
    run: &ChallengeRun,
    s: &ChallengeRunStatus,
    asked: Result<(), &PlatformError>,
    end: Time,
    now: Time,
) -> Next {
    if let Err(e) = asked {
        return platform_trouble(run, s.clone(), e, false, now);
    }
    let mut s = s.clone();
    s.phase = Some(RunPhase::Scoring);
    s.ended_at = Some(end);
    s.message = Some("the load finished; the API server is scoring it".into());
    describe(
        run,
        &mut s,
        "LoadFinished",
        "the run window closed; scoring asked for",
        now,
    );
    Next::after(s, Duration::from_secs(5))
}

/// The run as the API server holds it, while Scoring: Succeeded with its
/// statistics, Failed with the API server's reason, or still waiting for
/// at most [`SCORING_LIMIT`] from the window's end.
pub(super) fn scored(
    run: &ChallengeRun,
    old: &ChallengeRunStatus,
    remote: Result<&RemoteRun, &PlatformError>,
    now: Time,
) -> Next {
    let too_long = age_since(old.ended_at.as_ref(), &now) > SCORING_LIMIT;
    let remote = match remote {
        Ok(r) => r,
        Err(e) => return platform_trouble(run, old.clone(), e, too_long, now),
    };
    let mut s = old.clone();
    s.run_url = Some(remote.links.page.clone());
    s.leaderboard_url = Some(remote.links.leaderboard.clone());
    match remote.state {
        RunState::Scored => {
            let score = remote.score.as_ref();
            // The names under the rules the run was scored by.
            s.statistics = score
                .iter()
                .flat_map(|x| x.statistics.iter().map(|st| st.name.clone()))
                .collect();
            s.stat1 = score.and_then(|x| x.stat1);
            s.stat2 = score.and_then(|x| x.stat2);
            s.stat3 = score.and_then(|x| x.stat3);
            s.score = score.and_then(|x| x.score);
            s.phase = Some(RunPhase::Succeeded);
            s.message = Some(format!(
                "scored {}",
                s.score.map(|v| format!("{v:.2}")).unwrap_or_default()
            ));
            describe(
                run,
                &mut s,
                "Scored",
                "scored from the platform's measurements",
                now,
            );
            Next {
                status: s,
                again: Again::OnChange,
                platform_down: false,
            }
        }
        RunState::NoData => {
            let why = remote
                .score
                .as_ref()
                .and_then(|x| x.reason.clone())
                .unwrap_or_else(|| "no measurements in the run window".into());
            fail(run, s, "NoData", &why, now)
        }
        RunState::Failed => {
            let why = remote
                .last_error
                .clone()
                .unwrap_or_else(|| "scoring failed".into());
            fail(run, s, "ScoringFailed", &why, now)
        }
        other if too_long => fail(
            run,
            s,
            "ScoringTimeout",
            &format!("still {other} after 30 minutes"),
            now,
        ),
        other => {
            s.message = Some(format!("scoring ({other})"));
            Next::after(s, Duration::from_secs(10))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, at};
    use serde_json::json;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn remote(state: &str, score: serde_json::Value) -> RemoteRun {
        serde_json::from_value(json!({
            "id": ID, "contributor": "ada", "challenge": "robust-service",
            "profile_version": 2, "duration_scale": 1.0, "rate_scale": 1.0,
            "target": "http://app.contributor-ada.svc:8080", "source": "prometheus",
            "state": state, "attempts": 1, "last_error": "prometheus said 503",
            "window": {"start": "2027-01-15T08:00:00Z", "end": "2027-01-15T08:10:00Z"},
            "created_at": "2027-01-15T07:59:00Z", "score": score,
            "links": {"self": format!("/api/v1/runs/{ID}"), "page": format!("/runs/{ID}"),
                      "leaderboard": "/leaderboard/robust-service"},
        }))
        .expect("a run as the API server writes it")
    }

    fn scoring() -> ChallengeRunStatus {
        ChallengeRunStatus {
            phase: Some(RunPhase::Scoring),
            ended_at: Some(at(0)),
            ..Default::default()
        }
    }

    fn down() -> PlatformError {
        PlatformError::Unreachable {
            url: "http://chaos-api".into(),
            reason: "connection refused".into(),
        }
    }

    #[test]
    fn a_closed_window_goes_on_and_a_refusal_fails() {
        let run = fixtures::run("r");
        let s = ChallengeRunStatus::default();
        assert!(window_closed(&run, &s, Ok(()), at(0)).is_none());
        let closed = PlatformError::Api {
            status: 409,
            message: "already ended".into(),
        };
        assert!(window_closed(&run, &s, Err(&closed), at(0)).is_none());
        let refused = PlatformError::Api {
            status: 422,
            message: "end before start".into(),
        };
        let next = window_closed(&run, &s, Err(&refused), at(0)).expect("decided");
        assert_eq!(next.status.phase, Some(RunPhase::Failed));
        let next = window_closed(&run, &s, Err(&down()), at(0)).expect("decided");
        assert_eq!(next.again, Again::Backoff);
        assert!(next.platform_down);
        assert_eq!(next.status.phase, None, "unchanged while it retries");
    }

    #[test]
    fn asking_for_the_score_moves_the_run_to_scoring() {
        let run = fixtures::run("r");
        let s = ChallengeRunStatus {
            phase: Some(RunPhase::Running),
            ..Default::default()
        };
        let next = scoring_asked(&run, &s, Ok(()), at(-3), at(0));
        assert_eq!(next.status.phase, Some(RunPhase::Scoring));
        assert_eq!(next.status.ended_at, Some(at(-3)));
        let next = scoring_asked(&run, &s, Err(&down()), at(-3), at(0));
        assert_eq!(next.status.phase, Some(RunPhase::Running));
        assert_eq!(next.again, Again::Backoff);
    }

    #[test]
    fn a_scored_run_succeeds_with_its_statistics() {
        let run = fixtures::run("r");
        let r = remote(
            "scored",
            json!({"id": "s1", "run_id": ID, "challenge": "robust-service", "rules_version": 3,
                   "outcome": "scored", "stat1": 512.0, "stat2": 0.2, "stat3": 41.0,
                   "statistics": [{"name": "sustained req/s", "value": 512.0},
                                  {"name": "error rate %", "value": 0.2},
                                  {"name": "p95 ms", "value": 41.0}],
                   "score": 505.0, "official": true, "practice_reasons": [],
                   "run_end": "2027-01-15T08:10:00Z", "scored_at": "2027-01-15T08:10:07Z",
                   "evidence": {}}),
        );
        let next = scored(&run, &scoring(), Ok(&r), at(20));
        assert_eq!(next.status.phase, Some(RunPhase::Succeeded));
        assert_eq!(next.status.score, Some(505.0));
        assert_eq!(next.status.statistics.len(), 3);
        assert_eq!(
            next.status.run_url.as_deref(),
            Some(&*format!("/runs/{ID}"))
        );
        assert_eq!(next.again, Again::OnChange);
    }

    #[test]
    fn a_verdict_that_takes_too_long_fails_the_run() {
        let run = fixtures::run("r");
        let queued = remote("scoring", serde_json::Value::Null);
        let waiting = scored(&run, &scoring(), Ok(&queued), at(60));
        assert_eq!(waiting.status.phase, Some(RunPhase::Scoring));
        assert_eq!(waiting.again, Again::After(Duration::from_secs(10)));
        let late = 30 * 60 + 1;
        let timed_out = scored(&run, &scoring(), Ok(&queued), at(late));
        assert_eq!(timed_out.status.phase, Some(RunPhase::Failed));
        // The API server away: retried, then given up at the same limit.
        let retry = scored(&run, &scoring(), Err(&down()), at(60));
        assert_eq!(retry.again, Again::Backoff);
        let gone = scored(&run, &scoring(), Err(&down()), at(late));
        assert_eq!(gone.status.phase, Some(RunPhase::Failed));
        let failed = scored(
            &run,
            &scoring(),
            Ok(&remote("failed", serde_json::Value::Null)),
            at(60),
        );
        assert_eq!(
            failed.status.message.as_deref(),
            Some("prometheus said 503")
        );
    }
}
