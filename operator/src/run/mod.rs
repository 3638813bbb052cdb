//! The ChallengeRun controller: Pending → Queued → Running → Scoring →
//! Succeeded | Failed. Every phase has a deadline, so a run never hangs;
//! every transition is a condition and an Event.

pub mod desired;
mod effects;
mod phase;
pub mod queue;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use chaos_client::{NewRun, RunState, Source};
use chaos_domain::ChallengeProfile;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};

use crate::apply::apply_one;
use crate::conditions;
use crate::context::Context;
use crate::crd::{ChallengeRun, ChallengeRunStatus, Contributor, RunPhase};
use crate::error::Error;
use crate::events::{publish, publish_as};
use effects::{delete_job, inject, load_pod, stop};
use phase::{
    Limits, LoadJob, Next, PENDING_LIMIT, UnderLoad, age, age_since, describe, fail, pending,
    under_load, waiting,
};

pub const CONTROLLER: &str = "challengerun";

/// How long scoring may take (Prometheus down included).
const SCORING_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Held by every ChallengeRun until its window on the API server is
/// closed: deleting a run under load interrupts it there (never scored,
/// never left `running`) and stops its Job.
pub const FINALIZER: &str = "srechaos.dev/run-window";

pub async fn reconcile(run: Arc<ChallengeRun>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.start(CONTROLLER);
    let api: Api<ChallengeRun> =
        Api::namespaced(ctx.client.clone(), &run.namespace().unwrap_or_default());
    let key = key(&run);
    let result = finalizer(&api, FINALIZER, run, |event| async {
        match event {
            FinalizerEvent::Apply(r) => step(&r, &ctx).await,
            FinalizerEvent::Cleanup(r) => cleanup(&r, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    timer.done();
    if result.is_ok() {
        ctx.succeeded(&key);
    }
    result
}

/// A deleted run: its Job goes, and a window still open on the API server
/// is closed as interrupted. Should the API server not answer, the
/// finalizer stays and the deletion is retried.
async fn cleanup(run: &ChallengeRun, ctx: &Context) -> Result<Action, Error> {
    let s = run.status.clone().unwrap_or_default();
    let phase = s.phase.unwrap_or(RunPhase::Pending);
    if !matches!(phase, RunPhase::Queued | RunPhase::Running) {
        // Pending: nothing was registered. Scoring or finished: the
        // window is closed and the score is the API server's to keep.
        return Ok(Action::await_change());
    }
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &run.namespace().unwrap_or_default());
    delete_job(
        &jobs,
        &s.job_name.clone().unwrap_or_else(|| desired::job_name(run)),
    )
    .await?;
    let run_id = s
        .run_id
        .clone()
        .unwrap_or_else(|| run.uid().unwrap_or_default());
    match ctx
        .platform
        .interrupt_run(&run_id, "its ChallengeRun was deleted")
        .await
    {
        Ok(_) => {
            publish(
                ctx,
                run,
                EventType::Normal,
                "Interrupted",
                "deleted during the run; its window was closed as interrupted",
            )
            .await;
        }
        // Never registered (404), or already ended (409): nothing to close.
        Err(e) if matches!(e.status(), Some(404 | 409)) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.succeeded(&platform_key(run));
    Ok(Action::await_change())
}

pub fn error_policy(run: Arc<ChallengeRun>, error: &Error, ctx: Arc<Context>) -> Action {
    if error.is_stale() {
        tracing::debug!(run = %run.name_any(), "changed under this pass; looking again");
        return Action::requeue(crate::status::AFTER_STALE);
    }
    ctx.metrics.failed(CONTROLLER);
    let wait = ctx.backoff(&key(&run));
    tracing::warn!(run = %run.name_any(), %error, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

fn key(run: &ChallengeRun) -> String {
    format!(
        "run/{}/{}",
        run.namespace().unwrap_or_default(),
        run.name_any()
    )
}

async fn step(run: &ChallengeRun, ctx: &Context) -> Result<Action, Error> {
    let old = run.status.clone().unwrap_or_default();
    let phase = old.phase.unwrap_or(RunPhase::Pending);
    if phase.is_finished() {
        return Ok(Action::await_change());
    }
    let contributors: Api<Contributor> = Api::all(ctx.client.clone());
    let contributor = contributors.get_opt(&run.spec.contributor).await?;
    let next = match phase {
        RunPhase::Pending => pending(run, &old, contributor.as_ref(), conditions::now()),
        RunPhase::Queued => queued(run, ctx, &old, contributor.as_ref()).await?,
        RunPhase::Running => running(run, ctx, &old, contributor.as_ref()).await?,
        RunPhase::Scoring => scoring(run, ctx, &old).await?,
        RunPhase::Succeeded | RunPhase::Failed => return Ok(Action::await_change()),
    };
    if next.status.phase != old.phase {
        let new = next.status.phase.unwrap_or(RunPhase::Pending);
        let failed = new == RunPhase::Failed;
        publish(
            ctx,
            run,
            if failed {
                EventType::Warning
            } else {
                EventType::Normal
            },
            &format!("{new:?}"),
            next.status.message.as_deref().unwrap_or(""),
        )
        .await;
    }
    let mut next = next;
    let unavailable = next
        .status
        .conditions
        .iter()
        .any(|c| c.type_ == "ApiServerAvailable" && c.status == "False");
    if unavailable && !next.platform_down {
        conditions::set(
            &mut next.status.conditions,
            "ApiServerAvailable",
            true,
            "Available",
            "the API server answered again",
            run.metadata.generation,
            conditions::now(),
        );
    }
    if !next.platform_down {
        // The API server answered (or was not needed): an outage later
        // starts its backoff afresh.
        ctx.succeeded(&platform_key(run));
    }
    crate::status::write(ctx, run, &old, &next.status).await?;
    Ok(next.action)
}

fn platform_key(run: &ChallengeRun) -> String {
    format!("{}/platform", key(run))
}

async fn queued(
    run: &ChallengeRun,
    ctx: &Context,
    old: &ChallengeRunStatus,
    c: Option<&Contributor>,
) -> Result<Next, Error> {
    let mut s = old.clone();
    let now = conditions::now();
    let Some(contributor) = c.filter(|c| c.meta().deletion_timestamp.is_none()) else {
        return Ok(fail(
            run,
            s,
            "ContributorDeleted",
            "the contributor was deleted while the run was queued",
            now,
        ));
    };
    // Waiting is decided from the controller's cache (no request); the
    // turn itself is confirmed with a fresh list, since the cache may not
    // yet show a run that has just started.
    let ns = run.namespace().unwrap_or_default();
    if let Some(cache) = ctx.runs_cache.get() {
        let cached: Vec<queue::Entry> = cache
            .state()
            .iter()
            .filter(|r| r.namespace().as_deref() == Some(ns.as_str()))
            .map(|r| queue::Entry::of(r))
            .collect();
        if let Err(position) = queue::turn(&run.name_any(), &cached, ctx.runs.max_concurrent) {
            return Ok(waiting(s, position));
        }
    }
    let runs: Api<ChallengeRun> = Api::namespaced(ctx.client.clone(), &ns);
    let all: Vec<queue::Entry> = runs
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(queue::Entry::of)
        .collect();
    if let Err(position) = queue::turn(&run.name_any(), &all, ctx.runs.max_concurrent) {
        return Ok(waiting(s, position));
    }
    // Its turn: the API server learns of the run before any load is sent.
    let run_id = run.uid().unwrap_or_default();
    let contributor_name = contributor.name_any();
    let registered = ctx
        .platform
        .register_run(&NewRun {
            id: Some(run_id.clone()),
            profile_version: Some(i64::from(
                ChallengeProfile::current(run.spec.challenge).version,
            )),
            // A squeezed run is practice: the API server ranks only full ones.
            duration_scale: Some(run.spec.duration_scale.unwrap_or(1.0).clamp(0.05, 1.0)),
            source: Some(Source::Prometheus),
            loadgen_selector: Some(
                [
                    ("job".to_owned(), "loadgen".to_owned()),
                    ("run_id".to_owned(), run_id.clone()),
                ]
                .into(),
            ),
            anvil_selector: Some(
                [
                    ("job".to_owned(), "url-anvil".to_owned()),
                    ("contributor".to_owned(), contributor_name.clone()),
                ]
                .into(),
            ),
            ..NewRun::new(
                &contributor_name,
                run.spec.challenge,
                &crate::contributor::desired::endpoint(
                    &contributor_name,
                    contributor.spec.app.port,
                ),
            )
        })
        .await;
    if let Err(e) = registered {
        return Ok(platform_trouble(
            run,
            ctx,
            s,
            e,
            age(run) > PENDING_LIMIT,
            now,
        ));
    }
    // The window opens when the load starts (`running`), so the time its
    // pod takes to be scheduled and pulled costs the profile nothing.
    let job = desired::load_job(run, contributor, &ctx.runs)?;
    apply_one(ctx, &job).await?;
    s.phase = Some(RunPhase::Running);
    s.run_id = Some(run_id);
    s.job_name = job.metadata.name.clone();
    s.chaos_applied = Some(0);
    s.message = Some("load Job created; waiting for it to start".into());
    describe(
        run,
        &mut s,
        "JobCreated",
        "the run was registered and its load Job created",
        now,
    );
    Ok(Next {
        status: s,
        action: Action::requeue(Duration::from_secs(2)),
        platform_down: false,
    })
}

async fn running(
    run: &ChallengeRun,
    ctx: &Context,
    old: &ChallengeRunStatus,
    c: Option<&Contributor>,
) -> Result<Next, Error> {
    let mut s = old.clone();
    let now = conditions::now();
    let ns = run.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let job_name = s.job_name.clone().unwrap_or_else(|| desired::job_name(run));
    let run_id = s
        .run_id
        .clone()
        .unwrap_or_else(|| run.uid().unwrap_or_default());

    let contributor_gone = c.is_none_or(|c| c.meta().deletion_timestamp.is_some());
    let job = jobs
        .get_opt(&job_name)
        .await?
        .map(|j| LoadJob::of(&j, &now));
    // The pod matters only while the Job runs.
    let pod = match &job {
        Some(j) if !contributor_gone && !j.failed && j.completed.is_none() => {
            Some(load_pod(ctx, &ns, &job_name).await?)
        }
        _ => None,
    };
    let scale = run.spec.duration_scale.unwrap_or(1.0).clamp(0.05, 1.0);
    let profile = ChallengeProfile::current(run.spec.challenge).scaled(scale, 1.0);
    let limits = Limits {
        profile_length: Duration::from_secs_f64(profile.duration_s()),
        unschedulable: ctx.runs.unschedulable_after,
    };
    let (start, elapsed) =
        match under_load(contributor_gone, job.as_ref(), pod.as_ref(), limits, &now) {
            UnderLoad::Stop {
                reason,
                message,
                delete_job,
            } => {
                let job = delete_job.then_some((&jobs, job_name.as_str()));
                return stop(ctx, run, s, &run_id, job, reason, &message, now).await;
            }
            UnderLoad::Finished { end } => return finished(run, ctx, s, &run_id, end, now).await,
            UnderLoad::NotStarted { message, recheck } => {
                if message.is_some() {
                    s.message = message;
                }
                return Ok(Next {
                    status: s,
                    action: Action::requeue(recheck),
                    platform_down: false,
                });
            }
            UnderLoad::Loading { start, elapsed } => (start, elapsed),
        };
    if s.started_at.is_none() {
        // The load has started: its window opens at that moment. Recorded
        // only once the API server has it, so a failed attempt is retried.
        let at = start.0.to_string();
        if let Err(e) = ctx.platform.start_run(&run_id, Some(&at)).await {
            if e.is_transient() {
                return Ok(platform_trouble(run, ctx, s, e, false, now));
            }
            let message = format!("the API server would not open the run's window: {e}");
            let job = Some((&jobs, job_name.as_str()));
            return stop(ctx, run, s, &run_id, job, "ApiServerRefused", &message, now).await;
        }
        s.started_at = Some(start);
        s.message = Some(format!("under load ({} s)", profile.duration_s().round()));
    }
    let applied = s.chaos_applied.unwrap_or(0) as usize;
    let due = schedule::due(&profile.chaos, elapsed, applied);
    let wait = |applied: usize| {
        schedule::next_in(&profile.chaos, elapsed, applied)
            .unwrap_or(Duration::from_secs(15))
            .clamp(Duration::from_millis(500), Duration::from_secs(15))
    };
    if due.is_empty() {
        return Ok(Next {
            status: s,
            action: Action::requeue(wait(applied)),
            platform_down: false,
        });
    }
    // Claim, then act: the steps are recorded as applied, on the condition
    // that the run is still the version this pass read, before any is
    // carried out. A pass that loses that write (a newer status, a new
    // leader, a replayed event) injects nothing, so a crash is never
    // injected twice (a second one would kill url-anvil's replacement).
    s.chaos_applied = Some(due.end as u32);
    crate::status::write(ctx, run, old, &s).await?;
    for i in due.clone() {
        let detail = inject(ctx, &run.spec.contributor, &profile.chaos[i]).await;
        // An action per step: Events that share reason and action are
        // folded into one series that keeps only the first note, and each
        // step's note says what was done.
        let action = format!("ChaosStep{}", i + 1);
        publish_as(ctx, run, EventType::Normal, "Chaos", &action, &detail).await;
    }
    // The status is written: the next pass starts from it (returning the
    // old status makes this pass write nothing more).
    Ok(Next {
        status: old.clone(),
        action: Action::requeue(wait(due.end)),
        platform_down: false,
    })
}

/// The load finished at `end`: the window closes there and scoring is
/// asked for.
async fn finished(
    run: &ChallengeRun,
    ctx: &Context,
    mut s: ChallengeRunStatus,
    run_id: &str,
    end: Time,
    now: Time,
) -> Result<Next, Error> {
    let at = end.0.to_string();
    if let Err(e) = ctx.platform.end_run(run_id, Some(&at)).await {
        if !e.is_transient() && e.status() != Some(409) {
            return Ok(fail(run, s, "ApiServerRefused", &e.to_string(), now));
        }
        if e.is_transient() {
            return Ok(platform_trouble(run, ctx, s, e, false, now));
        }
    }
    if let Err(e) = ctx.platform.score_run(run_id).await {
        return Ok(platform_trouble(run, ctx, s, e, false, now));
    }
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
    Ok(Next {
        status: s,
        action: Action::requeue(Duration::from_secs(5)),
        platform_down: false,
    })
}

async fn scoring(
    run: &ChallengeRun,
    ctx: &Context,
    old: &ChallengeRunStatus,
) -> Result<Next, Error> {
    let mut s = old.clone();
    let now = conditions::now();
    let run_id = s
        .run_id
        .clone()
        .unwrap_or_else(|| run.uid().unwrap_or_default());
    let remote = match ctx.platform.run(&run_id).await {
        Ok(r) => r,
        Err(e) => {
            let too_long = age_since(s.ended_at.as_ref(), &now) > SCORING_LIMIT;
            return Ok(platform_trouble(run, ctx, s, e, too_long, now));
        }
    };
    s.run_url = Some(remote.links.page.clone());
    s.leaderboard_url = Some(remote.links.leaderboard.clone());
    match remote.state {
        RunState::Scored => {
            let score = remote.score.clone();
            // The names under the rules the run was scored by.
            s.statistics = score
                .iter()
                .flat_map(|x| x.statistics.iter().map(|st| st.name.clone()))
                .collect();
            s.stat1 = score.as_ref().and_then(|x| x.stat1);
            s.stat2 = score.as_ref().and_then(|x| x.stat2);
            s.stat3 = score.as_ref().and_then(|x| x.stat3);
            s.score = score.as_ref().and_then(|x| x.score);
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
            Ok(Next {
                status: s,
                action: Action::await_change(),
                platform_down: false,
            })
        }
        RunState::NoData => {
            let why = remote
                .score
                .and_then(|x| x.reason)
                .unwrap_or_else(|| "no measurements in the run window".into());
            Ok(fail(run, s, "NoData", &why, now))
        }
        RunState::Failed => {
            let why = remote.last_error.unwrap_or_else(|| "scoring failed".into());
            Ok(fail(run, s, "ScoringFailed", &why, now))
        }
        other => {
            if age_since(s.ended_at.as_ref(), &now) > SCORING_LIMIT {
                return Ok(fail(
                    run,
                    s,
                    "ScoringTimeout",
                    &format!("still {other} after 30 minutes"),
                    now,
                ));
            }
            s.message = Some(format!("scoring ({other})"));
            Ok(Next {
                status: s,
                action: Action::requeue(Duration::from_secs(10)),
                platform_down: false,
            })
        }
    }
}

/// The API server could not be reached (retry) or refused (fail).
fn platform_trouble(
    run: &ChallengeRun,
    ctx: &Context,
    mut s: ChallengeRunStatus,
    e: chaos_client::Error,
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
            action: Action::requeue(ctx.backoff(&platform_key(run))),
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
